package dev.ballast.core.engine;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.event.RejectReason;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.policy.MigrationPolicy;
import dev.ballast.core.policy.PolicyContext;

/**
 * Pre-copy live migration, as QEMU does it: SETUP → BULK (every page the destination lacks) →
 * ITERATE (sync the dirty log, send what is dirty) → STOP_AND_COPY (pause the guest when the rest
 * fits the downtime limit at the measured bandwidth; final sync; send the rest) → COMPLETED, or
 * FAILED / CANCELLED.
 *
 * <p>The engine advances in bounded steps: {@link #doWork()} does at most
 * {@link EngineConfig#pagesPerStep()} pages of work and returns, so a simulator, a real backend or
 * a test can drive it. It reads the clock only through {@link #readClock()}, and consumes every
 * input — clock readings, dirty-log syncs, guest requests, content answers, link failures —
 * through one ordered path that it publishes to the {@link EventSink}, followed by every decision.
 * A replay that answers the same questions in the same order gets the same decisions.
 *
 * <p>Not thread-safe: one thread drives it. {@link #cancel()} may be called from any thread.
 */
public final class MigrationEngine {
    private static final long RATE_WINDOW_NS = 100_000_000L;

    private final SourceGuest source;
    private final PageLink link;
    private final MigrationPolicy policy;
    private final EventSink events;
    private final Clock clock;
    private final EngineConfig cfg;
    private final RamLayout layout;
    private final RamBlock[] blocks;
    private final long totalPages;
    private final GuestFeatures features;
    private final long pageBytes;

    /** The migration bitmap: pages still to be sent. */
    private final PageBitmap toSend;
    /** Pages in the balloon, as the guest's requests say. */
    private final PageBitmap balloon;
    /** Pages to be sent as a poison fill record (hinted free under poisoning). A subset of toSend while it matters. */
    private final PageBitmap fill;
    /** Pages sent at least once by this migration. */
    private final PageBitmap sentOnce;

    private final Ctx ctx = new Ctx();
    private final GuestRequests requestHandler = this::onRequest;
    private final PageRanges dirtyHandler = this::onDirty;
    private final PageRanges missingHandler = this::onMissing;

    private Phase phase = Phase.SETUP;
    private int iteration;
    private long syncs;
    private long clockReads;
    private long now;
    private long startNs = -1;
    private long setupEndNs = -1;
    private long pauseNs = -1;
    private long endNs = -1;
    private long cursor;
    private boolean skipBalloon;
    private boolean skipBalloonPublished;
    private long passStartNs;
    private long passBytes;
    private long passPages;
    private double lastBandwidth;
    private long windowStartNs;
    private long windowBytes;
    private long wakeAtNs;
    private long syncDirtyPages;
    private long firstCommandId;
    private boolean stopPending;
    private volatile boolean cancelRequested;
    private FailureCause failureCause;
    private String failureMessage;

    private long pagesNormal;
    private long pagesZero;
    private long skippedBalloon;
    private long skippedFree;
    private long resent;
    private long transferredBytes;
    private long hintRequests;
    private long hintRanges;
    private long hintPages;
    private long rejected;
    private long balloonInflated;
    private long balloonDeflated;
    private long balloonRejected;
    private long hintRejected;

    public MigrationEngine(EngineConfig cfg, SourceGuest source, PageLink link, MigrationPolicy policy,
                           EventSink events, Clock clock) {
        this.cfg = cfg;
        this.source = source;
        this.link = link;
        this.policy = policy;
        this.events = events;
        this.clock = clock;
        this.layout = source.layout();
        this.blocks = layout.blocks().toArray(RamBlock[]::new);
        this.totalPages = layout.totalPages();
        this.features = source.features();
        this.pageBytes = RamLayout.PAGE_SIZE + (long) cfg.pageHeaderBytes();
        this.toSend = new PageBitmap(totalPages);
        this.balloon = new PageBitmap(totalPages);
        this.fill = new PageBitmap(totalPages);
        this.sentOnce = new PageBitmap(totalPages);
    }

    // ------------------------------------------------------------------ driving

