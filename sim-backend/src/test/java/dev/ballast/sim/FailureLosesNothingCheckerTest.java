package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.G;
import static dev.ballast.sim.SimRuns.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.ForwardingSourceGuest;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import org.junit.jupiter.api.Test;

/** Invariant 6: a failed attempt leaves the source running with its dirty log. */
class FailureLosesNothingCheckerTest {
    @Test
    void shouldCatchAFailedAttemptThatTurnsTheDirtyLogOff() {
        Scenario s =
                Scenario.sim(1 * G, "random-write,rate=200MiB/s", "legacy", 21).withFailAt("40%");
        assertThat(run(s).verify().ok()).isTrue();
        RunReport bad = run(s, SimRun.Hooks.NONE.withSource(g -> new ForwardingSourceGuest(g) {
            @Override
            public void restoreDirty(int block, long offset, long count) {
                stopDirtyLog();
            }
        }));
        assertThat(bad.verify().violation())
                .isEqualTo(
                        "invariant 6 (failure loses nothing): after the failed attempt the source guest was running with dirty logging off");
    }
}
