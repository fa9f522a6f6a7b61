package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.G;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.CostProfile;
import org.junit.jupiter.api.Test;

/**
 * The claim of the seeds' {@code 001} series: balloon changes sent as bitmaps instead of PFN arrays. On the
 * simulator: the messages and the host's releases of inflating and deflating 1 to 4 GiB of an 8 GiB guest (its table
 * in the README is this test's output). The simulator charges no time for a balloon message, so it counts them and
 * does not time them.
 */
class BalloonMessagesTest {
    static final RamLayout LAYOUT = RamLayout.pcLike(8 * G);

    static SimGuest guest(boolean bitmap) {
        return new SimGuest(new SimGuest.Setup(
                LAYOUT,
                new GuestFeatures(true, true, true, 0),
                bitmap,
                new SimCosts(CostProfile.defaults(), 0),
                new SimCheckers(LAYOUT, 0),
                SimOptions.DEFAULTS));
    }

    @Test
    void shouldSendOneMessageFor256PagesAsPfnArraysAndFor32768AsBitmaps() {
        for (long gib : new long[] {1, 2, 4}) {
            long pages = gib * G / RamLayout.PAGE_SIZE;
            long[] messages = new long[2];
            long[] releases = new long[2];
            for (int mode = 0; mode < 2; mode++) {
                SimGuest g = guest(mode == 1);
                assertThat(g.inflate(pages, true)).isEqualTo(pages);
                long inflate = g.balloonMessages;
                releases[mode] = g.hostReleases;
                long left = pages;
                while (left > 0) {
                    long[] d = g.deflate(left, 0);
                    left -= d[1];
                }
                messages[mode] = inflate;
                assertThat(g.balloonMessages - inflate).as("deflate").isEqualTo(inflate);
            }
            assertThat(messages[0]).isEqualTo(pages / SimGuest.PFN_ARRAY_MAX);
            assertThat(messages[1]).isEqualTo(pages / SimGuest.BITMAP_MESSAGE_MAX);
            assertThat(releases[0]).isEqualTo(messages[0]); // each message is one contiguous range here
            assertThat(releases[1]).isEqualTo(messages[1]);
            System.out.printf(
                    "balloon %d GiB: pfn %d messages, %d host releases; bitmap %d messages, %d host releases (each way)%n",
                    gib, messages[0], releases[0], messages[1], releases[1]);
        }
    }
}
