package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.G;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.CostProfile;
import org.junit.jupiter.api.Test;

/**
 * The claim of the seeds' {@code 001} series: balloon changes sent as bitmaps instead of PFN arrays. On the
 * simulator: the messages, the host's releases and the simulated time ({@link BalloonCosts#MEASURED}) of inflating
 * and deflating 1 to 4 GiB of an 8 GiB guest, with pages never written and with every page written first (its table
 * in the README is this test's output).
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
                SimOptions.DEFAULTS,
                SimGuest.Kernel.IDEAL,
                SimOptions.DEFAULTS.balloon()));
    }

    /** The guest writes every page (as scripts/balloon-speed.sh's guest does before each inflate): host memory backs them. */
    static void writeAll(SimGuest g) {
        for (RamBlock b : g.blocks) g.writeRange(b.firstIndex(), b.pages());
    }

    @Test
    void shouldSendOneMessageFor256PagesAsPfnArraysAndFor32768AsBitmaps() {
        for (boolean written : new boolean[] {false, true}) {
            for (long gib : new long[] {1, 2, 4}) {
                long pages = gib * G / RamLayout.PAGE_SIZE;
                long[] messages = new long[2];
                long[] releases = new long[2];
                long[] inflateNs = new long[2];
                long[] deflateNs = new long[2];
                for (int mode = 0; mode < 2; mode++) {
                    SimGuest g = guest(mode == 1);
                    if (written) writeAll(g);
                    assertThat(g.inflate(pages, true)).isEqualTo(pages);
                    long inflate = g.balloonMessages;
                    releases[mode] = g.hostReleases;
                    inflateNs[mode] = g.balloonNs;
                    long left = pages;
                    while (left > 0) {
                        long[] d = g.deflate(left, 0);
                        left -= d[1];
                    }
                    messages[mode] = inflate;
                    deflateNs[mode] = g.balloonNs - inflateNs[mode];
                    assertThat(g.balloonMessages - inflate).as("deflate").isEqualTo(inflate);
                }
                assertThat(messages[0]).isEqualTo(pages / SimGuest.PFN_ARRAY_MAX);
                assertThat(messages[1]).isEqualTo(pages / SimGuest.BITMAP_MESSAGE_MAX);
                assertThat(releases[0]).isEqualTo(messages[0]); // each message is one contiguous range here
                assertThat(releases[1]).isEqualTo(messages[1]);
                System.out.printf(
                        "balloon %d GiB, %s: pfn %d messages, %d host releases, inflate %.1f ms, deflate %.1f ms;"
                                + " bitmap %d messages, %d host releases, inflate %.1f ms, deflate %.1f ms;"
                                + " bitmap faster by %.1f %% (inflate), %.1f %% (deflate)%n",
                        gib,
                        written ? "written" : "fresh",
                        messages[0],
                        releases[0],
                        inflateNs[0] / 1e6,
                        deflateNs[0] / 1e6,
                        messages[1],
                        releases[1],
                        inflateNs[1] / 1e6,
                        deflateNs[1] / 1e6,
                        100 * (1 - (double) inflateNs[1] / inflateNs[0]),
                        100 * (1 - (double) deflateNs[1] / deflateNs[0]));
            }
        }
    }
}
