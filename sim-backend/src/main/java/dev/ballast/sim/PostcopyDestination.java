package dev.ballast.sim;

import dev.ballast.core.engine.EngineConfig;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.invariant.FaultBound;
import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import java.util.Arrays;

/**
 * The simulated destination of a postcopy migration after the switch-over, as QEMU's with its
 * {@code userfaultfd}: the guest runs here; a page it writes that the destination does not hold
 * faults, the destination asks the source for it, and the guest's vCPUs stall until it is placed
 * (the write is then made). A page is placed once: placing a page that is already here is what
 * {@code UFFDIO_COPY} refuses with {@code EEXIST}, a violation of invariant 3. A page the balloon
 * bitmap of the switch-over names is placed as zero here, without asking ({@code UFFDIO_ZEROPAGE}).
 * It checks invariant 8: every fault served within a bound: {@link #boundNs()}, plus the link's time for the engine
 * steps it may wait through (the one in flight, then one for every requestsPerStep requests queued before it) (a liveness bound: no fault starves;
 * on a slow link a burst of faults waits in line).
 *
 * <p>The guest's workloads only write, so every fault is a write fault; the guest stalls from the
 * end of the tick in which it faulted until every page it waits for is placed.
 */
public final class PostcopyDestination {
    private final SimDestination dest;
    private final SimGuest guest;
    private final SimCosts costs;
    private final Violations violations;
    private final EventSink events;
    private final RamLayout layout;
    private final RamBlock[] blocks;
    private final long oneWayNs;
    private final FaultBound bound;

    /** Pages faulted on and not yet placed. */
    private final PageBitmap waiting;
    /**
     * Faults waiting, as (page, time of the fault, the value the guest writes once it is placed);
     * requests not yet delivered to the source follow from {@link #undelivered}.
     */
    private long[] pending = new long[16 * STRIDE];
    /** A pending fault: its page, its time, the value the guest writes once it is placed, and how long it may wait. */
    private static final int STRIDE = 4;

    private int pendingCount;
    private int undelivered;
    /** The balloon bitmap the switch-over carried, or null. */
    private PageBitmap balloonKnown;

    private boolean active;
    private long resumeAtNs = -1;
    private boolean ended;

    // figures
    private long faults;
    private long zeroPlaced;
    private long[] latencies = new long[64];
    private int latencyCount;
    private long lostProgressNs;

    PostcopyDestination(
            SimDestination dest,
            SimGuest guest,
            SimCosts costs,
            Violations violations,
            EventSink events,
            EngineConfig cfg) {
        this.dest = dest;
        this.guest = guest;
        this.costs = costs;
        this.violations = violations;
        this.events = events;
        this.layout = dest.layout;
        this.blocks = layout.blocks().toArray(RamBlock[]::new);
        this.oneWayNs = costs.profile.linkLatencyNs();
        this.bound = FaultBound.of(FaultBound.SIM_BASE_NS + 4 * oneWayNs, costs.linkNsPerByte(), cfg);
        this.waiting = new PageBitmap(layout.totalPages());
    }

    /** The longest a fault may wait for its page (invariant 8) besides the link's time for the work ahead of it. */
    long boundNs() {
        return bound.baseNs();
    }

    boolean active() {
        return active;
    }

    /** At the switch-over: the page is stale here, the destination drops it. */
    void discard(long from, long to) {
        dest.received.clearRange(from, to);
    }

    /** At the switch-over: the balloon bitmap, as the source's engine knows it. */
    void balloonBitmap(PageBitmap balloon) {
        balloonKnown = new PageBitmap(balloon.size());
        balloonKnown.copyFrom(balloon);
    }

    /** The switch-over is done: the guest resumes here once the destination has acknowledged (at the step's time). */
    void start() {
        active = true;
        resumeAtNs = costs.nanoTime();
        guest.moveTo(this);
    }

    /** The guest's clock reached {@code t}: it runs from the switch-over's end on (it was paused until then). */
    void tick(long t) {
        if (active && !ended && resumeAtNs >= 0) {
            if (t >= resumeAtNs) {
                if (!guest.running()) guest.resume();
                resumeAtNs = -1;
            }
        }
    }

    /** The guest (or a device) wrote a page it holds here: the write lands on the destination too. */
    void written(int block, int offset, int value) {
        dest.content[block][offset] = value;
    }

    /**
     * Whether a write to this page must wait: the destination lacks it. A first fault asks the
     * source for it (the request reaches the source a link latency later); a page of the balloon
     * bitmap is placed here as zero at once.
     */
    boolean fault(long index, int value) {
        if (dest.received.get(index)) return false;
        if (ended) {
            // After the migration the destination's memory is plain memory: a page never placed reads as zero.
            placeLocally(index);
            return false;
        }
        if (balloonKnown != null && balloonKnown.get(index)) {
            placeLocally(index);
            RamBlock b = blockOf(index);
            events.publish(EventType.FAULT_ZERO, guest.nowNs(), b.index(), index - b.firstIndex(), 0);
            zeroPlaced++;
            return false;
        }
        if (!waiting.get(index)) {
            waiting.set(index);
            faults++;
            if (pendingCount * STRIDE == pending.length) pending = Arrays.copyOf(pending, pending.length * 2);
            pending[STRIDE * pendingCount] = index;
            pending[STRIDE * pendingCount + 1] = guest.nowNs();
            pending[STRIDE * pendingCount + 2] = value;
            // the steps until this request is served: the one in flight, then one per requestsPerStep queued before it
            pending[STRIDE * pendingCount + 3] = bound.allowedNs(pendingCount);
            pendingCount++;
            RamBlock b = blockOf(index);
            events.publish(EventType.FAULT, guest.nowNs(), b.index(), index - b.firstIndex(), 1);
        } else {
            for (int i = 0; i < pendingCount; i++)
                if (pending[STRIDE * i] == index) pending[STRIDE * i + 2] = value; // the last write wins
        }
        return true;
    }

