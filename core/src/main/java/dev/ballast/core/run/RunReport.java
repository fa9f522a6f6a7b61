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
        double wallTimeMs,
        Vmm vmm) {

    /** A report without {@link Vmm} figures (every backend but one that runs a real VMM). */
    public RunReport(String backend, String workload, String policy, long guestMemBytes, long seed, String timeModel,
                     String outcome, double totalTimeMs, double downtimeMs, double setupTimeMs, int iterations,
                     long transferredBytes, Pages pages, Hints hints, Balloon balloon, Verify verify, Journal journal,
                     List<Attempt> attempts, List<RunReport> hops, double wallTimeMs) {
        this(backend, workload, policy, guestMemBytes, seed, timeModel, outcome, totalTimeMs, downtimeMs, setupTimeMs,
                iterations, transferredBytes, pages, hints, balloon, verify, journal, attempts, hops, wallTimeMs, null);
    }

    /**
     * What a backend that runs a real VMM (qemu) adds: the VMM, its version and accelerator, the guest kernel, the
     * VMM's own account of the migration ({@code own}, e.g. QEMU's {@code query-migrate}) beside Ballast's reading of
     * the stream it sent ({@code stream}), and whether the counts both have agree exactly ({@code agrees}).
     */
    public record Vmm(String name, String version, String accelerator, String kernel, java.util.Map<String, Long> own,
                      java.util.Map<String, Long> stream, boolean agrees) { }

    /** Page counts by what happened to them; every page of every block is counted once per pass it was considered in. */
    public record Pages(long normal, long zero, long skippedBalloon, long skippedFree, long resent) { }

    /** Free page hinting: requests issued, ranges and pages the guest reported, and requests rejected. */
    public record Hints(long requests, long ranges, long pages, long applied, long rejected) { }

    /**
     * Balloon activity seen while migrating.
     *
     * @param skipOff why the policy, which skips ballooned pages on other guests, skipped none on this
     *                one ({@link dev.ballast.core.policy.MigrationPolicy#balloonSkipOff}); null otherwise
     */
    public record Balloon(long inflatedPages, long deflatedPages, long rejected, boolean skipActive, String skipOff) { }

    /** The end-of-run check of the invariants ({@code docs/invariants.md}). {@code violation} names the first broken one, or is null. */
    public record Verify(long checkedPages, long mismatchedPages, boolean ok, String violation) { }

    /** Where the run's journal is, how many events it holds and their digest (null fields when not journaled). */
    public record Journal(String path, long events, String digest) { }

    /** One try of a migration that may have failed and been retried. */
    public record Attempt(String outcome, String cause, double timeMs, long transferredBytes) { }
}
