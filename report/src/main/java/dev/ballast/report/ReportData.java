package dev.ballast.report;

import dev.ballast.core.run.RunManifest;
import dev.ballast.replay.Event;
import dev.ballast.replay.EventStream;
import java.util.List;

/**
 * What one run's events say, aggregated for pictures: every list here is bounded by the number of
 * passes, phases, attempts or a fixed number of buckets and map cells, never by the number of pages
 * or events, so a 1 TiB guest or 100 million events make a report of the same size as a small run.
 * Built by {@link #read} in one pass over the events ({@link ReportFold}). Times are milliseconds
 * from the run's first event.
 *
 * <p>A run is one or more <b>hops</b> (a chain migrates A to B to C: one hop each), and a hop is one
 * or more <b>attempts</b> (a link failure ends an attempt; the next attempt retries the hop). The
 * totals and every hop's figures are the ones {@code ballast run} prints and writes with
 * {@code --json}: a hop's counters sum its attempts, its downtime and setup are its last attempt's,
 * a run's figures sum its hops.
 *
 * @param label       what the report calls the run
 * @param identicalTo the label of an earlier run of the same report whose figures are all equal to
 *                    this one's (its lines would hide this one's), or null
 * @param settings    the run's settings, from its manifest
 * @param totals      its figures, as the command line gives them
 * @param verify      the checks after each hop ({@code VERIFY} events) summed, or null when there was none
 * @param hops        each hop with its attempts
 * @param warnings    what a reader must not miss about the run (a failed check, a link failure, a run
 *                    that did not complete), shown in the report's summary
 * @param passes      each pass over the migration bitmap, with its pages by kind
 * @param phases      the phases in time (consecutive iterate passes make one span)
 * @param downtimes   when the guest was paused, one span per attempt that paused it
 * @param linkFailures when and why the link failed, one per failed attempt
 * @param checks      each convergence check: what was left, the bandwidth, the decision
 * @param series      counters over time in equal buckets
 * @param memory      what happened to each region of guest memory in the last attempt
 * @param seeds       the seeds' figures for the same case, if the run is one of them
 */
