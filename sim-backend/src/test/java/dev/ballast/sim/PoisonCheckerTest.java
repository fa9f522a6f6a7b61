package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.M;
import static dev.ballast.sim.SimRuns.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.policy.HintPolicy;
import dev.ballast.core.policy.PolicyContext;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import org.junit.jupiter.api.Test;

/** Invariant 2: free pages skipped under poisoning read as poison on the destination. */
class PoisonCheckerTest {
    @Test
    void shouldKeepPoisonOnSkippedFreePages() {
        Scenario s = Scenario.sim(512 * M, "memhog", "hint", 9).withGuest(0xAA, true, "pfn", Scenario.MIN_COMMAND_ID);
        RunReport r = run(s);
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
        assertThat(r.pages().skippedFree()).isGreaterThan(r.pages().normal());
    }

    @Test
    void shouldCatchFreePagesSkippedWithoutTheirPoison() {
        Scenario s = Scenario.sim(512 * M, "memhog", "hint", 9).withGuest(0xAA, true, "pfn", Scenario.MIN_COMMAND_ID);
        RunReport r = run(s, SimRun.Hooks.NONE.withPolicy(() -> new HintPolicy() {
            @Override
            protected void applyHint(PolicyContext ctx, long pfn, long pages) {
                ctx.layout().splitPfnRange(pfn, pages, (b, off, n) -> ctx.skipFree(b.index(), off, n, 0));
            }
        }));
        assertThat(r.verify().ok()).isFalse();
        assertThat(r.verify().violation()).startsWith("invariant 2 (poison preserved)");
    }
}
