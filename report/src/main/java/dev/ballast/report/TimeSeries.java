package dev.ballast.report;

import java.util.Arrays;

/**
 * Counters over a run's time in at most {@link #MAX_BUCKETS} equal buckets that double in width
 * (merging pairs) when the run outlasts them, so a run of any length gets between half and all of
 * them. Times are nanoseconds from the run's first event, never decreasing by much (an earlier time
 * counts in its bucket). Nothing here allocates after construction but {@link #series}.
 *
 * <p>Bytes are counted over the interval they were on the wire ({@link #bytes}), spread evenly over
 * the buckets it covers: a bucket's rate is then never more than the fastest any interval went.
 */
public final class TimeSeries {
    /** At most this many buckets. */
    public static final int MAX_BUCKETS = 400;
    /** The longest the throughput is averaged over: the engine's rate-limit window. */
    public static final long RATE_WINDOW_NS = 100_000_000L;

    private long widthNs = 1_000;
    private int used;
    private final long[] pendingMax = new long[MAX_BUCKETS];
    private final long[] pendingEnd = new long[MAX_BUCKETS];
    private final boolean[] sampled = new boolean[MAX_BUCKETS];
    private final double[] bytes = new double[MAX_BUCKETS];
    private final long[] sent = new long[MAX_BUCKETS];
    private final long[] hinted = new long[MAX_BUCKETS];
    private final long[] freed = new long[MAX_BUCKETS];
    private final long[] inflated = new long[MAX_BUCKETS];
    private final long[] deflated = new long[MAX_BUCKETS];
    private final long[] balloonEnd = new long[MAX_BUCKETS];
    private final boolean[] balloonSampled = new boolean[MAX_BUCKETS];
    // postcopy: faults by the time they were raised
    private final long[] faultsServed = new long[MAX_BUCKETS];
    private final long[] faultLatencySumNs = new long[MAX_BUCKETS];
    private final long[] faultLatencyMaxNs = new long[MAX_BUCKETS];
    private final long[] faultsZero = new long[MAX_BUCKETS];
    // the bucket of the last time asked for, so most events cost no division
    private long cachedFrom = 0, cachedTo = widthNs;
    private int cached;

    /** The bucket of time {@code t}, merging buckets until it fits. */
    private int at(long t) {
        if (t >= cachedFrom && t < cachedTo) return cached;
        long i = t / widthNs;
        while (i >= MAX_BUCKETS) {
            merge();
            i = t / widthNs;
        }
        cached = (int) i;
        cachedFrom = i * widthNs;
        cachedTo = cachedFrom + widthNs;
        if (cached >= used) used = cached + 1;
        return cached;
    }

    private void merge() {
        int half = MAX_BUCKETS / 2;
        for (int k = 0; k < half; k++) {
            int x = 2 * k, y = x + 1;
            boolean sx = sampled[x], sy = sampled[y];
            pendingMax[k] = sx && sy ? Math.max(pendingMax[x], pendingMax[y]) : sy ? pendingMax[y] : pendingMax[x];
            pendingEnd[k] = sy ? pendingEnd[y] : pendingEnd[x];
            sampled[k] = sx || sy;
            bytes[k] = bytes[x] + bytes[y];
            sent[k] = sent[x] + sent[y];
            hinted[k] = hinted[x] + hinted[y];
            freed[k] = freed[x] + freed[y];
            inflated[k] = inflated[x] + inflated[y];
            deflated[k] = deflated[x] + deflated[y];
            balloonEnd[k] = balloonSampled[y] ? balloonEnd[y] : balloonEnd[x];
            balloonSampled[k] = balloonSampled[x] || balloonSampled[y];
            faultsServed[k] = faultsServed[x] + faultsServed[y];
            faultLatencySumNs[k] = faultLatencySumNs[x] + faultLatencySumNs[y];
            faultLatencyMaxNs[k] = Math.max(faultLatencyMaxNs[x], faultLatencyMaxNs[y]);
            faultsZero[k] = faultsZero[x] + faultsZero[y];
        }
        for (long[] a : new long[][] {
            pendingMax,
            pendingEnd,
            sent,
            hinted,
            freed,
            inflated,
            deflated,
            balloonEnd,
            faultsServed,
            faultLatencySumNs,
            faultLatencyMaxNs,
            faultsZero
        }) {
            Arrays.fill(a, half, MAX_BUCKETS, 0);
        }
        Arrays.fill(bytes, half, MAX_BUCKETS, 0);
        Arrays.fill(sampled, half, MAX_BUCKETS, false);
        Arrays.fill(balloonSampled, half, MAX_BUCKETS, false);
        widthNs *= 2;
        used = (used + 1) / 2;
        cachedFrom = 0;
        cachedTo = 0;
    }

    /** The pages still to send at {@code t}. */
    public void pending(long t, long pending) {
        int i = at(t);
        if (!sampled[i] || pending > pendingMax[i]) pendingMax[i] = pending;
        pendingEnd[i] = pending;
        sampled[i] = true;
    }

