package dev.ballast.core.event;

import dev.ballast.core.engine.EngineStats;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A run as its events tell it, without the engine: the one fold of the {@linkplain EventType
 * catalogue}. It follows each migration (an attempt or a hop: every {@code PHASE SETUP} starts
 * one) with the engine's own bookkeeping — the pages still to send, the pages sent once, the
 * balloon — and counts what the engine counts, so {@link #migrationStats()} equals the engine's
 * {@link dev.ballast.core.engine.MigrationEngine#stats()} for the same migration (a test holds
 * them against each other for every policy), and {@link #runStats()} sums every migration seen.
 * Checkpoints ({@link #snapshot()}, {@link #restore}) let a reader jump to any event, and
 * {@code inspect --at}, {@code diff} and the report read their counters from here.
 *
 * <p>Applying an event allocates nothing. Not thread-safe: one thread feeds it.
 */
public final class RunFold implements EventSink {
    private final RamLayout layout;
    private final long[] blockFirst;
    private final long totalPages;
    private final int poisonByte;
    private final long pageBytes;
    private final long fillBytes;

    // the current migration's page state, as the engine keeps it
    private final PageBitmap toSend;
    private final PageBitmap sentOnce;
    private final PageBitmap balloon;
    private final BalloonRange balloonRange = new BalloonRange();

    private final Tally finished = new Tally();
    private final Tally current = new Tally();

    private long eventNumber = -1;
    private long stepNs;
    private long lastNs;
    private int migration;
    private Phase phase = Phase.SETUP;
    private int iteration;
    private long syncs;
    private long startNs = -1;
    private long setupEndNs = -1;
    private long endNs = -1;
    private long downtimeNs;
    private int failureCause = -1;
    private boolean balloonSkip;
    /** The last convergence check, of whichever migration made it. */
    private long lastRemainingBytes;

    private long lastCheckBandwidth;
    /** The current migration's last measured bandwidth (0 until it checks convergence). */
    private long lastBandwidth;

    private long linkFailures;
    /** The guest request whose REJECTs are being counted against it: 0 none, 1 a hint or bitmap range, 2 a balloon range. */
    private int openRequest;

    private boolean openRejected;
    // what the migrations before the current one add up to, beyond their tallies
    private long finishedIterations;
    private long finishedSyncs;
    private long finishedNs;
    // the switch-over and its figures (the current migration's)
    /** The downtime the last check expected: a DOWNTIME_ESTIMATE's, or for a journal without one, the CONVERGENCE's bytes over bandwidth. */
    private long expectedDowntimeNs = -1;
    /** The downtime limit as the DOWNTIME_ESTIMATE events say it, 0 when none did (a journal written before them). */
    private long downtimeLimitNs;

    private boolean estimateSeen;
    private boolean paused;
    private long prevSyncNs = -1;
    private long syncBeginNs = -1;
    /** Pages dirtied per second between the last two syncs while the guest ran (QEMU's dirty-pages-rate), -1 before. */
    private long dirtyPagesRate = -1;
    // the current migration's postcopy
    private long pauseNs = -1;
    private long switchOverNs = -1;
    private long bytesAtSwitchOver = -1;
    private long discardedPages;
    private long requestedPages;
    private long unservedPages;
    private long balloonBitmapBytes;
    private long recoveries;
    // the guest's allocation stalls over the whole run (sim): not reset with a new migration
    private long allocStalls;
    private long allocStallsResumed;
    private long allocStallNs;
    private long allocStallMaxNs;
    private long allocStallSinceNs = -1;

    /** Counters that add up over migrations. */
    private static final class Tally {
        long transferredBytes, pagesNormal, pagesZero, skippedBalloon, skippedFree, resent;
        long hintRequests, hintRanges, hintPages, hintRejected, rejected;
        long balloonInflated, balloonDeflated, balloonRejected;
        /** Bytes sent while the guest was paused; dirty-log syncs, the setup's sync 0 included. */
        long downtimeBytes, syncEvents;

        long[] toArray() {
            return new long[] {
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
                downtimeBytes,
                syncEvents
            };
        }

        void fromArray(long[] v) {
            transferredBytes = v[0];
            pagesNormal = v[1];
            pagesZero = v[2];
            skippedBalloon = v[3];
            skippedFree = v[4];
            resent = v[5];
            hintRequests = v[6];
            hintRanges = v[7];
            hintPages = v[8];
            hintRejected = v[9];
            rejected = v[10];
            balloonInflated = v[11];
            balloonDeflated = v[12];
            balloonRejected = v[13];
            downtimeBytes = v[14];
            syncEvents = v[15];
        }

        static final int SIZE = 16;

        void addTo(Tally into) {
            long[] a = toArray();
            long[] b = into.toArray();
            for (int i = 0; i < SIZE; i++) b[i] += a[i];
            into.fromArray(b);
        }
    }

    public RunFold(RamLayout layout, int poisonByte, int pageHeaderBytes) {
        this.layout = layout;
        this.blockFirst =
                layout.blocks().stream().mapToLong(RamBlock::firstIndex).toArray();
        this.totalPages = layout.totalPages();
        this.poisonByte = poisonByte;
        this.pageBytes = RamLayout.PAGE_SIZE + (long) pageHeaderBytes;
        this.fillBytes = pageHeaderBytes + 8L;
        this.toSend = new PageBitmap(totalPages);
        this.sentOnce = new PageBitmap(totalPages);
        this.balloon = new PageBitmap(totalPages);
    }

    /** Applies the next event, numbered after the last one applied. */
    @Override
    public void publish(EventType type, long timeNs, long a, long b, long c) {
        apply(eventNumber + 1, type, timeNs, a, b, c);
    }

    /** Applies one event (its number must follow the last one applied). */
    public void apply(long number, EventType type, long time, long a, long b, long c) {
        eventNumber = number;
        if (type.kind() != EventType.Kind.INFO) lastNs = time;
        if (type.kind() == EventType.Kind.INPUT
                && type != EventType.HINT
                && type != EventType.FREE_BITMAP
                && type != EventType.BALLOON_INFLATE
                && type != EventType.BALLOON_DEFLATE) {
            openRequest = 0;
        }
        Tally t = current;
        switch (type) {
            case STEP -> stepNs = time;
            case PHASE -> {
                Phase p = Phase.byOrdinal(a);
                if (p == Phase.SETUP) newMigration(time);
                if (p == Phase.BULK && setupEndNs < 0) setupEndNs = time;
                phase = p;
                iteration = (int) b;
            }
            case SYNC_BEGIN -> {
                if (a > 0) syncs = a;
                t.syncEvents++;
                syncBeginNs = time;
            }
            case SYNC_END -> {
                // QEMU's dirty-pages-rate: the pages a sync found over the time since the sync before it, while the
                // guest ran
                if (!paused && a > 0 && prevSyncNs >= 0 && syncBeginNs > prevSyncNs) {
                    dirtyPagesRate = Math.round(b * 1e9 / (syncBeginNs - prevSyncNs));
                }
                prevSyncNs = syncBeginNs;
            }
            case DIRTY, DEFLATE_TO_SEND -> toSend.setRange(index(a, b), index(a, b) + c);
            case SEND_NORMAL -> {
                sent(index(a, b), c);
                t.pagesNormal += c;
                t.transferredBytes += c * pageBytes;
                if (paused) t.downtimeBytes += c * pageBytes;
            }
            case SEND_FILL -> {
                long n = EventType.SendFill.pages(c);
                sent(index(a, b), n);
                if (EventType.SendFill.zero(c)) t.pagesZero += n;
                else t.skippedFree += n;
                t.transferredBytes += fillBytes;
                if (paused) t.downtimeBytes += fillBytes;
            }
            case QEMU_PAGE -> {
                sent(index(a, b), 1);
                if (EventType.QemuPage.zero(c)) t.pagesZero++;
                else t.pagesNormal++;
                t.transferredBytes += EventType.QemuPage.recordBytes(c);
            }
            case QEMU_STATUS -> lastRemainingBytes = b;
            case SKIP_BALLOON -> {
                toSend.clearRange(index(a, b), index(a, b) + c);
                t.skippedBalloon += c;
            }
            case SKIP_FREE -> {
                if (poisonByte == 0) t.skippedFree += toSend.clearRangeCounting(index(a, b), index(a, b) + c);
            }
            case SKIP_ZEROED -> t.skippedFree += toSend.clearRangeCounting(index(a, b), index(a, b) + c);
            case HINT_COMMAND -> {
                if (EventType.HintCommand.startsRequest(a, b)) t.hintRequests++;
            }
            case HINT, FREE_BITMAP -> {
                t.hintRanges++;
                if (!badLength(b, c)) t.hintPages += c;
                open(1);
            }
            case BALLOON_INFLATE, BALLOON_DEFLATE -> {
                open(2);
                if (!badLength(b, c) && layout.splitPfnRange(b, c, BalloonRange.NONE) == 0) {
                    balloonRange.inflate = type == EventType.BALLOON_INFLATE;
                    layout.splitPfnRange(b, c, balloonRange);
                }
            }
            case REJECT -> {
                t.rejected++;
                if (a == RejectReason.MALFORMED.ordinal()) {
                    openRequest = 0; // a message the device could not parse: a request of its own
                } else if (openRequest != 0 && !openRejected) {
                    openRejected = true;
                    if (openRequest == 1) t.hintRejected++;
                    else t.balloonRejected++;
                }
            }
            case LINK_FAILED -> {
                linkFailures++;
                failureCause = (int) a;
            }
            case DOWNTIME_ESTIMATE -> {
                expectedDowntimeNs = a;
                downtimeLimitNs = c;
                estimateSeen = true;
            }
            case CONVERGENCE -> {
                lastRemainingBytes = a;
                lastCheckBandwidth = b;
                lastBandwidth = b;
                // a journal from before DOWNTIME_ESTIMATE: its rule's estimate, the bytes left at the bandwidth
                if (!estimateSeen) expectedDowntimeNs = a == 0 ? 0 : b > 0 ? Math.round(a * 1e9 / b) : -1;
                estimateSeen = false;
            }
            case BALLOON_SKIP -> balloonSkip = a == 1;
            case GUEST_RUN_STATE -> {
                paused = a == 1;
                if (a == 1) pauseNs = time;
            }
            case SWITCH_OVER -> {
                switchOverNs = b;
                bytesAtSwitchOver = t.transferredBytes;
                // the guest runs on the destination from here: what goes after is postcopy's, not the downtime's
                paused = false;
            }
            case DISCARD -> discardedPages += c;
            case PAGE_REQUEST -> requestedPages += c;
            case REQUEST_UNSERVED -> unservedPages += c;
            case BALLOON_BITMAP -> {
                balloonBitmapBytes += b;
                t.transferredBytes += b;
            }
            case POSTCOPY_RECOVER -> recoveries++;
            case ALLOC_STALL -> {
                allocStalls++;
                allocStallSinceNs = time;
            }
            case ALLOC_RESUMED -> {
                allocStallSinceNs = -1;
                allocStallsResumed++;
                allocStallNs += b;
                allocStallMaxNs = Math.max(allocStallMaxNs, b);
            }
            case END -> {
                endNs = time;
                downtimeNs = c;
            }
            default -> {}
        }
    }

    private void open(int request) {
        openRequest = request;
        openRejected = false;
    }

    private boolean badLength(long pfn, long pages) {
        return pages <= 0 || pages > totalPages || pfn < 0;
    }

    private void sent(long p, long n) {
        toSend.clearRange(p, p + n);
        current.resent += sentOnce.countRange(p, p + n);
        sentOnce.setRange(p, p + n);
    }

    private void newMigration(long time) {
        if (migration > 0) {
            current.addTo(finished);
            finishedIterations += iteration;
            finishedSyncs += syncs;
            finishedNs += elapsedNs();
        }
        current.fromArray(new long[Tally.SIZE]);
        migration++;
        toSend.clearAll();
        sentOnce.clearAll();
        balloon.clearAll();
        iteration = 0;
        syncs = 0;
        startNs = time;
        setupEndNs = -1;
        endNs = -1;
        downtimeNs = 0;
        failureCause = -1;
        balloonSkip = false;
        lastBandwidth = 0;
        openRequest = 0;
        expectedDowntimeNs = -1;
        estimateSeen = false;
        paused = false;
        prevSyncNs = -1;
        syncBeginNs = -1;
        dirtyPagesRate = -1;
        pauseNs = -1;
        switchOverNs = -1;
        bytesAtSwitchOver = -1;
        discardedPages = 0;
        requestedPages = 0;
        unservedPages = 0;
        balloonBitmapBytes = 0;
        recoveries = 0;
    }

    private long index(long block, long offset) {
        return blockFirst[(int) block] + offset;
    }

    // ------------------------------------------------------------------ checkpoints

    /** The checkpoint format; checkpoints of other versions are not restored (a reader then starts from the first event). */
    public static final int SNAPSHOT_VERSION = 6;

    /**
     * The state as bytes: the version, the scalars and counters, then the pages still to send,
     * sent once and in the balloon, each as a varint count of runs and per run a varint gap from
     * the previous run's end and a varint length (a few bytes a run, however large the guest).
     */
    public byte[] snapshot() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(SNAPSHOT_VERSION);
            for (long v : scalars()) out.writeLong(v);
            for (long v : finished.toArray()) out.writeLong(v);
            for (long v : current.toArray()) out.writeLong(v);
            out.flush();
            for (PageBitmap bits : new PageBitmap[] {toSend, sentOnce, balloon}) writeRuns(bits, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private long[] scalars() {
        return new long[] {
            eventNumber,
            stepNs,
            lastNs,
            migration,
            phase.ordinal(),
            iteration,
            syncs,
            startNs,
            setupEndNs,
            endNs,
            downtimeNs,
            failureCause,
            balloonSkip ? 1 : 0,
            lastRemainingBytes,
            lastBandwidth,
            linkFailures,
            openRequest,
            openRejected ? 1 : 0,
            finishedIterations,
            finishedSyncs,
            finishedNs,
            lastCheckBandwidth,
            expectedDowntimeNs,
            downtimeLimitNs,
            estimateSeen ? 1 : 0,
            paused ? 1 : 0,
            prevSyncNs,
            syncBeginNs,
            dirtyPagesRate,
            pauseNs,
            switchOverNs,
            bytesAtSwitchOver,
            discardedPages,
            requestedPages,
            unservedPages,
            balloonBitmapBytes,
            recoveries,
            allocStalls,
            allocStallsResumed,
            allocStallNs,
            allocStallMaxNs,
            allocStallSinceNs
        };
    }

    private void scalars(long[] v) {
        eventNumber = v[0];
        stepNs = v[1];
        lastNs = v[2];
        migration = (int) v[3];
        phase = Phase.byOrdinal(v[4]);
        iteration = (int) v[5];
        syncs = v[6];
        startNs = v[7];
        setupEndNs = v[8];
        endNs = v[9];
        downtimeNs = v[10];
        failureCause = (int) v[11];
        balloonSkip = v[12] == 1;
        lastRemainingBytes = v[13];
        lastBandwidth = v[14];
        linkFailures = v[15];
        openRequest = (int) v[16];
        openRejected = v[17] == 1;
        finishedIterations = v[18];
        finishedSyncs = v[19];
        finishedNs = v[20];
        lastCheckBandwidth = v[21];
        expectedDowntimeNs = v[22];
        downtimeLimitNs = v[23];
        estimateSeen = v[24] == 1;
        paused = v[25] == 1;
        prevSyncNs = v[26];
        syncBeginNs = v[27];
        dirtyPagesRate = v[28];
        pauseNs = v[29];
        switchOverNs = v[30];
        bytesAtSwitchOver = v[31];
        discardedPages = v[32];
        requestedPages = v[33];
        unservedPages = v[34];
        balloonBitmapBytes = v[35];
        recoveries = v[36];
        allocStalls = v[37];
        allocStallsResumed = v[38];
        allocStallNs = v[39];
        allocStallMaxNs = v[40];
        allocStallSinceNs = v[41];
    }

    private static final int SCALARS = 42;

    private static void writeRuns(PageBitmap bits, ByteArrayOutputStream out) {
        long[] runs = {0};
        bits.forEachRun((s, e) -> runs[0]++);
        varint(out, runs[0]);
        long[] prevEnd = {0};
        bits.forEachRun((s, e) -> {
            varint(out, s - prevEnd[0]);
            varint(out, e - s);
            prevEnd[0] = e;
        });
    }

    private static void readRuns(PageBitmap bits, DataInputStream in) throws IOException {
        long runs = varint(in);
        long end = 0;
        for (long i = 0; i < runs; i++) {
            long start = end + varint(in);
            end = start + varint(in);
            bits.setRange(start, end);
        }
    }

    private static void varint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    private static long varint(DataInputStream in) throws IOException {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int b = in.readUnsignedByte();
            v |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) return v;
        }
        throw new IOException("varint too long");
    }

    /** The version a checkpoint payload was written in. */
    public static int snapshotVersion(byte[] payload) {
        return payload.length < 4
                ? -1
                : ((payload[0] & 0xFF) << 24)
                        | ((payload[1] & 0xFF) << 16)
                        | ((payload[2] & 0xFF) << 8)
                        | (payload[3] & 0xFF);
    }

    /**
     * The state a checkpoint holds, or null if it was written by an earlier version (a reader
     * then folds from the first event). A payload that does not read whole is an error.
     */
    public static RunFold restore(RamLayout layout, int poisonByte, int pageHeaderBytes, byte[] payload) {
        int v = snapshotVersion(payload);
        if (v >= 0 && v < SNAPSHOT_VERSION) return null;
        if (v != SNAPSHOT_VERSION) throw new IllegalArgumentException("checkpoint of unknown version " + v);
        RunFold s = new RunFold(layout, poisonByte, pageHeaderBytes);
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(payload))) {
            in.readInt();
            long[] scalars = new long[SCALARS];
            for (int i = 0; i < SCALARS; i++) scalars[i] = in.readLong();
            s.scalars(scalars);
            for (Tally t : new Tally[] {s.finished, s.current}) {
                long[] v2 = new long[Tally.SIZE];
                for (int i = 0; i < Tally.SIZE; i++) v2[i] = in.readLong();
                t.fromArray(v2);
            }
            for (PageBitmap bits : new PageBitmap[] {s.toSend, s.sentOnce, s.balloon}) readRuns(bits, in);
            if (in.available() > 0) throw new IOException(in.available() + " bytes too many");
        } catch (IOException | IndexOutOfBoundsException | IllegalArgumentException e) {
            throw new IllegalArgumentException("damaged checkpoint: " + e.getMessage());
        }
        return s;
    }

    /** Follows the balloon as the engine does: counts the pages whose state changed. */
    private final class BalloonRange implements RamLayout.BlockRangeConsumer {
        static final RamLayout.BlockRangeConsumer NONE = (blk, o, n) -> {};
        boolean inflate;

        @Override
        public void range(RamBlock block, long offset, long pages) {
            long g = block.firstIndex() + offset;
            if (inflate) current.balloonInflated += balloon.setRangeCounting(g, g + pages);
            else current.balloonDeflated += balloon.clearRangeCounting(g, g + pages);
        }
    }

    // ------------------------------------------------------------------ what it says

    public long eventNumber() {
        return eventNumber;
    }
    /** The clock reading of the last engine step. */
    public long timeNs() {
        return stepNs;
    }
    /** Migrations seen (attempts and hops each count). */
    public int migration() {
        return migration;
    }

    public Phase phase() {
        return phase;
    }

    public int iteration() {
        return iteration;
    }

    public long syncs() {
        return syncs;
    }

    public long pagesLeft() {
        return toSend.count();
    }

    public boolean pending(long pageIndex) {
        return toSend.get(pageIndex);
    }

    public long linkFailures() {
        return linkFailures;
    }
    /** The bytes left at the last convergence check of any migration so far. */
    public long lastRemainingBytes() {
        return lastRemainingBytes;
    }
    /** The bandwidth at the last convergence check of any migration so far. */
    public long lastCheckBandwidthBytesPerSec() {
        return lastCheckBandwidth;
    }

    /**
     * The downtime the current migration's last switch-over check expected, in ns: at the end of a completed
     * migration, the estimate the guest was paused on. From its DOWNTIME_ESTIMATE (the final sync counted); for a
     * journal written before those, the bytes left over the bandwidth, as its rule estimated. -1 when not known.
     */
    public long expectedDowntimeNs() {
        return expectedDowntimeNs;
    }

    /** The downtime limit as the journal's DOWNTIME_ESTIMATE events give it; 0 for a journal without them (its header's {@code engine.downtimeLimitNs} says it). */
    public long downtimeLimitNs() {
        return downtimeLimitNs;
    }

    /** Whether the current migration completed with more downtime than its limit (false while the limit is not known: see {@link #downtimeLimitNs()}). */
    public boolean downtimeExceeded() {
        return downtimeExceeded(downtimeLimitNs);
    }

    /** Whether the current migration completed with more downtime than {@code limitNs} (a journal header's limit, for instance). */
    public boolean downtimeExceeded(long limitNs) {
        return phase == Phase.COMPLETED && endNs >= 0 && limitNs > 0 && downtimeNs > limitNs;
    }

    /**
     * What QEMU's {@code query-migrate} reports and the engine's statistics do not: the current migration's
     * switch-over figures, and two counts summed over every migration so far.
     *
     * @param remainingBytes     bytes left at the last switch-over check (at switch-over for a completed migration)
     * @param expectedDowntimeNs {@link #expectedDowntimeNs()}
     * @param downtimeLimitNs    {@link #downtimeLimitNs()}
     * @param dirtyPagesRate     pages per second the last sync found dirty while the guest ran, over the time since the sync before it; -1 before the second sync
     * @param downtimeBytes      bytes sent while the guest was paused
     * @param dirtySyncCount     dirty-log syncs, each migration's setup sync (sync 0) included, as QEMU counts its first sync at setup
     */
    public record Figures(
            long remainingBytes,
            long expectedDowntimeNs,
            long downtimeLimitNs,
            long dirtyPagesRate,
            long downtimeBytes,
            long dirtySyncCount) {}

    /** The figures of {@link Figures}: the switch-over's of the current migration, the counts of every migration so far. */
    public Figures figures() {
        return new Figures(
                lastRemainingBytes,
                expectedDowntimeNs,
                downtimeLimitNs,
                dirtyPagesRate,
                finished.downtimeBytes + current.downtimeBytes,
                finished.syncEvents + current.syncEvents);
    }

    /**
     * The current (last) migration's statistics, as its engine's {@code stats()} gives them, but
     * for the failure message (not in the events: null) and the bandwidth (whole bytes per second).
     */
    public EngineStats migrationStats() {
        return stats(current, iteration, syncs, elapsedNs());
    }

    /** The current migration's postcopy figures, as its engine's {@code postcopyStats()} gives them. */
    public dev.ballast.core.engine.PostcopyStats postcopyStats() {
        long bytes = current.transferredBytes;
        return new dev.ballast.core.engine.PostcopyStats(
                switchOverNs >= 0,
                Math.max(0, switchOverNs),
                bytesAtSwitchOver < 0 ? bytes : bytesAtSwitchOver,
                bytesAtSwitchOver < 0 ? 0 : bytes - bytesAtSwitchOver,
                discardedPages,
                requestedPages,
                unservedPages,
                balloonBitmapBytes,
                (int) recoveries);
    }

    /**
     * The guest's allocation stalls over the whole run, migrations and the time between them (the simulated guest's
     * {@code ALLOC_STALL} and {@code ALLOC_RESUMED}).
     *
     * @param stalls   allocations that stalled (found nothing free after reclaim and waited)
     * @param resumed  of those, the ones served by the end of the journal (the rest still wait)
     * @param waitNs   guest time the resumed ones waited, summed
     * @param maxWaitNs the longest of those waits
     * @param waitingNs how long the allocation that still waits has waited, up to the last event (0: none waits)
     */
    public record AllocStalls(long stalls, long resumed, long waitNs, long maxWaitNs, long waitingNs) {}

    /** {@link AllocStalls}, folded so far. */
    public AllocStalls allocStalls() {
        return new AllocStalls(
                allocStalls,
                allocStallsResumed,
                allocStallNs,
                allocStallMaxNs,
                allocStallSinceNs < 0 ? 0 : Math.max(0, lastNs - allocStallSinceNs));
    }

    /** Every migration's statistics summed (what a run's report adds up); the rest is the last migration's. */
    public EngineStats runStats() {
        Tally sum = new Tally();
        finished.addTo(sum);
        current.addTo(sum);
        return stats(sum, finishedIterations + iteration, finishedSyncs + syncs, finishedNs + elapsedNs());
    }

    /** The current migration's time so far, as the engine measures it: from its first step to its end. */
    private long elapsedNs() {
        return startNs < 0 ? 0 : (endNs >= 0 ? endNs : lastNs) - startNs;
    }

    private EngineStats stats(Tally t, long iterations, long syncCount, long total) {
        return new EngineStats(
                phase,
                (int) iterations,
                syncCount,
                total,
                setupEndNs < 0 ? 0 : setupEndNs - startNs,
                endNs < 0 ? 0 : downtimeNs,
                t.transferredBytes,
                t.pagesNormal,
                t.pagesZero,
                t.skippedBalloon,
                t.skippedFree,
                t.resent,
                t.hintRequests,
                t.hintRanges,
                t.hintPages,
                t.hintRejected,
                t.rejected,
                t.balloonInflated,
                t.balloonDeflated,
                t.balloonRejected,
                balloonSkip,
                failureCause < 0 ? null : FailureCause.byCode(failureCause).name(),
                null,
                lastBandwidth);
    }
}
