package dev.ballast.kvm.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.Postcopy;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.kvm.testing.KvmTests;
import dev.ballast.kvm.dest.DestinationServer;
import dev.ballast.kvm.dest.PostcopySummary;
import dev.ballast.kvm.net.CuttingProxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Postcopy into a real KVM destination in this process: pre-copy's first pass, the switch-over (the
 * stale pages discarded, the guest's state, SWITCH_OVER), the guest resumed on the destination with
 * its missing pages registered with userfaultfd; its faults go back as PAGE_REQUESTs, the pages come
 * with UFFDIO_COPY or UFFDIO_ZEROPAGE, and at COMPLETE the guest checks every page it wrote, on the
 * source and since, on the destination.
 */
class KvmPostcopyTest {
    /** A downtime limit pre-copy cannot meet after its first pass, so the migration switches over there. */
    static Scenario scenario(String policy) {
        Scenario s = KvmMigrationTest.scenario(64L << 20, "random-write", policy);
        return s.withLimits(0, 1_000_000L, 30, 0).withPostcopy(Postcopy.parse("1"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"legacy", "balloon"})
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldSwitchOverAndFaultPagesInUntilTheGuestVerifiesOnTheDestination(String policy) {
        KvmTests.assumeKvm();
        RunReport r = KvmMigrationTest.run(scenario(policy), EventSink.NONE, KvmRun.Hooks.NONE);
        KvmMigrationTest.assertVerified(r);
        RunReport.Postcopy pc = r.postcopy();
        System.out.println("postcopy on KVM (" + policy + "): " + pc);
        assertThat(pc).as("the migration switched to postcopy").isNotNull();
        // random-write dirties pages all the time: some were sent in the first pass and written since
        assertThat(pc.discardedPages()).isPositive();
        assertThat(pc.postcopyBytes()).isPositive();
        // the guest runs on the destination at once and touches pages it lacks
        assertThat(pc.faults()).isPositive();
        assertThat(pc.faultLatencyMedianMs()).isPositive();
        assertThat(pc.faultLatencyP99Ms()).isGreaterThanOrEqualTo(pc.faultLatencyMedianMs());
        assertThat(pc.faultLatencyMaxMs()).isGreaterThanOrEqualTo(pc.faultLatencyP99Ms());
        assertThat(pc.lostProgressMs()).isGreaterThanOrEqualTo(pc.faultLatencyMaxMs());
        // the downtime is the switch-over's, not cut by the destination's self-check
        assertThat(r.downtimeMs()).isPositive();
    }

    /**
     * The same over TCP, to a {@code ballast dest} on loopback: the guest resumes in the destination's VM, its faults
     * go back as PAGE_REQUEST records, and the destination's fault figures come back in its verdict.
     */
    @ParameterizedTest
    @ValueSource(strings = {"legacy", "balloon"})
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldSwitchOverToARemoteDestinationAndServeItsFaultsOverTheWire(String policy) throws Exception {
        KvmTests.assumeKvm();
        List<String> log = new CopyOnWriteArrayList<>();
        try (DestinationServer d = dest(log)) {
            RunReport r = RemoteMigrationTest.run(scenario(policy), d.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).hasSize(1);
            RunReport.Postcopy pc = r.postcopy();
            System.out.println("postcopy over TCP (" + policy + "): " + pc);
            assertThat(pc).as("the migration switched to postcopy").isNotNull();
            assertThat(pc.discardedPages()).isPositive();
            assertThat(pc.postcopyBytes()).isPositive();
            DestinationServer.Served s = d.awaitServed(1, Duration.ofSeconds(10)).getFirst();
            assertThat(s.outcome()).isEqualTo("completed");
            assertThat(s.verdict().ok()).isTrue();
            // the faults are the destination's: they came back in its verdict, and it logged them
            PostcopySummary dest = PostcopySummary.parse(s.verdict().message());
            assertThat(dest).as("the verdict carries the destination's fault figures").isNotNull();
            assertThat(pc.faults()).isEqualTo(dest.requests() + dest.heldZero()).isPositive();
            assertThat(dest.requests())
                    .as("every fault turned into a request reached the source, or its page was on its way")
                    .isGreaterThanOrEqualTo(pc.postcopyRequests());
            // (a guest may fault only on a page it holds as zero, which asks for nothing and waits for nothing)
            if (dest.requests() > 0) assertThat(pc.faultLatencyMedianMs()).isPositive();
            assertThat(pc.faultLatencyMedianMs()).isEqualTo(dest.medianNs() / 1e6);
            assertThat(pc.faultLatencyP99Ms()).isGreaterThanOrEqualTo(pc.faultLatencyMedianMs());
            assertThat(log).anyMatch(l -> l.contains("verify ok") && l.contains("postcopy: "));
        }
    }

    static DestinationServer dest(List<String> log) throws Exception {
        return DestinationServer.start(new DestinationServer.Options(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                null,
                RemoteMigrationTest.TIMEOUT_NS,
                1L << 30,
                0,
                null,
                null,
                line -> {
                    log.add(line);
                    System.out.println("[dest] " + line);
                }));
    }

    /**
     * The link fails after the switch-over (the first page of postcopy: {@code 1.0001x} of the guest's pages, the
     * bulk pass sends every page once): the destination's guest runs on, the source connects again with a HELLO
     * flagged RECOVER, the destination reports what it lacks, the rest comes, and the guest verifies. Over TCP and
     * in this process.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldRecoverAPostcopyLinkThatFailsAfterTheSwitchOver(boolean remote) throws Exception {
        KvmTests.assumeKvm();
        Scenario s = scenario("legacy").withFailAt("1.0001x");
        if (!remote) {
            RunReport r = KvmMigrationTest.run(s, EventSink.NONE, KvmRun.Hooks.NONE);
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).hasSize(1);
            assertThat(r.postcopy().recoveries()).isEqualTo(1);
            return;
        }
        List<String> log = new CopyOnWriteArrayList<>();
        try (DestinationServer d = dest(log)) {
            RunReport r = RemoteMigrationTest.run(s, d.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).as("recovered within the attempt").hasSize(1);
            RunReport.Postcopy pc = r.postcopy();
            assertThat(pc.recoveries()).isEqualTo(1);
            List<DestinationServer.Served> served = d.awaitServed(2, Duration.ofSeconds(10));
            assertThat(served.get(0).outcome()).isIn("lost", "rejected");
            assertThat(served.get(0).guestStarted()).as("the guest runs on, not finished").isFalse();
            assertThat(served.get(1).outcome()).isEqualTo("completed");
            assertThat(served.get(1).verdict().ok()).isTrue();
            assertThat(served.get(1).counters().guestsCreated())
                    .as("the recovery went on with the guest that runs there")
                    .isZero();
            assertThat(log).anyMatch(l -> l.contains("waits for the source to recover the link"));
            assertThat(log).anyMatch(l -> l.contains("(recovered postcopy): verify ok"));
        }
    }

    /**
     * A real cut in postcopy, not an injected one: a proxy closes both sockets as the last pass's ITERATION_END starts
     * (what was in flight is lost); the source recovers through the proxy, which passes later connections untouched.
     */
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldRecoverAConnectionCutInPostcopy() throws Exception {
        KvmTests.assumeKvm();
        List<String> log = new CopyOnWriteArrayList<>();
        try (DestinationServer d = dest(log);
                CuttingProxy proxy = new CuttingProxy(
                        d::address, CuttingProxy.Rule.cut(true, dev.ballast.core.wire.RecordType.ITERATION_END, 2))) {
            RunReport r = RemoteMigrationTest.run(
                    scenario("balloon"), proxy.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            assertThat(proxy.triggered()).as("the cut happened in postcopy").isTrue();
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).hasSize(1);
            assertThat(r.postcopy().recoveries()).isEqualTo(1);
            assertThat(proxy.connections()).isEqualTo(2);
            assertThat(log).anyMatch(l -> l.contains("(recovered postcopy): verify ok"));
        }
    }

    /**
     * The connection cut as SWITCH_OVER starts: the destination never resumes the guest, so it never acknowledges the
     * switch-over (SWITCH_OVER_ACK, protocol version 5), and the source fails the attempt as a pre-copy one: its guest
     * runs on with its dirty log, and the retry resumes and switches over. (Before the acknowledgement the source
     * took the guest for resumed there, its recoveries were refused, and the guest was lost.)
     */
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldRetryWhenTheSwitchOverIsNotAcknowledged() throws Exception {
        KvmTests.assumeKvm();
        List<String> log = new CopyOnWriteArrayList<>();
        try (DestinationServer d = dest(log);
                CuttingProxy proxy = new CuttingProxy(
                        d::address, CuttingProxy.Rule.cut(true, dev.ballast.core.wire.RecordType.SWITCH_OVER, 1))) {
            RunReport r = RemoteMigrationTest.run(
                    scenario("legacy"), proxy.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            assertThat(proxy.triggered()).isTrue();
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).hasSize(2);
            assertThat(r.attempts().getFirst().outcome()).isEqualTo("failed");
            assertThat(r.postcopy()).as("the retry switched over").isNotNull();
            assertThat(r.postcopy().recoveries()).isZero();
        }
    }

    /** A link that fails before the switch-over fails pre-copy: the source runs on, and the retry resumes and switches over. */
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldRetryAPostcopyMigrationWhoseLinkFailsBeforeTheSwitchOver() throws Exception {
        KvmTests.assumeKvm();
        List<String> log = new CopyOnWriteArrayList<>();
        try (DestinationServer d = dest(log)) {
            RunReport r = RemoteMigrationTest.run(
                    scenario("balloon").withFailAt("30%"), d.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).hasSize(2);
            assertThat(r.attempts().getFirst().outcome()).isEqualTo("failed");
            // the retry resumes: what is left after its pass may fit the downtime limit (no switch-over), or not
            if (r.postcopy() != null) assertThat(r.postcopy().recoveries()).isZero();
        }
    }

    @Test
    void shouldTakePostcopyWithARemoteDestinationAndAnInjectedFailure() {
        KvmBackend kvm = new KvmBackend();
        kvm.check(scenario("legacy"), BackendOptions.DEFAULTS);
        BackendOptions remote = new BackendOptions(
                false, new BackendOptions.Destination(new InetSocketAddress("127.0.0.1", 4444), null, 0));
        kvm.check(scenario("legacy"), remote);
        kvm.check(scenario("legacy").withFailAt("30%"), BackendOptions.DEFAULTS);
        kvm.check(scenario("legacy").withFailAt("1.05x"), remote);
    }
}
