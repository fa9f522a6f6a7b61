package dev.ballast.kvm.device;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.ballast.core.engine.GuestRequests;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.RejectReason;
import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.kvm.guestabi.Doorbells;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.mem.GuestMemory;
import dev.ballast.kvm.mem.MemorySlot;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The host's balloon and free page hint devices: a thread that takes the guest's requests from
 * the request ring ({@code abi.h}, {@code REQ_*}), checks them, acts on them and queues them for
 * the engine. Nothing the guest writes is trusted: a balloon message with a bad buffer, count or
 * mode, an entry with an unknown op, or ring indexes that make no sense become a
 * {@link EventType#REJECT} request and the device goes on. Balloon ranges that are RAM are given
 * back to the host ({@code madvise}) and recorded in the device's balloon bitmap; ranges that are
 * not are passed on untouched for the engine to reject. Hints go to the engine as the guest sent
 * them (the policy judges their command id and range).
 *
 * <p>After every batch the device writes how many requests it has finished into the guest's
 * used page (a RAM page the guest chose, {@code CTL_USED_PFN}): memory the host writes, so it is
 * marked dirty. The guest waits on it before it reuses a balloon buffer, and, with
 * MUST_TELL_HOST, before it touches a deflated page.
 *
 * <p>Requests reach the engine's queue only from {@link #balloonState} on (the engine's setup);
 * before that the balloon bitmap is the state.
 */
public final class GuestDevices implements AutoCloseable {
    private static final VarHandle INT = JAVA_INT.varHandle();
    /** How long the device polls an empty ring before it asks the guest for a doorbell. */
    private static final long POLL_NANOS = 50_000;

    private static final int BATCH = 256;

    private final GuestMemory memory;
    private final RamLayout layout;
    private final MemorySegment sys;
    private final MemorySegment ring;
    private final MemorySegment buffers;
    private final Doorbells doorbells;
    private final MemorySlot[] hostBlocks;
    private final PageBitmap balloon;
    private final RequestQueue queue = new RequestQueue();
    private final DeviceEvents journal = new DeviceEvents();
    private final Object lock = new Object();

    /** The dirty-log syncs the migration has finished (read after a discard, to tag its notice), or none. */
    private volatile java.util.function.LongSupplier syncsDone = () -> 0;

    private Thread thread;
    private volatile boolean closed;
    private boolean forwarding;

    // counters, guarded by lock
    private long requests;
    private long rejected;
    private long balloonMessages;
    private long discardedPages;
    private long madviseCalls;
    private long reportEntries;
    private long reportedPages;
    private long reportDiscardedPages;
    private String discardViolation;
    private long liveHintId;
    private long hintDiscardedPages;
    private long shrunkPages;
    private long allocStalls;
    private long stallWaitNs;
    /** 1 + the request ring index of the last hint the host has taken (the used page's USED_HINT_TAKEN word). */
    private int hintTaken;
    /** Hints queued for the engine and not drained yet: (queue position, ring index) pairs, oldest first. */
    private long[] pendingHints = new long[256];

    private int pendingHead;
    private int pendingCount;
    /** The guest is paused for good unless resumed: what the engine drains now must not write guest memory. */
    private boolean frozen;
    /** Where the guest's own events (its shrinker, its allocation stalls) go: the run's journal. */
    private volatile EventSink events = EventSink.NONE;

    /**
     * @param layout   the RAM blocks as the engine names them (same names and PFNs as {@code memory}'s)
     * @param doorbells the vCPU thread's doorbells (the guest rings when the device waits)
     */
    public GuestDevices(GuestMemory memory, RamLayout layout, Doorbells doorbells) {
        this.memory = memory;
        this.layout = layout;
        this.sys = memory.system().host();
        this.ring = sys.asSlice(memory.layout().requestRingOffset(), GuestAbi.RING_BYTES);
        this.buffers =
                sys.asSlice(memory.layout().balloonBufOffset(), (long) GuestAbi.BALLOON_BUFS * GuestAbi.PAGE_SIZE);
        this.doorbells = doorbells;
        this.hostBlocks = new MemorySlot[layout.blockCount()];
        for (int i = 0; i < layout.blockCount(); i++) {
            dev.ballast.core.mem.RamBlock b = layout.block(i);
            MemorySlot h = memory.block(b.name());
            if (h.firstPfn() != b.firstPfn() || h.pages() != b.pages()) {
                throw new IllegalArgumentException("block " + b.name() + " differs between the layout (" + b
                        + ") and the VM (" + h.firstPfn() + "+" + h.pages() + ")");
            }
            hostBlocks[i] = h;
        }
        this.balloon = new PageBitmap(layout.totalPages());
    }

