package dev.ballast.core.engine;

/**
 * The engine's settings, checked once here.
 *
 * @param bandwidthBytesPerSec migration bandwidth limit, 0 for none
 * @param downtimeLimitNs      stop-and-copy starts when the rest fits this at the measured bandwidth
 * @param maxIterations        passes before stop-and-copy is forced
 * @param timeCapNs            time before stop-and-copy is forced (0: none)
 * @param firstCommandId       the first free page hint command id
 * @param pagesPerStep         at most this many pages handled in one step (a bounded unit of work)
 * @param requestsPerStep      at most this many guest requests drained in one step
 * @param pageHeaderBytes      bytes in front of every page and fill record on the wire
 * @param countFinalSync       whether the switch-over estimate counts the final dirty-log sync (the last sync's
 *                             measured time) besides the bytes left at the measured bandwidth; false is the rule of
 *                             journals written before it did, which a replay of them must keep
 * @param syncBeforeStop       QEMU's sync before it decides to stop (QEMU 7.2's {@code ram_save_pending}): at every
 *                             step of a live pass, when the pages left to send would fit the downtime limit at the
 *                             bandwidth measured over the last 100 ms, the dirty log is synced there, in the middle
 *                             of the pass if need be, and the guest is stopped only if what is left still fits; a
 *                             pass that ends with more left than fits goes round again without a sync. False: the
 *                             engine syncs and decides only at the end of each pass, on the bandwidth of the pass
 * @param uncappedStop         the bandwidth limit is a cap on the sender, as QEMU's {@code max-bandwidth}, which
 *                             QEMU lifts for the stop-and-copy ({@code migration_completion} sets the rate limit to
 *                             {@code INT64_MAX} before the last pass): the stop-and-copy is not throttled. False: the
 *                             limit holds to the end, as a link of that bandwidth
 */
public record EngineConfig(
        long bandwidthBytesPerSec,
        long downtimeLimitNs,
        int maxIterations,
        long timeCapNs,
        long firstCommandId,
        int pagesPerStep,
        int requestsPerStep,
        int pageHeaderBytes,
        boolean countFinalSync,
        boolean syncBeforeStop,
        boolean uncappedStop) {
    /** Settings that sync and decide at the end of each pass only, throttled to the end. */
    public EngineConfig(
            long bandwidthBytesPerSec,
            long downtimeLimitNs,
            int maxIterations,
            long timeCapNs,
            long firstCommandId,
            int pagesPerStep,
            int requestsPerStep,
            int pageHeaderBytes,
            boolean countFinalSync) {
        this(
                bandwidthBytesPerSec,
                downtimeLimitNs,
                maxIterations,
                timeCapNs,
                firstCommandId,
                pagesPerStep,
                requestsPerStep,
                pageHeaderBytes,
                countFinalSync,
                false,
                false);
    }

    /** Settings under the current switch-over rule (the final sync counted). */
    public EngineConfig(
            long bandwidthBytesPerSec,
            long downtimeLimitNs,
            int maxIterations,
            long timeCapNs,
            long firstCommandId,
            int pagesPerStep,
            int requestsPerStep,
            int pageHeaderBytes) {
        this(
                bandwidthBytesPerSec,
                downtimeLimitNs,
                maxIterations,
                timeCapNs,
                firstCommandId,
                pagesPerStep,
                requestsPerStep,
                pageHeaderBytes,
                true);
    }

    public EngineConfig {
        if (bandwidthBytesPerSec < 0)
            throw new IllegalArgumentException("bandwidthBytesPerSec=" + bandwidthBytesPerSec + ": must be >= 0");
        if (downtimeLimitNs <= 0)
            throw new IllegalArgumentException("downtimeLimitNs=" + downtimeLimitNs + ": must be > 0");
        if (maxIterations < 1) throw new IllegalArgumentException("maxIterations=" + maxIterations + ": must be >= 1");
        if (timeCapNs < 0) throw new IllegalArgumentException("timeCapNs=" + timeCapNs + ": must be >= 0");
        if (pagesPerStep < 64) throw new IllegalArgumentException("pagesPerStep=" + pagesPerStep + ": must be >= 64");
        if (requestsPerStep < 1)
            throw new IllegalArgumentException("requestsPerStep=" + requestsPerStep + ": must be >= 1");
        if (pageHeaderBytes < 0)
            throw new IllegalArgumentException("pageHeaderBytes=" + pageHeaderBytes + ": must be >= 0");
    }

    public static EngineConfig defaults() {
        return new EngineConfig(0, 300_000_000L, 30, 0, 0x8000_0000L, 4096, 65_536, 8);
    }

    public EngineConfig withLimits(long bandwidth, long downtimeNs, int iterations, long capNs) {
        Builder b = toBuilder();
        b.bandwidthBytesPerSec = bandwidth;
        b.downtimeLimitNs = downtimeNs;
        b.maxIterations = iterations;
        b.timeCapNs = capNs;
        return b.build();
    }

    public EngineConfig withFirstCommandId(long id) {
        Builder b = toBuilder();
        b.firstCommandId = id;
        return b.build();
    }

    public EngineConfig withPageHeaderBytes(int bytes) {
        Builder b = toBuilder();
        b.pageHeaderBytes = bytes;
        return b.build();
    }

    /** These settings under the old switch-over rule (false) or the current one (true); see {@link #countFinalSync()}. */
    public EngineConfig withCountFinalSync(boolean count) {
        Builder b = toBuilder();
        b.countFinalSync = count;
        return b.build();
    }

    /** These settings with QEMU's sync before the decision to stop, or without it; see {@link #syncBeforeStop()}. */
    public EngineConfig withSyncBeforeStop(boolean sync) {
        Builder b = toBuilder();
        b.syncBeforeStop = sync;
        return b.build();
    }

    /** These settings with the limit lifted for the stop-and-copy, as QEMU's, or not; see {@link #uncappedStop()}. */
    public EngineConfig withUncappedStop(boolean uncapped) {
        Builder b = toBuilder();
        b.uncappedStop = uncapped;
        return b.build();
    }

    /** A copy of these settings to change: each {@code with…} sets what it names and builds (checked again). */
    private Builder toBuilder() {
        Builder b = new Builder();
        b.bandwidthBytesPerSec = bandwidthBytesPerSec;
        b.downtimeLimitNs = downtimeLimitNs;
        b.maxIterations = maxIterations;
        b.timeCapNs = timeCapNs;
        b.firstCommandId = firstCommandId;
        b.pagesPerStep = pagesPerStep;
        b.requestsPerStep = requestsPerStep;
        b.pageHeaderBytes = pageHeaderBytes;
        b.countFinalSync = countFinalSync;
        b.syncBeforeStop = syncBeforeStop;
        b.uncappedStop = uncappedStop;
        return b;
    }

    private static final class Builder {
        long bandwidthBytesPerSec;
        long downtimeLimitNs;
        int maxIterations;
        long timeCapNs;
        long firstCommandId;
        int pagesPerStep;
        int requestsPerStep;
        int pageHeaderBytes;
        boolean countFinalSync;
        boolean syncBeforeStop;
        boolean uncappedStop;

        EngineConfig build() {
            return new EngineConfig(
                    bandwidthBytesPerSec,
                    downtimeLimitNs,
                    maxIterations,
                    timeCapNs,
                    firstCommandId,
                    pagesPerStep,
                    requestsPerStep,
                    pageHeaderBytes,
                    countFinalSync,
                    syncBeforeStop,
                    uncappedStop);
        }
    }
}
