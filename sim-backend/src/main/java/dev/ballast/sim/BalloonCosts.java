package dev.ballast.sim;

/**
 * What a balloon change costs in the simulator's time. The balloon driver sends its messages one after the other
 * and waits for each (as Linux's {@code tell_host}), so an inflate or deflate lasts as long as its messages:
 *
 * <pre>
 *   message = messageNs                                      (every message, PFN array or bitmap)
 *           + pfnNsPerPage * pages                           (a PFN array: each page's PFN written and translated)
 *           + releaseCallNs + releaseNsPerBackedPage * backed (an inflate: the host's madvise of the message's range;
 *                                                              backed = its pages the host has memory behind)
 * </pre>
 *
 * A bitmap message carries its pages as bits of one 4 KiB page: no per-page term. A page the guest never wrote since
 * the host last released it costs the release nothing but its share of the call. A deflate releases nothing.
 *
 * <p>{@link #MEASURED} are this machine's KVM backend's figures (README, "What a balloon change costs"); {@link #FREE}
 * is a balloon that takes no time (unit tests of other parts of the guest).
 *
 * @param messageNs              one message: its virtio transfer, the host's handling and the guest's wake-up
 * @param pfnNsPerPage           one page named in a PFN array: the guest's entry and the host's translation of it
 * @param releaseCallNs          one host release ({@code madvise(MADV_DONTNEED)}) of a contiguous range
 * @param releaseNsPerBackedPage one page of that range that host memory backs (freeing it)
 */
public record BalloonCosts(double messageNs, double pfnNsPerPage, double releaseCallNs, double releaseNsPerBackedPage) {
    /**
     * Measured on this machine (2 cores, nested KVM, load 7 to 15), README "What a balloon change costs":
     * <ul>
     *   <li>{@code messageNs} 100 µs and {@code releaseNsPerBackedPage} 3.7 µs: {@code scripts/balloon-cost-fit.py} over
     *       {@code scripts/balloon-speed.sh --sizes 256,512,1024 --repeat 5 --fresh} and {@code --repeat 7} (written
     *       pages), kept in {@code docs/measurements/}: a least-squares fit (relative errors) of 24 medians, PFN
     *       arrays and bitmaps, inflate and deflate, with a fixed cost per operation for the command that starts it
     *       (0.34 ms, not the balloon's);</li>
     *   <li>{@code pfnNsPerPage} 6.5 ns: {@code java scripts/BalloonPfnCost.java} (the guest's write of a PFN and the
     *       device's read and merge of it; the fit cannot tell it from the message's cost);</li>
     *   <li>{@code releaseCallNs} 0.7 µs: {@code scripts/madvise-cost.py}, a madvise of an untouched 1 MiB range (1.3
     *       µs for 128 MiB); the fit cannot tell it from zero.</li>
     * </ul>
     */
    public static final BalloonCosts MEASURED = new BalloonCosts(100_000, 6.5, 700, 3_700);

    /** A balloon whose changes take no time. */
    public static final BalloonCosts FREE = new BalloonCosts(0, 0, 0, 0);

    public BalloonCosts {
        if (!(messageNs >= 0 && pfnNsPerPage >= 0 && releaseCallNs >= 0 && releaseNsPerBackedPage >= 0)) {
            throw new IllegalArgumentException("balloon costs must be >= 0");
        }
    }

    /** One message of {@code pages} pages: as a bitmap, or as a PFN array. */
    double messageNs(boolean bitmap, long pages) {
        return messageNs + (bitmap ? 0 : pfnNsPerPage * pages);
    }

    /** The host's release of one range of which {@code backedPages} are backed by host memory. */
    double releaseNs(long backedPages) {
        return releaseCallNs + releaseNsPerBackedPage * backedPages;
    }
}