    /**
     * Handles up to {@code max} of the requests the guest has posted, on the caller's thread, and returns how many:
     * for a caller that plays the host one request at a time instead of {@link #start() the device thread}.
     */
    public int handle(int max) {
        synchronized (lock) {
            return process(max);
        }
    }

    /** Starts the device thread. */
    public synchronized void start() {
        if (thread != null) {
            throw new IllegalStateException("devices already started");
        }
        thread = Thread.ofPlatform().name("kvm-devices").daemon(true).start(this::loop);
    }

    public RequestQueue queue() {
        return queue;
    }

    private void loop() {
        long idleSince = -1;
        while (!closed) {
            int n;
            synchronized (lock) {
                n = process(BATCH);
            }
            if (n > 0) {
                idleSince = -1;
                continue;
            }
            long now = System.nanoTime();
            if (idleSince < 0) {
                idleSince = now;
            }
            if (now - idleSince < POLL_NANOS) {
                Thread.onSpinWait();
                continue;
            }
            long seen = doorbells.doorbellCount();
            setWantsRequests(1);
            VarHandle.fullFence(); // Dekker with the guest: it stores its tail, then loads the flag
            if (pending() != 0) {
                setWantsRequests(0);
                continue;
            }
            try {
                doorbells.awaitDoorbell(seen, 20_000_000L);
            } catch (InterruptedException e) {
                return;
            }
            if (doorbells.failure() != null) {
                return; // the guest is gone; quiesce() still empties the ring if asked
            }
            idleSince = -1;
        }
    }

    private void setWantsRequests(int v) {
        INT.setVolatile(sys, (long) GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_HOST_WANTS_REQUESTS_OFF, v);
        memory.markHostWrite(memory.system(), GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_HOST_WANTS_REQUESTS_OFF, 4);
    }

    private int tail() {
        return (int) INT.getAcquire(ring, (long) GuestAbi.RING_TAIL_OFF);
    }

    private int head() {
        return ring.get(JAVA_INT, GuestAbi.RING_HEAD_OFF);
    }

    /** Entries waiting in the ring (as the indexes say). */
    private int pending() {
        return tail() - head();
    }

    /**
     * Handles every request the guest has posted. Call with the vCPU paused (stop-and-copy): what
     * the guest asked for before it stopped is done, and its used page written, before the final
     * dirty-log sync.
     */
    public void quiesce() {
        synchronized (lock) {
            while (process(BATCH) > 0) {
                // until the ring is empty
            }
        }
    }

    /** Takes up to {@code max} entries off the ring. Holds {@code lock}. */
    private int process(int max) {
        int head = head();
        int tail = tail();
        int n = tail - head;
        if (n == 0) {
            return 0;
        }
        if (Integer.compareUnsigned(n, GuestAbi.RING_CAPACITY) > 0) {
            // Garbage indexes: nothing in the ring can be trusted. Skip to the tail.
            reject(RejectReason.MALFORMED, Integer.toUnsignedLong(head), Integer.toUnsignedLong(tail));
            finish(tail);
            return 1;
        }
        n = Math.min(n, max);
        for (int i = 0; i < n; i++) {
            long e = GuestAbi.RING_ENTRIES_OFF
                    + (long) ((head + i) & (GuestAbi.RING_CAPACITY - 1)) * GuestAbi.RING_ENTRY_SIZE;
            handle(
                    head + i,
                    ring.get(JAVA_INT, e + GuestAbi.ENT_OP_OFF),
                    ring.get(JAVA_LONG, e + GuestAbi.ENT_ID_OFF),
                    ring.get(JAVA_LONG, e + GuestAbi.ENT_ARGS_OFF),
                    ring.get(JAVA_LONG, e + GuestAbi.ENT_ARGS_OFF + 8),
                    ring.get(JAVA_LONG, e + GuestAbi.ENT_ARGS_OFF + 16),
                    ring.get(JAVA_LONG, e + GuestAbi.ENT_ARGS_OFF + 24),
                    ring.get(JAVA_LONG, e + GuestAbi.ENT_ARGS_OFF + 32),
                    ring.get(JAVA_LONG, e + GuestAbi.ENT_ARGS_OFF + 40));
        }
        finish(head + n);
        return n;
    }