    private void placeLocally(long index) {
        RamBlock b = blockOf(index);
        dest.content[b.index()][(int) (index - b.firstIndex())] = 0;
        dest.received.set(index);
        int[] seen = guest.content[b.index()];
        seen[(int) (index - b.firstIndex())] = 0; // what the guest now finds there
    }

    /** Whether the destination places this page itself (it is in the balloon bitmap of the switch-over). */
    boolean placesItself(long index) {
        return balloonKnown != null && balloonKnown.get(index);
    }

    /** Whether the guest's vCPUs wait for a page. */
    boolean stalled() {
        return pendingCount > 0;
    }

    /** The guest did not run for this long (its tick fell while it waited). */
    void lostProgress(long ns) {
        lostProgressNs += ns;
    }

    /**
     * The link was recovered: every fault still waiting is asked for again (a request the source
     * took before the failure may not have been served), as QEMU's destination does on resuming.
     */
    void relinked() {
        undelivered = 0;
    }

    /** The requests that have reached the source by {@code now}, oldest first. */
    void deliverRequests(long now, PageRanges into) {
        while (undelivered < pendingCount && pending[STRIDE * undelivered + 1] + oneWayNs <= now) {
            long index = pending[STRIDE * undelivered];
            undelivered++;
            RamBlock b = blockOf(index);
            into.range(b.index(), index - b.firstIndex(), 1);
        }
    }

    /**
     * The source sends pages [from, to) of block {@code block}: each is placed unless it is here
     * already (a violation: {@code EEXIST}); returns the pages that may be copied as a bitmap walk
     * does not allocate: the caller copies page by page where {@link #mayPlace} says so.
     */
    boolean mayPlace(long index) {
        if (!dest.received.get(index)) return true;
        violations.record(
                Invariant.NO_NEEDLESS_RESEND,
                "page " + layout.describeIndex(index)
                        + " was placed twice on the postcopy destination (UFFDIO_COPY would fail with EEXIST); the second copy was refused");
        return false;
    }

    /** Page {@code index} was placed: a fault waiting for it is served (the page arrives a link latency from now). */
    void placed(long index) {
        dest.received.set(index);
        if (!waiting.get(index)) return;
        waiting.clear(index);
        long arrival = costs.nanoTime() + oneWayNs;
        for (int i = 0; i < pendingCount; i++) {
            if (pending[STRIDE * i] != index) continue;
            long latency = arrival - pending[STRIDE * i + 1];
            int value = (int) pending[STRIDE * i + 2];
            long allowedNs = pending[STRIDE * i + 3];
            if (latencyCount == latencies.length) latencies = Arrays.copyOf(latencies, latencies.length * 2);
            latencies[latencyCount++] = latency;
            RamBlock b = blockOf(index);
            events.publish(EventType.FAULT_SERVED, arrival, b.index(), index - b.firstIndex(), latency);
            if (latency > allowedNs) {
                violations.record(
                        Invariant.FAULTS_SERVED, FaultBound.late(layout.describeIndex(index), latency, allowedNs));
            }
            remove(i);
            guest.writePlaced(index, value);
            return;
        }
    }

    private void remove(int i) {
        System.arraycopy(pending, STRIDE * (i + 1), pending, STRIDE * i, STRIDE * (pendingCount - i - 1));
        pendingCount--;
        if (i < undelivered) undelivered--;
    }

    /**
     * The migration ended (the source has sent all it will): a fault still waiting was never
     * served (invariant 8). The destination closes its fault handling: such a page becomes a fresh
     * zero page and the guest's write is made.
     */
    void end() {
        ended = true;
        while (pendingCount > 0) {
            long index = pending[0];
            int value = (int) pending[2];
            violations.record(Invariant.FAULTS_SERVED, FaultBound.neverServed(layout.describeIndex(index)));
            remove(0);
            waiting.clear(index);
            placeLocally(index);
            guest.writePlaced(index, value);
        }
    }

    /** What the postcopy destination measured. */
    public record Figures(
            long faults,
            long zeroPlaced,
            long latencyMedianNs,
            long latencyP99Ns,
            long latencyMaxNs,
            long lostProgressNs) {}

    Figures figures() {
        long[] l = Arrays.copyOf(latencies, latencyCount);
        Arrays.sort(l);
        return new Figures(
                faults,
                zeroPlaced,
                percentile(l, 0.5),
                percentile(l, 0.99),
                l.length == 0 ? 0 : l[l.length - 1],
                lostProgressNs);
    }

    /** The nearest-rank percentile of sorted values (0 for none). */
    static long percentile(long[] sorted, double q) {
        if (sorted.length == 0) return 0;
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)];
    }

    private RamBlock blockOf(long index) {
        for (RamBlock b : blocks) if (index < b.endIndex()) return b;
        throw new IndexOutOfBoundsException("page index " + index);
    }
}
