package dev.ballast.properties;

import static dev.ballast.properties.Generators.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.run.RunReport;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * Invariant 6 of docs/invariants.md: a migration that fails or is cancelled leaves the source running with
 * its dirty tracking intact, and what follows — a new migration, or a chain A → B → C — still
 * keeps invariant 1 (and every other).
 */
@AddLifecycleHook(DebuggableFailures.class)
@AddLifecycleHook(Tally.PerClass.class)
class RecoveryProperties {
    /** A link failure anywhere (in the bulk stage, in a later pass, at a time), then the retry: nothing lost. */
    @Property(tries = Budget.FOCUSED, shrinking = ShrinkingMode.BOUNDED)
    void aFailedMigrationThenANewOneLoseNothing(@ForAll("failing") SimCase c) {
        SimRunner.Outcome o = SimRunner.run(c);
        Checks.clean(o);
        for (RunReport hop : hops(o.report())) {
            assertThat(hop.attempts().getLast().outcome()).isEqualTo("completed");
        }
    }

    @Provide
    Arbitrary<SimCase> failing() {
        Arbitrary<String> failAt = Arbitraries.frequencyOf(
                // past the first pass: a multiple of the guest's pages (101 % to 400 %), as 1.01x to 4x
                net.jqwik.api.Tuple.of(
                        3, Arbitraries.integers().between(101, 400).map(p -> java.math.BigDecimal.valueOf(p, 2) + "x")),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(5, 100).map(p -> p + "%")),
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(1, 300).map(ms -> ms + "ms")),
                net.jqwik.api.Tuple.of(1, Arbitraries.just("random")));
        return cases().workload(busyWorkloads())
                .faults(Combinators.combine(failAt, Arbitraries.integers().between(1, 2))
                        .as((f, n) -> new SimCase.Faults(f, -1, n)))
                .limits(manyPassLimits())
                .build();
    }

    /** A cancel anywhere, then a new migration: nothing lost. */
    @Property(tries = Budget.FOCUSED, shrinking = ShrinkingMode.BOUNDED)
    void aCancelledMigrationThenANewOneLoseNothing(@ForAll("cancelled") SimCase c) {
        Checks.clean(SimRunner.run(c));
    }

    @Provide
    Arbitrary<SimCase> cancelled() {
        return cases().workload(busyWorkloads())
                .faults(Arbitraries.integers().between(5, 400).map(p -> new SimCase.Faults(null, p / 100.0, 1)))
                .limits(manyPassLimits())
                .build();
    }

    /** A chain A → B → C (→ D): each destination becomes the next source; each hop keeps every invariant. */
    @Property(tries = Budget.FOCUSED, shrinking = ShrinkingMode.BOUNDED)
    void aChainOfMigrationsLosesNothing(@ForAll("chains") SimCase c) {
        SimRunner.Outcome o = SimRunner.run(c);
        Checks.clean(o);
        assertThat(o.report().hops()).hasSize(c.faults().chain());
    }

    @Provide
    Arbitrary<SimCase> chains() {
        return cases().faults(Arbitraries.oneOf(
                        chainsOnly(),
                        Combinators.combine(
                                        Arbitraries.integers().between(5, 300),
                                        Arbitraries.integers().between(2, 3))
                                .as((p, n) -> new SimCase.Faults(
                                        p <= 100 ? p + "%" : java.math.BigDecimal.valueOf(p, 2) + "x", -1, n))))
                .build();
    }

    private static java.util.List<RunReport> hops(RunReport r) {
        return r.hops().isEmpty() ? java.util.List.of(r) : r.hops();
    }
}
