package dev.ballast.core.engine;

/**
 * What a migration did, as the engine counts it. Times in nanoseconds of the engine's clock.
 *
 * @param skippedFree pages not sent with their data because the guest said they were free (or, under the report
 *     policies, the host discarded them since the latest sync)
 *                    (skipped outright, or sent as a poison fill record under page poisoning)
 * @param resent      pages sent more than once by this migration
 * @param rejected    guest requests rejected, all kinds
 */
public record EngineStats(
        Phase phase,
        int iterations,
        long syncs,
        long totalNs,
        long setupNs,
        long downtimeNs,
        long transferredBytes,
        long pagesNormal,
        long pagesZero,
        long skippedBalloon,
        long skippedFree,
        long resent,
        long hintRequests,
        long hintRanges,
        long hintPages,
        long hintRejected,
        long rejected,
        long balloonInflated,
        long balloonDeflated,
        long balloonRejected,
        boolean balloonSkipActive,
        String failureCause,
        String failureMessage,
        double lastBandwidthBytesPerSec) {

    /**
     * These statistics with {@code ns} of the migration's time taken out of its total time and its
     * downtime (each at least 0): time the engine waited that was not migrating, such as a KVM
     * destination's self-check before its acknowledgement.
     */
    public EngineStats withTimeExcluded(long ns) {
        return withTimeExcluded(ns, true);
    }

    /**
     * As {@link #withTimeExcluded(long)}, but the downtime is taken out of only if {@code fromDowntime}:
     * after a postcopy switch-over the guest runs on the destination while the engine waits, and the
     * downtime was the switch-over's.
     */
    public EngineStats withTimeExcluded(long ns, boolean fromDowntime) {
        return new EngineStats(
                phase,
                iterations,
                syncs,
                Math.max(0, totalNs - ns),
                setupNs,
                fromDowntime ? Math.max(0, downtimeNs - ns) : downtimeNs,
                transferredBytes,
                pagesNormal,
                pagesZero,
                skippedBalloon,
                skippedFree,
                resent,
                hintRequests,
                hintRanges,
                hintPages,
                hintRejected,
                rejected,
                balloonInflated,
                balloonDeflated,
                balloonRejected,
                balloonSkipActive,
                failureCause,
                failureMessage,
                lastBandwidthBytesPerSec);
    }
}
