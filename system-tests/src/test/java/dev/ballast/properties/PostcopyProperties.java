package dev.ballast.properties;

import static dev.ballast.properties.Generators.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.Convergence;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.engine.Postcopy;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.run.RunReport;
import dev.ballast.replay.Replay;
import java.util.ArrayList;
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

/**
 * Postcopy (docs/invariants.md, invariants 3, 6 and 8 in postcopy): a migration that switches to
 * postcopy — after any pass, or automatically — under every policy, with link failures before,
 * during and after the switch-over, and in chains, loses nothing, places no page twice, serves
 * every fault within the bound, and replays decision for decision.
 */
@AddLifecycleHook(DebuggableFailures.class)
@AddLifecycleHook(Tally.PerClass.class)
class PostcopyProperties {
    /** Any postcopy migration of a busy guest under any policy (hints refused, as QEMU does), with any faults: clean. */
    @Property(tries = Budget.FOCUSED, shrinking = ShrinkingMode.BOUNDED)
    void postcopyLosesNothing(@ForAll("postcopy") SimCase c) {
        SimRunner.Outcome o = SimRunner.run(c);
        Checks.clean(o);
    }

    @Provide
    Arbitrary<SimCase> postcopy() {
        return cases().workload(busyWorkloads())
                .limits(manyPassLimits())
                .faults(anyFaults())
                .postcopy(postcopies())
                .build();
    }

    /**
     * Guests that report what they free while they migrate, under the policies that use the host's discards, with
     * postcopy: the discards are not used (a skipped page would be neither sent nor dirty, and the destination's guest
     * would fault on it unserved), and nothing is lost.
     */
    @Property(tries = Budget.FOCUSED, shrinking = ShrinkingMode.BOUNDED)
    void discardsAreNotUsedWithPostcopy(@ForAll("reportingPostcopy") SimCase c) {
        Checks.clean(SimRunner.run(c));
    }

    @Provide
    Arbitrary<SimCase> reportingPostcopy() {
        return cases().policy(Arbitraries.of("report", "hint+report"))
                .workload(withKernel(
                        Arbitraries.oneOf(compile(), memhog()),
                        kernels().map(k -> k.contains(",reporting=1") ? k : ",reporting=1" + k)))
                .limits(manyPassLimits())
                .faults(Arbitraries.just(SimCase.Faults.NONE))
                .postcopy(postcopies())
                .build();
    }

    /** A link failure before, during or after the switch-over (later passes, the postcopy phase): recovered, nothing lost. */
    @Property(tries = Budget.FOCUSED, shrinking = ShrinkingMode.BOUNDED)
    void aLinkFailureInPostcopyIsRecovered(@ForAll("failingInPostcopy") SimCase c) {
        SimRunner.Outcome o = SimRunner.run(c);
        Checks.clean(o);
        for (RunReport hop :
                o.report().hops().isEmpty() ? List.of(o.report()) : o.report().hops()) {
            assertThat(hop.attempts().getLast().outcome()).isEqualTo("completed");
        }
    }

