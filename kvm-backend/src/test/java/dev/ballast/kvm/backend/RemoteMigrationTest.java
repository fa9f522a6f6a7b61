package dev.ballast.kvm.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.wire.RecordType;
import dev.ballast.core.wire.WireSecret;
import dev.ballast.kvm.dest.DestinationServer;
import dev.ballast.kvm.net.CuttingProxy;
import dev.ballast.kvm.testing.KvmTests;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Migrations to a live {@link DestinationServer} over TCP (in this JVM; the cli module's tests
 * run it as a separate process): every policy, authentication, and a cut or stalled connection at
 * every point of the protocol, each followed by a retry that resumes and verifies.
 */
public class RemoteMigrationTest {
    static final long MEM = 128L << 20;
    static final WireSecret SECRET = WireSecret.of("correct horse battery staple".getBytes(StandardCharsets.US_ASCII));
    static final long TIMEOUT_NS = 5_000_000_000L;

    final List<String> log = new CopyOnWriteArrayList<>();

    DestinationServer dest(WireSecret secret) throws Exception {
        return dest(secret, 0);
    }

    DestinationServer dest(WireSecret secret, long preallocBytes) throws Exception {
        return DestinationServer.start(new DestinationServer.Options(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                secret,
                TIMEOUT_NS,
                1L << 30,
                preallocBytes,
                null,
                null,
                line -> {
                    log.add(line);
                    System.out.println("[dest] " + line);
                }));
    }

    public static RunReport run(Scenario s, InetSocketAddress to, WireSecret secret, long timeoutNs) {
        RunReport r = new KvmRun(
                        s,
                        EventSink.NONE,
                        Backend.Progress.NONE,
                        KvmRun.Hooks.NONE,
                        new BackendOptions.Destination(to, secret, timeoutNs))
                .run();
        System.out.printf(
                "%s %s over TCP: %s in %.0f ms (downtime %.1f ms), %d bytes, %s, attempts %s%n",
                s.workload(),
                s.policy(),
                r.outcome(),
                r.totalTimeMs(),
                r.downtimeMs(),
                r.transferredBytes(),
                r.verify(),
                r.attempts());
        return r;
    }

