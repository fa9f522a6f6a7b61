package dev.ballast.report;

import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.WorkloadSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * What the seeds measured ({@code docs/seeds.md}, "Reference results": 8 GiB guests on a ~10 Gbit/s link,
 * downtime 2 s, unless the case says otherwise), so a report can put a run next to the figure of
 * the same case. A run matches a case when its workload (with no extra parameters) and guest size
 * are the case's, and its policy is {@code legacy} (the baseline column) or the case's policy (the
 * optimized column).
 */
public final class SeedFigures {
    private SeedFigures() {}

    private static final long GIB = 1L << 30;

    /**
     * One case of the seeds' table.
     *
     * @param title       the case as the table names it
     * @param source      the seed it comes from
     * @param workload    Ballast's workload for it
     * @param guestBytes  the guest's size
     * @param policy      the optimized policy it measured
     * @param legacyMs    total migration time without the optimization
     * @param optimizedMs with it
     * @param legacyKB    kilobytes sent without it, or -1 when the seed does not say
     * @param optimizedKB with it, or -1
     * @param approximate the seed gives round figures (~)
     */
    public record Case(
            String title,
            String source,
            String workload,
            long guestBytes,
            String policy,
            double legacyMs,
            double optimizedMs,
            long legacyKB,
            long optimizedKB,
            boolean approximate) {}

    /**
     * A case that matches a run, and which of its columns the run is to be compared with.
     *
     * @param column {@code legacy} or {@code optimized}
     * @param ms     that column's time
     * @param kb     that column's kilobytes sent, or -1
     */
    public record Figure(Case seedCase, String column, double ms, long kb) {}

    public static final List<Case> CASES = List.of(
            new Case("idle guest, free page hints", "000", "idle", 8 * GIB, "hint", 1769, 259, -1, -1, false),
            new Case("make -j4 guest, free page hints", "000", "compile", 8 * GIB, "hint", 2634, 1290, -1, -1, false),
            new Case(
                    "idle guest, free page bitmap",
                    "002",
                    "idle",
                    8 * GIB,
                    "bitmap",
                    1894,
                    421,
                    398_017,
                    353_242,
                    false),
            new Case(
                    "after a memory hog exited, free page bitmap",
                    "002",
                    "memhog",
                    8 * GIB,
                    "bitmap",
                    7436,
                    552,
                    8_146_291,
                    361_375,
                    false),
            new Case(
                    "16 GiB guest ballooned to 4 GiB, balloon skip",
                    "003",
                    "balloon:25",
                    16 * GIB,
                    "balloon",
                    7600,
                    5700,
                    -1,
                    -1,
                    true),
            new Case(
                    "1 TiB guest ballooned to 128 GiB, balloon skip",
                    "003",
                    "balloon:12.5",
                    1024 * GIB,
                    "balloon",
                    1_200_000,
                    600_000,
                    -1,
                    -1,
                    true));

    /** The seeds' figures for this run's case, or none. */
    public static List<Figure> forRun(RunManifest m) {
        List<Figure> out = new ArrayList<>();
        WorkloadSpec w;
        try {
            w = WorkloadSpec.parse(m.workload());
        } catch (IllegalArgumentException e) {
            return out;
        }
        if (!w.params().isEmpty()) return out;
        long bytes = m.layout().totalBytes();
        for (Case c : CASES) {
            if (c.guestBytes() != bytes || !sameWorkload(w, WorkloadSpec.parse(c.workload()))) continue;
            if (m.policy().equals("legacy")) out.add(new Figure(c, "legacy", c.legacyMs(), c.legacyKB()));
            else if (m.policy().equals(c.policy()))
                out.add(new Figure(c, "optimized", c.optimizedMs(), c.optimizedKB()));
        }
        return out;
    }

    private static boolean sameWorkload(WorkloadSpec run, WorkloadSpec seed) {
        if (!run.name().equals(seed.name())) return false;
        if (seed.arg() == null || run.arg() == null) return seed.arg() == null && run.arg() == null;
        try {
            return Double.parseDouble(run.arg()) == Double.parseDouble(seed.arg());
        } catch (NumberFormatException e) {
            return run.arg().equals(seed.arg());
        }
    }
}
