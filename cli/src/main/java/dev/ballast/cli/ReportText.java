package dev.ballast.cli;

import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Units;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Human-readable text of run reports: the summary of {@code run} and the table of {@code compare}. */
final class ReportText {
    private ReportText() {}

    /** The summary of one run, a few aligned lines. */
    static String summary(RunReport r) {
        StringBuilder sb = new StringBuilder();
        line(sb, "outcome", r.outcome());
        line(sb, "total", ms(r.totalTimeMs()) + " ms (" + r.timeModel() + " time)");
        line(sb, "downtime", downtime(r));
        line(sb, "setup", ms(r.setupTimeMs()) + " ms");
        line(sb, "iterations", Integer.toString(r.iterations()));
        line(
                sb,
                "transferred",
                Units.formatBytes(r.transferredBytes()) + " (" + count(r.transferredBytes()) + " bytes)");
        if (r.pages() != null) {
            var p = r.pages();
            line(
                    sb,
                    "pages",
                    "normal " + count(p.normal()) + ", zero " + count(p.zero())
                            + ", skipped balloon " + count(p.skippedBalloon()) + ", skipped free "
                            + count(p.skippedFree())
                            + ", resent " + count(p.resent()));
        }
        if (r.hints() != null && r.hints().requests() > 0) {
            var h = r.hints();
            line(
                    sb,
                    "hints",
                    "requests " + count(h.requests()) + ", ranges " + count(h.ranges()) + ", pages " + count(h.pages())
                            + " (applied " + count(h.applied()) + ", rejected " + count(h.rejected()) + ")");
        }
        if (r.balloon() != null
                && (r.balloon().inflatedPages() > 0
                        || r.balloon().deflatedPages() > 0
                        || r.balloon().skipActive()
                        || r.balloon().skipOff() != null)) {
            var b = r.balloon();
            line(
                    sb,
                    "balloon",
                    "inflated " + count(b.inflatedPages()) + ", deflated " + count(b.deflatedPages())
                            + ", rejected " + count(b.rejected()) + ", skip " + (b.skipActive() ? "active" : "off")
                            + (b.skipOff() != null ? " (" + b.skipOff() + ")" : ""));
        }
        if (r.postcopy() != null) postcopy(sb, r.postcopy());
        if (r.attempts() != null && r.attempts().size() > 1) {
            int i = 1;
            for (RunReport.Attempt a : r.attempts()) {
                line(
                        sb,
                        i == 1 ? "attempts" : "",
                        i++ + ". " + a.outcome() + (a.cause() == null ? "" : " (" + a.cause() + ")") + ", "
                                + ms(a.timeMs()) + " ms, " + Units.formatBytes(a.transferredBytes()));
            }
        }
        if (r.hops() != null && r.hops().size() > 1) {
            int i = 1;
            for (RunReport hop : r.hops()) {
                line(
                        sb,
                        i == 1 ? "hops" : "",
                        i++ + ". " + hop.outcome() + ", " + ms(hop.totalTimeMs()) + " ms, downtime "
                                + ms(hop.downtimeMs()) + " ms" + (hop.downtimeExceeded() ? " (over the limit)" : "")
                                + ", "
                                + Units.formatBytes(hop.transferredBytes()) + ", verify "
                                + verifyWord(hop));
            }
        }
        var v = r.verify();
        if (v != null && notRun(r)) {
            line(sb, "verify", "not run (the migration did not complete)");
        } else if (v != null) {
            line(
                    sb,
                    "verify",
                    verifyWord(r) + " (" + count(v.checkedPages()) + " pages checked, " + count(v.mismatchedPages())
                            + " mismatched)" + (v.ok() || v.violation() == null ? "" : ": " + v.violation()));
        }
        if (r.journal() != null && r.journal().path() != null) {
            line(sb, "journal", r.journal().path() + " (" + count(r.journal().events()) + " events)");
        }
        line(sb, "wall time", ms(r.wallTimeMs()) + " ms");
        return sb.toString();
    }