    @Provide
    Arbitrary<SimCase> failingInPostcopy() {
        Arbitrary<String> failAt = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.integers().between(5, 100).map(p -> p + "%")),
                Tuple.of(
                        4, Arbitraries.integers().between(101, 300).map(p -> java.math.BigDecimal.valueOf(p, 2) + "x")),
                Tuple.of(1, Arbitraries.just("random")));
        return cases().workload(busyWorkloads())
                .limits(manyPassLimits())
                .faults(Combinators.combine(failAt, Arbitraries.integers().between(1, 2))
                        .as((f, n) -> new SimCase.Faults(f, -1, n)))
                .postcopy(Arbitraries.integers().between(1, 2).map(n -> Postcopy.parse(Integer.toString(n))))
                .build();
    }

    /**
     * Balloon skip in postcopy: the pages it never sent are in the balloon bitmap the switch-over
     * carries, so a guest that takes them back on the destination is served at once (invariant 8).
     */
    @Property(tries = Budget.FOCUSED, shrinking = ShrinkingMode.BOUNDED)
    void everyFaultIsServedUnderBalloonSkip(@ForAll("ballooned") SimCase c) {
        Checks.clean(SimRunner.run(c));
    }

    @Provide
    Arbitrary<SimCase> ballooned() {
        return cases().workload(deflateRace())
                .policy(Arbitraries.of("balloon", "hint+balloon", "balloon-zero"))
                .limits(manyPassLimits())
                .faults(Arbitraries.just(SimCase.Faults.NONE))
                .postcopy(Arbitraries.integers().between(1, 3).map(n -> Postcopy.parse(Integer.toString(n))))
                .build();
    }

    /**
     * Issue 15: a guest that takes pages back from its balloon only once it runs on the destination, after the
     * switch-over, and writes them at once, under every policy: balloon skip's pages come from the balloon bitmap
     * of the switch-over (the destination places them as zero itself), the other policies sent them; every fault
     * is served, nothing is lost or placed twice.
     */
    @Property(tries = Budget.PAIRS, shrinking = ShrinkingMode.BOUNDED)
    void aPageTakenBackFromTheBalloonOnTheDestinationIsServed(@ForAll("deflatingOnTheDestination") SimCase c) {
        Checks.clean(SimRunner.run(c));
    }

    @Provide
    Arbitrary<SimCase> deflatingOnTheDestination() {
        return cases().workload(withKernel(deflateRace().map(w -> w + ",from=switch-over"), kernels()))
                .limits(manyPassLimits())
                .faults(anyFaults())
                .postcopy(Arbitraries.integers().between(1, 3).map(n -> Postcopy.parse(Integer.toString(n))))
                .build();
    }

    /**
     * The switch-over comes where it was asked for: after pass N (or earlier where a cap forces the
     * end of pre-copy), never where pre-copy converged; auto only where pre-copy did not converge.
     * Every switch is followed by a switch-over and a completed migration.
     */
    @Property(tries = Budget.FOCUSED, shrinking = ShrinkingMode.BOUNDED)
    void theSwitchOverComesWhereItWasAskedFor(@ForAll("switching") SimCase c) {
        List<long[]> decisions = new ArrayList<>();
        long[] switches = {0, 0};
        EventType[] previous = {null};
        EventSink watch = (type, t, a, b, cc) -> {
            EventType prior = previous[0];
            previous[0] = type;
            if (type == EventType.CONVERGENCE) decisions.add(new long[] {cc, a});
            if (type == EventType.POSTCOPY_START && prior == EventType.ITERATION_END) {
                // a pass that ended with more left than fits and no sync (the host syncs before it stops only
                // when the rest looks small): no decision, only --postcopy-after's count
                switches[0]++;
                assertThat(c.postcopy().mode()).isEqualTo(Postcopy.Mode.AFTER);
                assertThat(a)
                        .as(
                                "a switch without a sync before pass %d",
                                c.postcopy().afterPasses())
                        .isGreaterThanOrEqualTo(c.postcopy().afterPasses());
            } else if (type == EventType.POSTCOPY_START) {
                switches[0]++;
                long[] last = decisions.getLast();
                Convergence.Decision d = Convergence.Decision.values()[(int) last[0]];
                assertThat(d)
                        .as("the pre-copy rule's decision at the switch")
                        .isNotEqualTo(Convergence.Decision.CONVERGED);
                if (c.postcopy().mode() == Postcopy.Mode.AFTER
                        && a < c.postcopy().afterPasses()) {
                    assertThat(d)
                            .as("a switch before pass %d", c.postcopy().afterPasses())
                            .isNotEqualTo(Convergence.Decision.CONTINUE);
                }
                if (c.postcopy().mode() == Postcopy.Mode.AUTO && d == Convergence.Decision.CONTINUE) {
                    assertThat(decisions.size())
                            .as("auto switches from the second pass on")
                            .isGreaterThanOrEqualTo(2);
                    long before = decisions.get(decisions.size() - 2)[1];
                    assertThat((double) last[1])
                            .as("auto: the rest fell by less than a tenth")
                            .isGreaterThan(before * 0.9);
                }
            }
            // pre-copy never starts a pass after pass N: once N passes are done, the guest either stops (converged)
            // or switches (a decision can come in the middle of a pass, when the host syncs before it stops, so
            // decisions are not passes)
            if (type == EventType.PHASE && c.postcopy().mode() == Postcopy.Mode.AFTER && a == Phase.ITERATE.ordinal()) {
                assertThat(b)
                        .as("pre-copy went on past pass %d", c.postcopy().afterPasses())
                        .isLessThanOrEqualTo(c.postcopy().afterPasses());
            }
            if (type == EventType.SWITCH_OVER) switches[1]++;
        };
        SimRunner.Outcome o = SimRunner.run(c, Mutants.active(), watch);
        Checks.clean(o);
        assertThat(switches[1]).as("switch-overs done").isEqualTo(switches[0]);
    }

    @Provide
    Arbitrary<SimCase> switching() {
        return cases().workload(busyWorkloads())
                .limits(manyPassLimits())
                .faults(Arbitraries.just(SimCase.Faults.NONE))
                .postcopy(postcopies())
                .build();
    }

    /** A replay of a postcopy run (requests, recoveries, chains) re-makes every decision. */
    @Property(tries = Budget.PAIRS, shrinking = ShrinkingMode.BOUNDED)
    void aPostcopyRunReplays(@ForAll("postcopy") SimCase c) {
        JournalProperties.Recording rec = new JournalProperties.Recording();
        SimRunner.Outcome o = SimRunner.run(c, Mutants.active(), rec);
        Replay.Result r = Replay.run(SimRunner.manifest(c), rec.stream());
        assertThat(r.divergence()).as("the replay's first difference").isNull();
        assertThat(r.truncated()).isFalse();
        assertThat(r.events()).isEqualTo(rec.events.size());
        assertThat(r.migrations())
                .as("engines replayed")
                .isEqualTo(o.report().attempts().size());
    }

    /**
     * Free page hints with postcopy, which QEMU refuses: a hinted page is neither sent nor dirty, so
     * when the destination's guest takes it back it faults and the source has nothing to send. The
     * only invariant this may break is 8 (a fault not served); nothing is lost or placed twice.
     */
    @Property(tries = Budget.FOCUSED, shrinking = ShrinkingMode.BOUNDED)
    void hintsWithPostcopyBreakOnlyLiveness(@ForAll("hintsAllowed") SimCase c) {
        SimRunner.Outcome o = SimRunner.run(c);
        for (String v : o.violations()) {
            if (o.known().explain(v) != null) continue;
            assertThat(Invariant.named(v)).as(v).isEqualTo(Invariant.FAULTS_SERVED);
        }
        assertThat(o.completed()).isTrue();
    }

    @Provide
    Arbitrary<SimCase> hintsAllowed() {
        return cases().workload(busyWorkloads())
                .policy(hintPolicies())
                .limits(manyPassLimits())
                .faults(anyFaults())
                .postcopy(postcopies().map(p -> p.withHints(true)))
                .build();
    }
}
