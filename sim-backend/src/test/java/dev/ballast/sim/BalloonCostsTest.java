package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.G;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.HintDriver;
import dev.ballast.core.run.WorkloadSpec;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The simulated balloon's time follows {@link BalloonCosts}: per message, per page of a PFN array, per host release
 * and per backed page released. The expected times are worked out by hand from round costs: 1 µs a message, 10 ns a
 * PFN, 0.5 µs a release call, 2 ns a backed page released.
 */
class BalloonCostsTest {
    static final BalloonCosts ROUND = new BalloonCosts(1_000, 10, 500, 2);
    static final long GIB_PAGES = G / RamLayout.PAGE_SIZE; // 262,144: 1,024 PFN arrays, 8 bitmap messages

    static SimGuest guest(RamLayout layout, boolean bitmap, BalloonCosts costs, SimGuest.Kernel kernel) {
        return new SimGuest(new SimGuest.Setup(
                layout,
                new GuestFeatures(true, true, true, 0),
                bitmap,
                new SimCosts(CostProfile.defaults(), 0),
                new SimCheckers(layout, 0),
                SimOptions.DEFAULTS,
                kernel,
                costs));
    }

    static SimGuest guest(boolean bitmap, BalloonCosts costs) {
        return guest(RamLayout.pcLike(8 * G), bitmap, costs, SimGuest.Kernel.IDEAL);
    }

    static void writeAll(SimGuest g) {
        for (RamBlock b : g.blocks) g.writeRange(b.firstIndex(), b.pages());
    }

    /** Inflates then deflates 1 GiB; returns {inflate ns, deflate ns}. */
    static long[] inflateDeflate(SimGuest g) {
        assertThat(g.inflate(GIB_PAGES, true)).isEqualTo(GIB_PAGES);
        long in = g.balloonNs;
        long left = GIB_PAGES;
        while (left > 0) left -= g.deflate(left, 0)[1];
        return new long[] {in, g.balloonNs - in};
    }

    @Test
    void shouldChargeEachMessageItsTransferItsPfnsAndTheHostsReleaseOfPagesNeverWritten() {
        // PFN array: 1,024 messages of 1,000 + 256 x 10 (+ 500 for the release of an inflate, no page backed)
        assertThat(inflateDeflate(guest(false, ROUND))).containsExactly(1_024L * 4_060, 1_024L * 3_560);
        // bitmap: 8 messages of 1,000 (+ 500)
        assertThat(inflateDeflate(guest(true, ROUND))).containsExactly(8L * 1_500, 8L * 1_000);
    }

    @Test
    void shouldChargeTheReleaseOfBackedPagesPerPage() {
        SimGuest pfn = guest(false, ROUND);
        writeAll(pfn);
        // each PFN array's release frees 256 backed pages: + 256 x 2
        assertThat(inflateDeflate(pfn)).containsExactly(1_024L * 4_572, 1_024L * 3_560);
        SimGuest bitmap = guest(true, ROUND);
        writeAll(bitmap);
        // each bitmap message's release frees 32,768: + 65,536
        assertThat(inflateDeflate(bitmap)).containsExactly(8L * 67_036, 8L * 1_000);
    }

    @Test
    void shouldCutTheMessageTermByThePageCountRatioWithBitmaps() {
        BalloonCosts messagesOnly = new BalloonCosts(1_000, 0, 0, 0);
        long pfn = inflateDeflate(guest(false, messagesOnly))[1];
        long bitmap = inflateDeflate(guest(true, messagesOnly))[1];
        assertThat(pfn).isEqualTo(1_024_000L);
        assertThat(bitmap).isEqualTo(8_000L);
        assertThat(pfn / bitmap).isEqualTo(32_768 / 256);
    }

    @Test
    void shouldCostAReleaseOfNeverTouchedPagesOnlyTheCall() {
        BalloonCosts releaseOnly = new BalloonCosts(0, 0, 500, 2);
        SimGuest fresh = guest(true, releaseOnly);
        assertThat(inflateDeflate(fresh)).containsExactly(8L * 500, 0L);
        SimGuest written = guest(true, releaseOnly);
        writeAll(written);
        assertThat(inflateDeflate(written)).containsExactly(8L * (500 + 2 * 32_768), 0L);
    }

    @Test
    void shouldHandTheHostEachMessageOnlyWhenItsTimeHasCome() {
        SimGuest g = guest(true, ROUND);
        g.inflate(GIB_PAGES, true); // 8 messages, each taken 1,500 ns after the last
        long[] taken = {0};
        g.setNow(1_499);
        g.drainRequests((type, a, b, c) -> taken[0]++, 100);
        assertThat(taken[0]).isZero();
        g.setNow(1_500);
        g.drainRequests((type, a, b, c) -> taken[0]++, 100);
        assertThat(taken[0]).isEqualTo(1);
        g.setNow(11_999);
        g.drainRequests((type, a, b, c) -> taken[0]++, 100);
        assertThat(taken[0]).isEqualTo(7);
        g.setNow(12_000);
        g.drainRequests((type, a, b, c) -> taken[0]++, 100);
        assertThat(taken[0]).isEqualTo(8);
    }