    /** Publishes the new head and tells the guest through its used page. */
    private void finish(int newHead) {
        INT.setRelease(ring, (long) GuestAbi.RING_HEAD_OFF, newHead);
        memory.markHostWrite(memory.system(), memory.layout().requestRingOffset() + GuestAbi.RING_HEAD_OFF, 4);
        long usedPfn = sys.get(JAVA_LONG, GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_USED_PFN_OFF);
        MemorySlot b = memory.blockOfPfn(usedPfn);
        if (b == null || b == memory.system()) {
            return; // no used page (yet), or a guest that named something else: nothing to write
        }
        MemorySegment page = b.page(usedPfn);
        page.set(JAVA_LONG, 8L * GuestAbi.USED_CONSUMED_WORD, Integer.toUnsignedLong(newHead));
        page.set(JAVA_LONG, 8L * GuestAbi.USED_HINT_TAKEN_WORD, Integer.toUnsignedLong(hintTaken));
        page.set(JAVA_LONG, 8L * GuestAbi.USED_MAGIC_WORD, GuestAbi.USED_MAGIC);
        // Written first, marked after: a dirty-log sync between the two would otherwise lose the write.
        memory.markHostWrite(b, (usedPfn - b.firstPfn()) * GuestAbi.PAGE_SIZE, 24);
    }

    /** The guest's own events (its shrinker, its allocation stalls) are published here from now on. */
    public void publishTo(EventSink sink) {
        this.events = sink == null ? EventSink.NONE : sink;
    }

    /**
     * A hint the host has taken: with no migration listening, the device's own reading (and discard) of it; during
     * one, the engine's draining of it, since the engine acts on a hint (clears its pages' dirty state) only then.
     * The guest's {@code linux-acked} shrinker gives back only blocks whose hint is taken.
     */
    private void hintRead(int ringIndex) {
        if (!forwarding) {
            hintTaken = ringIndex + 1;
            return;
        }
        if (pendingCount * 2 == pendingHints.length) {
            long[] bigger = new long[pendingHints.length * 2];
            for (int i = 0; i < pendingCount; i++) {
                System.arraycopy(pendingHints, ((pendingHead + i) * 2) % pendingHints.length, bigger, i * 2, 2);
            }
            pendingHints = bigger;
            pendingHead = 0;
        }
        int at = ((pendingHead + pendingCount) * 2) % pendingHints.length;
        pendingHints[at] = queue.added();
        pendingHints[at + 1] = ringIndex;
        pendingCount++;
    }

    /**
     * The engine has drained the queue up to {@link RequestQueue#drained()}: the hints among what it drained are taken,
     * and the guest learns so through its used page (a host write, marked dirty).
     */
    public void hintsDrained() {
        synchronized (lock) {
            long drained = queue.drained();
            boolean any = false;
            while (pendingCount > 0 && pendingHints[pendingHead * 2] <= drained) {
                hintTaken = (int) pendingHints[pendingHead * 2 + 1] + 1;
                pendingHead = (pendingHead + 1) % (pendingHints.length / 2);
                pendingCount--;
                any = true;
            }
            if (any && !frozen) {
                finish(head());
            }
        }
    }

    /**
     * The guest is paused (stop-and-copy, after {@link #quiesce}): hints the engine drains from now on are taken, but
     * the used page is not written, since the final dirty-log sync may have passed (a host write must be sent);
     * the guest learns of them if it is resumed. It is conservative: a block whose hint the guest does not know to
     * be taken stays held until done.
     */
    public void freeze(boolean paused) {
        synchronized (lock) {
            frozen = paused;
            if (!paused) {
                finish(head());
            }
        }
    }

