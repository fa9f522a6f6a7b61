package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.G;
import static dev.ballast.sim.SimRuns.M;
import static dev.ballast.sim.SimRuns.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.policy.HintPolicy;
import dev.ballast.core.policy.PolicyContext;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import org.junit.jupiter.api.Test;

/** Invariant 4: hints produced before a sync are never applied after it; command ids wrap. */
class HintsNeverStaleCheckerTest {
    /** A guest whose hint driver is slow, so reports are still coming in when the dirty log is synced. */
    static SimRun.GuestFactory slowHints() {
        return s -> new SimGuest(s.withHintDriver(6, 2_000));
    }

    @Test
    void shouldCatchHintsAppliedAcrossASyncWhenHintingIsNotStopped() {
        Scenario s = Scenario.sim(1 * G, "idle", "hint", 13);
        RunReport good = run(s, SimRun.Hooks.NONE.withGuest(slowHints()));
        assertThat(good.verify().ok()).as(good.verify().violation()).isTrue();
        RunReport bad = run(s, SimRun.Hooks.NONE.withGuest(slowHints()).withPolicy(() -> new HintPolicy() {
            @Override
            public void beforeSync(PolicyContext ctx) {}

            @Override
            public void afterSync(PolicyContext ctx) {}
        }));
        assertThat(bad.verify().violation()).startsWith("invariant 4 (hints are never stale)");
    }

    @Test
    void shouldCatchACommandIdThatDoesNotWrap() {
        Scenario s = Scenario.sim(512 * M, "random-write,rate=400MiB/s", "hint", 3)
                .withGuest(0, true, "pfn", 0xFFFF_FFFFL)
                .withLimits(2_000_000_000L, 20_000_000L, 30, 0);
        RunReport good = run(s);
        assertThat(good.iterations()).isGreaterThan(2);
        assertThat(good.verify().ok()).as(good.verify().violation()).isTrue();
        RunReport bad = run(s, SimRun.Hooks.NONE.withPolicy(() -> new HintPolicy() {
            @Override
            protected long nextCommandId(PolicyContext ctx, long previous) {
                return previous < 0 ? ctx.firstCommandId() : previous + 1;
            }
        }));
        assertThat(bad.verify().violation())
                .startsWith("invariant 4")
                .contains("0x100000000")
                .contains("(STOP)");
    }
}