    @ParameterizedTest
    @ValueSource(strings = {"legacy", "balloon", "hint", "bitmap", "hint+balloon"})
    void shouldMigrateOverTcpWithEveryPolicy(String policy) throws Exception {
        KvmTests.assumeKvm();
        try (DestinationServer d = dest(null)) {
            RunReport r = run(KvmMigrationTest.scenario(MEM, "compile", policy), d.address(), null, TIMEOUT_NS);
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).hasSize(1);
            DestinationServer.Served s =
                    d.awaitServed(1, Duration.ofSeconds(10)).getFirst();
            assertThat(s.outcome()).isEqualTo("completed");
            assertThat(s.verdict().ok()).isTrue();
            assertThat(s.verdict().checkedPages()).isEqualTo(r.verify().checkedPages());
        }
    }

    @Test
    void shouldMigrateIntoAPreparedVmAndPrepareTheNextOne() throws Exception {
        KvmTests.assumeKvm();
        try (DestinationServer d = dest(null, MEM)) {
            for (int i = 1; i <= 2; i++) {
                KvmMigrationTest.assertVerified(
                        run(KvmMigrationTest.scenario(MEM, "compile", "hint"), d.address(), null, TIMEOUT_NS));
                DestinationServer.Served s =
                        d.awaitServed(i, Duration.ofSeconds(10)).getLast();
                assertThat(s.verdict().ok()).isTrue();
                assertThat(s.counters().guestsCreated()).isEqualTo(1);
            }
            // one prepared before the first migration, one after each
            assertThat(log.stream().filter(l -> l.startsWith("prepared the VM of a 128 MiB guest")))
                    .hasSize(3);
            // a guest of another size is not put into it, and still verifies
            KvmMigrationTest.assertVerified(
                    run(KvmMigrationTest.scenario(2 * MEM, "idle", "hint"), d.address(), null, TIMEOUT_NS));
        }
    }

    @Test
    void shouldRefuseToPreallocateWhatItWouldNotTake() {
        assertThatThrownBy(() -> new DestinationServer.Options(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        null,
                        0,
                        1L << 30,
                        2L << 30,
                        null,
                        null,
                        l -> {}))
                .hasMessageContaining("prealloc=2147483648");
        assertThatThrownBy(() -> new DestinationServer.Options(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        null,
                        0,
                        1L << 30,
                        (1L << 20) + 4096,
                        null,
                        null,
                        l -> {}))
                .hasMessageContaining("multiple of 2M");
    }

    @Test
    void shouldAcceptTheRightSecretAndDropEveryOtherSourceUntouched() throws Exception {
        KvmTests.assumeKvm();
        try (DestinationServer d = dest(SECRET)) {
            Scenario s = KvmMigrationTest.scenario(MEM, "idle", "hint");
            RunReport none = run(s, d.address(), null, TIMEOUT_NS);
            RunReport wrong = run(
                    s,
                    d.address(),
                    WireSecret.of("the wrong secret, sixteen+ bytes".getBytes(StandardCharsets.US_ASCII)),
                    TIMEOUT_NS);
            assertThat(none.outcome()).isEqualTo("failed");
            assertThat(none.attempts().getFirst().cause())
                    .contains("AUTH_FAILED")
                    .contains("requires authentication");
            assertThat(wrong.outcome()).isEqualTo("failed");
            assertThat(wrong.attempts().getFirst().cause()).contains("AUTH_FAILED");
            int refused = none.attempts().size() + wrong.attempts().size();
            List<DestinationServer.Served> served = d.awaitServed(refused, Duration.ofSeconds(10));
            assertThat(served).allMatch(x -> x.outcome().equals("unauthenticated"));
            assertThat(d.counters().guestsCreated())
                    .as("no VM for an unauthenticated source")
                    .isZero();
            assertThat(d.counters().pagesWritten()
                            + d.counters().pagesFilled()
                            + d.counters().stateBytes())
                    .isZero();
            assertThat(log).anyMatch(l -> l.contains("dropped: authentication failed"));

            RunReport ok = run(s, d.address(), SECRET, TIMEOUT_NS);
            KvmMigrationTest.assertVerified(ok);
        }
    }

    @Test
    void shouldRefuseToListenBeyondLoopbackWithoutASecret() {
        assertThatThrownBy(() -> new DestinationServer.Options(
                        new InetSocketAddress("0.0.0.0", 0), null, 0, 1L << 30, 0, null, null, l -> {}))
                .hasMessageContaining("not a loopback address")
                .hasMessageContaining("--secret-file");
    }

    /**
     * A connection cut at each point of the protocol: the source's guest runs on with its dirty
     * log, the run says why the first attempt failed, and the retry (a new connection) verifies.
     */
    @ParameterizedTest(name = "cut {0} at {1} #{2}")
    @CsvSource({
        "handshake,                   HELLO_ACK,     1, false",
        "bulk stage,                  PAGES,         20, true",
        "between iterations,          ITERATION_END, 1, true",
        "stop-and-copy,               STATE,         1, true",
        "before the acknowledgement,  COMPLETE_ACK,  1, false"
    })
    void shouldResumeAfterTheConnectionIsCut(String point, RecordType type, int nth, boolean toDestination)
            throws Exception {
        KvmTests.assumeKvm();
        try (DestinationServer d = dest(null);
                CuttingProxy proxy = new CuttingProxy(d::address, CuttingProxy.Rule.cut(toDestination, type, nth))) {
            RunReport r = run(
                    KvmMigrationTest.scenario(MEM, "random-write,rate=20MiB/s", "hint"),
                    proxy.address(),
                    null,
                    TIMEOUT_NS);
            assertThat(proxy.triggered()).as("the cut happened " + point).isTrue();
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).hasSizeGreaterThanOrEqualTo(2);
            assertThat(r.attempts().getFirst().outcome()).isEqualTo("failed");
            assertThat(r.attempts().getFirst().cause()).isNotBlank();
            System.out.println("cut " + point + ": first attempt "
                    + r.attempts().getFirst().cause());
        }
    }

    @Test
    void shouldRetryOnANewDestinationWhenTheFirstOneDies() throws Exception {
        KvmTests.assumeKvm();
        DestinationServer first = dest(null);
        DestinationServer second = dest(null);
        AtomicReference<DestinationServer> current = new AtomicReference<>(first);
        CuttingProxy.Rule dieInBulk = new CuttingProxy.Rule(true, RecordType.PAGES, 10, CuttingProxy.Action.CUT, () -> {
            first.close();
            current.set(second);
        });
        try (second;
                CuttingProxy proxy = new CuttingProxy(() -> current.get().address(), dieInBulk)) {
            RunReport r = run(KvmMigrationTest.scenario(MEM, "compile", "legacy"), proxy.address(), null, TIMEOUT_NS);
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts().getFirst().outcome()).isEqualTo("failed");
            assertThat(second.awaitServed(1, Duration.ofSeconds(10)).getLast().outcome())
                    .isEqualTo("completed");
        }
    }

    @Test
    void shouldDetectAStalledPeerOnBothSidesAndThenVerify() throws Exception {
        KvmTests.assumeKvm();
        // The source's timeout fires first; its retry (same session) then replaces the stale
        // connection at the destination, unless the destination's own timeout dropped it first.
        long timeout = 1_000_000_000L;
        try (DestinationServer d = DestinationServer.start(new DestinationServer.Options(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        null,
                        1_500_000_000L,
                        1L << 30,
                        0,
                        null,
                        null,
                        log::add));
                CuttingProxy proxy = new CuttingProxy(
                        d::address,
                        new CuttingProxy.Rule(true, RecordType.ITERATION_END, 1, CuttingProxy.Action.STALL, null))) {
            RunReport r = run(KvmMigrationTest.scenario(MEM, "compile", "legacy"), proxy.address(), null, timeout);
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts().getFirst().cause()).startsWith("TIMEOUT");
            assertThat(d.awaitServed(2, Duration.ofSeconds(10)).getFirst().reason())
                    .containsAnyOf("stalled", "replaced by a retry of the same migration");
        }
    }
}