    @Test
    void shouldGiveDeflatedPagesBackOnlyOnceTheHostHasTakenTheirMessage() {
        SimGuest g = guest(false, ROUND);
        g.inflate(256, true); // one PFN array: 1,000 + 2,560 + 500 = 4,060 ns
        long[] d = g.deflate(256, 0); // then one more: 1,000 + 2,560
        assertThat(d[1]).isEqualTo(256);
        assertThat(d[2]).isEqualTo(7_620);
        g.setNow(7_619);
        assertThat(g.isFree(d[0])).isFalse();
        assertThat(g.balloonPageCount()).isZero();
        assertThat(g.inUse(d[0]))
                .as("held by the driver until the host answers")
                .isTrue();
        g.setNow(7_620);
        assertThat(g.isFree(d[0])).isTrue();
        assertThat(g.freePageCount()).isEqualTo(g.totalPages - g.ringPages.length);
    }

    @Test
    void shouldGiveDeflatedPagesBackAtOnceWhenTheBalloonCostsNothing() {
        SimGuest g = guest(false, BalloonCosts.FREE);
        g.inflate(256, true);
        long[] d = g.deflate(256, 0);
        assertThat(d[2]).isZero();
        assertThat(g.isFree(d[0])).isTrue();
    }

    @Test
    void shouldLetAnAllocationThatDeflatesOnOomWaitForTheHostWithoutAStall() {
        SimGuest g =
                guest(RamLayout.pcLike(64L << 20), false, ROUND, new SimGuest.Kernel(HintDriver.IDEAL, false, true));
        g.inflate(2_048, true); // 8 PFN arrays, never written: 8 x 4,060 = 32,480 ns
        while (g.allocPages(0) >= 0) {}
        assertThat(g.allocReclaiming(0)).isNegative(); // deflates 256 pages: back at 32,480 + 3,560
        assertThat(g.oomDeflatedPages).isEqualTo(256);
        assertThat(g.allocStalls).isZero();
        g.setNow(36_039);
        assertThat(g.allocReclaiming(0)).as("still waiting: no second deflate").isNegative();
        assertThat(g.oomDeflatedPages).isEqualTo(256);
        assertThat(g.allocStalls).isZero();
        g.setNow(36_040);
        assertThat(g.allocReclaiming(0)).isNotNegative();
        assertThat(g.allocStalls).isZero();
        assertThat(g.balloonPageCount()).isEqualTo(2_048 - 256);
    }

    @Test
    void shouldLetDeflateRaceWriteWhatItTookBackOnlyOnceTheHostAnsweredAndWaitForItsLastDeflate() {
        // one message of 1 MiB takes 2.5 ms, longer than the workload's 1 ms between deflates
        SimGuest g =
                guest(RamLayout.pcLike(64L << 20), false, new BalloonCosts(2_500_000, 0, 0, 0), SimGuest.Kernel.IDEAL);
        Workload w = Workload.create(
                WorkloadSpec.parse("deflate-race:50,step=1M,every=1ms,rate=0MiB/s"), g, new SplittableRandom(1));
        w.boot();
        long ballooned = g.balloonPageCount();
        long messages = g.balloonMessages;
        long first = g.balloon.nextSetBit(0); // deflates take the lowest ballooned pages first
        for (long ms = 0; ms <= 3; ms++) {
            g.setNow(ms * 1_000_000);
            w.tick(1_000_000);
            if (ms == 0) {
                assertThat(g.balloonPageCount()).isEqualTo(ballooned - 256);
                assertThat(g.balloon.get(first)).isFalse();
            }
            if (ms < 3) {
                assertThat(g.balloonMessages - messages)
                        .as("at %d ms: the first deflate only", ms)
                        .isEqualTo(1);
                assertThat(g.read(first))
                        .as("at %d ms: not written before the host answered (2.5 ms)", ms)
                        .isZero();
            }
        }
        // at 3 ms: the first 256 pages written, and the second deflate sent
        assertThat(g.read(first)).isPositive();
        assertThat(g.balloonMessages - messages).isEqualTo(2);
        assertThat(g.balloonPageCount()).isEqualTo(ballooned - 512);
    }

    @Test
    void shouldRefuseNegativeCosts() {
        assertThatThrownBy(() -> new BalloonCosts(-1, 0, 0, 0)).hasMessage("balloon costs must be >= 0");
        assertThatThrownBy(() -> new BalloonCosts(0, 0, 0, Double.NaN)).hasMessage("balloon costs must be >= 0");
    }
}