    /**
     * One bounded unit of work. Returns how much it did (0 when there is nothing to do now: the
     * migration has ended, or the bandwidth limit asks to wait until {@link #wakeAtNs()}).
     */
    public int doWork() {
        if (phase.isTerminal()) return 0;
        now = readClock();
        if (startNs < 0) {
            startNs = now;
            windowStartNs = now;
        }
        if (cancelRequested) {
            publish(EventType.CANCEL, 0, 0, 0);
            end(Phase.CANCELLED);
            return 1;
        }
        try {
            if (phase == Phase.SETUP) {
                setup();
                return 1;
            }
            int work = source.drainRequests(requestHandler, cfg.requestsPerStep());
            if (stopPending) {
                stopPending = false;
                stopAndCopy();
                return work + 1;
            }
            updateBalloonSkip();
            if (throttled()) return work;
            work += walk();
            if (cursor >= totalPages) endPass();
            return work + 1;
        } catch (LinkException e) {
            fail(e);
            return 1;
        } catch (LinkFailure e) {
            fail(e.linkException);
            return 1;
        }
    }

    /** Asks the engine to cancel at its next step (from any thread). */
    public void cancel() {
        cancelRequested = true;
    }

    public Phase phase() { return phase; }

    public int iteration() { return iteration; }

    /** When throttled by the bandwidth limit, the time to step again; otherwise 0. */
    public long wakeAtNs() { return wakeAtNs; }

    /** How far the current pass is, 0..1. */
    public double passProgress() {
        return totalPages == 0 ? 1 : Math.min(1.0, (double) cursor / totalPages);
    }

    public long transferredBytes() { return transferredBytes; }

    /** The balloon bitmap as the engine knows it. For checkers and tests; do not modify. */
    public PageBitmap balloonBitmap() { return balloon; }

    public EngineStats stats() {
        return new EngineStats(phase, iteration, syncs,
                startNs < 0 ? 0 : (endNs >= 0 ? endNs : now) - startNs,
                setupEndNs < 0 ? 0 : setupEndNs - startNs,
                pauseNs < 0 || endNs < 0 ? 0 : endNs - pauseNs,
                transferredBytes, pagesNormal, pagesZero, skippedBalloon, skippedFree, resent,
                hintRequests, hintRanges, hintPages, hintRejected, rejected,
                balloonInflated, balloonDeflated, balloonRejected, skipBalloon,
                failureCause == null ? null : failureCause.name(), failureMessage, lastBandwidth);
    }

    // ------------------------------------------------------------------ phases

    private void setup() throws LinkException {
        publishPhase();
        long last = source.lastCommandId();
        publish(EventType.COMMAND_BASE, last, 0, 0);
        firstCommandId = last < 0 ? cfg.firstCommandId() : CommandIds.next(last);
        source.startDirtyLog();
        publish(EventType.SYNC_BEGIN, 0, 0, 0);
        syncDirtyPages = 0;
        link.open(layout, features.poisonByte(), missingHandler);
        publish(EventType.SYNC_END, 0, syncDirtyPages, 0);
        source.balloonState(requestHandler);
        policy.onSetup(ctx);
        updateBalloonSkip();
        now = readClock();
        setupEndNs = now;
        startPass(Phase.BULK);
    }

    private void startPass(Phase p) {
        phase = p;
        iteration++;
        cursor = 0;
        passStartNs = now;
        passBytes = 0;
        passPages = 0;
        publishPhase();
    }

    private void endPass() throws LinkException {
        now = readClock();
        publish(EventType.ITERATION_END, iteration, passPages, passBytes);
        link.endIteration(iteration);
        if (phase == Phase.STOP_AND_COPY) {
            complete();
            return;
        }
        long passNs = now - passStartNs;
        if (passNs > 0 && passBytes > 0) lastBandwidth = passBytes * 1e9 / passNs;
        policy.beforeSync(ctx);
        sync();
        long remaining = toSend.count();
        if (skipBalloon) remaining -= countBoth(toSend, balloon);
        long remainingBytes = remaining * pageBytes;
        Convergence.Decision d = Convergence.decide(remainingBytes, lastBandwidth, cfg.downtimeLimitNs(),
                iteration, cfg.maxIterations(), now - startNs, cfg.timeCapNs());
        publish(EventType.CONVERGENCE, remainingBytes, (long) lastBandwidth, d.ordinal());
        if (d == Convergence.Decision.CONTINUE) {
            policy.afterSync(ctx);
            startPass(Phase.ITERATE);
        } else {
            // The guest runs on while the decision is acted on; it is paused at the next step.
            stopPending = true;
        }
    }

