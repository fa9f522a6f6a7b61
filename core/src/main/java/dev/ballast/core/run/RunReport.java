package dev.ballast.core.run;

import java.util.List;

/**
 * The result of one migration run, as {@code --json} writes it. Times are milliseconds;
 * {@code timeModel} says whether they are {@code virtual} (simulated clock) or {@code wall}.
 *
 * <p>{@code expectedDowntimeMs} is the downtime the engine expected when it paused the guest (-1 when not known);
 * {@code downtimeExceeded} says that a completed run's downtime was over {@code downtimeLimitMs}. For a chain the
 * downtimes are summed over the hops and the limit is each hop's; it is exceeded when a hop exceeded it.
 */
public record RunReport(
        String backend,
        String workload,
        String policy,
        long guestMemBytes,
        long seed,
        String timeModel,
        String outcome,
        double totalTimeMs,
        double downtimeMs,
        double expectedDowntimeMs,
        double downtimeLimitMs,
        boolean downtimeExceeded,
        double setupTimeMs,
        int iterations,
        long transferredBytes,
        Ram ram,
        Pages pages,
        Hints hints,
        Balloon balloon,
        Verify verify,
        Journal journal,
        List<Attempt> attempts,
        List<RunReport> hops,
        double wallTimeMs,
        Vmm vmm,
        Postcopy postcopy) {

    /** A report without {@link Vmm} figures (every backend but one that runs a real VMM) of a migration that did not switch to postcopy. */
    public RunReport(
            String backend,
            String workload,
            String policy,
            long guestMemBytes,
            long seed,
            String timeModel,
            String outcome,
            double totalTimeMs,
            double downtimeMs,
            double expectedDowntimeMs,
            double downtimeLimitMs,
            boolean downtimeExceeded,
            double setupTimeMs,
            int iterations,
            long transferredBytes,
            Ram ram,
            Pages pages,
            Hints hints,
            Balloon balloon,
            Verify verify,
            Journal journal,
            List<Attempt> attempts,
            List<RunReport> hops,
            double wallTimeMs) {
        this(
                backend,
                workload,
                policy,
                guestMemBytes,
                seed,
                timeModel,
                outcome,
                totalTimeMs,
                downtimeMs,
                expectedDowntimeMs,
                downtimeLimitMs,
                downtimeExceeded,
                setupTimeMs,
                iterations,
                transferredBytes,
                ram,
                pages,
                hints,
                balloon,
                verify,
                journal,
                attempts,
                hops,
                wallTimeMs,
                null,
                null);
    }

    /**
     * What a backend that runs a real VMM (qemu) adds: the VMM, its version and accelerator, the guest kernel, the
     * VMM's own account of the migration ({@code own}, e.g. QEMU's {@code query-migrate}) beside Ballast's reading of
     * the stream it sent ({@code stream}), and whether the counts both have agree exactly ({@code agrees}).
     */
    public record Vmm(
            String name,
            String version,
            String accelerator,
            String kernel,
            java.util.Map<String, Long> own,
            java.util.Map<String, Long> stream,
            boolean agrees) {}

    /**
     * The counters QEMU's {@code query-migrate} reports under {@code ram}, by the same names ({@code docs/reference.md}
     * maps each). Bytes include the page headers, as {@code transferredBytes} does.
     *
     * @param transferred     bytes on the link (= {@code transferredBytes})
     * @param remaining       bytes left to send at the last switch-over check (at the pause, for a completed run); -1 if never checked
     * @param total           the guest's RAM
     * @param duplicate       zero pages, sent as fill records
     * @param normal          pages sent with their data
     * @param normalBytes     {@code normal × pageSize}
     * @param dirtyPagesRate  pages per second the last sync before the pause found dirty, over the time since the sync before it; -1 if not known
     * @param mbps            megabits (10^6) per second: {@code transferred} over the time after setup
     * @param dirtySyncCount  dirty-log syncs, each migration's setup sync included
     * @param pageSize        the guest page size
     * @param pagesPerSecond  pages sent (normal and zero) per second of the time after setup
     * @param precopyBytes    bytes sent while the guest ran; -1 if not known
     * @param downtimeBytes   bytes sent while the guest was paused (stop-and-copy; in postcopy up to the switch-over); -1 if not known
     */
    public record Ram(
            long transferred,
            long remaining,
            long total,
            long duplicate,
            long normal,
            long normalBytes,
            long dirtyPagesRate,
            double mbps,
            long dirtySyncCount,
            long pageSize,
            long pagesPerSecond,
            long precopyBytes,
            long downtimeBytes) {}

    /**
     * A migration that switched to postcopy (null for one that did not; for a chain, each hop has its own).
     * {@code downtimeMs} of the report is then the switch-over's.
     *
     * @param bytesBeforeSwitchOver bytes sent before the switch-over (pre-copy, discards, the balloon bitmap)
     * @param postcopyBytes         bytes sent after it (QEMU's {@code postcopy-bytes})
     * @param postcopyRequests      pages the destination asked for (QEMU's {@code postcopy-requests})
     * @param unservedRequests      requested pages the source did not send (it held them as sent or skipped)
     * @param discardedPages        pages the switch-over told the destination were stale
     * @param balloonBitmapBytes    the balloon bitmap the switch-over carried (0: none)
     * @param recoveries            recoveries after link failures in postcopy
     * @param faults                the guest's faults on the destination (a page faulted on twice before it came counts once)
     * @param zeroPlaced            faults the destination served itself (ballooned pages, as zero)
     * @param faultLatencyMedianMs  from a fault to its page's placement: median
     * @param faultLatencyP99Ms     99th percentile (nearest rank)
     * @param faultLatencyMaxMs     the longest
     * @param lostProgressMs        time the guest's vCPUs waited for pages instead of running
     */
    public record Postcopy(
            double switchOverMs,
            long bytesBeforeSwitchOver,
            long postcopyBytes,
            long postcopyRequests,
            long unservedRequests,
            long discardedPages,
            long balloonBitmapBytes,
            int recoveries,
            long faults,
            long zeroPlaced,
            double faultLatencyMedianMs,
            double faultLatencyP99Ms,
            double faultLatencyMaxMs,
            double lostProgressMs) {}

    /** Page counts by what happened to them; every page of every block is counted once per pass it was considered in. */
    public record Pages(long normal, long zero, long skippedBalloon, long skippedFree, long resent) {
        public static final Pages NONE = new Pages(0, 0, 0, 0, 0);

        /** These counts and {@code o}'s added (a chain's, over its hops). */
        public Pages plus(Pages o) {
            return new Pages(
                    normal + o.normal,
                    zero + o.zero,
                    skippedBalloon + o.skippedBalloon,
                    skippedFree + o.skippedFree,
                    resent + o.resent);
        }
    }

    /** Free page hinting: requests issued, ranges and pages the guest reported, and requests rejected. */
    public record Hints(long requests, long ranges, long pages, long applied, long rejected) {
        public static final Hints NONE = new Hints(0, 0, 0, 0, 0);

        /** These counts and {@code o}'s added. */
        public Hints plus(Hints o) {
            return new Hints(
                    requests + o.requests,
                    ranges + o.ranges,
                    pages + o.pages,
                    applied + o.applied,
                    rejected + o.rejected);
        }
    }

    /**
     * Balloon activity seen while migrating.
     *
     * @param skipOff why the policy, which skips ballooned pages on other guests, skipped none on this
     *                one ({@link dev.ballast.core.policy.MigrationPolicy#balloonSkipOff}); null otherwise
     */
    public record Balloon(long inflatedPages, long deflatedPages, long rejected, boolean skipActive, String skipOff) {
        /** These counts and {@code later}'s added; whether the skip is active, and why not, are {@code later}'s. */
        public Balloon plus(Balloon later) {
            return new Balloon(
                    inflatedPages + later.inflatedPages,
                    deflatedPages + later.deflatedPages,
                    rejected + later.rejected,
                    later.skipActive,
                    later.skipOff);
        }
    }

    /** The end-of-run check of the invariants ({@code docs/invariants.md}). {@code violation} names the first broken one, or is null. */
    public record Verify(long checkedPages, long mismatchedPages, boolean ok, String violation) {
        /** Both checks: the pages added, ok when both are, the first violation. */
        public Verify plus(Verify o) {
            return new Verify(
                    checkedPages + o.checkedPages,
                    mismatchedPages + o.mismatchedPages,
                    ok && o.ok,
                    violation != null ? violation : o.violation);
        }
    }

    /** Where the run's journal is, how many events it holds and their digest (null fields when not journaled). */
    public record Journal(String path, long events, String digest) {}

    /** One try of a migration that may have failed and been retried. */
    public record Attempt(String outcome, String cause, double timeMs, long transferredBytes) {}
}
