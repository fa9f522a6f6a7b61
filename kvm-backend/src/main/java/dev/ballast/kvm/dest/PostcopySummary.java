package dev.ballast.kvm.dest;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A postcopy destination's fault figures, as one clause of its COMPLETE_ACK message: a {@code ballast dest}
 * measures the faults of its guest (the source sees only the requests that reach it), and the source's report
 * shows them. The clause is plain text, for a person reading the log too:
 *
 * <pre>postcopy: 120 requests, 3 held zero, 0 balloon zero; latency ns median 410000, p99 2100000, max 3000000, total 80000000</pre>
 *
 * A message without it (an older destination, or a run that did not switch over) has no figures; nothing in it is
 * trusted beyond being read as numbers.
 *
 * @param requests    faults turned into page requests
 * @param heldZero    faults on held pages placed as zero here
 * @param balloonZero faults on ballooned pages placed as zero here
 */
public record PostcopySummary(
        long requests, long heldZero, long balloonZero, long medianNs, long p99Ns, long maxNs, long totalNs) {
    private static final Pattern CLAUSE = Pattern.compile(
            "postcopy: (\\d{1,18}) requests, (\\d{1,18}) held zero, "
                    + "(\\d{1,18}) balloon zero; latency ns median (\\d{1,18}), p99 (\\d{1,18}), max (\\d{1,18}), total (\\d{1,18})");

    public static PostcopySummary of(PostcopyPlacer.Figures f, long balloonZero) {
        return new PostcopySummary(
                f.requests(),
                f.heldZero(),
                balloonZero,
                f.medianLatencyNs(),
                f.p99LatencyNs(),
                f.maxLatencyNs(),
                f.totalLatencyNs());
    }

    /** The clause, as the destination appends it to its verdict's message. */
    public String clause() {
        return "postcopy: " + requests + " requests, " + heldZero + " held zero, " + balloonZero
                + " balloon zero; latency ns median " + medianNs + ", p99 " + p99Ns + ", max " + maxNs + ", total "
                + totalNs;
    }

    /** The figures a verdict's message carries, or null if it carries none. */
    public static PostcopySummary parse(String message) {
        if (message == null) return null;
        Matcher m = CLAUSE.matcher(message);
        if (!m.find()) return null;
        long[] v = new long[7];
        for (int i = 0; i < 7; i++) v[i] = Long.parseLong(m.group(i + 1));
        return new PostcopySummary(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
    }
}