    private void stopAndCopy() {
        now = readClock();
        source.pause();
        pauseNs = now;
        publish(EventType.GUEST_RUN_STATE, 1, 0, 0);
        policy.beforeSync(ctx);
        // What the policy does now (ending a hint request) makes the host write guest memory:
        // the final sync comes after it, so those writes go out too.
        policy.onStopAndCopy(ctx);
        sync();
        policy.afterSync(ctx);
        updateBalloonSkip();
        startPass(Phase.STOP_AND_COPY);
    }

    private void complete() throws LinkException {
        link.complete();
        now = readClock();
        endNs = now;
        source.stopDirtyLog();
        end(Phase.COMPLETED);
    }

    private void fail(LinkException e) {
        failureCause = e.failureCause();
        failureMessage = e.getMessage();
        publish(EventType.LINK_FAILED, failureCause.ordinal(), 0, 0);
        end(Phase.FAILED);
    }

    private void end(Phase outcome) {
        if (outcome != Phase.COMPLETED) {
            giveBack();
            if (!source.running()) {
                source.resume();
                publish(EventType.GUEST_RUN_STATE, 0, 0, 0);
            }
            endNs = now;
        }
        phase = outcome;
        policy.onEnd(ctx, outcome);
        publishPhase();
        publish(EventType.END, outcome.ordinal(), transferredBytes, pauseNs < 0 ? 0 : endNs - pauseNs);
    }

    /** A migration that did not complete returns what it took from the dirty log but did not send. */
    private void giveBack() {
        for (RamBlock b : blocks) {
            toSend.forEachRun(b.firstIndex(), b.endIndex(), (s, e) -> source.restoreDirty(b.index(), s - b.firstIndex(), e - s));
        }
    }

    // ------------------------------------------------------------------ the walk

    private int walk() throws LinkException {
        long budget = cfg.pagesPerStep();
        int work = 0;
        while (budget > 0 && !throttled()) {
            long s = toSend.nextSetBit(cursor);
            if (s < 0) {
                cursor = totalPages;
                break;
            }
            RamBlock b = blockOf(s);
            // Never look further than this step can go: skipped pages cost 1/64 of a sent one.
            long runEnd = toSend.nextClearBit(s, Math.min(b.endIndex(), s + (budget << 6)));
            long p = s;
            while (p < runEnd && budget > 0) {
                long q;
                if (skipBalloon && balloon.get(p)) {
                    q = balloon.nextClearBit(p, runEnd);
                    toSend.clearRange(p, q);
                    skippedBalloon += q - p;
                    publish(EventType.SKIP_BALLOON, b.index(), p - b.firstIndex(), q - p);
                    budget -= 1 + ((q - p) >>> 6);
                } else {
                    long limit = Math.min(runEnd, p + Math.min(budget, allowancePages()));
                    if (skipBalloon) limit = balloon.nextSetBit(p, limit);
                    if (fill.get(p)) {
                        q = fill.nextClearBit(p, limit);
                        sendPoison(b, p, q);
                    } else {
                        q = fill.nextSetBit(p, limit);
                        sendClassified(b, p, q);
                    }
                    budget -= q - p;
                }
                work += (int) (q - p);
                p = q;
                if (throttled()) break;
            }
            cursor = p;
        }
        return work;
    }

    /**
     * Sends pages the guest said were free as poison. Their tracking is not re-armed: the fill is
     * not read from the guest, so a write since the guest's report must stay in the dirty log for
     * the next sync (a guest need not hold the pages of a free bitmap).
     */
    private void sendPoison(RamBlock b, long p, long q) throws LinkException {
        int poison = features.poisonByte();
        long off = p - b.firstIndex();
        link.sendFill(b.index(), off, q - p, poison);
        fill.clearRange(p, q);
        skippedFree += q - p;
        sent(p, q, cfg.pageHeaderBytes() + 8L);
        publish(EventType.SEND_FILL, b.index(), off, EventType.SendFill.c(q - p, poison));
    }

    /** Sends [p, q) of block b, zero runs as fill records and the rest with their data. */
    private void sendClassified(RamBlock b, long p, long q) throws LinkException {
        int bi = b.index();
        long base = b.firstIndex();
        // Re-arm tracking first: a write that races with the read below is reported by the next sync.
        source.clearDirty(bi, p - base, q - p);
        while (p < q) {
            long off = p - base;
            long r = source.classify(bi, off, q - p);
            if (r == 0 || Math.abs(r) > q - p) {
                throw new IllegalStateException("classify(" + bi + ", " + off + ", " + (q - p) + ") answered " + r);
            }
            publish(EventType.CONTENT, bi, off, r);
            long n = Math.abs(r);
            if (r > 0) {
                link.sendFill(bi, off, n, 0);
                pagesZero += n;
                sent(p, p + n, cfg.pageHeaderBytes() + 8L);
                publish(EventType.SEND_FILL, bi, off, EventType.SendFill.c(n, 0));
            } else {
                link.sendPages(bi, off, n);
                pagesNormal += n;
                sent(p, p + n, n * pageBytes);
                publish(EventType.SEND_NORMAL, bi, off, n);
            }
            p += n;
        }
    }