    /**
     * The downtime, the downtime expected when the guest was paused, and the limit; a run that went over its limit
     * says so: {@code 3428.0 ms (expected 1999.8 ms, limit 2000 ms) OVER THE LIMIT by 1428.0 ms}.
     */
    static String downtime(RunReport r) {
        StringBuilder sb = new StringBuilder(ms(r.downtimeMs())).append(" ms");
        if (r.downtimeLimitMs() > 0) {
            sb.append(" (");
            if (r.expectedDowntimeMs() >= 0)
                sb.append("expected ").append(ms(r.expectedDowntimeMs())).append(" ms, ");
            sb.append("limit ").append(ms(r.downtimeLimitMs())).append(" ms)");
        }
        if (r.downtimeExceeded() && r.hops() != null && r.hops().size() > 1) {
            sb.append(" OVER THE LIMIT in a hop (the hops' downtimes are summed here; each hop's limit is its own)");
        } else if (r.downtimeExceeded()) {
            sb.append(" OVER THE LIMIT by ")
                    .append(ms(r.downtimeMs() - r.downtimeLimitMs()))
                    .append(" ms");
        }
        return sb.toString();
    }

    /** Postcopy's lines: the switch-over, what went before and after it, the faults. */
    private static void postcopy(StringBuilder sb, RunReport.Postcopy p) {
        line(
                sb,
                "postcopy",
                "switch-over " + ms(p.switchOverMs()) + " ms, " + count(p.discardedPages()) + " pages discarded"
                        + (p.balloonBitmapBytes() > 0
                                ? ", balloon bitmap " + Units.formatBytes(p.balloonBitmapBytes())
                                : "")
                        + (p.recoveries() > 0
                                ? ", " + p.recoveries() + " recover" + (p.recoveries() == 1 ? "y" : "ies")
                                : ""));
        line(
                sb,
                "",
                "sent " + Units.formatBytes(p.bytesBeforeSwitchOver()) + " before, "
                        + Units.formatBytes(p.postcopyBytes())
                        + " after; " + count(p.postcopyRequests()) + " pages requested"
                        + (p.unservedRequests() > 0 ? " (" + count(p.unservedRequests()) + " not served)" : ""));
        line(
                sb,
                "faults",
                count(p.faults()) + (p.zeroPlaced() > 0 ? " (+" + count(p.zeroPlaced()) + " placed as zero)" : "")
                        + ", latency median " + ms(p.faultLatencyMedianMs()) + " ms, p99 " + ms(p.faultLatencyP99Ms())
                        + " ms, max "
                        + ms(p.faultLatencyMaxMs()) + " ms; guest stalled " + ms(p.lostProgressMs()) + " ms");
    }

    /** The table of a comparison, one row per policy; percentages are of the {@code legacy} row when there is one. */
    static String compareTable(List<RunReport> reports) {
        RunReport legacy = reports.stream()
                .filter(r -> "legacy".equals(r.policy()))
                .findFirst()
                .orElse(null);
        List<String> header = new ArrayList<>(List.of(
                "policy",
                "total ms",
                "downtime ms",
                "iter",
                "transferred",
                "normal",
                "zero",
                "skip-balloon",
                "skip-free",
                "verify"));
        boolean postcopy = reports.stream().anyMatch(r -> r.postcopy() != null);
        if (postcopy) header.addAll(POSTCOPY_COLUMNS);
        if (legacy != null) {
            header.add("time %legacy");
            header.add("bytes %legacy");
        }
        List<List<String>> rows = new ArrayList<>();
        for (RunReport r : reports) {
            var p = r.pages();
            List<String> row = new ArrayList<>(List.of(
                    r.policy(),
                    ms(r.totalTimeMs()),
                    ms(r.downtimeMs()) + (r.downtimeExceeded() ? " OVER" : ""),
                    Integer.toString(r.iterations()),
                    Units.formatBytes(r.transferredBytes()),
                    p == null ? "-" : count(p.normal()),
                    p == null ? "-" : count(p.zero()),
                    p == null ? "-" : count(p.skippedBalloon()),
                    p == null ? "-" : count(p.skippedFree()),
                    verifyWord(r)));
            if (postcopy) row.addAll(postcopyCells(r.postcopy()));
            if (legacy != null) {
                row.add(percent(r.totalTimeMs(), legacy.totalTimeMs()));
                row.add(percent(r.transferredBytes(), legacy.transferredBytes()));
            }
            rows.add(row);
        }
        return table(header, rows) + overLimitNote(reports);
    }