    private void handle(int ringIndex, int op, long id, long a0, long a1, long a2, long a3, long a4, long a5) {
        requests++;
        switch (op) {
            case GuestAbi.REQ_SHRINK -> shrunk(a0, a1, a2, a3, a4, a5);
            case GuestAbi.REQ_ALLOC_STALL -> {
                allocStalls++;
                events.publish(EventType.ALLOC_STALL, System.nanoTime(), a0, a1, a2);
            }
            case GuestAbi.REQ_ALLOC_WAITED -> {
                stallWaitNs += a1;
                events.publish(EventType.ALLOC_WAITED, System.nanoTime(), a0, a1, a2);
            }
            case GuestAbi.REQ_HINT, GuestAbi.REQ_FREE_BITMAP -> {
                EventType type = op == GuestAbi.REQ_HINT ? EventType.HINT : EventType.FREE_BITMAP;
                long[] r = {a0, a1, a2, a3, a4, a5};
                int ranges = 0;
                for (int k = 0; k < 3 && r[2 * k + 1] != 0; k++) {
                    forward(type, id, r[2 * k], r[2 * k + 1]);
                    if (op == GuestAbi.REQ_HINT) {
                        discardHinted(id, r[2 * k], r[2 * k + 1]);
                    }
                    ranges++;
                }
                if (op == GuestAbi.REQ_HINT) {
                    hintRead(ringIndex);
                }
                if (ranges == 0) {
                    reject(RejectReason.MALFORMED, op, id);
                }
            }
            case GuestAbi.REQ_FREE_BITMAP_END -> forward(EventType.FREE_BITMAP_END, id, 0, 0);
            case GuestAbi.REQ_BALLOON -> balloonMessage(a0, a1, a2, a3, a4);
            case GuestAbi.REQ_REPORT -> report(id, a0, a1, a2, a3, a4, a5);
            default -> reject(RejectReason.MALFORMED, Integer.toUnsignedLong(op), id);
        }
    }

    private void balloonMessage(long inflate, long mode, long buffer, long count, long base) {
        long max = mode == GuestAbi.BM_PFNS ? GuestAbi.BALLOON_PFNS_MAX : GuestAbi.BALLOON_BITS_MAX;
        if ((inflate != 0 && inflate != 1)
                || (mode != GuestAbi.BM_PFNS && mode != GuestAbi.BM_BITMAP)
                || buffer < 0
                || buffer >= GuestAbi.BALLOON_BUFS
                || count <= 0
                || count > max) {
            reject(RejectReason.MALFORMED, GuestAbi.REQ_BALLOON, buffer);
            return;
        }
        balloonMessages++;
        boolean in = inflate == 1;
        MemorySegment buf = buffers.asSlice(buffer * GuestAbi.PAGE_SIZE, GuestAbi.PAGE_SIZE);
        long runStart = -1;
        long runPages = 0;
        for (long i = 0; i < count; i++) {
            long pfn;
            if (mode == GuestAbi.BM_PFNS) {
                pfn = Integer.toUnsignedLong(buf.getAtIndex(JAVA_INT, i));
            } else {
                if ((buf.getAtIndex(JAVA_LONG, i >>> 6) >>> (i & 63) & 1) == 0) {
                    continue;
                }
                pfn = base + i;
            }
            if (runPages > 0 && runStart + runPages == pfn) {
                runPages++;
                continue;
            }
            if (runPages > 0) {
                balloonRun(in, mode, runStart, runPages);
            }
            runStart = pfn;
            runPages = 1;
        }
        if (runPages > 0) {
            balloonRun(in, mode, runStart, runPages);
        }
    }

