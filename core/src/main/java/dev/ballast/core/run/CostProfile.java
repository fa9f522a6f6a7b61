package dev.ballast.core.run;

/**
 * What work costs, for the simulator's clock. Measured on a host by {@code ballast calibrate}, or
 * the documented defaults: physical figures of a 2016-era Xeon and a 10 Gbit/s link, never fitted
 * to a result they are meant to predict.
 *
 * @param zeroCheckNsPerPage  time to find that a 4 KiB page is all zeros (the whole page is read)
 * @param dataCheckNsPerPage  time to find that a page is not zero (the scan stops at the first non-zero word)
 * @param copyNsPerPage       time to copy a 4 KiB page into the send buffer
 * @param scanNsPerPage       time to look at one bit of the migration bitmap when walking it word by word
 * @param pageHeaderBytes     bytes on the wire in front of each page and each fill record
 * @param linkLatencyNs       one-way latency of the link
 * @param linkBitsPerSec      raw link bandwidth (bits per second); the run's bandwidth limit caps it
 * @param syncNsPerGiB        cost of one dirty-log sync per GiB of guest memory
 * @param source              where the figures come from: "defaults" or the host that measured them
 */
public record CostProfile(
        double zeroCheckNsPerPage,
        double dataCheckNsPerPage,
        double copyNsPerPage,
        double scanNsPerPage,
        int pageHeaderBytes,
        long linkLatencyNs,
        long linkBitsPerSec,
        long syncNsPerGiB,
        String source) {

    /**
     * Defaults: a zero check reads 4 KiB at ~6 GB/s (one core's streaming read rate on the seeds'
     * E5-2699 class hosts), a copy moves it at ~4 GB/s, a non-zero page is found after a few
     * words, QEMU's 8-byte page header, 10 Gbit/s with 50 µs latency, and a dirty-log sync of
     * ~2 ms per GiB (what KVM_GET_DIRTY_LOG costs on this machine).
     */
    public static CostProfile defaults() {
        return new CostProfile(680, 20, 1000, 0.05, 8, 50_000, 10_000_000_000L, 2_000_000, "defaults");
    }

    public CostProfile {
        if (!(zeroCheckNsPerPage >= 0 && dataCheckNsPerPage >= 0 && copyNsPerPage >= 0 && scanNsPerPage >= 0)) {
            throw new IllegalArgumentException("cost profile: per-page costs must be >= 0");
        }
        if (pageHeaderBytes < 0 || linkLatencyNs < 0 || linkBitsPerSec <= 0 || syncNsPerGiB < 0) {
            throw new IllegalArgumentException("cost profile: header, latency, sync must be >= 0 and bandwidth > 0");
        }
    }
}
