package dev.ballast.report;

import dev.ballast.core.engine.Convergence;
import dev.ballast.core.engine.EngineStats;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.event.RunFold;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.RunManifest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The report's fold of a run's events, in one pass: what {@link ReportData} holds. The figures —
 * per hop, per attempt and for the run — are core's {@link RunFold}, one per hop, so they are the
 * ones {@code ballast run} prints (it builds its hops from the same fold). What only pictures need
 * is kept here: the passes, phases, downtimes, link failures and convergence checks in time, the
 * counters over time ({@link TimeSeries}), and per page what happened to it in the current attempt
 * ({@link PageBitmap}s over the layout's page index space), for the memory map.
 *
 * <p>An attempt starts at every {@code PHASE SETUP}; it retries the same hop when the attempt
 * before it did not complete, and starts the next hop when it did. Per-event work is bounded by
 * the event's page range; nothing is allocated per event. Not thread-safe: one thread feeds it.
 */
public final class ReportFold {
    private static final int DATA = 0, ZERO_FILL = 1, POISON_FILL = 2;

    private final String label;
    private final RunManifest manifest;
    private final RamLayout layout;
    private final long[] blockFirst;
    private final long[] blockPages;
    private final long pageBytes;
    private final long fillBytes;
    private final boolean poisons;

    // page state of the current attempt, one bit per page
    private final PageBitmap toSend;
    private final PageBitmap sentOnce;
    private final PageBitmap sentTwice;
    private final PageBitmap lastZero;
    private final PageBitmap free;
    private final PageBitmap ballooned;
    private final PageBitmap inBalloon;
    private long pending;
    private long balloonLevel;

    private long events;
    /** Postcopy fault events (FAULT, FAULT_SERVED, FAULT_ZERO) and the last time of any event: a destination's journal has only these. */
    private long faultEvents;

    private long lastAnyNs = Long.MIN_VALUE;
    private long lastNumber = -1;
    private long t0 = Long.MIN_VALUE;
    private long lastNs;
    private final TimeSeries series = new TimeSeries();
    /** The engine's last clock reading, and the bytes sent since: they were on the wire until its next reading. */
    private long clockNs = Long.MIN_VALUE;

    private long unsentBytes;
    private long requestsEndNs;

    // hops and attempts
    private RunFold hopFold;
    private int hop;
    private int attempt;
    private int attempts;
    private boolean attemptOpen;
    private Phase lastOutcome;
    private long hopStartNs;
    private long attemptStartNs;
    private long lastEndNs = -1;
    private EngineStats lastAttempt;
    private ReportData.Verify hopVerify;
    private final List<ReportData.Attempt> hopAttempts = new ArrayList<>();
    private final List<ReportData.Hop> hops = new ArrayList<>();
    private final List<ReportData.Warning> warnings = new ArrayList<>();
    private final List<ReportData.LinkFailure> linkFailures = new ArrayList<>();
    private int linkFailureCount;

    /** The balloon as the guest asked for it (pages per message), which the report draws apart from the engine's counts. */
    private long balloonAtStart, inflated, deflated;

    private long verifyChecked, verifyMismatched, verifyFirstBad = -1;
    private boolean verified;

    // the pass being walked
    private int pass;
    private boolean passOpen;
    private int passNumber;
    private Phase passPhase;
    private long passStartNs;
    private long pSent, pZero, pResent, pFree, pBalloon;
    private final List<ReportData.Pass> passes = new ArrayList<>();
    private final List<ReportData.Span> phases = new ArrayList<>();
    private final List<ReportData.Span> downtimes = new ArrayList<>();
    private final List<ReportData.Check> checks = new ArrayList<>();
    private String spanName;
    private long spanStartNs;

    /** The outcome of a destination's journal: the migration's outcome is the source's to tell. */
    public static final String DESTINATION_ONLY = "UNKNOWN HERE (A DESTINATION'S JOURNAL)";

    /** A fold for the run {@code label} (as messages name it) of this manifest. */
    public ReportFold(String label, RunManifest manifest) {
        this.label = label;
        this.manifest = manifest;
        this.layout = manifest.layout();
        this.blockFirst =
                layout.blocks().stream().mapToLong(RamBlock::firstIndex).toArray();
        this.blockPages = layout.blocks().stream().mapToLong(RamBlock::pages).toArray();
        int header = manifest.engine().pageHeaderBytes();
        this.pageBytes = RamLayout.PAGE_SIZE + (long) header;
        this.fillBytes = header + 8L;
        this.poisons = manifest.features().poisonByte() != 0;
        long pages = layout.totalPages();
        try {
            toSend = new PageBitmap(pages);
            sentOnce = new PageBitmap(pages);
            sentTwice = new PageBitmap(pages);
            lastZero = new PageBitmap(pages);
            free = new PageBitmap(pages);
            ballooned = new PageBitmap(pages);
            inBalloon = new PageBitmap(pages);
        } catch (IllegalArgumentException e) {
            throw new ReportException(label + ": a guest of " + layout.totalBytes() + " bytes is too large to draw");
        }
        this.hopFold = newRunFold();
    }

    private RunFold newRunFold() {
        return new RunFold(
                layout, manifest.features().poisonByte(), manifest.engine().pageHeaderBytes());
    }

    /** The number of the last event applied (or how many were, before any had a number). */
    long readSoFar() {
        return lastNumber < 0 ? events : lastNumber;
    }

    /** Applies the next event; one that does not fit the run is a {@link ReportException} naming it. */
    public void apply(long number, EventType type, long t, long a, long b, long c) {
        if (type == null) throw bad(number, null, "has an unknown type");
        events++;
        lastNumber = number;
        if (t0 == Long.MIN_VALUE) t0 = t;
        if (type.kind() != EventType.Kind.INFO && t > lastNs) lastNs = t;
        if (t > lastAnyNs) lastAnyNs = t;
        if (type == EventType.FAULT || type == EventType.FAULT_SERVED || type == EventType.FAULT_ZERO) faultEvents++;
        try {
            if (type == EventType.PHASE && Phase.byOrdinal(a) == Phase.SETUP) startAttempt(t);
            switch (type) {
                case FAULT_SERVED -> {
                    if (c < 0) throw bad(number, type, "has a negative latency (" + c + " ns)");
                    series.faultServed(rel(t - c), c);
                }
                case FAULT_ZERO -> series.faultZero(rel(t));
                case STEP -> {
                    flushBytes(t);
                    clockNs = t;
                }
                case PHASE -> onPhase(t, Phase.byOrdinal(a), (int) b);
                case DIRTY, DEFLATE_TO_SEND -> {
                    long p = index(number, type, a, b, c);
                    pending += setCounting(toSend, p, p + c);
                    series.pending(rel(t), pending);
                }
                case SEND_NORMAL -> send(number, type, t, a, b, c, DATA);
                case SEND_FILL ->
                    send(
                            number,
                            type,
                            t,
                            a,
                            b,
                            EventType.SendFill.pages(c),
                            EventType.SendFill.zero(c) ? ZERO_FILL : POISON_FILL);
                case QEMU_PAGE ->
                    send(
                            number,
                            type,
                            t,
                            a,
                            b,
                            1,
                            EventType.QemuPage.zero(c) ? ZERO_FILL : DATA,
                            EventType.QemuPage.recordBytes(c));
                case SKIP_BALLOON -> {
                    long p = index(number, type, a, b, c);
                    pending -= clearCounting(toSend, p, p + c);
                    ballooned.setRange(p, p + c);
                    pBalloon += c;
                    series.pending(rel(t), pending);
                }
                case SKIP_FREE -> {
                    long p = index(number, type, a, b, c);
                    if (!poisons) {
                        long n = skipFree(p, p + c);
                        pending -= n;
                        pFree += n;
                        series.freed(rel(t), n, pending);
                        if (n > 0) requestsEndNs = rel(t);
                    }
                }
                case SKIP_ZEROED -> {
                    long p = index(number, type, a, b, c);
                    long n = skipFree(p, p + c);
                    pending -= n;
                    pFree += n;
                    series.freed(rel(t), n, pending);
                }
                case HINT, FREE_BITMAP -> {
                    if (c > 0) {
                        series.hinted(rel(t), c);
                        requestsEndNs = rel(t);
                    }
                }
                case BALLOON_INFLATE -> {
                    if (c <= 0) break;
                    if (EventType.Balloon.atSetup(a)) balloonAtStart += c;
                    else {
                        inflated += c;
                        series.inflated(rel(t), c);
                        requestsEndNs = rel(t);
                    }
                    balloon(t, b, c, true);
                }
                case BALLOON_DEFLATE -> {
                    if (c <= 0) break;
                    deflated += c;
                    series.deflated(rel(t), c);
                    requestsEndNs = rel(t);
                    balloon(t, b, c, false);
                }
                case CONVERGENCE -> {
                    if (checks.size() < ReportData.MAX_LIST) {
                        checks.add(new ReportData.Check(
                                hop, attempt, pass, ms(t), a, b, Convergence.Decision.values()[(int) c].name()));
                    }
                }
                case ITERATION_END -> {
                    if (passOpen) closePass(t, c);
                }
                case LINK_FAILED -> {
                    linkFailureCount++;
                    if (linkFailures.size() < ReportData.MAX_LIST) {
                        linkFailures.add(new ReportData.LinkFailure(hop, attempt, ms(t), cause(a)));
                    }
                }
                case END -> {
                    hopFold.apply(number, type, t, a, b, c);
                    onEnd(t, Phase.byOrdinal(a), c);
                    return;
                }
                case VERIFY -> {
                    hopVerify = new ReportData.Verify(a, b, c);
                    verified = true;
                    verifyChecked += a;
                    verifyMismatched += b;
                    if (b > 0 && verifyFirstBad < 0) verifyFirstBad = c;
                }
                default -> {}
            }
            hopFold.apply(number, type, t, a, b, c);
        } catch (ReportException x) {
            throw x;
        } catch (RuntimeException x) {
            throw bad(number, type, ReportData.describe(x));
        }
    }

    private static String cause(long code) {
        return FailureCause.byCode(code).name().toLowerCase(Locale.ROOT).replace('_', ' ');
    }

    // ---------------------------------------------------------------- hops and attempts

    /** A {@code PHASE SETUP}: a new attempt, of the same hop if the last one did not complete, else of the next hop. */
    private void startAttempt(long t) {
        if (attemptOpen) { // the last attempt has no END (a damaged or spliced stream): it counts as unfinished
            if (spanName != null) {
                addSpan(phases, spanName, spanStartNs, t);
                spanName = null;
            }
            if (passOpen) closePass(t, -1);
            addAttempt("UNFINISHED", hopFold.migrationStats());
            attemptOpen = false;
            lastOutcome = null;
        }
        if (hop == 0 || lastOutcome == Phase.COMPLETED) {
            if (hop > 0) closeHop();
            hop++;
            attempt = 0;
            hopStartNs = t;
            hopFold = newRunFold();
        }
        attempt++;
        attempts++;
        attemptOpen = true;
        attemptStartNs = t;
        pending = 0;
        balloonLevel = 0;
        for (PageBitmap bits : new PageBitmap[] {toSend, sentOnce, sentTwice, lastZero, free, ballooned, inBalloon})
            bits.clearAll();
        pSent = pZero = pResent = pFree = pBalloon = 0;
        passOpen = false;
        pass = 0;
    }

    private void onEnd(long t, Phase p, long downtimeNs) {
        if (!attemptOpen) throw new IllegalStateException("an end before any migration began");
        if (spanName != null) {
            addSpan(phases, spanName, spanStartNs, t);
            spanName = null;
        }
        if (passOpen) closePass(t, -1);
        flushBytes(t);
        attemptOpen = false;
        lastOutcome = p;
        lastEndNs = t;
        if (downtimeNs > 0 && downtimes.size() < ReportData.MAX_LIST) {
            downtimes.add(new ReportData.Span(hop, attempt, "downtime", ms(t - downtimeNs), ms(t)));
        }
        lastAttempt = hopFold.migrationStats();
        addAttempt(p.name(), lastAttempt);
    }

    private void addAttempt(String outcome, EngineStats s) {
        String why = s.failureCause() == null
                ? null
                : s.failureCause().toLowerCase(Locale.ROOT).replace('_', ' ');
        if (hopAttempts.size() < ReportData.MAX_LIST) {
            hopAttempts.add(new ReportData.Attempt(
                    hop, attempt, outcome, why, ms(attemptStartNs), s.totalNs() / 1e6, s.transferredBytes()));
        }
    }

    /** The hop's figures, as the backends build them: its attempts' counters summed, its last attempt's outcome, downtime and setup. */
    private void closeHop() {
        String outcome;
        EngineStats last;
        long endNs;
        if (attemptOpen) { // the events stop inside this attempt
            last = hopFold.migrationStats();
            addAttempt("UNFINISHED", last);
            outcome = "UNFINISHED";
            endNs = lastNs;
        } else {
            last = lastAttempt;
            outcome = lastOutcome.name();
            endNs = lastEndNs;
        }
        EngineStats sum = hopFold.runStats();
        ReportData.Hop h = new ReportData.Hop(
                hop,
                outcome,
                (endNs - hopStartNs) / 1e6,
                last.downtimeNs() / 1e6,
                last.setupNs() / 1e6,
                sum.iterations(),
                sum.transferredBytes(),
                sum.pagesNormal(),
                sum.pagesZero(),
                sum.skippedFree(),
                sum.skippedBalloon(),
                sum.resent(),
                sum.hintRequests(),
                sum.hintRanges(),
                sum.hintPages(),
                sum.rejected(),
                hopVerify,
                List.copyOf(hopAttempts));
        if (hops.size() < ReportData.MAX_LIST) hops.add(h);
        hopWarnings(h, sum, last);
        hopAttempts.clear();
        hopVerify = null;
    }

    /**
     * What a reader must be told about a hop. THE place for a flag per hop or run: each is one
     * {@code warnings.add} from the hop's figures ({@code h}) or core's statistics of its attempts
     * ({@code sum}) and of its last attempt ({@code last}); the report's summary shows them all, in
     * this order.
     */
    private void hopWarnings(ReportData.Hop h, EngineStats sum, EngineStats last) {
        int n = h.hop();
        for (ReportData.Attempt a : h.attempts()) {
            if (a.cause() != null) {
                warn(
                        n,
                        "link",
                        "attempt " + a.attempt() + " failed after " + millis(a.timeMs()) + " ms (link: " + a.cause()
                                + ")" + (a.attempt() < h.attempts().size() ? "; the migration was retried" : ""));
            }
        }
        if (h.outcome().equals("UNFINISHED"))
            warn(n, "outcome", "the events stop before the migration ended (a journal cut short)");
        else if (!h.outcome().equals("COMPLETED"))
            warn(n, "outcome", "the migration did not complete: " + h.outcome().toLowerCase(Locale.ROOT));
        if (h.verify() != null && !h.verify().ok()) {
            warn(
                    n,
                    "verify",
                    "verify failed: " + h.verify().mismatchedPages() + " of "
                            + h.verify().checkedPages() + " pages differ"
                            + (h.verify().firstBadPage() >= 0
                                    ? ", the first at page index " + h.verify().firstBadPage()
                                    : ""));
        }
        long limitNs = manifest.engine().downtimeLimitNs();
        if (h.outcome().equals("COMPLETED") && limitNs > 0 && last.downtimeNs() > limitNs) {
            long expectedNs = hopFold.expectedDowntimeNs();
            warn(
                    n,
                    "downtime",
                    "downtime " + millis(last.downtimeNs() / 1e6) + " ms exceeded the limit of " + millis(limitNs / 1e6)
                            + " ms"
                            + (expectedNs >= 0
                                    ? " (expected " + millis(expectedNs / 1e6) + " ms at switch-over)"
                                    : ""));
        }
        // (each further flag from core's statistics: one line here, e.g. if (last.<flag>()) warn(n, "<kind>",
        // "<sentence>");)
    }

    private void warn(int hopNumber, String kind, String text) {
        if (warnings.size() < ReportData.MAX_LIST) warnings.add(new ReportData.Warning(hopNumber, kind, text));
    }

    private static String millis(double ms) {
        return String.format(Locale.ROOT, "%.1f", ms);
    }

    // ---------------------------------------------------------------- phases and passes

    private void onPhase(long t, Phase p, int iteration) {
        if (!attemptOpen) throw new IllegalStateException("a phase before any migration began");
        boolean walking = p == Phase.BULK || p == Phase.ITERATE || p == Phase.STOP_AND_COPY;
        if (p.isTerminal() && passOpen) closePass(t, -1);
        if (walking) {
            passOpen = true;
            passNumber = iteration;
            passPhase = p;
            passStartNs = t;
            pass = iteration;
        }
        String name = p.name();
        if (spanName != null && !(name.equals(spanName) && p == Phase.ITERATE)) {
            addSpan(phases, spanName, spanStartNs, t);
            spanName = null;
        }
        if (!p.isTerminal() && spanName == null) {
            spanName = name;
            spanStartNs = t;
        }
        series.pending(rel(t), pending);
    }

    private void addSpan(List<ReportData.Span> to, String name, long from, long until) {
        if (to.size() < ReportData.MAX_LIST) to.add(new ReportData.Span(hop, attempt, name, ms(from), ms(until)));
    }

    private void closePass(long t, long bytes) {
        if (passes.size() < ReportData.MAX_LIST) {
            passes.add(new ReportData.Pass(
                    hop,
                    attempt,
                    passNumber,
                    passPhase.name(),
                    ms(passStartNs),
                    ms(t),
                    pSent,
                    pZero,
                    pResent,
                    pFree,
                    pBalloon,
                    bytes));
        }
        passOpen = false;
        pSent = pZero = pResent = pFree = pBalloon = 0;
    }

    // ---------------------------------------------------------------- pages

    private void send(long number, EventType type, long t, long block, long offset, long n, int how) {
        send(number, type, t, block, offset, n, how, -1);
    }

    /** {@code recordBytes} &gt;= 0: the bytes the record took on the wire, as a real QEMU's stream says. */
    private void send(long number, EventType type, long t, long block, long offset, long n, int how, long recordBytes) {
        long p = index(number, type, block, offset, n);
        long again = markSent(p, p + n, how);
        long first = n - again;
        pResent += again;
        if (how == DATA) {
            pSent += first;
            unsentBytes += recordBytes >= 0 ? recordBytes : n * pageBytes;
        } else {
            if (how == ZERO_FILL) pZero += first;
            else pFree += first;
            unsentBytes += recordBytes >= 0 ? recordBytes : fillBytes;
        }
        series.sent(rel(t), n, pending);
    }

    /** The bytes sent since the engine's last clock reading were on the wire from it until {@code t}. */
    private void flushBytes(long t) {
        if (unsentBytes == 0) return;
        series.bytes(rel(clockNs == Long.MIN_VALUE ? t : clockNs), rel(t), unsentBytes);
        unsentBytes = 0;
    }

    /** Marks [from, to) sent; returns how many of them had been sent before in this attempt. */
    private long markSent(long from, long to, int how) {
        long[] once = sentOnce.words(),
                twice = sentTwice.words(),
                send = toSend.words(),
                zero = lastZero.words(),
                fr = free.words();
        long again = 0, left = 0;
        int first = (int) (from >>> 6), last = (int) ((to - 1) >>> 6);
        for (int i = first; i <= last; i++) {
            long m = mask(i, first, last, from, to);
            long before = once[i] & m;
            again += Long.bitCount(before);
            twice[i] |= before;
            once[i] |= m;
            left += Long.bitCount(send[i] & m);
            send[i] &= ~m;
            if (how == ZERO_FILL) zero[i] |= m;
            else zero[i] &= ~m;
            if (how == POISON_FILL) fr[i] |= m;
            else fr[i] &= ~m;
        }
        pending -= left;
        return again;
    }

    /** Clears [from, to) from the pages to send, marking those it cleared as free; returns how many. */
    private long skipFree(long from, long to) {
        long[] send = toSend.words(), fr = free.words();
        long n = 0;
        int first = (int) (from >>> 6), last = (int) ((to - 1) >>> 6);
        for (int i = first; i <= last; i++) {
            long cleared = send[i] & mask(i, first, last, from, to);
            n += Long.bitCount(cleared);
            fr[i] |= cleared;
            send[i] &= ~cleared;
        }
        return n;
    }

    /** Sets [from, to) in one pass over the words; returns how many bits were clear. */
    private static long setCounting(PageBitmap bits, long from, long to) {
        long[] w = bits.words();
        long n = 0;
        int first = (int) (from >>> 6), last = (int) ((to - 1) >>> 6);
        for (int i = first; i <= last; i++) {
            long m = mask(i, first, last, from, to);
            n += Long.bitCount(m & ~w[i]);
            w[i] |= m;
        }
        return n;
    }

    /** Clears [from, to) in one pass over the words; returns how many bits were set. */
    private static long clearCounting(PageBitmap bits, long from, long to) {
        long[] w = bits.words();
        long n = 0;
        int first = (int) (from >>> 6), last = (int) ((to - 1) >>> 6);
        for (int i = first; i <= last; i++) {
            long m = mask(i, first, last, from, to);
            n += Long.bitCount(m & w[i]);
            w[i] &= ~m;
        }
        return n;
    }

    private static long mask(int i, int first, int last, long from, long to) {
        long m = -1L;
        if (i == first) m &= -1L << (from & 63);
        if (i == last) m &= -1L >>> (63 - ((to - 1) & 63));
        return m;
    }

    /** Follows the balloon's size; a range that is not all RAM is one the engine rejects, and changes nothing. */
    private void balloon(long t, long pfn, long pages, boolean inflate) {
        if (pfn < 0 || layout.splitPfnRange(pfn, pages, (blk, o, n) -> {}) > 0) return;
        layout.splitPfnRange(pfn, pages, (blk, o, n) -> {
            long p = blk.firstIndex() + o;
            balloonLevel += inflate ? inBalloon.setRangeCounting(p, p + n) : -inBalloon.clearRangeCounting(p, p + n);
        });
        series.balloon(rel(t), balloonLevel);
    }

    private ReportException bad(long number, EventType type, String what) {
        return new ReportException(label + ": event " + number + (type == null ? "" : " (" + type + ")") + " " + what
                + " — the journal is damaged or does not belong to this run");
    }

    /** The page index of (block, offset), with the range checked against the layout. */
    private long index(long number, EventType type, long block, long offset, long count) {
        if (block < 0 || block >= blockFirst.length) {
            throw bad(number, type, "names block " + block + ", but the guest has " + blockFirst.length);
        }
        if (offset < 0 || count <= 0 || offset > blockPages[(int) block] - count) {
            throw bad(
                    number,
                    type,
                    "names pages [" + offset + ", +" + count + ") outside block "
                            + layout.block((int) block).name() + " of " + blockPages[(int) block] + " pages");
        }
        return blockFirst[(int) block] + offset;
    }

    private long rel(long t) {
        return t <= t0 ? 0 : t - t0;
    }

    private double ms(long t) {
        return Math.round(rel(t) / 1e3) / 1e3;
    }

    // ---------------------------------------------------------------- the result

    /** What the events said; a stream with no events or no migration is a {@link ReportException}. */
    public ReportData finish() {
        if (events == 0) throw new ReportException(label + ": no events (an empty or unreadable journal)");
        // a destination's journal (ballast dest --journal) holds its guest's faults and no migration of the engine's
        boolean destinationOnly = hop == 0 && faultEvents > 0;
        if (hop == 0 && !destinationOnly)
            throw new ReportException(label + ": no migration in its " + events + " events");
        long endNs = destinationOnly ? lastAnyNs : attemptOpen ? lastNs : lastEndNs;
        if (attemptOpen && spanName != null) addSpan(phases, spanName, spanStartNs, endNs);
        if (attemptOpen && passOpen) closePass(endNs, -1);
        flushBytes(Math.max(endNs, clockNs));
        int lastAttemptNumber = attempt;
        if (!destinationOnly) closeHop();
        ReportData.Totals totals = totals();
        ReportData.Verify verify =
                verified ? new ReportData.Verify(verifyChecked, verifyMismatched, verifyFirstBad) : null;
        return new ReportData(
                label,
                null,
                ReportData.Settings.of(manifest),
                totals,
                verify,
                List.copyOf(hops),
                List.copyOf(warnings),
                List.copyOf(passes),
                List.copyOf(phases),
                List.copyOf(downtimes),
                List.copyOf(linkFailures),
                List.copyOf(checks),
                series.series(rel(endNs), requestsEndNs),
                memoryMap(lastAttemptNumber),
                SeedFigures.forRun(manifest));
    }

    /** The run's figures from its hops', as {@code RunReports.run} adds them up. */
    private ReportData.Totals totals() {
        double time = 0, setup = 0, downtime = 0;
        int iterations = 0;
        long bytes = 0, normal = 0, zero = 0, sf = 0, sb = 0, resent = 0, hr = 0, hrange = 0, hp = 0, rejected = 0;
        boolean completed = true;
        for (ReportData.Hop h : hops) {
            time += h.timeMs();
            setup += h.setupMs();
            downtime += h.downtimeMs();
            iterations += h.iterations();
            bytes += h.transferredBytes();
            normal += h.normal();
            zero += h.zero();
            sf += h.skippedFree();
            sb += h.skippedBalloon();
            resent += h.resent();
            hr += h.hintRequests();
            hrange += h.hintRanges();
            hp += h.hintPages();
            rejected += h.rejected();
            completed &= h.outcome().equals("COMPLETED");
        }
        String outcome = hops.isEmpty()
                ? DESTINATION_ONLY
                : completed ? "COMPLETED" : hops.getLast().outcome();
        return new ReportData.Totals(
                outcome,
                events,
                hop,
                attempts,
                linkFailureCount,
                time,
                setup,
                downtime,
                iterations,
                bytes,
                normal,
                zero,
                sf,
                sb,
                resent,
                hr,
                hrange,
                hp,
                balloonAtStart,
                inflated,
                deflated,
                rejected);
    }

    private ReportData.MemoryMap memoryMap(int lastAttemptNumber) {
        List<RamBlock> blocks = new ArrayList<>(layout.blocks());
        blocks.sort(Comparator.comparingLong(RamBlock::firstPfn));
        List<ReportData.Region> regions = new ArrayList<>();
        long total = layout.totalPages();
        long pfn = 0;
        int kindCount = ReportData.KINDS.size();
        for (RamBlock b : blocks) {
            if (b.firstPfn() > pfn) {
                regions.add(
                        new ReportData.Region("hole", true, pfn, b.firstPfn() - pfn, 0, "", new int[0], new long[0]));
            }
            long cells = Math.clamp(
                    Math.round((double) ReportData.MAP_CELLS * b.pages() / total),
                    ReportData.MAP_ROW,
                    ReportData.MAP_CELLS);
            cells = Math.min(cells, b.pages());
            long cellPages = (b.pages() + cells - 1) / cells;
            int n = (int) ((b.pages() + cellPages - 1) / cellPages);
            char[] kinds = new char[n];
            int[] shares = new int[n];
            long[] sums = new long[kindCount];
            long[] counts = new long[kindCount];
            for (int k = 0; k < n; k++) {
                long s = b.firstIndex() + k * cellPages;
                long e = Math.min(b.endIndex(), s + cellPages);
                Arrays.fill(counts, 0);
                classify(s, e, counts);
                int best = 0;
                for (int j = 1; j < counts.length; j++) if (counts[j] > counts[best]) best = j;
                kinds[k] = (char) ('0' + best);
                shares[k] = (int) Math.round(100.0 * counts[best] / (e - s));
                for (int j = 0; j < counts.length; j++) sums[j] += counts[j];
            }
            regions.add(new ReportData.Region(
                    b.name(), false, b.firstPfn(), b.pages(), cellPages, new String(kinds), shares, sums));
            pfn = b.endPfn();
        }
        return new ReportData.MemoryMap(hop, lastAttemptNumber, List.copyOf(regions));
    }

    /** Counts the pages of [from, to) by kind: resent, then sent with data, zero, free (poison), ballooned, free, not sent. */
    private void classify(long from, long to, long[] counts) {
        long[] once = sentOnce.words(),
                twiceW = sentTwice.words(),
                zero = lastZero.words(),
                fr = free.words(),
                bal = ballooned.words();
        int first = (int) (from >>> 6), last = (int) ((to - 1) >>> 6);
        for (int i = first; i <= last; i++) {
            long m = mask(i, first, last, from, to);
            long twice = twiceW[i] & m;
            long onceOnly = once[i] & m & ~twice;
            long never = m & ~once[i];
            long z = onceOnly & zero[i];
            long poison = onceOnly & ~zero[i] & fr[i];
            long b = never & bal[i];
            long f = never & ~bal[i] & fr[i];
            counts[ReportData.RESENT] += Long.bitCount(twice);
            counts[ReportData.ZERO] += Long.bitCount(z);
            counts[ReportData.SENT] += Long.bitCount(onceOnly & ~zero[i] & ~fr[i]);
            counts[ReportData.FREE] += Long.bitCount(poison) + Long.bitCount(f);
            counts[ReportData.BALLOONED] += Long.bitCount(b);
            counts[ReportData.NOT_SENT] += Long.bitCount(never & ~bal[i] & ~fr[i]);
        }
    }
}
