package dev.ballast.core.engine;

/**
 * What a migration did, as the engine counts it. Times in nanoseconds of the engine's clock.
 *
 * @param skippedFree pages not sent with their data because the guest said they were free
 *                    (skipped outright, or sent as a poison fill record under page poisoning)
 * @param resent      pages sent more than once by this migration
 * @param rejected    guest requests rejected, all kinds
 */
public record EngineStats(Phase phase, int iterations, long syncs, long totalNs, long setupNs, long downtimeNs,
                          long transferredBytes, long pagesNormal, long pagesZero, long skippedBalloon,
                          long skippedFree, long resent, long hintRequests, long hintRanges, long hintPages,
                          long hintRejected, long rejected, long balloonInflated, long balloonDeflated,
                          long balloonRejected, boolean balloonSkipActive, String failureCause,
                          String failureMessage, double lastBandwidthBytesPerSec) { }