    /**
     * A free page report (VIRTIO_BALLOON_F_REPORTING): up to three ranges of free blocks the guest isolated. The
     * host discards them ({@code madvise(MADV_DONTNEED)}: they read zero afterwards) unless the guest poisons free
     * pages with a non-zero value and the host was not told to discard them anyway ({@code WF_DISCARD_POISONED}), as
     * QEMU keeps them. Ranges that are not RAM are rejected. Each discard is checked as it happens: a page the guest
     * has not isolated for a report is one it may use (invariant 1), and a poisoned page read back as zero breaks
     * invariant 2.
     */
    private void report(long id, long... r) {
        reportEntries++;
        long flags = sys.get(JAVA_LONG, GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_WL_OFF + 8L * GuestAbi.WL_FLAGS);
        int poison =
                (int) (sys.get(JAVA_LONG, GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_WL_OFF + 8L * GuestAbi.WL_POISON) & 0xFF);
        boolean discard = poison == 0 || (flags & GuestAbi.WF_DISCARD_POISONED) != 0;
        long now = System.nanoTime();
        int ranges = 0;
        int valid = 0;
        for (int k = 0; k < 3 && r[2 * k + 1] != 0; k++) {
            ranges++;
            long pfn = r[2 * k];
            long pages = r[2 * k + 1];
            if (pages < 0 || layout.splitPfnRange(pfn, pages, (b, o, n) -> {}) != 0) {
                reject(RejectReason.MALFORMED, GuestAbi.REQ_REPORT, pfn);
                r[2 * k + 1] = -1; // not answered as a report below
                continue;
            }
            valid++;
            reportedPages += pages;
            layout.splitPfnRange(pfn, pages, (b, o, n) -> journal.add(EventType.REPORT, now, b.index(), o, n));
            if (!discard) {
                continue;
            }
            layout.splitPfnRange(pfn, pages, (b, o, n) -> {
                long g = b.firstIndex() + o;
                checkDiscard(g, n, poison);
                memory.discard(hostBlocks[b.index()], o * GuestAbi.PAGE_SIZE, n * GuestAbi.PAGE_SIZE);
                madviseCalls++;
                reportDiscardedPages += n;
                zeroed(b.firstPfn() + o, n);
                journal.add(
                        EventType.HOST_DISCARD,
                        now,
                        b.index(),
                        o,
                        EventType.HostDiscard.c(n, EventType.HostDiscard.REPORT));
            });
        }
        if (ranges == 0) {
            reject(RejectReason.MALFORMED, GuestAbi.REQ_REPORT, id);
        }
        if (valid == 0) {
            return;
        }
        // The host answers the report: the guest takes the blocks back once it reads the used page this batch writes.
        for (int k = 0; k < 3 && r[2 * k + 1] != 0; k++) {
            if (r[2 * k + 1] > 0) {
                layout.splitPfnRange(
                        r[2 * k], r[2 * k + 1], (b, o, n) -> journal.add(EventType.REPORT_DONE, now, b.index(), o, n));
            }
        }
    }

    /**
     * Tells the migration that pages it may still have to send read zero now ({@link EventType#HOST_ZEROED}), tagged
     * with the dirty-log syncs it had finished when the discard was done. Read after the {@code madvise} and before
     * the guest can have the pages back (the used page of this batch comes later), and counted by the guest at the
     * end of each sync: a sync that reports a write made after the discard ends after this read, so its number is
     * above the tag, and the policy, which takes only a notice of the latest sync, ignores the notice.
     */
    private void zeroed(long pfn, long pages) {
        forward(EventType.HOST_ZEROED, syncsDone.getAsLong(), pfn, pages);
    }

    /** Where {@link #zeroed} reads the syncs the migration has finished. */
    public void syncsDone(java.util.function.LongSupplier syncs) {
        this.syncsDone = syncs;
    }

    /**
     * Publishes what the devices did on their own since the last call — free page reports ({@link EventType#REPORT},
     * {@link EventType#REPORT_DONE}) and the host's discards ({@link EventType#HOST_DISCARD}), with the simulator's
     * fields — into {@code sink}, oldest first, on the caller's thread. Returns how many.
     */
    public int drainJournal(dev.ballast.core.event.EventSink sink) {
        return journal.drainTo(sink);
    }

    /** The hint driver's shrinker gave these held ranges back to the guest's allocator: journaled as SHRINK. */
    private void shrunk(long... r) {
        int ranges = 0;
        for (int k = 0; k < 3 && r[2 * k + 1] != 0; k++) {
            ranges++;
            long pfn = r[2 * k];
            long pages = r[2 * k + 1];
            if (pages < 0 || layout.splitPfnRange(pfn, pages, (b, o, n) -> {}) != 0) {
                reject(RejectReason.MALFORMED, GuestAbi.REQ_SHRINK, pfn);
                continue;
            }
            shrunkPages += pages;
            long now = System.nanoTime();
            layout.splitPfnRange(pfn, pages, (b, o, n) -> events.publish(EventType.SHRINK, now, b.index(), o, n));
        }
        if (ranges == 0) {
            reject(RejectReason.MALFORMED, GuestAbi.REQ_SHRINK, 0);
        }
    }

    /** Requests the device has not handled yet, none of them waiting in the ring. */
    public boolean idle() {
        synchronized (lock) {
            return pending() == 0;
        }
    }