    private void sent(long p, long q, long bytes) {
        toSend.clearRange(p, q);
        resent += sentOnce.countRange(p, q);
        sentOnce.setRange(p, q);
        transferredBytes += bytes;
        passBytes += bytes;
        passPages += q - p;
        windowBytes += bytes;
    }

    private boolean throttled() {
        long bw = cfg.bandwidthBytesPerSec();
        if (bw == 0) return false;
        if (now - windowStartNs >= RATE_WINDOW_NS) {
            windowStartNs = now;
            windowBytes = 0;
        }
        if (windowBytes >= bw / 10) {
            wakeAtNs = windowStartNs + RATE_WINDOW_NS;
            return true;
        }
        wakeAtNs = 0;
        return false;
    }

    /** Pages that still fit the bandwidth window (at least one, so a step always makes progress). */
    private long allowancePages() {
        long bw = cfg.bandwidthBytesPerSec();
        if (bw == 0) return Long.MAX_VALUE;
        return Math.max(1, (bw / 10 - windowBytes + pageBytes - 1) / pageBytes);
    }

    private RamBlock blockOf(long index) {
        for (RamBlock b : blocks) if (index < b.endIndex()) return b;
        throw new IndexOutOfBoundsException("page index " + index);
    }

    // ------------------------------------------------------------------ inputs

    private void sync() {
        syncs++;
        publish(EventType.SYNC_BEGIN, syncs, 0, 0);
        syncDirtyPages = 0;
        source.syncDirtyLog(dirtyHandler);
        publish(EventType.SYNC_END, syncs, syncDirtyPages, 0);
    }

    private void onDirty(int block, long offset, long count) {
        long g = checkedIndex(block, offset, count, "dirty range");
        publish(EventType.DIRTY, block, offset, count);
        toSend.setRange(g, g + count);
        fill.clearRange(g, g + count);
        syncDirtyPages += count;
    }

    private void onMissing(int block, long offset, long count) {
        long g = checkedIndex(block, offset, count, "missing range");
        publish(EventType.DIRTY, block, offset, count);
        toSend.setRange(g, g + count);
        syncDirtyPages += count;
    }

    private long checkedIndex(int block, long offset, long count, String what) {
        if (block < 0 || block >= blocks.length || offset < 0 || count <= 0 || offset + count > blocks[block].pages()) {
            throw new IllegalStateException(what + " (" + block + ", " + offset + ", " + count + ") is outside the layout " + layout);
        }
        return blocks[block].firstIndex() + offset;
    }

    private void onRequest(EventType type, long a, long b, long c) {
        publish(type, a, b, c);
        switch (type) {
            case HINT, FREE_BITMAP -> onFreeReport(type, a, b, c);
            case FREE_BITMAP_END -> policy.onFreeBitmapEnd(ctx, a);
            case BALLOON_INFLATE, BALLOON_DEFLATE -> onBalloon(type == EventType.BALLOON_INFLATE, b, c);
            case REJECT -> rejected++;
            default -> throw new IllegalStateException("not a guest request: " + type);
        }
    }

    /** A hint or a range of a free bitmap: counted, checked for a sane length, then the policy's. */
    private void onFreeReport(EventType type, long commandId, long pfn, long pages) {
        hintRanges++;
        if (badLength(pages, pfn)) {
            hintRejected++;
            ctx.reject(RejectReason.BAD_LENGTH, pfn, pages);
            return;
        }
        hintPages += pages;
        long before = rejected;
        if (type == EventType.HINT) policy.onHint(ctx, commandId, pfn, pages);
        else policy.onFreeBitmap(ctx, commandId, pfn, pages);
        if (rejected != before) hintRejected++;
    }

    private boolean badLength(long pages, long pfn) {
        return pages <= 0 || pages > totalPages || pfn < 0;
    }

