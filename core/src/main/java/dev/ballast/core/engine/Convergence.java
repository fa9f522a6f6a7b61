package dev.ballast.core.engine;

/**
 * When to stop the guest: the pure rule the engine applies after every dirty-log sync, kept apart
 * so it can be tested on its own.
 *
 * <p>The estimate of the downtime is {@code finalSyncNs + remainingBytes / bandwidth}: the final
 * dirty-log sync, which runs on the paused guest and costs about what the last sync cost (on a
 * large guest it is most of the downtime: the whole dirty bitmap is read), then the bytes still to
 * send at the bandwidth of the last pass. It assumes the pages still dirty are all sent with their
 * data (some will turn out to be zero and cost less) and ignores the destination's
 * acknowledgement. Journals written before the final sync was counted were decided with
 * {@code finalSyncNs = 0} ({@link EngineConfig#countFinalSync()}).
 *
 * <p>QEMU's switch-over test is the same shape: it goes to stop-and-copy when the pending bytes fit
 * {@code bandwidth × downtime-limit}, and its {@code expected-downtime} is the bytes dirty at the last
 * sync over the bandwidth it measured (over wall time, syncs included).
 */
public final class Convergence {
    private Convergence() {}

    /** Why the engine stops the guest, or {@link #CONTINUE} if it does not. */
    public enum Decision {
        CONTINUE,
        CONVERGED,
        ITERATION_CAP,
        TIME_CAP
    }

    /**
     * @param remainingBytes       bytes still to send if the guest stopped now
     * @param bandwidthBytesPerSec the bandwidth measured over the last pass (&lt;= 0: unknown)
     * @param downtimeLimitNs      the downtime the user allows
     * @param iteration            passes done so far (the bulk stage is 1)
     * @param maxIterations        passes allowed before stop-and-copy is forced
     * @param elapsedNs            time since the migration started
     * @param timeCapNs            time allowed before stop-and-copy is forced (0: no cap)
     */
    public static Decision decide(
            long remainingBytes,
            double bandwidthBytesPerSec,
            long downtimeLimitNs,
            int iteration,
            int maxIterations,
            long elapsedNs,
            long timeCapNs) {
        return decide(
                remainingBytes,
                bandwidthBytesPerSec,
                0,
                downtimeLimitNs,
                iteration,
                maxIterations,
                elapsedNs,
                timeCapNs);
    }

    /**
     * The rule with the final sync counted.
     *
     * @param finalSyncNs what the final dirty-log sync is expected to cost (the last sync's time; 0 under the old rule)
     */
    public static Decision decide(
            long remainingBytes,
            double bandwidthBytesPerSec,
            long finalSyncNs,
            long downtimeLimitNs,
            int iteration,
            int maxIterations,
            long elapsedNs,
            long timeCapNs) {
        if (remainingBytes == 0) return Decision.CONVERGED; // nothing a further pass could reduce
        if (bandwidthBytesPerSec > 0) {
            // in doubles, as the old rule compared (0 + x is x exactly, so finalSyncNs = 0 decides as it did)
            double expectedNs = finalSyncNs + remainingBytes / bandwidthBytesPerSec * 1e9;
            if (expectedNs <= downtimeLimitNs) return Decision.CONVERGED;
        }
        if (iteration >= maxIterations) return Decision.ITERATION_CAP;
        if (timeCapNs > 0 && elapsedNs >= timeCapNs) return Decision.TIME_CAP;
        return Decision.CONTINUE;
    }

    /**
     * The downtime expected if the guest stopped now: {@code finalSyncNs + remainingBytes / bandwidth},
     * rounded to the nanosecond; -1 when bytes remain but the bandwidth is not known yet.
     */
    public static long expectedDowntimeNs(long remainingBytes, double bandwidthBytesPerSec, long finalSyncNs) {
        if (remainingBytes == 0) return finalSyncNs;
        if (bandwidthBytesPerSec <= 0) return -1;
        return finalSyncNs + Math.round(remainingBytes / bandwidthBytesPerSec * 1e9);
    }
}
