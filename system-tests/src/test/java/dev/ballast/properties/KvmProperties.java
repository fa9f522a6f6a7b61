package dev.ballast.properties;

import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.policy.Policies;
import dev.ballast.core.run.RunManifest;
import dev.ballast.replay.Replay;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.junit.jupiter.api.Assumptions;

import static dev.ballast.properties.Generators.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A smaller set of the same properties against the KVM backend: a real guest (16 to 64 MiB)
 * migrated in process from one VM to another, checked by the guest itself on the destination.
 * Few tries (a run takes about a second); skipped, with the reason, where /dev/kvm is not usable.
 */
@AddLifecycleHook(DebuggableFailures.class)
@AddLifecycleHook(Tally.PerClass.class)
class KvmProperties {
    @BeforeContainer
    static void start() {
        if (!KvmRunner.usable()) System.out.println("[properties] KVM properties skipped: " + KvmRunner.whyNot());
    }

    private static void assumeKvm() {
        Assumptions.assumeTrue(KvmRunner.usable(), () -> "KVM not usable: " + KvmRunner.whyNot());
    }

    @Provide
    Arbitrary<KvmCase> kvmCases() {
        return cases(Arbitraries.just((String) null), Arbitraries.just(1));
    }

    @Provide
    Arbitrary<KvmCase> kvmFaults() {
        return cases(Arbitraries.oneOf(Arbitraries.integers().between(10, 250).map(p -> p <= 100 ? p + "%" : java.math.BigDecimal.valueOf(p, 2) + "x"), Arbitraries.integers().between(5, 60).map(ms -> ms + "ms")),
                Arbitraries.integers().between(1, 2));
    }

    private static Arbitrary<KvmCase> cases(Arbitrary<String> failAt, Arbitrary<Integer> chain) {
        return Combinators.combine(
                Arbitraries.of(16, 32, 48, 64),
                Arbitraries.oneOf(idle(), memhog(), compile(), randomWrite(), ballooned(), deflateRace()),
                Arbitraries.of(Policies.BUILT_IN),
                Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.just(0)), Tuple.of(1, Arbitraries.integers().between(1, 255))),
                Arbitraries.of(true, false),
                Arbitraries.of("pfn", "bitmap"),
                Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(CommandIds.MIN)), Tuple.of(1, Arbitraries.longs().between(0, 4).map(k -> CommandIds.MAX - k))),
                Combinators.combine(failAt, chain, Arbitraries.longs()).as(Tuple::of)
        ).as((mem, w, p, poison, tell, msgs, id, f) -> new KvmCase(mem, w, p, poison, tell, msgs, id, f.get1(), f.get2(), f.get3()));
    }

    /** Every invariant the guest can check on the destination (no lost write, poison preserved, host writes tracked). */
    @Property(tries = Budget.KVM, shrinking = ShrinkingMode.OFF)
    void aKvmMigrationKeepsEveryInvariant(@ForAll("kvmCases") KvmCase k) {
        assumeKvm();
        KvmRunner.Outcome o = KvmRunner.run(k, dev.ballast.core.event.EventSink.NONE);
        assertThat(o.violation()).as("%s", k.command()).isNull();
        assertThat(o.completed()).as("%s", k.command()).isTrue();
        assertThat(o.report().verify().checkedPages()).isPositive();
    }

    /** A link failure, then the retry, and a chain: the guest on the last destination finds every page it wrote. */
    @Property(tries = Budget.KVM, shrinking = ShrinkingMode.OFF)
    void aFailedOrChainedKvmMigrationLosesNothing(@ForAll("kvmFaults") KvmCase k) {
        assumeKvm();
        KvmRunner.Outcome o = KvmRunner.run(k, dev.ballast.core.event.EventSink.NONE);
        assertThat(o.violation()).as("%s", k.command()).isNull();
        assertThat(o.completed()).as("%s", k.command()).isTrue();
    }

    /** The journal of a KVM run (wall clock, a real guest) replays decision for decision, with no guest at all. */
    @Property(tries = Budget.KVM, shrinking = ShrinkingMode.OFF)
    void aKvmRunReplaysFromItsEvents(@ForAll("kvmCases") KvmCase k) {
        assumeKvm();
        JournalProperties.Recording rec = new JournalProperties.Recording();
        KvmRunner.Outcome o = KvmRunner.run(k, (type, timeNs, a, b, c) -> {
            synchronized (rec) {
                rec.publish(type, timeNs, a, b, c);
            }
        });
        Replay.Result r = Replay.run(RunManifest.of(k.scenario()), rec.stream());
        assertThat(r.divergence()).as("%s", k.command()).isNull();
        assertThat(r.events()).isEqualTo(rec.events.size());
        assertThat(r.migrations()).isEqualTo(o.report().attempts().size());
    }
}