    private void onBalloon(boolean inflate, long pfn, long pages) {
        if (badLength(pages, pfn)) {
            balloonRejected++;
            ctx.reject(RejectReason.BAD_LENGTH, pfn, pages);
            return;
        }
        long outside = layout.splitPfnRange(pfn, pages, (b, o, n) -> { });
        if (outside > 0) {
            balloonRejected++;
            ctx.reject(RejectReason.OUT_OF_RANGE, pfn, pages);
            return;
        }
        layout.splitPfnRange(pfn, pages, (b, o, n) -> {
            long g = b.firstIndex() + o;
            if (inflate) balloonInflated += balloon.setRangeCounting(g, g + n);
            else balloonDeflated += balloon.clearRangeCounting(g, g + n);
            try {
                link.sendBalloon(b.index(), o, n, inflate);
            } catch (LinkException e) {
                throw new LinkFailure(e);
            }
        });
    }

    private void updateBalloonSkip() {
        boolean s = policy.skipBalloon(ctx);
        if (s != skipBalloon || !skipBalloonPublished) {
            skipBalloon = s;
            skipBalloonPublished = true;
            publish(EventType.BALLOON_SKIP, s ? 1 : 0, 0, 0);
        }
    }

    /** Reads the clock; every reading is an input and is journaled. */
    private long readClock() {
        long t = clock.nanoTime();
        events.publish(EventType.STEP, t, clockReads++, 0, 0);
        return t;
    }

    private void publish(EventType type, long a, long b, long c) {
        events.publish(type, now, a, b, c);
    }

    private void publishPhase() {
        publish(EventType.PHASE, phase.ordinal(), iteration, 0);
    }

    private static long countBoth(PageBitmap x, PageBitmap y) {
        long[] a = x.words();
        long[] b = y.words();
        long n = 0;
        for (int i = 0; i < a.length; i++) n += Long.bitCount(a[i] & b[i]);
        return n;
    }

    /** Carries a link failure out of a callback that cannot throw checked exceptions. */
    private static final class LinkFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient LinkException linkException;

        LinkFailure(LinkException e) {
            super(e.getMessage(), null, false, false);
            this.linkException = e;
        }
    }

    // ------------------------------------------------------------------ what a policy sees

    private final class Ctx implements PolicyContext {
        @Override public RamLayout layout() { return layout; }
        @Override public GuestFeatures features() { return features; }
        @Override public Phase phase() { return phase; }
        @Override public int iteration() { return iteration; }
        @Override public long syncs() { return syncs; }
        @Override public boolean guestRunning() { return source.running(); }
        @Override public long firstCommandId() { return firstCommandId; }

        @Override
        public void hintCommand(long commandId) {
            if (EventType.HintCommand.startsRequest(commandId, EventType.HintCommand.HINT)) hintRequests++;
            publish(EventType.HINT_COMMAND, commandId, EventType.HintCommand.HINT, 0);
            source.hintCommand(commandId);
        }

        @Override
        public void requestFreeBitmap(long commandId) {
            if (EventType.HintCommand.startsRequest(commandId, EventType.HintCommand.FREE_BITMAP)) hintRequests++;
            publish(EventType.HINT_COMMAND, commandId, EventType.HintCommand.FREE_BITMAP, 0);
            source.requestFreeBitmap(commandId);
        }

        @Override
        public long skipFree(int block, long offset, long pages, int poisonByte) {
            long g = checkedIndex(block, offset, pages, "free range");
            long n;
            if (poisonByte == 0) {
                n = toSend.clearRangeCounting(g, g + pages);
                fill.clearRange(g, g + pages);
                skippedFree += n;
            } else {
                n = toSend.countRange(g, g + pages);
                fill.setRange(g, g + pages);
            }
            publish(EventType.SKIP_FREE, block, offset, pages);
            return n;
        }

        @Override
        public long skipHeldFree(int block, long offset, long pages, int poisonByte) {
            long g = checkedIndex(block, offset, pages, "free range");
            long base = blocks[block].firstIndex();
            // Only pages still to be sent in this pass: what they are now goes out (or, skipped,
            // does not matter), so an older dirty bit would only send them again. A page sent
            // already keeps its dirty bit: the guest's freeing changed it since it was sent.
            toSend.forEachRun(g, g + pages, (s, e) -> source.clearDirty(block, s - base, e - s));
            return skipFree(block, offset, pages, poisonByte);
        }

        @Override
        public void reject(RejectReason reason, long pfn, long pages) {
            rejected++;
            publish(EventType.REJECT, reason.ordinal(), pfn, pages);
        }
    }
}