public record ReportData(
        String label,
        String identicalTo,
        Settings settings,
        Totals totals,
        Verify verify,
        List<Hop> hops,
        List<Warning> warnings,
        List<Pass> passes,
        List<Span> phases,
        List<Span> downtimes,
        List<LinkFailure> linkFailures,
        List<Check> checks,
        Series series,
        MemoryMap memory,
        List<SeedFigures.Figure> seeds) {

    /** The kinds of page fate, in the order of the map's codes and of the pass chart's stacks. */
    public static final List<String> KINDS = List.of("sent", "zero", "resent", "skipped free", "ballooned", "not sent");

    public static final int SENT = 0, ZERO = 1, RESENT = 2, FREE = 3, BALLOONED = 4, NOT_SENT = 5;

    /** At most this many time buckets (adjacent ones merge as a run goes on, so at least half of this are used). */
    public static final int MAX_BUCKETS = TimeSeries.MAX_BUCKETS;
    /** About this many memory map cells for a whole guest; every block gets at least one row. */
    public static final int MAP_CELLS = 2048;
    /** Map cells per row. */
    public static final int MAP_ROW = 64;
    /** Bounds for the lists that grow with passes and attempts. */
    public static final int MAX_LIST = 10_000;

    public record Settings(
            String backend,
            String workload,
            String policy,
            long seed,
            long guestMemBytes,
            String layout,
            long bandwidthBytesPerSec,
            double downtimeLimitMs,
            int maxIterations,
            double timeCapMs,
            int pageHeaderBytes,
            boolean mustTellHost,
            boolean freePageHint,
            boolean freeBitmap,
            int poisonByte,
            String costProfile,
            long linkBitsPerSec) {
        static Settings of(RunManifest m) {
            return new Settings(
                    m.backend(),
                    m.workload(),
                    m.policy(),
                    m.seed(),
                    m.layout().totalBytes(),
                    m.layout().toString(),
                    m.engine().bandwidthBytesPerSec(),
                    m.engine().downtimeLimitNs() / 1e6,
                    m.engine().maxIterations(),
                    m.engine().timeCapNs() / 1e6,
                    m.engine().pageHeaderBytes(),
                    m.features().mustTellHost(),
                    m.features().freePageHint(),
                    m.features().freeBitmap(),
                    m.features().poisonByte(),
                    m.costProfile().source(),
                    m.costProfile().linkBitsPerSec());
        }
    }

    /**
     * The run's figures, as {@code ballast run} gives them: a single hop's own, or a chain's summed
     * over its hops. The counters of pages, bytes, hints and rejects are core's
     * {@link dev.ballast.core.event.RunFold} (what the engine counts); the balloon's are the pages
     * the guest's messages named.
     *
     * @param outcome        COMPLETED when every hop completed, else the last hop's final phase, or
     *                       {@code UNFINISHED} when the events stop before the last attempt's end
     * @param events         events read
     * @param hops           hops in the events (a chain's migrations)
     * @param attempts       attempts in the events, over all hops (one more than the hop's link failures, per hop)
     * @param linkFailures   link failures
     * @param timeMs         the hops' times summed (each from its first attempt's start to its last one's end)
     * @param setupMs        the hops' setups summed (each its last attempt's)
     * @param downtimeMs     the hops' downtimes summed (each its last attempt's)
     * @param iterations     passes, over every attempt of every hop
     * @param transferredBytes bytes on the wire, every attempt
     * @param normal         pages sent with their data (resends included), as the engine counts them
     * @param zero           pages sent as zero records
     * @param skippedFree    pages not sent because they were free (cleared by a hint or bitmap, or sent as poison)
     * @param skippedBalloon pages not sent because they were in the balloon
     * @param resent         sends of pages already sent in the same attempt
     * @param hintRequests   free page hint and bitmap requests
     * @param hintRanges     ranges the guest reported
     * @param hintPages      pages in them
     * @param balloonAtStart pages in the balloon when an attempt started
     * @param inflated       pages inflated while migrating
     * @param deflated       pages deflated while migrating
     * @param rejected       guest requests rejected
     */
    public record Totals(
            String outcome,
            long events,
            int hops,
            int attempts,
            int linkFailures,
            double timeMs,
            double setupMs,
            double downtimeMs,
            int iterations,
            long transferredBytes,
            long normal,
            long zero,
            long skippedFree,
            long skippedBalloon,
            long resent,
            long hintRequests,
            long hintRanges,
            long hintPages,
            long balloonAtStart,
            long inflated,
            long deflated,
            long rejected) {}

    /**
     * One hop, with the figures {@code ballast run} prints for it ({@code --json}: {@code hops[i]},
     * or the run itself when there is one hop).
     *
     * @param hop        1, 2, ... in the chain
     * @param outcome    its last attempt's final phase ({@code UNFINISHED}: the events stop inside it)
     * @param timeMs     from its first attempt's start to its last attempt's end
     * @param downtimeMs its last attempt's downtime
     * @param setupMs    its last attempt's setup
     * @param iterations passes over all its attempts
     * @param verify     the check after it, or null
     * @param attempts   its attempts, in order
     */
    public record Hop(
            int hop,
            String outcome,
            double timeMs,
            double downtimeMs,
            double setupMs,
            int iterations,
            long transferredBytes,
            long normal,
            long zero,
            long skippedFree,
            long skippedBalloon,
            long resent,
            long hintRequests,
            long hintRanges,
            long hintPages,
            long rejected,
            Verify verify,
            List<Attempt> attempts) {}

    /**
     * One attempt of a hop ({@code --json}: {@code attempts[i]}).
     *
     * @param outcome its final phase ({@code UNFINISHED}: the events stop inside it)
     * @param cause   why the link failed ({@code FailureCause}, lower case), or null
     * @param startMs when it started
     * @param timeMs  from its start to its end
     */
    public record Attempt(
            int hop, int attempt, String outcome, String cause, double startMs, double timeMs, long transferredBytes) {}

    /** A link failure: which attempt of which hop it ended, when, and why ({@code FailureCause}, lower case). */
    public record LinkFailure(int hop, int attempt, double timeMs, String cause) {}

    /**
     * Something about a run that a reader must not miss.
     *
     * @param hop  the hop it is about (1, 2, ...), or 0 for the whole run
     * @param kind what it is about: {@code verify}, {@code link}, {@code outcome} (more may come)
     * @param text one sentence
     */
    public record Warning(int hop, String kind, String text) {}

    /** The checks after a run: pages checked, mismatched, and the first bad page index (-1: none). */
    public record Verify(long checkedPages, long mismatchedPages, long firstBadPage) {
        public boolean ok() {
            return mismatchedPages == 0;
        }
    }

    /**
     * One pass over the migration bitmap. {@code sent} and {@code zero} count first sends in the
     * attempt; {@code resent} counts sends of pages already sent. Skips between two passes (hints
     * after a sync) count in the pass that follows.
     */
    public record Pass(
            int hop,
            int attempt,
            int pass,
            String phase,
            double startMs,
            double endMs,
            long sent,
            long zero,
            long resent,
            long skippedFree,
            long skippedBalloon,
            long bytes) {}

    public record Span(int hop, int attempt, String name, double startMs, double endMs) {}

    public record Check(
            int hop,
            int attempt,
            int pass,
            double timeMs,
            long remainingBytes,
            long bandwidthBytesPerSec,
            String decision) {}

    /**
     * Counters per time bucket of {@code bucketMs}: the pages still to send (most and last in the
     * bucket), the throughput, pages sent, pages the guest hinted free, pages cleared as free,
     * balloon inflates and deflates, and the pages in the balloon at the bucket's end. Bytes count
     * over the time they were on the wire (from the engine's clock reading before they were sent to
     * the next one), and the throughput is averaged over {@code rateWindowMs} around each bucket.
     * {@code endMs} is the time of the run's last event; {@code requestsEndMs} that of the guest's
     * last hint or balloon message (0 if none), so a chart of them need not span the whole run.
     * Postcopy's faults count in the bucket of the time they were raised (the placement's time less
     * the latency): {@code faultsServed} per bucket, their mean and longest latency
     * ({@code faultLatencyMeanMs}, {@code faultLatencyMaxMs}, 0 where none), and {@code faultsZero},
     * faults on ballooned pages the destination placed as zero itself.
     */
    public record Series(
            double bucketMs,
            double rateWindowMs,
            double endMs,
            double requestsEndMs,
            long[] pendingMax,
            long[] pendingEnd,
            double[] gbps,
            long[] sentPages,
            long[] hintedPages,
            long[] freedPages,
            long[] inflatedPages,
            long[] deflatedPages,
            long[] balloonPages,
            long[] faultsServed,
            double[] faultLatencyMeanMs,
            double[] faultLatencyMaxMs,
            long[] faultsZero) {}

    /**
     * Guest memory in guest-physical order: RAM blocks and the holes between them.
     *
     * @param hop      which hop it shows (the last one)
     * @param attempt  which attempt of that hop (its last)
     * @param regions  blocks and holes, by address
     */
    public record MemoryMap(int hop, int attempt, List<Region> regions) {}

    /**
     * A RAM block cut into cells of {@code cellPages} pages, or a hole ({@code hole}, no cells). Each
     * cell is one digit in {@code cells}: the kind most of its pages had (an index in {@link #KINDS}),
     * and that kind's share in percent in {@code shares}; {@code pages} per kind sums over the block.
     */
    public record Region(
            String name,
            boolean hole,
            long firstPfn,
            long pageCount,
            long cellPages,
            String cells,
            int[] shares,
            long[] pages) {}

    /** The same data, said to be identical to the run labelled {@code other}. */
    public ReportData identicalTo(String other) {
        return new ReportData(
                label,
                other,
                settings,
                totals,
                verify,
                hops,
                warnings,
                passes,
                phases,
                downtimes,
                linkFailures,
                checks,
                series,
                memory,
                seeds);
    }

    /** The same data under another label. */
    ReportData labelled(String newLabel) {
        return new ReportData(
                newLabel,
                identicalTo,
                settings,
                totals,
                verify,
                hops,
                warnings,
                passes,
                phases,
                downtimes,
                linkFailures,
                checks,
                series,
                memory,
                seeds);
    }

    // ------------------------------------------------------------------ reading

    /** Reads a run's events once and aggregates them; a damaged, unreadable or empty stream is a {@link ReportException}. */
    public static ReportData read(RunInput run) {
        EventStream stream;
        try {
            stream = run.events().get();
        } catch (RuntimeException e) {
            throw new ReportException(run.label() + ": cannot read its events: " + describe(e), e);
        }
        if (stream == null) throw new ReportException(run.label() + ": cannot read its events: no event stream");
        ReportFold fold = new ReportFold(run.label(), run.manifest());
        Event e = new Event();
        while (true) {
            boolean more;
            try {
                more = stream.next(e);
            } catch (RuntimeException x) {
                throw new ReportException(
                        run.label() + ": cannot read the event after " + fold.readSoFar() + ": " + describe(x), x);
            }
            if (!more) break;
            fold.apply(e.number, e.type, e.timeNs, e.a, e.b, e.c);
        }
        return fold.finish();
    }

    static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.replace('\n', ' ');
    }
}
