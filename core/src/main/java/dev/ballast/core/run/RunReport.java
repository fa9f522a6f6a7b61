package dev.ballast.core.run;

import java.util.List;

/**
 * The result of one migration run, as {@code --json} writes it. Times are milliseconds;
 * {@code timeModel} says whether they are {@code virtual} (simulated clock) or {@code wall}.
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
        double setupTimeMs,
        int iterations,
        long transferredBytes,
        Pages pages,
        Hints hints,
        Balloon balloon,
        Verify verify,
        Journal journal,
        List<Attempt> attempts,
        List<RunReport> hops,
        double wallTimeMs) {

    /** Page counts by what happened to them; every page of every block is counted once per pass it was considered in. */
    public record Pages(long normal, long zero, long skippedBalloon, long skippedFree, long resent) {
        public static final Pages NONE = new Pages(0, 0, 0, 0, 0);

        /** These counts and {@code o}'s added (a chain's, over its hops). */
        public Pages plus(Pages o) {
            return new Pages(normal + o.normal, zero + o.zero, skippedBalloon + o.skippedBalloon, skippedFree + o.skippedFree,
                    resent + o.resent);
        }
    }

    /** Free page hinting: requests issued, ranges and pages the guest reported, and requests rejected. */
    public record Hints(long requests, long ranges, long pages, long applied, long rejected) {
        public static final Hints NONE = new Hints(0, 0, 0, 0, 0);

        /** These counts and {@code o}'s added. */
        public Hints plus(Hints o) {
            return new Hints(requests + o.requests, ranges + o.ranges, pages + o.pages, applied + o.applied, rejected + o.rejected);
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
            return new Balloon(inflatedPages + later.inflatedPages, deflatedPages + later.deflatedPages, rejected + later.rejected,
                    later.skipActive, later.skipOff);
        }
    }

    /** The end-of-run check of the invariants ({@code docs/invariants.md}). {@code violation} names the first broken one, or is null. */
    public record Verify(long checkedPages, long mismatchedPages, boolean ok, String violation) {
        /** Both checks: the pages added, ok when both are, the first violation. */
        public Verify plus(Verify o) {
            return new Verify(checkedPages + o.checkedPages, mismatchedPages + o.mismatchedPages, ok && o.ok,
                    violation != null ? violation : o.violation);
        }
    }

    /** Where the run's journal is, how many events it holds and their digest (null fields when not journaled). */
    public record Journal(String path, long events, String digest) { }

    /** One try of a migration that may have failed and been retried. */
    public record Attempt(String outcome, String cause, double timeMs, long transferredBytes) { }
}
