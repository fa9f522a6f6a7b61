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
    /**
     * Pages the destination has nothing of but the balloon's zero, because the engine held them ballooned: sent as a
     * zero record unread ({@code balloon-zero}), or skipped by balloon skip when the migration may switch to postcopy;
     * not sent since. Allocated at the first such page. A deflate of one sends it: see {@link #sendDeflated}.
     */
    private PageBitmap balloonZeroOnly;

    private final Postcopy postcopy;
    /** Postcopy: the pages the destination holds, as far as this migration knows (not missing at open, or sent since). */
    private final PageBitmap destHas;

    private final PageRanges pageRequestHandler = this::onPageRequest;

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
    /** The last sync's measured time (current rule), which the final sync is expected to cost. */
    private long lastSyncNs;
    /** {@link EngineConfig#syncBeforeStop()}: the window the bandwidth is measured over, as QEMU's every 100 ms. */
    private long measureStartNs = -1;

    private long measureBytes;
    private double measuredBandwidth;
    private long expectedDowntimeNs = -1;
    private long firstCommandId;
    private boolean stopPending;
    private boolean syncPending;
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

    // postcopy
    private boolean switchPending;
    private long previousRemainingBytes = -1;
    private long resumeNs = -1;
    private long bytesAtSwitchOver = -1;
    private long discardedPages;
    private long requestedPages;
    private long unservedPages;
    private long balloonBitmapBytes;
    private int recoveries;
    private boolean recoverPending;
    private boolean zeroBalloon;
    /** Recovery attempts in a row that failed; the migration fails after {@link #MAX_RECOVERY_TRIES}. */
    private int recoveryTries;

    private static final int MAX_RECOVERY_TRIES = 8;

    public MigrationEngine(
            EngineConfig cfg,
            SourceGuest source,
            PageLink link,
            MigrationPolicy policy,
            EventSink events,
            Clock clock) {
        this(cfg, Postcopy.OFF, source, link, policy, events, clock);
    }

    /** A migration that switches to postcopy as {@code postcopy} says. */
    public MigrationEngine(
            EngineConfig cfg,
            Postcopy postcopy,
            SourceGuest source,
            PageLink link,
            MigrationPolicy policy,
            EventSink events,
            Clock clock) {
        this.cfg = cfg;
        this.postcopy = postcopy;
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
        this.destHas = postcopy.enabled() ? new PageBitmap(totalPages) : null;
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
        if (cancelRequested
                && phase != Phase.POSTCOPY) { // postcopy cannot be cancelled: the guest runs on the destination
            publish(EventType.CANCEL, 0, 0, 0);
            end(Phase.CANCELLED);
            return 1;
        }
        try {
            if (phase == Phase.SETUP) {
                setup();
                return 1;
            }
            if (phase == Phase.POSTCOPY) return postcopyStep();
            int work = source.drainRequests(requestHandler, cfg.requestsPerStep());
            if (stopPending) {
                stopPending = false;
                if (switchPending) {
                    switchPending = false;
                    switchOver();
                } else {
                    stopAndCopy();
                }
                return work + 1;
            }
            if (syncPending) {
                syncPending = false;
                syncBetweenPasses();
                return work + 1;
            }
            updateBalloonSkip();
            if (cfg.syncBeforeStop() && syncBeforeStop()) return work + 1;
            if (throttled()) return work;
            work += walk();
            if (cursor >= totalPages) endPass();
            return work + 1;
        } catch (LinkException e) {
            failOrPause(e);
            return 1;
        } catch (LinkFailure e) {
            failOrPause(e.linkException);
            return 1;
        }
    }

    /** A link failure: the end of a pre-copy migration; in postcopy, a pause until the link is recovered. */
    private void failOrPause(LinkException e) {
        if (phase != Phase.POSTCOPY) {
            fail(e);
            return;
        }
        failureCause = e.failureCause();
        failureMessage = e.getMessage();
        publish(EventType.LINK_FAILED, failureCause.ordinal(), 0, 0);
        recoverPending = true;
    }

    /** Asks the engine to cancel at its next step (from any thread). */
    public void cancel() {
        cancelRequested = true;
    }

    public Phase phase() {
        return phase;
    }

    public int iteration() {
        return iteration;
    }

    /** When throttled by the bandwidth limit, the time to step again; otherwise 0. */
    public long wakeAtNs() {
        return wakeAtNs;
    }

    /** How far the current pass is, 0..1. */
    public double passProgress() {
        return totalPages == 0 ? 1 : Math.min(1.0, (double) cursor / totalPages);
    }

    public long transferredBytes() {
        return transferredBytes;
    }

    /**
     * The downtime the last switch-over check expected (the final sync plus the bytes left at the measured
     * bandwidth), -1 before the first check, when the bandwidth was not known, or under the old rule.
     */
    public long expectedDowntimeNs() {
        return expectedDowntimeNs;
    }

    /** The balloon bitmap as the engine knows it. For checkers and tests; do not modify. */
    public PageBitmap balloonBitmap() {
        return balloon;
    }

    public EngineStats stats() {
        return new EngineStats(
                phase,
                iteration,
                syncs,
                startNs < 0 ? 0 : (endNs >= 0 ? endNs : now) - startNs,
                setupEndNs < 0 ? 0 : setupEndNs - startNs,
                pauseNs < 0 || endNs < 0 ? 0 : downtimeNs(),
                transferredBytes,
                pagesNormal,
                pagesZero,
                skippedBalloon,
                skippedFree,
                resent,
                hintRequests,
                hintRanges,
                hintPages,
                hintRejected,
                rejected,
                balloonInflated,
                balloonDeflated,
                balloonRejected,
                skipBalloon,
                failureCause == null ? null : failureCause.name(),
                failureMessage,
                lastBandwidth);
    }

    /** Postcopy's figures as the engine counts them (all zero for a migration that did not switch). */
    public PostcopyStats postcopyStats() {
        return new PostcopyStats(
                resumeNs >= 0,
                resumeNs < 0 ? 0 : resumeNs - pauseNs,
                bytesAtSwitchOver < 0 ? transferredBytes : bytesAtSwitchOver,
                bytesAtSwitchOver < 0 ? 0 : transferredBytes - bytesAtSwitchOver,
                discardedPages,
                requestedPages,
                unservedPages,
                balloonBitmapBytes,
                recoveries);
    }

    /** The guest's downtime: from the pause to the end, or in postcopy to its resumption on the destination. */
    private long downtimeNs() {
        if (pauseNs < 0) return 0;
        if (resumeNs >= 0) return resumeNs - pauseNs;
        return endNs < 0 ? 0 : endNs - pauseNs;
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
        if (destHas != null) destHas.setAll();
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
        if (cfg.syncBeforeStop()) {
            measureBandwidth();
            double bw = decisionBandwidth();
            long left = remainingBytes();
            if (bw > 0 && left > 0 && !fits(left, bw)) {
                // QEMU syncs only when the rest looks small: its sweep goes round again for what a sync in the
                // middle of this pass found behind it, unless this pass was the last before postcopy (--postcopy-after;
                // auto decides on the decisions after syncs only)
                if (postcopy.passesDone(iteration)) {
                    startPostcopy();
                    return;
                }
                startPass(Phase.ITERATE);
                return;
            }
        }
        if (cfg.countFinalSync()) {
            syncPending = true; // the sync gets a step of its own, timed (see syncBetweenPasses)
            return;
        }
        policy.beforeSync(ctx);
        sync();
        decideAfterSync(0);
    }

    /** Bytes still to send if the guest stopped now: the migration bitmap, less the ballooned pages skipped. */
    private long remainingBytes() {
        long remaining = toSend.count();
        if (skipBalloon) remaining -= countBoth(toSend, balloon);
        return remaining * pageBytes;
    }

    /** After the sync that ends a pass: the switch-over check, then the next pass or a pause at the next step. */
    private void decideAfterSync(long syncNs) {
        decideAfterSync(syncNs, false);
    }

    /**
     * After a sync: the switch-over check, then a pause at the next step, or the next pass (after a sync that ended a
     * pass) or the rest of this one (after a sync in its middle, {@link EngineConfig#syncBeforeStop()}).
     */
    private void decideAfterSync(long syncNs, boolean midPass) {
        long remainingBytes = remainingBytes();
        Convergence.Decision d = decideSwitchover(remainingBytes, syncNs);
        // in the middle of a pass, that pass is not done: postcopy "after N passes" waits for its end
        int passesDone = midPass ? iteration - 1 : iteration;
        if (postcopy.shouldSwitch(d, passesDone, remainingBytes, previousRemainingBytes)) {
            startPostcopy();
            return;
        }
        previousRemainingBytes = remainingBytes;
        if (d == Convergence.Decision.CONTINUE) {
            policy.afterSync(ctx);
            if (!midPass) startPass(Phase.ITERATE);
        } else {
            // The guest runs on while the decision is acted on; it is paused at the next step.
            stopPending = true;
        }
    }

    /** The switch to postcopy, acted on at the next step. */
    private void startPostcopy() {
        publish(EventType.POSTCOPY_START, iteration, 0, 0);
        switchPending = true;
        stopPending = true;
    }

    /**
     * The dirty-log sync between passes under the current rule ({@link EngineConfig#countFinalSync()}): at the start
     * of a step of its own, as the final sync is at the start of stop-and-copy, and timed by reading the clock after
     * it; the final sync, on the paused guest, is expected to cost as much. (Under the old rule, which journals
     * written before it keep, the sync ends the pass's step and counts as nothing.)
     */
    private void syncBetweenPasses() {
        policy.beforeSync(ctx);
        long before = now;
        sync();
        now = readClock();
        lastSyncNs = Math.max(0, now - before);
        decideAfterSync(lastSyncNs);
    }

    /**
     * QEMU's sync before it decides to stop ({@link EngineConfig#syncBeforeStop()}), at the start of a step of a live
     * pass: when what is left would fit the downtime limit, the dirty log is synced now and the decision is taken on
     * what is left after it. QEMU 7.2's {@code ram_save_pending} does this at every turn of its migration loop, when
     * the dirty pages left cost less than {@code threshold_size}, the bandwidth it measured over the last 100 ms times
     * the downtime limit. Returns whether it synced (the step's work).
     */
    private boolean syncBeforeStop() {
        if (phase != Phase.BULK && phase != Phase.ITERATE) return false;
        measureBandwidth();
        double bw = decisionBandwidth();
        if (bw <= 0 || !fits(remainingBytes(), bw)) return false;
        policy.beforeSync(ctx);
        long before = now;
        sync();
        now = readClock();
        if (cfg.countFinalSync()) lastSyncNs = Math.max(0, now - before);
        decideAfterSync(cfg.countFinalSync() ? lastSyncNs : 0, true);
        return true;
    }

    /** Whether {@code remainingBytes} would fit the downtime limit at {@code bw}, the last sync counted as the rule says. */
    private boolean fits(long remainingBytes, double bw) {
        long syncNs = cfg.countFinalSync() ? lastSyncNs : 0;
        return syncNs + remainingBytes / bw * 1e9 <= cfg.downtimeLimitNs();
    }

    /**
     * The bandwidth measured as QEMU's {@code migration_update_counters} does: the bytes sent over a window of at least
     * 100 ms of the engine's clock, the window starting again once it is measured.
     */
    private void measureBandwidth() {
        if (measureStartNs < 0) {
            measureStartNs = startNs;
            measureBytes = 0;
        }
        long dt = now - measureStartNs;
        if (dt >= RATE_WINDOW_NS) {
            measuredBandwidth = (transferredBytes - measureBytes) * 1e9 / dt;
            measureStartNs = now;
            measureBytes = transferredBytes;
        }
    }

    /** The bandwidth the switch-over is decided on: the last 100 ms window's with the sync before the stop, else the last pass's. */
    private double decisionBandwidth() {
        if (!cfg.syncBeforeStop()) return lastBandwidth;
        return measuredBandwidth > 0 ? measuredBandwidth : lastBandwidth;
    }

    /** The switch-over decision after a sync, and (current rule) the downtime it expects, published before it. */
    private Convergence.Decision decideSwitchover(long remainingBytes, long syncNs) {
        double bw = decisionBandwidth();
        Convergence.Decision d = Convergence.decide(
                remainingBytes,
                bw,
                syncNs,
                cfg.downtimeLimitNs(),
                iteration,
                cfg.maxIterations(),
                now - startNs,
                cfg.timeCapNs());
        if (cfg.countFinalSync()) {
            expectedDowntimeNs = Convergence.expectedDowntimeNs(remainingBytes, bw, syncNs);
            publish(EventType.DOWNTIME_ESTIMATE, expectedDowntimeNs, syncNs, cfg.downtimeLimitNs());
        }
        publish(EventType.CONVERGENCE, remainingBytes, (long) bw, d.ordinal());
        return d;
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

    // ------------------------------------------------------------------ postcopy

    /**
     * The switch-over, as QEMU's {@code postcopy_start}: the guest is paused, the policy sends what
     * the switch-over must carry, the final sync, then the discards (the pages the destination
     * holds that were written since they were sent), then the device state: the guest resumes on
     * the destination and the source pushes the rest.
     */
    private void switchOver() throws LinkException {
        now = readClock();
        source.pause();
        pauseNs = now;
        publish(EventType.GUEST_RUN_STATE, 1, 0, 0);
        policy.beforeSync(ctx);
        policy.onSwitchOver(ctx);
        sync();
        policy.afterSync(ctx);
        updateBalloonSkip();
        for (RamBlock b : blocks) {
            long base = b.firstIndex();
            long p = toSend.nextSetBit(base, b.endIndex());
            while (p < b.endIndex()) {
                long e = toSend.nextClearBit(p, b.endIndex());
                long s = destHas.nextSetBit(p, e);
                while (s < e) {
                    long t = destHas.nextClearBit(s, e);
                    link.discard(b.index(), s - base, t - s);
                    destHas.clearRange(s, t);
                    discardedPages += t - s;
                    publish(EventType.DISCARD, b.index(), s - base, t - s);
                    s = t < e ? destHas.nextSetBit(t, e) : e;
                }
                p = e < b.endIndex() ? toSend.nextSetBit(e, b.endIndex()) : b.endIndex();
            }
        }
        link.switchOver();
        now = readClock();
        resumeNs = now;
        bytesAtSwitchOver = transferredBytes;
        publish(EventType.SWITCH_OVER, discardedPages, resumeNs - pauseNs, 0);
        startPass(Phase.POSTCOPY);
    }

    /** One postcopy step: recover a failed link, serve the destination's requests, then push the rest. */
    private int postcopyStep() throws LinkException {
        if (recoverPending) {
            recover();
            return 1;
        }
        // Page requests first, whatever the bandwidth window says (as QEMU's urgent requests).
        link.pollRequests(pageRequestHandler);
        if (throttled()) return 1;
        int work = walk();
        if (cursor >= totalPages) {
            now = readClock();
            publish(EventType.ITERATION_END, iteration, passPages, passBytes);
            link.endIteration(iteration);
            complete();
        }
        return work + 1;
    }

    /**
     * Postcopy recovery: the source keeps the guest's pages, the destination keeps its guest running
     * and says which pages it lacks; those are what remains to send.
     */
    private void recover() throws LinkException {
        recoveries++;
        publish(EventType.POSTCOPY_RECOVER, recoveries, 0, 0);
        if (++recoveryTries > MAX_RECOVERY_TRIES) {
            // The guest is split between the hosts and cannot be put together: a failed migration.
            end(Phase.FAILED);
            return;
        }
        toSend.clearAll();
        link.recover(missingHandler);
        destHas.setAll();
        for (RamBlock b : blocks) {
            toSend.forEachRun(b.firstIndex(), b.endIndex(), (s, e) -> destHas.clearRange(s, e));
        }
        recoverPending = false;
        recoveryTries = 0;
        cursor = 0;
    }

    /** The destination asks for pages: sent at once if still to be sent, else noted as unserved. */
    private void onPageRequest(int block, long offset, long count) {
        long g = checkedIndex(block, offset, count, "page request");
        publish(EventType.PAGE_REQUEST, block, offset, count);
        requestedPages += count;
        RamBlock b = blocks[block];
        long end = g + count;
        long p = g;
        try {
            while (p < end) {
                long q;
                if (toSend.get(p)) {
                    q = toSend.nextClearBit(p, end);
                    if (fill.get(p)) {
                        q = fill.nextClearBit(p, q);
                        sendPoison(b, p, q);
                    } else {
                        q = fill.nextSetBit(p, q);
                        sendClassified(b, p, q);
                    }
                } else {
                    q = toSend.nextSetBit(p, end);
                    unservedPages += q - p;
                    publish(EventType.REQUEST_UNSERVED, block, p - b.firstIndex(), q - p);
                }
                p = q;
            }
        } catch (LinkException e) {
            throw new LinkFailure(e);
        }
    }

    private void fail(LinkException e) {
        failureCause = e.failureCause();
        failureMessage = e.getMessage();
        publish(EventType.LINK_FAILED, failureCause.ordinal(), 0, 0);
        end(Phase.FAILED);
    }

    private void end(Phase outcome) {
        // After the switch-over the guest runs on the destination: nothing goes back to the source.
        if (outcome != Phase.COMPLETED && resumeNs < 0) {
            giveBack();
            if (!source.running()) {
                source.resume();
                publish(EventType.GUEST_RUN_STATE, 0, 0, 0);
            }
        }
        if (outcome != Phase.COMPLETED) endNs = now;
        phase = outcome;
        policy.onEnd(ctx, outcome);
        publishPhase();
        publish(EventType.END, outcome.ordinal(), transferredBytes, downtimeNs());
    }

    /** A migration that did not complete returns what it took from the dirty log but did not send. */
    private void giveBack() {
        for (RamBlock b : blocks) {
            toSend.forEachRun(
                    b.firstIndex(), b.endIndex(), (s, e) -> source.restoreDirty(b.index(), s - b.firstIndex(), e - s));
        }
    }

    // ------------------------------------------------------------------ the walk

    private int walk() throws LinkException {
        long budget = cfg.pagesPerStep();
        zeroBalloon = !skipBalloon && policy.zeroBalloon(ctx);
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
                    if (destHas != null) markBalloonZeroOnly(p, q);
                    skippedBalloon += q - p;
                    publish(EventType.SKIP_BALLOON, b.index(), p - b.firstIndex(), q - p);
                    budget -= 1 + ((q - p) >>> 6);
                } else {
                    long limit = Math.min(runEnd, p + Math.min(budget, allowancePages()));
                    if (skipBalloon) limit = balloon.nextSetBit(p, limit);
                    if (zeroBalloon && balloon.get(p)) {
                        q = balloon.nextClearBit(p, limit);
                        q = fill.nextSetBit(p, q);
                        if (q > p) {
                            sendBalloonZero(b, p, q);
                            budget -= q - p;
                            work += (int) (q - p);
                            p = q;
                            if (throttled()) break;
                            continue;
                        }
                    }
                    if (zeroBalloon && !balloon.get(p)) limit = balloon.nextSetBit(p, limit);
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

    /**
     * Sends ballooned pages as zero pages without reading them (the review's variant of balloon
     * skip): the host gave them back to its own memory, so they read as zero while in the balloon.
     * Their tracking is re-armed (a dirty bit from before the inflate would send them again for
     * nothing); a write the guest made after a deflate the engine has not heard of yet is covered
     * by {@link #sendDeflated} when it does.
     */
    private void sendBalloonZero(RamBlock b, long p, long q) throws LinkException {
        int bi = b.index();
        long off = p - b.firstIndex();
        source.clearDirty(bi, off, q - p);
        link.sendFill(bi, off, q - p, 0);
        pagesZero += q - p;
        sent(p, q, cfg.pageHeaderBytes() + 8L);
        markBalloonZeroOnly(p, q);
        publish(EventType.SEND_FILL, bi, off, EventType.SendFill.c(q - p, 0));
    }

    private void markBalloonZeroOnly(long p, long q) {
        if (balloonZeroOnly == null) balloonZeroOnly = new PageBitmap(totalPages);
        balloonZeroOnly.setRange(p, q);
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
        if (balloonZeroOnly != null) balloonZeroOnly.clearRange(p, q);
        if (destHas != null) destHas.setRange(p, q);
        resent += sentOnce.countRange(p, q);
        sentOnce.setRange(p, q);
        transferredBytes += bytes;
        passBytes += bytes;
        passPages += q - p;
        windowBytes += bytes;
    }

    private boolean throttled() {
        long bw = cfg.bandwidthBytesPerSec();
        if (bw == 0 || uncapped()) return false;
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

    /** The stop-and-copy of a sender whose cap is lifted for it ({@link EngineConfig#uncappedStop()}). */
    private boolean uncapped() {
        return cfg.uncappedStop() && phase == Phase.STOP_AND_COPY;
    }

    /** Pages that still fit the bandwidth window (at least one, so a step always makes progress). */
    private long allowancePages() {
        long bw = cfg.bandwidthBytesPerSec();
        if (bw == 0 || uncapped()) return Long.MAX_VALUE;
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
        if (destHas != null && phase == Phase.SETUP) destHas.clearRange(g, g + count);
        publish(EventType.DIRTY, block, offset, count);
        toSend.setRange(g, g + count);
        syncDirtyPages += count;
    }

    private long checkedIndex(int block, long offset, long count, String what) {
        if (block < 0 || block >= blocks.length || offset < 0 || count <= 0 || offset + count > blocks[block].pages()) {
            throw new IllegalStateException(
                    what + " (" + block + ", " + offset + ", " + count + ") is outside the layout " + layout);
        }
        return blocks[block].firstIndex() + offset;
    }

    private void onRequest(EventType type, long a, long b, long c) {
        publish(type, a, b, c);
        switch (type) {
            case HINT, FREE_BITMAP -> onFreeReport(type, a, b, c);
            case FREE_BITMAP_END -> policy.onFreeBitmapEnd(ctx, a);
            case HOST_ZEROED -> {
                if (badLength(c, b)) ctx.reject(RejectReason.BAD_LENGTH, b, c);
                else policy.onZeroed(ctx, a, b, c);
            }
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
        long outside = layout.splitPfnRange(pfn, pages, (b, o, n) -> {});
        if (outside > 0) {
            balloonRejected++;
            ctx.reject(RejectReason.OUT_OF_RANGE, pfn, pages);
            return;
        }
        layout.splitPfnRange(pfn, pages, (b, o, n) -> {
            long g = b.firstIndex() + o;
            if (inflate) {
                balloonInflated += balloon.setRangeCounting(g, g + n);
            } else {
                balloonDeflated += balloon.clearRangeCounting(g, g + n);
                if (balloonZeroOnly != null) sendDeflated(b, g, g + n);
            }
            try {
                link.sendBalloon(b.index(), o, n, inflate);
            } catch (LinkException e) {
                throw new LinkFailure(e);
            }
        });
    }

    /**
     * A deflate of pages the destination has nothing of but the balloon's zero: they go (again), as pages written
     * since. Two reasons:
     * <ul>
     *   <li>{@code balloon-zero}: the guest runs beside the engine (on KVM), so the deflate may have been answered,
     *       and the page written, while the engine was in a step it began before the deflate came: that step's zero
     *       record re-armed the page's dirty tracking and cleared the write's bit. The engine cannot tell whether
     *       the write came before or after its zero record, so the deflate counts as the write it announces;</li>
     *   <li>balloon skip with postcopy: a skipped page that leaves the balloon is in neither the balloon bitmap of
     *       the switch-over nor the pages to send; unwritten, the guest would fault on it on the destination and the
     *       source would not serve the fault.</li>
     * </ul>
     * A pass sends them in the next one; a stop-and-copy pass, which has no next one, goes back for them.
     */
    private void sendDeflated(RamBlock b, long from, long to) {
        long s = balloonZeroOnly.nextSetBit(from, to);
        while (s < to) {
            long e = balloonZeroOnly.nextClearBit(s, to);
            balloonZeroOnly.clearRange(s, e);
            toSend.setRange(s, e);
            if (phase == Phase.STOP_AND_COPY && s < cursor) cursor = s;
            publish(EventType.DEFLATE_TO_SEND, b.index(), s - b.firstIndex(), e - s);
            s = e < to ? balloonZeroOnly.nextSetBit(e, to) : to;
        }
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
        @Override
        public RamLayout layout() {
            return layout;
        }

        @Override
        public GuestFeatures features() {
            return features;
        }

        @Override
        public Phase phase() {
            return phase;
        }

        @Override
        public int iteration() {
            return iteration;
        }

        @Override
        public long syncs() {
            return syncs;
        }

        @Override
        public boolean guestRunning() {
            return source.running();
        }

        @Override
        public long firstCommandId() {
            return firstCommandId;
        }

        @Override
        public Postcopy postcopy() {
            return postcopy;
        }

        @Override
        public void sendBalloonBitmap() {
            try {
                long bytes = link.sendBalloonBitmap(balloon);
                balloonBitmapBytes += bytes;
                transferredBytes += bytes;
                publish(EventType.BALLOON_BITMAP, balloon.count(), bytes, 0);
            } catch (LinkException e) {
                throw new LinkFailure(e);
            }
        }

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
        public long skipZeroed(int block, long offset, long pages) {
            long g = checkedIndex(block, offset, pages, "discarded range");
            long n = toSend.clearRangeCounting(g, g + pages);
            fill.clearRange(g, g + pages);
            skippedFree += n;
            publish(EventType.SKIP_ZEROED, block, offset, pages);
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