    /**
     * The host issues a free page hint command (a new request id, or STOP / DONE): from now on hints of any other id
     * are not discarded. Called before the command is posted, so a hint the device discards is one the guest still
     * holds: the guest gives its held pages back only once it has read the next command.
     */
    public void hintCommandIssued(long commandId) {
        synchronized (lock) {
            liveHintId = dev.ballast.core.policy.CommandIds.isRequest(commandId) ? commandId : 0;
        }
    }

    /**
     * Firecracker's balloon device ({@code WF_DISCARD_HINTED}): a range hinted for the live request id is discarded
     * as the device reads it, unless the guest poisons free pages and {@code WF_DISCARD_POISONED} is not set. Each
     * discard is checked against the guest's held map (invariant 1) and the poison (invariant 2).
     */
    private void discardHinted(long id, long pfn, long pages) {
        long flags = sys.get(JAVA_LONG, GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_WL_OFF + 8L * GuestAbi.WL_FLAGS);
        if ((flags & GuestAbi.WF_DISCARD_HINTED) == 0 || liveHintId == 0 || id != liveHintId || pages <= 0) {
            return;
        }
        int poison =
                (int) (sys.get(JAVA_LONG, GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_WL_OFF + 8L * GuestAbi.WL_POISON) & 0xFF);
        if (poison != 0 && (flags & GuestAbi.WF_DISCARD_POISONED) == 0) {
            return;
        }
        if (layout.splitPfnRange(pfn, pages, (b, o, n) -> {}) != 0) {
            return; // not RAM: the engine rejects the hint
        }
        layout.splitPfnRange(pfn, pages, (b, o, n) -> {
            long g = b.firstIndex() + o;
            checkDiscard(g, n, poison, memory.layout().heldMapOffset(), "held for a free page hint");
            memory.discard(hostBlocks[b.index()], o * GuestAbi.PAGE_SIZE, n * GuestAbi.PAGE_SIZE);
            madviseCalls++;
            hintDiscardedPages += n;
            zeroed(b.firstPfn() + o, n);
            journal.add(
                    EventType.HOST_DISCARD,
                    System.nanoTime(),
                    b.index(),
                    o,
                    EventType.HostDiscard.c(n, EventType.HostDiscard.HINT));
        });
    }

    /** The discard of pages [index, index+n) of the layout, checked against what the guest holds isolated. */
    private void checkDiscard(long index, long n, int poison) {
        checkDiscard(index, n, poison, memory.layout().reportedMapOffset(), "isolated for a report");
    }

    /** The discard of pages [index, index+n), checked: each must be off the guest's free list and set in its map at {@code mapOffset}. */
    private void checkDiscard(long index, long n, int poison, long mapOffset, String what) {
        if (discardViolation != null) {
            return;
        }
        MemorySegment free = sys.asSlice(memory.layout().freeMapOffset());
        MemorySegment held = sys.asSlice(mapOffset);
        for (long i = index; i < index + n; i++) {
            boolean isFree = (free.getAtIndex(JAVA_LONG, i >>> 6) >>> (i & 63) & 1) != 0;
            boolean isHeld = (held.getAtIndex(JAVA_LONG, i >>> 6) >>> (i & 63) & 1) != 0;
            if (isFree || !isHeld) {
                discardViolation = Invariant.NO_LOST_WRITE.violation("the host discarded page "
                        + layout.describeIndex(i) + ", which the guest had not " + what
                        + (isFree ? " (it is on its free list)" : " (it may be in use)"));
                return;
            }
        }
        if (poison != 0) {
            discardViolation = Invariant.POISON_PRESERVED.violation("the host discarded free page "
                    + layout.describeIndex(index) + ": it reads zeros, not the poison value 0x"
                    + Integer.toHexString(poison) + " the guest left in it");
        }
    }

    /** The first invariant a discard of this device broke (a page the guest had not isolated, a poisoned page), or null. */
    public String discardViolation() {
        synchronized (lock) {
            return discardViolation;
        }
    }

