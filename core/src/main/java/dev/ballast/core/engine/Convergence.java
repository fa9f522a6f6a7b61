package dev.ballast.core.engine;

/**
 * When to stop the guest: the pure rule the engine applies after every dirty-log sync, kept apart
 * so it can be tested on its own.
 *
 * <p>The estimate is {@code remainingBytes / bandwidth}: it assumes the pages still dirty are all
 * sent with their data (some will turn out to be zero and cost less), that the bandwidth of the
 * last pass holds during stop-and-copy, and it ignores the final sync and the destination's
 * acknowledgement, which the downtime also contains.
 */
public final class Convergence {
    private Convergence() { }

    /** Why the engine stops the guest, or {@link #CONTINUE} if it does not. */
    public enum Decision { CONTINUE, CONVERGED, ITERATION_CAP, TIME_CAP }

    /**
     * @param remainingBytes       bytes still to send if the guest stopped now
     * @param bandwidthBytesPerSec the bandwidth measured over the last pass (&lt;= 0: unknown)
     * @param downtimeLimitNs      the downtime the user allows
     * @param iteration            passes done so far (the bulk stage is 1)
     * @param maxIterations        passes allowed before stop-and-copy is forced
     * @param elapsedNs            time since the migration started
     * @param timeCapNs            time allowed before stop-and-copy is forced (0: no cap)
     */
    public static Decision decide(long remainingBytes, double bandwidthBytesPerSec, long downtimeLimitNs,
                                  int iteration, int maxIterations, long elapsedNs, long timeCapNs) {
        if (remainingBytes == 0) return Decision.CONVERGED;
        if (bandwidthBytesPerSec > 0) {
            double expectedNs = remainingBytes / bandwidthBytesPerSec * 1e9;
            if (expectedNs <= downtimeLimitNs) return Decision.CONVERGED;
        }
        if (iteration >= maxIterations) return Decision.ITERATION_CAP;
        if (timeCapNs > 0 && elapsedNs >= timeCapNs) return Decision.TIME_CAP;
        return Decision.CONTINUE;
    }
}
