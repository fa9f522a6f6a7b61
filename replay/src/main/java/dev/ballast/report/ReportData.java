package dev.ballast.report;

import dev.ballast.core.engine.Convergence;
import dev.ballast.core.engine.EngineStats;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.RunFold;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.RunManifest;
import dev.ballast.replay.Event;
import dev.ballast.replay.EventStream;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * What one run's events say, aggregated for pictures: every list here is bounded by the number of
 * passes, phases or a fixed number of buckets and map cells, never by the number of pages or
 * events, so a 1 TiB guest or 100 million events make a report of the same size as a small run.
 * Built by {@link #read} in one pass over the events. Times are milliseconds from the run's first
 * event.
 *
 * @param label       what the report calls the run
 * @param settings    the run's settings, from its manifest
 * @param totals      its counters and outcome
 * @param verify      the check after the run ({@code VERIFY} event), or null when there was none
 * @param passes      each pass over the migration bitmap, with its pages by kind
 * @param phases      the phases in time (consecutive iterate passes make one span)
 * @param downtimes   when the guest was paused, one span per migration that paused it
 * @param checks      each convergence check: what was left, the bandwidth, the decision
 * @param series      counters over time in equal buckets
 * @param memory      what happened to each region of guest memory in the last migration
 * @param seeds       the seeds' figures for the same case, if the run is one of them
 */
public record ReportData(String label, Settings settings, Totals totals, Verify verify, List<Pass> passes,
                         List<Span> phases, List<Span> downtimes, List<Check> checks, Series series, MemoryMap memory,
                         List<SeedFigures.Figure> seeds) {

    /** The kinds of page fate, in the order of the map's codes and of the pass chart's stacks. */
    public static final List<String> KINDS = List.of("sent", "zero", "resent", "skipped free", "ballooned", "not sent");
    public static final int SENT = 0, ZERO = 1, RESENT = 2, FREE = 3, BALLOONED = 4, NOT_SENT = 5;

    /** At most this many time buckets (adjacent ones merge as a run goes on, so at least half of this are used). */
    public static final int MAX_BUCKETS = 400;
    /** About this many memory map cells for a whole guest; every block gets at least one row. */
    public static final int MAP_CELLS = 2048;
    /** Map cells per row. */
    public static final int MAP_ROW = 64;
    /** Bounds for the lists that grow with passes and migrations. */
    public static final int MAX_LIST = 10_000;

    public record Settings(String backend, String workload, String policy, long seed, long guestMemBytes, String layout,
                           long bandwidthBytesPerSec, double downtimeLimitMs, int maxIterations, double timeCapMs,
                           int pageHeaderBytes, boolean mustTellHost, boolean freePageHint, boolean freeBitmap,
                           int poisonByte, String costProfile, long linkBitsPerSec) {
        static Settings of(RunManifest m) {
            return new Settings(m.backend(), m.workload(), m.policy(), m.seed(), m.layout().totalBytes(), m.layout().toString(),
                    m.engine().bandwidthBytesPerSec(), m.engine().downtimeLimitNs() / 1e6, m.engine().maxIterations(),
                    m.engine().timeCapNs() / 1e6, m.engine().pageHeaderBytes(), m.features().mustTellHost(),
                    m.features().freePageHint(), m.features().freeBitmap(), m.features().poisonByte(), m.costProfile().source(),
                    m.costProfile().linkBitsPerSec());
        }
    }

    /**
     * The run's totals. The counters of pages, bytes, hints, rejects and link failures are core's
     * {@link RunFold} (what the engine counts, summed over migrations); the balloon's are the
     * pages the guest's messages named.
     *
     * @param outcome        the last migration's final phase, or {@code UNFINISHED} when the events stop before its end
     * @param events         events read
     * @param migrations     migrations in the events (retries and the hops of a chain each count)
     * @param linkFailures   link failures
     * @param timeMs         from the first migration's start to the last one's end (or the last event)
     * @param setupMs        the first migration's setup
     * @param downtimeMs     the last migration's downtime
     * @param iterations     passes of the last migration
     * @param transferredBytes bytes on the wire, all migrations
     * @param normal         pages sent with their data (resends included), as the engine counts them
     * @param zero           pages sent as zero records
     * @param skippedFree    pages not sent because they were free (cleared by a hint or bitmap, or sent as poison)
     * @param skippedBalloon pages not sent because they were in the balloon
     * @param resent         sends of pages already sent in the same migration
     * @param hintRequests   free page hint and bitmap requests
     * @param hintRanges     ranges the guest reported
     * @param hintPages      pages in them
     * @param balloonAtStart pages in the balloon when a migration started
     * @param inflated       pages inflated while migrating
     * @param deflated       pages deflated while migrating
     * @param rejected       guest requests rejected
     */
    public record Totals(String outcome, long events, int migrations, int linkFailures, double timeMs, double setupMs,
                         double downtimeMs, int iterations, long transferredBytes, long normal, long zero, long skippedFree,
                         long skippedBalloon, long resent, long hintRequests, long hintRanges, long hintPages,
                         long balloonAtStart, long inflated, long deflated, long rejected) { }

    /** The last check after a run: pages checked, mismatched, and the first bad page index (-1: none). */
    public record Verify(long checkedPages, long mismatchedPages, long firstBadPage) {
        public boolean ok() { return mismatchedPages == 0; }
    }

    /**
     * One pass over the migration bitmap. {@code sent} and {@code zero} count first sends in the
     * migration; {@code resent} counts sends of pages already sent. Skips between two passes (hints
     * after a sync) count in the pass that follows.
     */
    public record Pass(int migration, int pass, String phase, double startMs, double endMs, long sent, long zero, long resent,
                       long skippedFree, long skippedBalloon, long bytes) { }

    public record Span(int migration, String name, double startMs, double endMs) { }

    public record Check(int migration, int pass, double timeMs, long remainingBytes, long bandwidthBytesPerSec, String decision) { }

    /**
     * Counters per time bucket of {@code bucketMs}: the pages still to send (most and last in the
     * bucket), the throughput, pages sent, pages the guest hinted free, pages cleared as free,
     * balloon inflates and deflates, and the pages in the balloon at the bucket's end. The throughput is averaged over {@code rateWindowMs} around each
     * bucket: an engine sends a step's pages at one instant and a rate limit lets them out in bursts
     * per 100 ms window, so a bucket alone would show spikes and gaps that no link saw.
     */
    public record Series(double bucketMs, double rateWindowMs, long[] pendingMax, long[] pendingEnd, double[] gbps,
                         long[] sentPages, long[] hintedPages, long[] freedPages, long[] inflatedPages, long[] deflatedPages,
                         long[] balloonPages) { }

    /** The longest the throughput is averaged over: the engine's rate-limit window. */
    public static final long RATE_WINDOW_NS = 100_000_000L;

    /**
     * Guest memory in guest-physical order: RAM blocks and the holes between them.
     *
     * @param migration which migration it shows (the last one)
     * @param regions   blocks and holes, by address
     */
    public record MemoryMap(int migration, List<Region> regions) { }

    /**
     * A RAM block cut into cells of {@code cellPages} pages, or a hole ({@code hole}, no cells). Each
     * cell is one digit in {@code cells}: the kind most of its pages had (an index in {@link #KINDS}),
     * and that kind's share in percent in {@code shares}; {@code pages} per kind sums over the block.
     */
    public record Region(String name, boolean hole, long firstPfn, long pageCount, long cellPages, String cells,
                         int[] shares, long[] pages) { }

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
        Reader r = new Reader(run);
        Event e = new Event();
        while (true) {
            boolean more;
            try {
                more = stream.next(e);
            } catch (RuntimeException x) {
                throw new ReportException(run.label() + ": cannot read the event after " + r.readSoFar() + ": " + describe(x), x);
            }
            if (!more) break;
            r.apply(e);
        }
        return r.finish();
    }

    static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.replace('\n', ' ');
    }

    /** The single pass. Bitmaps over the layout's page index space; per-event work is bounded by the event's range. */
    private static final class Reader {
        private static final int DATA = 0, ZERO_FILL = 1, POISON_FILL = 2;

        private final RunInput run;
        private final RunManifest manifest;
        private final RamLayout layout;
        private final long[] blockFirst;
        private final long[] blockPages;
        private final long pageBytes;
        private final long fillBytes;
        private final boolean poisons;

        // page state of the current migration, one bit per page
        private final long[] toSend;
        private final long[] sentOnce;
        private final long[] sentTwice;
        private final long[] lastZero;
        private final long[] free;
        private final long[] ballooned;
        private final long[] inBalloon;
        private long pending;
        private long balloonLevel;

        private long events;
        private long lastNumber = -1;
        private long t0 = Long.MIN_VALUE;
        private long lastNs;
        private final Buckets buckets = new Buckets();

        private int migration;
        private Phase phase;
        private int pass;
        private long firstStartNs = -1;
        private long setupEndNs = -1;
        private long lastEndNs = -1;
        private boolean ended;
        private Phase outcome;
        private double downtimeMs;
        /** The run's counters, as the engine counts them: the totals come from here. */
        private final RunFold fold;
        /** The balloon as the guest asked for it (pages per message), which the report draws apart from the engine's counts. */
        private long balloonAtStart, inflated, deflated;
        private Verify verify;

        // the pass being walked
        private boolean passOpen;
        private int passNumber;
        private Phase passPhase;
        private long passStartNs;
        private long pSent, pZero, pResent, pFree, pBalloon;
        private final List<Pass> passes = new ArrayList<>();
        private final List<Span> phases = new ArrayList<>();
        private final List<Span> downtimes = new ArrayList<>();
        private final List<Check> checks = new ArrayList<>();
        private String spanName;
        private long spanStartNs;

        Reader(RunInput run) {
            this.run = run;
            this.manifest = run.manifest();
            this.layout = manifest.layout();
            this.blockFirst = layout.blocks().stream().mapToLong(RamBlock::firstIndex).toArray();
            this.blockPages = layout.blocks().stream().mapToLong(RamBlock::pages).toArray();
            int header = manifest.engine().pageHeaderBytes();
            this.pageBytes = RamLayout.PAGE_SIZE + (long) header;
            this.fillBytes = header + 8L;
            this.poisons = manifest.features().poisonByte() != 0;
            this.fold = new RunFold(layout, manifest.features().poisonByte(), header);
            long words = (layout.totalPages() + 63) >>> 6;
            if (words > Integer.MAX_VALUE) throw new ReportException(run.label() + ": a guest of " + layout.totalBytes() + " bytes is too large to draw");
            int w = (int) words;
            toSend = new long[w];
            sentOnce = new long[w];
            sentTwice = new long[w];
            lastZero = new long[w];
            free = new long[w];
            ballooned = new long[w];
            inBalloon = new long[w];
        }

        long readSoFar() {
            return lastNumber < 0 ? events : lastNumber;
        }

        void apply(Event e) {
            if (e.type == null) throw bad(e, "has an unknown type");
            events++;
            lastNumber = e.number;
            long t = e.timeNs;
            if (t0 == Long.MIN_VALUE) t0 = t;
            if (e.type.kind() != EventType.Kind.INFO && t > lastNs) lastNs = t;
            long a = e.a, b = e.b, c = e.c;
            try {
                switch (e.type) {
                    case PHASE -> onPhase(t, Phase.byOrdinal(a), (int) b);
                    case DIRTY -> {
                        long p = index(e, a, b, c);
                        pending += setCounting(toSend, p, p + c);
                        buckets.pending(rel(t), pending);
                    }
                    case SEND_NORMAL -> send(e, t, a, b, c, DATA);
                    case SEND_FILL -> send(e, t, a, b, EventType.SendFill.pages(c), EventType.SendFill.zero(c) ? ZERO_FILL : POISON_FILL);
                    case QEMU_PAGE -> send(e, t, a, b, 1, EventType.QemuPage.zero(c) ? ZERO_FILL : DATA, EventType.QemuPage.recordBytes(c));
                    case SKIP_BALLOON -> {
                        long p = index(e, a, b, c);
                        long n = skipBalloon(p, p + c);
                        pending -= n;
                        pBalloon += c;
                        buckets.pending(rel(t), pending);
                    }
                    case SKIP_FREE -> {
                        long p = index(e, a, b, c);
                        if (!poisons) {
                            long n = skipFree(p, p + c);
                            pending -= n;
                            pFree += n;
                            buckets.freed(rel(t), n, pending);
                        }
                    }
                    case HINT, FREE_BITMAP -> {
                        if (c > 0) buckets.hinted(rel(t), c);
                    }
                    case BALLOON_INFLATE -> {
                        if (c <= 0) break;
                        if (EventType.Balloon.atSetup(a)) balloonAtStart += c;
                        else {
                            inflated += c;
                            buckets.inflated(rel(t), c);
                        }
                        balloon(t, b, c, true);
                    }
                    case BALLOON_DEFLATE -> {
                        if (c <= 0) break;
                        deflated += c;
                        buckets.deflated(rel(t), c);
                        balloon(t, b, c, false);
                    }
                    case CONVERGENCE -> {
                        if (checks.size() < MAX_LIST) {
                            checks.add(new Check(migration, pass, ms(t), a, b, Convergence.Decision.values()[(int) c].name()));
                        }
                    }
                    case ITERATION_END -> {
                        if (passOpen) closePass(t, b, c);
                    }
                    case END -> onEnd(t, Phase.byOrdinal(a), c);
                    case VERIFY -> verify = new Verify(a, b, c);
                    default -> { }
                }
                fold.apply(e.number, e.type, t, a, b, c);
            } catch (ReportException x) {
                throw x;
            } catch (RuntimeException x) {
                throw bad(e, describe(x));
            }
        }

        /** Follows the balloon's size; a range that is not all RAM is one the engine rejects, and changes nothing. */
        private void balloon(long t, long pfn, long pages, boolean inflate) {
            if (pfn < 0 || layout.splitPfnRange(pfn, pages, (blk, o, n) -> { }) > 0) return;
            layout.splitPfnRange(pfn, pages, (blk, o, n) -> {
                long p = blk.firstIndex() + o;
                balloonLevel += inflate ? setCounting(inBalloon, p, p + n) : -clearCounting(inBalloon, p, p + n);
            });
            buckets.balloon(rel(t), balloonLevel);
        }

        private ReportException bad(Event e, String what) {
            return new ReportException(run.label() + ": event " + e.number + (e.type == null ? "" : " (" + e.type + ")") + " " + what
                    + " — the journal is damaged or does not belong to this run");
        }

        /** The page index of (block, offset), with the range checked against the layout. */
        private long index(Event e, long block, long offset, long count) {
            if (block < 0 || block >= blockFirst.length) {
                throw bad(e, "names block " + block + ", but the guest has " + blockFirst.length);
            }
            if (offset < 0 || count <= 0 || offset > blockPages[(int) block] - count) {
                throw bad(e, "names pages [" + offset + ", +" + count + ") outside block " + layout.block((int) block).name()
                        + " of " + blockPages[(int) block] + " pages");
            }
            return blockFirst[(int) block] + offset;
        }

        private long rel(long t) {
            return t <= t0 ? 0 : t - t0;
        }

        private double ms(long t) {
            return Math.round(rel(t) / 1e3) / 1e3;
        }

        private void onPhase(long t, Phase p, int iteration) {
            if (p == Phase.SETUP) {
                migration++;
                ended = false;
                outcome = null;
                pending = 0;
                balloonLevel = 0;
                for (long[] bits : new long[][] {toSend, sentOnce, sentTwice, lastZero, free, ballooned, inBalloon}) Arrays.fill(bits, 0);
                pSent = pZero = pResent = pFree = pBalloon = 0;
                passOpen = false;
                pass = 0;
                if (firstStartNs < 0) firstStartNs = t;
            }
            if (migration == 0) throw new IllegalStateException("a phase before any migration began");
            if (p == Phase.BULK && setupEndNs < 0) setupEndNs = t;
            boolean walking = p == Phase.BULK || p == Phase.ITERATE || p == Phase.STOP_AND_COPY;
            if (p.isTerminal() && passOpen) closePass(t, -1, -1);
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
            phase = p;
            buckets.pending(rel(t), pending);
        }

        private void addSpan(List<Span> to, String name, long from, long until) {
            if (to.size() < MAX_LIST) to.add(new Span(migration, name, ms(from), ms(until)));
        }

        private void closePass(long t, long pages, long bytes) {
            if (passes.size() < MAX_LIST) {
                passes.add(new Pass(migration, passNumber, passPhase.name(), ms(passStartNs), ms(t), pSent, pZero, pResent, pFree,
                        pBalloon, bytes));
            }
            passOpen = false;
            pSent = pZero = pResent = pFree = pBalloon = 0;
        }

        private void onEnd(long t, Phase p, long downtimeNs) {
            if (migration == 0) throw new IllegalStateException("an end before any migration began");
            if (spanName != null) {
                addSpan(phases, spanName, spanStartNs, t);
                spanName = null;
            }
            if (passOpen) closePass(t, -1, -1);
            ended = true;
            outcome = p;
            downtimeMs = downtimeNs / 1e6;
            if (downtimeNs > 0 && downtimes.size() < MAX_LIST) {
                downtimes.add(new Span(migration, "downtime", ms(t - downtimeNs), ms(t)));
            }
            lastEndNs = t;
        }

        private void send(Event e, long t, long block, long offset, long n, int how) {
            send(e, t, block, offset, n, how, -1);
        }

        /** {@code recordBytes} &gt;= 0: the bytes the record took on the wire, as a real QEMU's stream says. */
        private void send(Event e, long t, long block, long offset, long n, int how, long recordBytes) {
            long p = index(e, block, offset, n);
            long again = markSent(p, p + n, how);
            long first = n - again;
            pResent += again;
            long bytes;
            if (how == DATA) {
                pSent += first;
                bytes = n * pageBytes;
            } else if (how == ZERO_FILL) {
                pZero += first;
                bytes = fillBytes;
            } else {
                pFree += first;
                bytes = fillBytes;
            }
            if (recordBytes >= 0) bytes = recordBytes;
            buckets.sent(rel(t), n, bytes, pending);
        }

        // ---------------------------------------------------------------- bit ranges

        /** Sets [from, to); returns how many bits were clear. */
        private static long setCounting(long[] w, long from, long to) {
            long n = 0;
            int first = (int) (from >>> 6), last = (int) ((to - 1) >>> 6);
            for (int i = first; i <= last; i++) {
                long m = mask(i, first, last, from, to);
                n += Long.bitCount(m & ~w[i]);
                w[i] |= m;
            }
            return n;
        }

        /** Clears [from, to); returns how many bits were set. */
        private static long clearCounting(long[] w, long from, long to) {
            long n = 0;
            int first = (int) (from >>> 6), last = (int) ((to - 1) >>> 6);
            for (int i = first; i <= last; i++) {
                long m = mask(i, first, last, from, to);
                n += Long.bitCount(m & w[i]);
                w[i] &= ~m;
            }
            return n;
        }

        /** Marks [from, to) sent; returns how many of them had been sent before in this migration. */
        private long markSent(long from, long to, int how) {
            long again = 0, left = 0;
            int first = (int) (from >>> 6), last = (int) ((to - 1) >>> 6);
            for (int i = first; i <= last; i++) {
                long m = mask(i, first, last, from, to);
                long before = sentOnce[i] & m;
                again += Long.bitCount(before);
                sentTwice[i] |= before;
                sentOnce[i] |= m;
                left += Long.bitCount(toSend[i] & m);
                toSend[i] &= ~m;
                if (how == ZERO_FILL) lastZero[i] |= m;
                else lastZero[i] &= ~m;
                if (how == POISON_FILL) free[i] |= m;
                else free[i] &= ~m;
            }
            pending -= left;
            return again;
        }

        /** Clears [from, to) from the pages to send, marking those it cleared as free; returns how many. */
        private long skipFree(long from, long to) {
            long n = 0;
            int first = (int) (from >>> 6), last = (int) ((to - 1) >>> 6);
            for (int i = first; i <= last; i++) {
                long m = mask(i, first, last, from, to);
                long cleared = toSend[i] & m;
                n += Long.bitCount(cleared);
                free[i] |= cleared;
                toSend[i] &= ~m;
            }
            return n;
        }

        /** Clears [from, to) from the pages to send and marks it ballooned; returns how many were to send. */
        private long skipBalloon(long from, long to) {
            long n = 0;
            int first = (int) (from >>> 6), last = (int) ((to - 1) >>> 6);
            for (int i = first; i <= last; i++) {
                long m = mask(i, first, last, from, to);
                n += Long.bitCount(toSend[i] & m);
                toSend[i] &= ~m;
                ballooned[i] |= m;
            }
            return n;
        }

        private static long mask(int i, int first, int last, long from, long to) {
            long m = -1L;
            if (i == first) m &= -1L << (from & 63);
            if (i == last) m &= -1L >>> (63 - ((to - 1) & 63));
            return m;
        }

        // ---------------------------------------------------------------- the result

        ReportData finish() {
            if (events == 0) throw new ReportException(run.label() + ": no events (an empty or unreadable journal)");
            if (migration == 0) throw new ReportException(run.label() + ": no migration in its " + events + " events");
            long endNs = ended ? lastEndNs : lastNs;
            if (!ended && spanName != null) addSpan(phases, spanName, spanStartNs, endNs);
            if (!ended && passOpen) closePass(endNs, -1, -1);
            String out = ended ? outcome.name() : "UNFINISHED";
            int lastIterations = 0;
            for (Pass p : passes) if (p.migration() == migration) lastIterations = Math.max(lastIterations, p.pass());
            EngineStats f = fold.runStats();
            Totals totals = new Totals(out, events, migration, (int) fold.linkFailures(), ms(endNs) - ms(firstStartNs),
                    setupEndNs < 0 ? 0 : ms(setupEndNs) - ms(firstStartNs), ended ? downtimeMs : 0, lastIterations,
                    f.transferredBytes(), f.pagesNormal(), f.pagesZero(), f.skippedFree(), f.skippedBalloon(), f.resent(),
                    f.hintRequests(), f.hintRanges(), f.hintPages(), balloonAtStart, inflated, deflated, f.rejected());
            return new ReportData(run.label(), Settings.of(manifest), totals, verify, List.copyOf(passes), List.copyOf(phases),
                    List.copyOf(downtimes), List.copyOf(checks), buckets.series(rel(endNs)), memoryMap(),
                    SeedFigures.forRun(manifest));
        }

        private MemoryMap memoryMap() {
            List<RamBlock> blocks = new ArrayList<>(layout.blocks());
            blocks.sort(Comparator.comparingLong(RamBlock::firstPfn));
            List<Region> regions = new ArrayList<>();
            long total = layout.totalPages();
            long pfn = 0;
            for (RamBlock b : blocks) {
                if (b.firstPfn() > pfn) regions.add(new Region("hole", true, pfn, b.firstPfn() - pfn, 0, "", new int[0], new long[0]));
                long cells = Math.clamp(Math.round((double) MAP_CELLS * b.pages() / total), MAP_ROW, MAP_CELLS);
                cells = Math.min(cells, b.pages());
                long cellPages = (b.pages() + cells - 1) / cells;
                int n = (int) ((b.pages() + cellPages - 1) / cellPages);
                char[] kinds = new char[n];
                int[] shares = new int[n];
                long[] sums = new long[KINDS.size()];
                long[] counts = new long[KINDS.size()];
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
                regions.add(new Region(b.name(), false, b.firstPfn(), b.pages(), cellPages, new String(kinds), shares, sums));
                pfn = b.endPfn();
            }
            return new MemoryMap(migration, List.copyOf(regions));
        }

        /** Counts the pages of [from, to) by kind: resent, then sent with data, zero, free (poison), ballooned, free, not sent. */
        private void classify(long from, long to, long[] counts) {
            int first = (int) (from >>> 6), last = (int) ((to - 1) >>> 6);
            for (int i = first; i <= last; i++) {
                long m = mask(i, first, last, from, to);
                long twice = sentTwice[i] & m;
                long once = sentOnce[i] & m & ~twice;
                long never = m & ~sentOnce[i];
                long z = once & lastZero[i];
                long poison = once & ~lastZero[i] & free[i];
                long bal = never & ballooned[i];
                long fr = never & ~ballooned[i] & free[i];
                counts[RESENT] += Long.bitCount(twice);
                counts[ZERO] += Long.bitCount(z);
                counts[SENT] += Long.bitCount(once & ~lastZero[i] & ~free[i]);
                counts[FREE] += Long.bitCount(poison) + Long.bitCount(fr);
                counts[BALLOONED] += Long.bitCount(bal);
                counts[NOT_SENT] += Long.bitCount(never & ~ballooned[i] & ~free[i]);
            }
        }
    }

    /**
     * Counters in {@link #MAX_BUCKETS} equal time buckets that double in width (merging pairs) when
     * the run outlasts them, so a run of any length gets between half and all of them.
     */
    private static final class Buckets {
        private long widthNs = 1_000;
        private int used;
        private final long[] pendingMax = new long[MAX_BUCKETS];
        private final long[] pendingEnd = new long[MAX_BUCKETS];
        private final boolean[] sampled = new boolean[MAX_BUCKETS];
        private final long[] bytes = new long[MAX_BUCKETS];
        private final long[] sent = new long[MAX_BUCKETS];
        private final long[] hinted = new long[MAX_BUCKETS];
        private final long[] freed = new long[MAX_BUCKETS];
        private final long[] inflated = new long[MAX_BUCKETS];
        private final long[] deflated = new long[MAX_BUCKETS];
        private final long[] balloonEnd = new long[MAX_BUCKETS];
        private final boolean[] balloonSampled = new boolean[MAX_BUCKETS];
        // the bucket of the last time asked for, so most events cost no division
        private long cachedFrom = 0, cachedTo = widthNs;
        private int cached;

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
            }
            for (long[] a : new long[][] {pendingMax, pendingEnd, bytes, sent, hinted, freed, inflated, deflated, balloonEnd}) {
                Arrays.fill(a, half, MAX_BUCKETS, 0);
            }
            Arrays.fill(sampled, half, MAX_BUCKETS, false);
            Arrays.fill(balloonSampled, half, MAX_BUCKETS, false);
            widthNs *= 2;
            used = (used + 1) / 2;
            cachedFrom = 0;
            cachedTo = 0;
        }

        void pending(long t, long pending) {
            int i = at(t);
            if (!sampled[i] || pending > pendingMax[i]) pendingMax[i] = pending;
            pendingEnd[i] = pending;
            sampled[i] = true;
        }

        void sent(long t, long pages, long b, long pending) {
            pending(t, pending);
            int i = cached;
            sent[i] += pages;
            bytes[i] += b;
        }

        void freed(long t, long pages, long pending) {
            pending(t, pending);
            freed[cached] += pages;
        }

        void hinted(long t, long pages) { hinted[at(t)] += pages; }

        void inflated(long t, long pages) { inflated[at(t)] += pages; }

        void deflated(long t, long pages) { deflated[at(t)] += pages; }

        void balloon(long t, long level) {
            int i = at(t);
            balloonEnd[i] = level;
            balloonSampled[i] = true;
        }

        Series series(long endNs) {
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
            double[] gbps = new double[n];
            long inWindow = 0;
            int lo = 0, hi = -1; // buckets [lo, hi] summed in inWindow
            for (int i = 0; i < n; i++) {
                int from = Math.max(0, i - half), to = Math.min(n - 1, i + half);
                while (hi < to) inWindow += bytes[++hi];
                while (lo < from) inWindow -= bytes[lo++];
                long span = Math.min((long) (to + 1) * widthNs, Math.max(endNs, 1)) - (long) from * widthNs;
                gbps[i] = span > 0 ? Math.round(inWindow * 8.0 / span * 1e4) / 1e4 : 0;
            }
            return new Series(widthNs / 1e6, (2 * half + 1) * widthNs / 1e6, max, end, gbps, Arrays.copyOf(sent, n),
                    Arrays.copyOf(hinted, n), Arrays.copyOf(freed, n), Arrays.copyOf(inflated, n), Arrays.copyOf(deflated, n), inBalloon);
        }
    }
}
