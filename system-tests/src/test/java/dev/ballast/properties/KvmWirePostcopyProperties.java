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
import dev.ballast.kvm.net.CuttingProxy;
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
     * Busy guests (so that pre-copy does not meet its limit and the migration switches over), in one case of three with
     * the guest kernel's keys ({@code KvmProperties.withKernel}: Linux's hint driver or the idealised one, zeroing on
     * allocation, memory pressure, DEFLATE_ON_OOM, a host's hint run that discards) and in one of three with free page
     * reporting and the host's discards ({@code KvmProperties.withReporting}), every policy, a switch-over point, and a
     * link failure: none, before the switch-over (a share of the guest's pages, within pass 1) or after
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
                        KvmProperties.withReporting(
                                KvmProperties.withKernel(Arbitraries.oneOf(randomWrite(), compile()))),
                        Arbitraries.of(dev.ballast.kvm.backend.KvmBackend.POLICIES),
                        Arbitraries.frequencyOf(
                                Tuple.of(3, Arbitraries.just(0)),
                                Tuple.of(1, Arbitraries.integers().between(1, 255))),
                        Arbitraries.of(true, false),
                        failAt,
                        Arbitraries.of("1", "2", "auto"),
                        Arbitraries.longs())
                .as((mem, w, p, poison, tell, f, after, seed) -> new KvmCase(
                        mem,
                        KvmProperties.reporting(w, poison),
                        p,
                        poison,
                        tell,
                        "pfn",
                        CommandIds.MIN,
                        f,
                        1,
                        seed,
                        w.get3(),
                        after));
    }

    /**
     * A connection cut during the switch-over, on the first connection only (a proxy between the source and the
     * destination): as the source's first DISCARD starts (the guest is paused on the source), as its SWITCH_OVER starts
     * (the destination never resumes the guest), or as the destination's SWITCH_OVER_ACK starts on the way back (the
     * destination's guest runs, the source has not heard it); or none (null, most cases; and the cases that draw an
     * injected failure).
     */
    @Provide
    Arbitrary<String> switchOverCuts() {
        return Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.just((String) null)),
                Tuple.of(1, Arbitraries.just("DISCARD")),
                Tuple.of(1, Arbitraries.just("SWITCH_OVER")),
                Tuple.of(1, Arbitraries.just("SWITCH_OVER_ACK")));
    }

    @Property(tries = Budget.KVM_WIRE_POSTCOPY, shrinking = ShrinkingMode.OFF)
    void aPostcopyMigrationOverTheWireKeepsEveryInvariant(
            @ForAll("wirePostcopyCases") KvmCase k, @ForAll("switchOverCuts") String cutAt) throws Exception {
        Assumptions.assumeTrue(KvmRunner.usable(), () -> "KVM not usable: " + KvmRunner.whyNot());
        if (k.failAt() != null) cutAt = null;
        int before = dest.served().size();
        long t0 = System.nanoTime();
        RunReport r;
        CuttingProxy proxy = cutAt == null
                ? null
                : new CuttingProxy(
                        dest::address,
                        CuttingProxy.Rule.cut(
                                !cutAt.equals("SWITCH_OVER_ACK"), dev.ballast.core.wire.RecordType.valueOf(cutAt), 1));
        try {
            r = new KvmRun(
                            k.scenario(),
                            dev.ballast.core.event.EventSink.NONE,
                            Backend.Progress.NONE,
                            k.hooks(),
                            new BackendOptions.Destination(
                                    proxy != null ? proxy.address() : dest.address(), null, 10_000_000_000L))
                    .run();
        } finally {
            Tally.kvmMigration(System.nanoTime() - t0);
            if (proxy != null) proxy.close();
        }
        Statistics.label("connection cut during the switch-over")
                .collect(cutAt == null ? "none drawn" : cutAt + (proxy.triggered() ? ": cut" : ": not reached"));
        String cmd = k.command() + " --dest HOST:PORT"
                + (cutAt == null ? "" : "   # connection cut as " + cutAt + " starts");
        RunReport.Postcopy pc = r.postcopy();
        Statistics.label("switched over").collect(pc != null ? "switched" : "converged first");
        Statistics.label("recovered").collect(pc != null && pc.recoveries() > 0 ? "recovered" : "no recovery");
        Statistics.label("guest kernel keys, reporting")
                .collect((k.workload().contains("hint-driver=") ? "kernel keys" : "no keys") + ", "
                        + (k.workload().contains("reporting=1") ? "reporting" : "no reporting"));
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
                assertThat(k.failAt() != null || cutAt != null)
                        .as("%s: recovered without a failure", cmd)
                        .isTrue();
                assertThat(r.attempts())
                        .as("%s: recovered within its attempt", cmd)
                        .hasSize(1);
            }
        }
    }
}