    /** A comparison's postcopy columns, when one of its runs switched over. */
    private static final List<String> POSTCOPY_COLUMNS = List.of("after switch", "faults", "fault p99 ms");

    /** A run's postcopy cells: bytes sent after the switch-over, faults, their 99th percentile; "-" if it did not switch. */
    private static List<String> postcopyCells(RunReport.Postcopy p) {
        if (p == null) return List.of("-", "-", "-");
        return List.of(Units.formatBytes(p.postcopyBytes()), count(p.faults()), ms(p.faultLatencyP99Ms()));
    }

    /** Below a table with a row marked {@code OVER}: what the mark means, and the limit. */
    private static String overLimitNote(List<RunReport> runs) {
        return runs.stream()
                .filter(RunReport::downtimeExceeded)
                .findFirst()
                .map(r -> "OVER: the downtime went over its limit (" + ms(r.downtimeLimitMs()) + " ms)\n")
                .orElse("");
    }

    /**
     * The table of {@code compare --repeat}: per policy, the median of each figure over the rounds with its range
     * (min-max), and time and bytes as the median of each round's ratio to that round's legacy run, with their range:
     * a ratio within one round pairs runs made under the same conditions.
     */
    static String compareRounds(List<List<RunReport>> rounds) {
        List<RunReport> first = rounds.getFirst();
        int legacyIndex = -1;
        for (int i = 0; i < first.size(); i++) if ("legacy".equals(first.get(i).policy())) legacyIndex = i;
        List<String> header = new ArrayList<>(List.of(
                "policy",
                "total ms (range)",
                "downtime ms (range)",
                "iter",
                "transferred",
                "normal",
                "zero",
                "skip-free",
                "verify"));
        boolean postcopy = rounds.stream().flatMap(List::stream).anyMatch(r -> r.postcopy() != null);
        if (postcopy) header.addAll(List.of("switched", "faults", "fault p99 ms"));
        if (legacyIndex >= 0) {
            header.add("time %legacy (range)");
            header.add("bytes %legacy (range)");
        }
        List<List<String>> rows = new ArrayList<>();
        for (int i = 0; i < first.size(); i++) {
            int p = i;
            List<RunReport> runs = rounds.stream().map(r -> r.get(p)).toList();
            long failed = runs.stream()
                    .filter(r -> r.verify() != null && !r.verify().ok())
                    .count();
            List<String> row = new ArrayList<>(List.of(
                    first.get(i).policy(),
                    withRange(runs.stream().mapToDouble(RunReport::totalTimeMs).toArray()),
                    withRange(runs.stream().mapToDouble(RunReport::downtimeMs).toArray()) + overCount(runs),
                    Long.toString(Math.round(median(
                            runs.stream().mapToDouble(RunReport::iterations).toArray()))),
                    Units.formatBytes(Math.round(median(runs.stream()
                            .mapToDouble(RunReport::transferredBytes)
                            .toArray()))),
                    count(Math.round(median(runs.stream()
                            .mapToDouble(r -> r.pages() == null ? 0 : r.pages().normal())
                            .toArray()))),
                    count(Math.round(median(runs.stream()
                            .mapToDouble(r -> r.pages() == null ? 0 : r.pages().zero())
                            .toArray()))),
                    count(Math.round(median(runs.stream()
                            .mapToDouble(r -> r.pages() == null ? 0 : r.pages().skippedFree())
                            .toArray()))),
                    failed == 0 ? "ok" : "FAILED " + failed + "/" + runs.size()));
            if (postcopy) {
                // medians over the rounds that switched over
                double[] faults = runs.stream()
                        .filter(r -> r.postcopy() != null)
                        .mapToDouble(r -> r.postcopy().faults())
                        .toArray();
                double[] p99 = runs.stream()
                        .filter(r -> r.postcopy() != null)
                        .mapToDouble(r -> r.postcopy().faultLatencyP99Ms())
                        .toArray();
                row.add(faults.length + "/" + runs.size());
                row.add(faults.length == 0 ? "-" : count(Math.round(median(faults))));
                row.add(p99.length == 0 ? "-" : withRange(p99));
            }
            if (legacyIndex >= 0) {
                int l = legacyIndex;
                row.add(percentRange(rounds.stream()
                        .mapToDouble(r -> ratio(r.get(p).totalTimeMs(), r.get(l).totalTimeMs()))
                        .toArray()));
                row.add(percentRange(rounds.stream()
                        .mapToDouble(
                                r -> ratio(r.get(p).transferredBytes(), r.get(l).transferredBytes()))
                        .toArray()));
            }
            rows.add(row);
        }
        return table(header, rows)
                + overLimitNote(rounds.stream().flatMap(List::stream).toList());
    }