    /** Pages sent at {@code t} (their bytes go to {@link #bytes}), with the pages still to send after them. */
    public void sent(long t, long pages, long pending) {
        pending(t, pending);
        sent[cached] += pages;
    }

    /**
     * {@code n} bytes on the wire from {@code from} to {@code to}, spread evenly over that time; an
     * empty interval puts them all in the bucket of {@code from}.
     */
    public void bytes(long from, long to, long n) {
        if (n <= 0) return;
        if (from >= cachedFrom && to <= cachedTo) { // most steps: within the bucket of the last time asked for
            bytes[cached] += n;
            return;
        }
        if (to <= from) {
            bytes[at(from)] += n;
            return;
        }
        at(to - 1); // widen first, so both ends are in range
        long w = widthNs;
        int first = (int) (from / w), last = (int) ((to - 1) / w);
        if (first == last) {
            bytes[first] += n;
            return;
        }
        double perNs = (double) n / (to - from);
        for (int i = first; i <= last; i++) {
            long s = Math.max(from, (long) i * w), e = Math.min(to, (long) (i + 1) * w);
            bytes[i] += perNs * (e - s);
        }
    }

    public void freed(long t, long pages, long pending) {
        pending(t, pending);
        freed[cached] += pages;
    }

    public void hinted(long t, long pages) {
        hinted[at(t)] += pages;
    }

    public void inflated(long t, long pages) {
        inflated[at(t)] += pages;
    }

    public void deflated(long t, long pages) {
        deflated[at(t)] += pages;
    }

    /** The pages in the balloon at {@code t}. */
    public void balloon(long t, long level) {
        int i = at(t);
        balloonEnd[i] = level;
        balloonSampled[i] = true;
    }

    /** Postcopy: a fault raised at {@code t} was served {@code latencyNs} later (its page placed). */
    public void faultServed(long t, long latencyNs) {
        int i = at(t);
        faultsServed[i]++;
        faultLatencySumNs[i] += latencyNs;
        if (latencyNs > faultLatencyMaxNs[i]) faultLatencyMaxNs[i] = latencyNs;
    }

    /** Postcopy: a fault at {@code t} on a ballooned page that the destination placed as zero itself. */
    public void faultZero(long t) {
        faultsZero[at(t)]++;
    }

    /** The buckets up to {@code endNs}, with the throughput averaged over a window of the rate limit's length. */
    public ReportData.Series series(long endNs, long requestsEndNs) {
        at(endNs);
        int n = Math.max(1, used);
        long[] max = new long[n], end = new long[n], inBalloon = new long[n];
        long carry = 0, level = 0;
        for (int i = 0; i < n; i++) {
            if (balloonSampled[i]) level = balloonEnd[i];
            inBalloon[i] = level;
            if (sampled[i]) {
                max[i] = pendingMax[i];
                end[i] = pendingEnd[i];
                carry = end[i];
            } else {
                max[i] = carry;
                end[i] = carry;
            }
        }
        // a centred window of the rate limit's length, but no more than an eighth of the run
        long windowNs = Math.max(widthNs, Math.min(RATE_WINDOW_NS, endNs / 8));
        int half = (int) (windowNs / widthNs / 2);
        double[] latencyMeanMs = new double[n], latencyMaxMs = new double[n];
        for (int i = 0; i < n; i++) {
            if (faultsServed[i] == 0) continue;
            latencyMeanMs[i] = faultLatencySumNs[i] / 1e6 / faultsServed[i];
            latencyMaxMs[i] = faultLatencyMaxNs[i] / 1e6;
        }
        double[] gbps = new double[n];
        double inWindow = 0;
        int lo = 0, hi = -1; // buckets [lo, hi] summed in inWindow
        for (int i = 0; i < n; i++) {
            int from = Math.max(0, i - half), to = Math.min(n - 1, i + half);
            while (hi < to) inWindow += bytes[++hi];
            while (lo < from) inWindow -= bytes[lo++];
            long span = Math.min((long) (to + 1) * widthNs, Math.max(endNs, 1)) - (long) from * widthNs;
            // rounded down to 0.1 Mbit/s: a rounded-up figure could show more than the link carried
            gbps[i] = span > 0 ? Math.floor(Math.max(0, inWindow) * 8.0 / span * 1e4) / 1e4 : 0;
        }
        return new ReportData.Series(
                widthNs / 1e6,
                (2 * half + 1) * widthNs / 1e6,
                endNs / 1e6,
                requestsEndNs / 1e6,
                max,
                end,
                gbps,
                Arrays.copyOf(sent, n),
                Arrays.copyOf(hinted, n),
                Arrays.copyOf(freed, n),
                Arrays.copyOf(inflated, n),
                Arrays.copyOf(deflated, n),
                inBalloon,
                Arrays.copyOf(faultsServed, n),
                latencyMeanMs,
                latencyMaxMs,
                Arrays.copyOf(faultsZero, n));
    }
}
