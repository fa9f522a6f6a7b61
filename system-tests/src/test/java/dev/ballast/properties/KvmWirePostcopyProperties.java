package dev.ballast.properties;

import static dev.ballast.properties.Generators.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.RunReport;
import dev.ballast.kvm.backend.KvmRun;
import dev.ballast.kvm.dest.DestinationServer;
import dev.ballast.kvm.dest.PostcopySummary;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;
import org.junit.jupiter.api.Assumptions;

/**
 * Postcopy over the wire: a real KVM guest migrated over TCP (loopback) to a {@code ballast dest} in this JVM, which
 * switches over after pass 1, pass 2 or once pre-copy is not converging, under every policy, with the link failing
 * before the switch-over (a pre-copy failure: the retry resumes), after it (the destination's guest runs on and the
 * source recovers the link with a HELLO flagged RECOVER) or not at all. Every run must complete with the guest's
 * own check passing on the destination (invariant 1), no page placed twice there (invariant 3: the destination's
 * reader refuses it, its placer counts it, either fails the verdict), and a failure losing nothing (invariant 6).
 * Skipped, with the reason, where /dev/kvm is not usable.
 */
@AddLifecycleHook(DebuggableFailures.class)
@AddLifecycleHook(Tally.PerClass.class)
class KvmWirePostcopyProperties {
    private static DestinationServer dest;

    @BeforeContainer
    static void start() throws Exception {
        if (!KvmRunner.usable()) {
            System.out.println("[properties] KVM wire postcopy properties skipped: " + KvmRunner.whyNot());
            return;
        }
        dest = DestinationServer.start(new DestinationServer.Options(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                null,
                10_000_000_000L,
                1L << 30,
                0,
                null,
                null,
                line -> {}));
    }

    @AfterContainer
    static void stop() {
        if (dest != null) dest.close();
        dest = null;
    }

    /**
     * Busy guests (so that pre-copy does not meet 1 ms and the migration switches over), every policy, a switch-over
     * point, and a link failure: none, before the switch-over (a share of the guest's pages, within pass 1) or after
     * it (just past one guest's worth of pages: pass 1 sends every page once).
     */
    @Provide
    Arbitrary<KvmCase> wirePostcopyCases() {
        Arbitrary<String> failAt = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.just((String) null)),
                Tuple.of(1, Arbitraries.integers().between(10, 90).map(p -> p + "%")),
                // 1.0000x (at the end of pass 1: at the switch-over) to 1.006x (a few pages into postcopy)
                Tuple.of(
                        3,
                        Arbitraries.integers()
                                .between(0, 60)
                                .map(k -> java.math.BigDecimal.valueOf(10000 + k, 4) + "x")));
        return Combinators.combine(
                        Arbitraries.of(16, 32, 64),
                        Arbitraries.oneOf(randomWrite(), compile()),
                        Arbitraries.of(dev.ballast.kvm.backend.KvmBackend.POLICIES),
                        Arbitraries.frequencyOf(
                                Tuple.of(3, Arbitraries.just(0)),
                                Tuple.of(1, Arbitraries.integers().between(1, 255))),
                        Arbitraries.of(true, false),
                        failAt,
                        Arbitraries.of("1", "2", "auto"),
                        Arbitraries.longs())
                .as((mem, w, p, poison, tell, f, after, seed) ->
                        new KvmCase(mem, w, p, poison, tell, "pfn", CommandIds.MIN, f, 1, seed).withPostcopy(after));
    }

    @Property(tries = Budget.KVM_WIRE_POSTCOPY, shrinking = ShrinkingMode.OFF)
    void aPostcopyMigrationOverTheWireKeepsEveryInvariant(@ForAll("wirePostcopyCases") KvmCase k) throws Exception {
        Assumptions.assumeTrue(KvmRunner.usable(), () -> "KVM not usable: " + KvmRunner.whyNot());
        int before = dest.served().size();
        long t0 = System.nanoTime();
        RunReport r;
        try {
            r = new KvmRun(
                            k.scenario(),
                            dev.ballast.core.event.EventSink.NONE,
                            Backend.Progress.NONE,
                            k.hooks(),
                            new BackendOptions.Destination(dest.address(), null, 10_000_000_000L))
                    .run();
        } finally {
            Tally.kvmMigration(System.nanoTime() - t0);
        }
        String cmd = k.command() + " --dest HOST:PORT";
        RunReport.Postcopy pc = r.postcopy();
        Statistics.label("switched over").collect(pc != null ? "switched" : "converged first");
        Statistics.label("recovered").collect(pc != null && pc.recoveries() > 0 ? "recovered" : "no recovery");
        assertThat(r.verify().violation()).as("%s", cmd).isNull();
        assertThat(r.outcome()).as("%s", cmd).isEqualTo("completed");
        assertThat(r.verify().checkedPages()).as("%s", cmd).isPositive();
        // this migration's connections: the one that completed, and any cut or refused before it (which may end after
        // it: served lists them as they end)
        DestinationServer.Served last = null;
        long end = System.nanoTime() + 30_000_000_000L;
        while (last == null && System.nanoTime() < end) {
            List<DestinationServer.Served> served = dest.awaitServed(before + 1, Duration.ofSeconds(30));
            for (DestinationServer.Served s : served.subList(before, served.size()))
                if (s.outcome().equals("completed")) last = s;
            if (last == null) Thread.sleep(20);
        }
        assertThat(last).as("%s: a connection the destination completed", cmd).isNotNull();
        assertThat(last.verdict().ok())
                .as("%s: %s", cmd, last.verdict().message())
                .isTrue();
        if (pc != null) {
            // the destination measured its faults and sent them back
            PostcopySummary d = PostcopySummary.parse(last.verdict().message());
            assertThat(d).as("%s: %s", cmd, last.verdict().message()).isNotNull();
            assertThat(pc.faults()).isEqualTo(d.requests() + d.heldZero());
            if (pc.recoveries() > 0) {
                assertThat(k.failAt())
                        .as("%s: recovered without a failure", cmd)
                        .isNotNull();
                assertThat(r.attempts())
                        .as("%s: recovered within its attempt", cmd)
                        .hasSize(1);
            }
        }
    }
}