    /** {@code " OVER k/n"} when k of the n rounds' downtimes went over the limit. */
    private static String overCount(List<RunReport> runs) {
        long over = runs.stream().filter(RunReport::downtimeExceeded).count();
        return over == 0 ? "" : " OVER " + over + "/" + runs.size();
    }

    static double median(double[] values) {
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    private static double ratio(double value, double of) {
        return of == 0 ? (value == 0 ? 1 : Double.NaN) : value / of;
    }

    /** {@code median (min-max)}, in tenths. */
    private static String withRange(double[] values) {
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        return String.format(Locale.ROOT, "%.1f (%.1f-%.1f)", median(v), v[0], v[v.length - 1]);
    }

    private static String percentRange(double[] ratios) {
        double[] v = java.util.Arrays.stream(ratios)
                .filter(d -> !Double.isNaN(d))
                .sorted()
                .toArray();
        if (v.length == 0) return "-";
        return String.format(Locale.ROOT, "%.1f%% (%.1f-%.1f)", 100 * median(v), 100 * v[0], 100 * v[v.length - 1]);
    }

    /** Aligned columns: the first left-aligned, the others right-aligned, two spaces apart. */
    static String table(List<String> header, List<List<String>> rows) {
        int[] width = new int[header.size()];
        for (int c = 0; c < width.length; c++) {
            width[c] = header.get(c).length();
            for (List<String> row : rows)
                width[c] = Math.max(width[c], row.get(c).length());
        }
        StringBuilder sb = new StringBuilder();
        appendRow(sb, header, width);
        for (List<String> row : rows) appendRow(sb, row, width);
        return sb.toString();
    }

    private static void appendRow(StringBuilder sb, List<String> cells, int[] width) {
        StringBuilder line = new StringBuilder();
        for (int c = 0; c < cells.size(); c++) {
            if (c > 0) line.append("  ");
            String cell = cells.get(c);
            String pad = " ".repeat(width[c] - cell.length());
            line.append(c == 0 ? cell + pad : pad + cell);
        }
        sb.append(line.toString().stripTrailing()).append('\n');
    }

    private static String verifyWord(RunReport r) {
        if (r.verify() == null) return "-";
        if (notRun(r)) return "not run";
        return r.verify().ok() ? "ok" : "FAILED";
    }

    /** A run that never completed had nothing to verify: no page was checked and nothing was found broken. */
    private static boolean notRun(RunReport r) {
        var v = r.verify();
        return !"completed".equals(r.outcome()) && v.ok() && v.checkedPages() == 0 && v.violation() == null;
    }

    private static void line(StringBuilder sb, String key, String value) {
        sb.append(String.format(Locale.ROOT, "  %-12s %s%n", key, value));
    }

    static String ms(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String count(long v) {
        return String.format(Locale.ROOT, "%,d", v);
    }

    static String percent(double value, double of) {
        if (of == 0) return value == 0 ? "100.0%" : "-";
        return String.format(Locale.ROOT, "%.1f%%", 100.0 * value / of);
    }
}
