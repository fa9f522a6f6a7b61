package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.G;
import static dev.ballast.sim.SimRuns.M;
import static dev.ballast.sim.SimRuns.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.ForwardingSourceGuest;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.engine.SourceGuest;
import dev.ballast.core.policy.BalloonPolicy;
import dev.ballast.core.policy.PolicyContext;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import org.junit.jupiter.api.Test;

/** Invariant 1: the bugs that lose a write are caught, and the runs that risk one keep it. */
class NoLostWriteCheckerTest {
    @Test
    void shouldNotSkipTheBalloonWhenTheGuestReusesPagesWithoutTellingTheHost() {
        Scenario s = Scenario.sim(1 * G, "deflate-race,every=50ms", "balloon", 11)
                .withGuest(0, false, "pfn", Scenario.MIN_COMMAND_ID);
        RunReport r = run(s);
        assertThat(r.balloon().skipActive()).isFalse();
        assertThat(r.pages().skippedBalloon()).isZero();
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
        // with MUST_TELL_HOST the same race is safe with the skip on
        RunReport told = run(s.withGuest(0, true, "pfn", Scenario.MIN_COMMAND_ID));
        assertThat(told.pages().skippedBalloon()).isPositive();
        assertThat(told.verify().ok()).as(told.verify().violation()).isTrue();
    }

    @Test
    void shouldCatchABalloonSkipThatIgnoresMustTellHost() {
        Scenario s = Scenario.sim(1 * G, "deflate-race,every=50ms", "balloon", 11)
                .withGuest(0, false, "pfn", Scenario.MIN_COMMAND_ID);
        RunReport r = run(s, SimRun.Hooks.NONE.withPolicy(() -> new BalloonPolicy() {
            @Override
            public boolean skipBalloon(PolicyContext ctx) {
                return true;
            }
        }));
        assertThat(r.verify().violation()).startsWith("invariant 1 (no lost write)");
    }

    /** The engine's view of a guest that forgets what a failed migration gives back. */
    static SourceGuest forgetfulOnFailure(SourceGuest g) {
        return new ForwardingSourceGuest(g) {
            @Override
            public void restoreDirty(int block, long offset, long count) {}
        };
    }

    @Test
    void shouldCatchAFailedMigrationThatConsumesTheDirtyLog() {
        Scenario s =
                Scenario.sim(1 * G, "random-write,rate=200MiB/s", "legacy", 21).withFailAt("1.01x");
        assertThat(run(s).verify().ok()).isTrue();
        RunReport bad = run(s, SimRun.Hooks.NONE.withSource(NoLostWriteCheckerTest::forgetfulOnFailure));
        assertThat(bad.verify().violation()).startsWith("invariant 1 (no lost write)");
    }

    @Test
    void shouldCatchAStopAndCopyWithoutTheFinalSync() {
        Scenario s = Scenario.sim(512 * M, "random-write,rate=200MiB/s", "legacy", 2);
        RunReport bad = run(s, SimRun.Hooks.NONE.withSource(g -> new ForwardingSourceGuest(g) {
            @Override
            public void syncDirtyLog(PageRanges dirty) {
                if (running()) super.syncDirtyLog(dirty);
            }
        }));
        assertThat(bad.verify().violation()).startsWith("invariant 1 (no lost write)");
    }

    @Test
    void shouldSendAPageReusedAfterAFreeBitmapUnderPoisoning() {
        // the guest does not hold the pages of a free bitmap: it may write one before the walk reaches it
        Scenario s = Scenario.sim(1 * G, "compile", "bitmap", 1).withGuest(0xAA, true, "pfn", Scenario.MIN_COMMAND_ID);
        RunReport r = run(s);
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
        assertThat(r.pages().skippedFree()).isPositive();
    }
}
