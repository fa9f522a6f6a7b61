package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.Postcopy;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import org.junit.jupiter.api.Test;

/**
 * {@code balloon-zero} against a guest that runs beside the engine, as the KVM guest does: while a
 * step of the engine walks up to the balloon, the guest deflates the pages the walk reaches next
 * (the device answers at once, MUST_TELL_HOST) and writes them; the walk then sends them as zero
 * records, still ballooned in its view, and hears of the deflate only at its next step. The
 * simulator's own guest runs between the engine's steps and never does this; this one does it
 * from inside the step (its {@code clearDirty}, which the walk calls just before it reaches the
 * balloon). Every invariant must hold: the writes reach the destination (1), and the pages go
 * again only once the host has taken the deflate, which counts as a write (3), also in postcopy
 * where a page placed twice is an error.
 */
class BalloonZeroRaceTest {
    private static final long M = 1L << 20;

    /** Counts the pages it deflated and wrote inside an engine step. */
    static final class RacingGuest extends SimGuest {
        long raced;

        RacingGuest(Setup setup) {
            super(setup);
        }

        @Override
        public void clearDirty(int block, long offset, long count) {
            super.clearDirty(block, offset, count);
            long end = blocks[block].firstIndex() + offset + count;
            // the walk is about to reach the lowest ballooned page: deflate 64 pages from it, allocate and write them
            if (running() && dirtyLogging() && end < totalPages && balloon.nextSetBit(0) == end) {
                long[] d = deflate(64, 0);
                alloc.take(d[0], d[1]); // the guest uses them
                writeRange(d[0], d[1]);
                raced += d[1];
            }
        }
    }

    private static RunReport run(Scenario s, RacingGuest[] made) {
        return new SimRun(
                        s,
                        s.layout(),
                        // the device answers at once: a balloon whose messages take no time
                        SimRun.Hooks.NONE.withGuest(
                                setup -> made[0] = new RacingGuest(setup.withBalloonCosts(BalloonCosts.FREE))),
                        EventSink.NONE,
                        Backend.Progress.NONE)
                .run();
    }

    @Test
    void theWritesOfPagesDeflatedInsideAStepReachTheDestination() {
        RacingGuest[] g = new RacingGuest[1];
        RunReport r = run(Scenario.sim(64 * M, "balloon:50", "balloon-zero", 5), g);
        assertThat(g[0].raced).as("pages deflated and written inside a step").isPositive();
        assertThat(r.outcome()).isEqualTo("completed");
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
    }

    @Test
    void inPostcopyTheRacedPagesArePlacedOnce() {
        RacingGuest[] g = new RacingGuest[1];
        RunReport r = run(
                Scenario.sim(64 * M, "balloon:50,rate=1GiB/s", "balloon-zero", 5)
                        .withLimits(1_000_000_000L, 1_000_000L, 30, 0)
                        .withPostcopy(Postcopy.parse("1")),
                g);
        assertThat(g[0].raced).isPositive();
        assertThat(r.outcome()).isEqualTo("completed");
        assertThat(r.postcopy()).isNotNull();
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
    }
}
