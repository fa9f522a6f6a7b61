package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.M;
import static dev.ballast.sim.SimRuns.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import org.junit.jupiter.api.Test;

/** Invariant 5: the host's own writes to guest memory are tracked. */
class EveryWriterTrackedCheckerTest {
    @Test
    void shouldCatchHostWritesThatAreNotMarkedDirty() {
        Scenario s = Scenario.sim(256 * M, "deflate-race", "legacy", 3);
        RunReport bad = run(s, SimRun.Hooks.NONE.withGuest(setup -> new SimGuest(setup) {
            @Override
            protected void markHostDirty(long index) {}
        }));
        assertThat(bad.verify().violation()).startsWith("invariant 5 (every writer is tracked)");
    }
}