    /** A run of the guest's balloon message: acted on when it is all RAM, and passed on either way. */
    private void balloonRun(boolean inflate, long mode, long pfn, long pages) {
        long outside = layout.splitPfnRange(pfn, pages, (b, o, n) -> {});
        if (outside == 0) {
            layout.splitPfnRange(pfn, pages, (b, o, n) -> {
                long g = b.firstIndex() + o;
                if (inflate) {
                    balloon.setRange(g, g + n);
                    memory.discard(hostBlocks[b.index()], o * GuestAbi.PAGE_SIZE, n * GuestAbi.PAGE_SIZE);
                    discardedPages += n;
                    madviseCalls++;
                } else {
                    balloon.clearRange(g, g + n);
                }
            });
        }
        forward(
                inflate ? EventType.BALLOON_INFLATE : EventType.BALLOON_DEFLATE,
                EventType.Balloon.of(mode == GuestAbi.BM_BITMAP),
                pfn,
                pages);
    }

    private void forward(EventType type, long a, long b, long c) {
        if (forwarding) {
            queue.add(type, a, b, c);
        }
    }

    private void reject(RejectReason reason, long b, long c) {
        rejected++;
        // REJECT always reaches the engine once it listens: garbage is counted even between migrations.
        if (forwarding) {
            queue.add(EventType.REJECT, reason.ordinal(), b, c);
        }
    }

    /**
     * Reports the pages in the balloon now, as PFN ranges ({@code BALLOON_INFLATE} from {@link EventType.Balloon#AT_SETUP}), and
     * from now on queues every request for {@link #queue()}: the two happen at once, so a
     * request is either in the state or in the queue.
     */
    public void balloonState(GuestRequests into) {
        synchronized (lock) {
            queue.clear();
            // hints still queued will never be acted on: nothing of theirs is left to race with the guest
            while (pendingCount > 0) {
                hintTaken = (int) pendingHints[pendingHead * 2 + 1] + 1;
                pendingHead = (pendingHead + 1) % (pendingHints.length / 2);
                pendingCount--;
            }
            for (dev.ballast.core.mem.RamBlock b : layout.blocks()) {
                balloon.forEachRun(
                        b.firstIndex(),
                        b.endIndex(),
                        (s, e) -> into.request(
                                EventType.BALLOON_INFLATE,
                                EventType.Balloon.AT_SETUP,
                                b.firstPfn() + (s - b.firstIndex()),
                                e - s));
            }
            forwarding = true;
        }
    }

    /** Sets pages of the device's balloon bitmap (a destination learns them from the source). */
    public void setBalloon(int block, long offset, long count, boolean ballooned) {
        synchronized (lock) {
            long g = layout.block(block).firstIndex() + offset;
            if (ballooned) {
                balloon.setRange(g, g + count);
            } else {
                balloon.clearRange(g, g + count);
            }
        }
    }

    public long balloonPages() {
        synchronized (lock) {
            return balloon.count();
        }
    }

    /** What the devices have done so far. */
    public Stats stats() {
        synchronized (lock) {
            return new Stats(
                    requests,
                    rejected,
                    balloonMessages,
                    discardedPages,
                    madviseCalls,
                    reportEntries,
                    reportedPages,
                    reportDiscardedPages,
                    hintDiscardedPages,
                    shrunkPages,
                    allocStalls,
                    stallWaitNs);
        }
    }

    /**
     * @param requests        ring entries handled
     * @param rejected        entries (or ring states) rejected as garbage by the device itself
     * @param balloonMessages well-formed balloon messages
     * @param discardedPages  balloon pages given back to the host with madvise
     * @param madviseCalls    {@code madvise} calls of the device (one per run of contiguous pages in a balloon
     *     message or a report, in one RAM block)
     * @param reportEntries   free page report entries (up to three ranges each)
     * @param reportedPages   pages reported free (RAM only)
     * @param reportDiscardedPages reported pages the host discarded
     * @param hintDiscardedPages hinted pages the host discarded ({@code WF_DISCARD_HINTED})
     * @param shrunkPages     held pages the guest's hint driver's shrinker gave back (as the guest told)
     * @param allocStalls     the guest's allocation stalls (as it told)
     * @param stallWaitNs     how long its stalled allocations waited, in all (as it told)
     */
    public record Stats(
            long requests,
            long rejected,
            long balloonMessages,
            long discardedPages,
            long madviseCalls,
            long reportEntries,
            long reportedPages,
            long reportDiscardedPages,
            long hintDiscardedPages,
            long shrunkPages,
            long allocStalls,
            long stallWaitNs) {}

    @Override
    public void close() {
        closed = true;
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null) {
            t.interrupt();
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
