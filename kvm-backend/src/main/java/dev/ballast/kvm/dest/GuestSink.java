package dev.ballast.kvm.dest;

import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.invariant.FaultBound;
import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.Hello;
import dev.ballast.core.wire.PageSink;
import dev.ballast.core.wire.PageStreamReader;
import dev.ballast.core.wire.Verdict;
import dev.ballast.core.wire.WireException;
import dev.ballast.kvm.guest.GuestState;
import dev.ballast.kvm.guest.KvmGuest;
import dev.ballast.kvm.guest.SelfCheck;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.mem.GuestLayout;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.function.LongPredicate;

/**
 * The destination of a KVM migration, behind a {@link dev.ballast.core.wire.PageStreamReader}:
 * creates the destination VM when a handshake arrives (or resumes the one of a failed migration of
 * the same session), installs pages, fills and balloon ranges, takes the guest's state sections,
 * and at COMPLETE starts the guest and lets it check itself: its answer is the verdict.
 *
 * <p>The reader has validated every record before it arrives here; this sink checks what only it
 * can: that the layout is a Ballast KVM guest's that this host will hold, and that the state
 * sections have the sizes of this guest's. A zero fill for a page never received is not even
 * read, so pages never sent are never touched (they take no host memory).
 *
 * <p>Remembers what it received, so a retried migration of the same session (a resume) is asked
 * only for the rest; but a page counts as received only once a stream digest has verified it
 * ({@link #verified}): the pages of a stream that failed after its last verified point (rejected,
 * cut, stalled) are asked for again, whatever they hold here, so a stream's altered page never
 * reaches a started guest. With {@link #prepare}, the VM of the next migration is made, and its memory
 * allocated, before that migration starts. Calls come from one thread at a time (the reader's).
 */
public final class GuestSink implements PageSink, AutoCloseable {
    /** Makes the VM that receives a guest of this layout. */
    @FunctionalInterface
    public interface Factory {
        KvmGuest incoming(RamLayout layout, int poisonByte);
    }

    /** What this sink did, for logs and tests. */
    public record Counters(
            long pagesWritten, long pagesFilled, long balloonRanges, long stateBytes, long guestsCreated) {}

    private final Factory factory;
    private final LongPredicate drop;
    private final long maxGuestBytes;
    /** Where the postcopy destination's faults and placements are journaled (FAULT, FAULT_SERVED, FAULT_ZERO). */
    private final EventSink events;
    /**
     * The fixed part of invariant 8's bound here, in place of the simulator's 250 ms: a fault's time is wall time
     * on a shared host (the vCPU, fault, reader and engine threads wait for a core).
     */
    public static final long FAULT_BOUND_BASE_NS = 2_000_000_000L;

    /** Invariant 8's bound on the faults of the postcopy migration under way, from its SWITCH_OVER; or null. */
    private FaultBound faultBound;

    private KvmGuest guest;
    /** A VM made ahead by {@link #prepare}, with its memory allocated, for the next migration. */
    private KvmGuest spare;

    /** The handshake of the connection under way (the fault thread reads it to name a block on the wire). */
    private volatile Hello hello;

    private long session;
    /** Pages whose contents a stream digest verified (a resume does not ask for them again). */
    private PageBitmap received;
    /** Pages written or filled since the last verified point of the stream under way: dropped from {@link #received} if it fails. */
    private PageBitmap unverified;
    /** Pages this VM's memory was written at since it was made (one never written is zero without a look). */
    private PageBitmap touched;

    private long systemReceived;
    private final MemorySegment vcpu = Arena.ofAuto().allocate(GuestState.VCPU_BYTES, 8);
    private long vcpuReceived;
    private SelfCheck check;
    private boolean completed;

    // postcopy
    /** The reader of the connection under way: page requests go back through it. */
    private volatile PageStreamReader reader;
    /** The balloon bitmap of the switch-over (BALLOON_BITMAP records), or null. */
    private PageBitmap ballooned;
    /** Places pages once the guest runs here (from the switch-over to COMPLETE), or null. */
    private volatile PostcopyPlacer placer;
    /** One page of native memory for a page or fill to place. */
    private final MemorySegment scratch = Arena.ofAuto().allocate(GuestAbi.PAGE_SIZE, GuestAbi.PAGE_SIZE);

    private PostcopyPlacer.Figures postcopyFigures;
    private volatile long requestsLost;
    /** Faults on ballooned pages, placed as zero here without a request. */
    private volatile long balloonZeroFaults;

    private long pagesWritten;
    private long pagesFilled;
    private long balloonRanges;
    private long stateBytes;
    private long guestsCreated;

    /**
     * @param maxGuestBytes the largest guest this destination accepts
     * @param drop          page indexes whose data this destination loses on purpose (tests of the self-check)
     */
    public GuestSink(Factory factory, long maxGuestBytes, LongPredicate drop) {
        this(factory, maxGuestBytes, drop, EventSink.NONE);
    }

    /**
     * @param events where postcopy's faults and placements go, timed by {@link System#nanoTime()} (the
     *               engine's clock in this process): the run's journal, or {@link EventSink#NONE}
     */
    public GuestSink(Factory factory, long maxGuestBytes, LongPredicate drop, EventSink events) {
        this.factory = factory;
        this.maxGuestBytes = maxGuestBytes;
        this.drop = drop == null ? i -> false : drop;
        this.events = events == null ? EventSink.NONE : events;
    }

    @Override
    public void open(Hello h, PageRanges missing) throws WireException {
        RamLayout l = h.layout();
        String refusal = refusal(l);
        if (refusal != null) throw new WireException(WireException.Reason.REFUSED, refusal);
        // A postcopy migration whose link failed is recovered by a HELLO flagged RECOVER (recover()), not resumed.
        boolean resume = guest != null
                && !completed
                && placer == null
                && session == h.sessionId()
                && sameBlocks(guest.layout(), l);
        if (!resume) {
            closeGuest();
            if (spare != null && sameBlocks(spare.layout(), l)) {
                guest = spare;
                spare = null;
            } else {
                try {
                    guest = factory.incoming(l, h.poisonByte());
                } catch (RuntimeException e) {
                    throw new WireException(
                            WireException.Reason.REFUSED, "cannot create the destination VM: " + e.getMessage());
                }
            }
            guestsCreated++;
            received = new PageBitmap(l.totalPages());
            unverified = new PageBitmap(l.totalPages());
            touched = new PageBitmap(l.totalPages());
            completed = false;
            check = null;
            ballooned = null;
            faultBound = null;
            postcopyFigures = null;
            balloonZeroFaults = 0;
            recoveries = 0;
            requestsLost = 0;
        } else {
            // The stream before this one failed: what it carried after its last verified point is not received.
            received.andNot(unverified);
        }
        unverified.clearAll();
        hello = h;
        session = h.sessionId();
        // a new migration of the session starts here: a recovery must not end it with an older verdict
        synchronized (done) {
            done.removeIf(d -> d.session() == h.sessionId());
        }
        systemReceived = 0;
        vcpuReceived = 0;
        RamLayout g = guest.layout();
        for (RamBlock b : g.blocks()) {
            // The source sends its whole balloon state again at the start of every attempt.
            guest.devices().setBalloon(b.index(), 0, b.pages(), false);
            long i = received.nextClearBit(b.firstIndex(), b.endIndex());
            while (i < b.endIndex()) {
                long e = received.nextSetBit(i, b.endIndex());
                missing.range(l.blockNamed(b.name()).index(), i - b.firstIndex(), e - i);
                i = received.nextClearBit(e, b.endIndex());
            }
        }
    }

    /** Why this destination will not take a guest of this layout, or null. */
    private String refusal(RamLayout l) {
        long bytes = l.totalPages() * RamLayout.PAGE_SIZE;
        if (bytes % GuestLayout.HUGE_PAGE != 0 || !sameBlocks(l, RamLayout.pcLike(bytes))) {
            return "the layout " + l + " is not a Ballast KVM guest's (PC-like, a multiple of 2 MiB)";
        }
        if (bytes > maxGuestBytes) {
            return "a guest of " + (bytes >> 20) + " MiB is larger than this destination takes ("
                    + (maxGuestBytes >> 20) + " MiB)";
        }
        return null;
    }

    /**
     * Makes the VM for a guest of this layout now and allocates all of its memory
     * ({@link dev.ballast.kvm.mem.GuestMemory#populate}), as a QEMU destination started with
     * {@code -mem-prealloc} does: the next migration of this layout that is not a resume arrives
     * into memory that is already there, and pays no first-touch fault per page. Replaces the
     * VM an earlier call made, if no migration took it.
     *
     * @throws IllegalArgumentException if this destination would refuse a guest of this layout
     */
    public void prepare(RamLayout layout) {
        String refusal = refusal(layout);
        if (refusal != null) throw new IllegalArgumentException(refusal);
        closeSpare();
        KvmGuest g = factory.incoming(layout, 0); // the guest's features arrive with its state
        try {
            g.machine().memory().populate();
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
        spare = g;
    }

    /** Whether a VM made by {@link #prepare} waits for a migration. */
    public boolean prepared() {
        return spare != null;
    }

    private static boolean sameBlocks(RamLayout a, RamLayout b) {
        if (a.blockCount() != b.blockCount()) return false;
        for (RamBlock x : a.blocks()) {
            RamBlock y = b.blockNamed(x.name());
            if (y == null || y.firstPfn() != x.firstPfn() || y.pages() != x.pages()) return false;
        }
        return true;
    }

    /** The guest's block for a block of the handshake's layout. */
    private RamBlock local(int block) {
        return guest.layout().blockNamed(hello.layout().block(block).name());
    }

    /** The reader of the connection that is about to run: postcopy's page requests go back through it. */
    public void attach(PageStreamReader r) {
        reader = r;
    }

    @Override
    public void writePages(int block, long offset, int count, ByteBuffer data) {
        RamBlock b = local(block);
        MemorySegment src = MemorySegment.ofBuffer(data);
        if (placer != null) {
            placeAll(b, offset, count, src, -1);
            return;
        }
        MemorySegment mem = guest.blockMemory(b.index());
        long g = b.firstIndex() + offset;
        long p = 0;
        while (p < count) {
            long q = p;
            while (q < count && !drop.test(g + q)) q++;
            if (q > p) {
                MemorySegment.copy(
                        src,
                        p * GuestAbi.PAGE_SIZE,
                        mem,
                        (offset + p) * GuestAbi.PAGE_SIZE,
                        (q - p) * GuestAbi.PAGE_SIZE);
            }
            p = q + 1; // q is dropped (or past the end)
        }
        received.setRange(g, g + count);
        unverified.setRange(g, g + count);
        touched.setRange(g, g + count);
        pagesWritten += count;
    }

    @Override
    public void fill(int block, long offset, long count, int fillByte) {
        RamBlock b = local(block);
        if (placer != null) {
            placeAll(b, offset, count, null, fillByte);
            return;
        }
        MemorySegment mem = guest.blockMemory(b.index());
        long g = b.firstIndex() + offset;
        for (long p = 0; p < count; p++) {
            long at = (offset + p) * GuestAbi.PAGE_SIZE;
            // A page never written here is zero without a look (a look would fault it in); one
            // written before is checked, and written only if it is not.
            if (fillByte == 0 && (!touched.get(g + p) || KvmGuest.isZero(mem, at))) continue;
            mem.asSlice(at, GuestAbi.PAGE_SIZE).fill((byte) fillByte);
            touched.set(g + p);
        }
        received.setRange(g, g + count);
        unverified.setRange(g, g + count);
        pagesFilled += count;
    }

    @Override
    public void balloon(int block, long offset, long count, boolean ballooned) {
        guest.devices().setBalloon(local(block).index(), offset, count, ballooned);
        balloonRanges++;
    }

    /**
     * Postcopy: pages that arrive after the switch-over are placed ({@code UFFDIO_COPY}, or
     * {@code UFFDIO_ZEROPAGE} for a zero fill), each once, waking a vCPU that waits for one; never
     * written into guest memory from here (the page is missing: the write would fault).
     */
    private void placeAll(RamBlock b, long offset, long count, MemorySegment data, int fillByte) {
        PostcopyPlacer p = placer;
        if (data == null && fillByte != 0) scratch.fill((byte) fillByte);
        long g = b.firstIndex() + offset;
        for (long i = 0; i < count; i++) {
            if (data == null && fillByte == 0) {
                p.placeZero(b.index(), offset + i);
            } else if (data == null) {
                p.place(b.index(), offset + i, scratch);
            } else if (data.isNative()) {
                p.place(b.index(), offset + i, data.asSlice(i * GuestAbi.PAGE_SIZE, GuestAbi.PAGE_SIZE));
            } else {
                MemorySegment.copy(data, i * GuestAbi.PAGE_SIZE, scratch, 0, GuestAbi.PAGE_SIZE);
                p.place(b.index(), offset + i, scratch);
            }
        }
        received.setRange(g, g + count);
        if (data == null) pagesFilled += count;
        else pagesWritten += count;
    }

    /** Postcopy, before the switch-over: these pages are stale here; dropped, they fault and come again. */
    @Override
    public void discard(int block, long offset, long count) throws WireException {
        if (placer != null) throw new WireException(WireException.Reason.REFUSED, "DISCARD after the switch-over");
        long g = local(block).firstIndex() + offset;
        received.clearRange(g, g + count);
        unverified.clearRange(g, g + count);
    }

    @Override
    public void balloonBitmap(int block, long offset, long count, boolean in) throws WireException {
        if (placer != null)
            throw new WireException(WireException.Reason.REFUSED, "BALLOON_BITMAP after the switch-over");
        if (ballooned == null) ballooned = new PageBitmap(guest.layout().totalPages());
        long g = local(block).firstIndex() + offset;
        if (in) ballooned.setRange(g, g + count);
        else ballooned.clearRange(g, g + count);
    }

    /**
     * Invariant 8's bound for this migration's faults: the source's pace (its SWITCH_OVER) with a fixed part of
     * {@link #FAULT_BOUND_BASE_NS}.
     */
    @Override
    public void faultPace(int requestsPerStep, long stepNs) {
        faultBound = new FaultBound(FAULT_BOUND_BASE_NS, stepNs, requestsPerStep);
    }

    /**
     * Postcopy: the guest's state has arrived; the pages held here stay, every other page of RAM is
     * registered with userfaultfd ({@link PostcopyPlacer}), and the guest starts. A page it faults on
     * that the balloon bitmap names is placed as zero here; any other is asked for with a PAGE_REQUEST.
     */
    @Override
    public void switchOver() throws WireException {
        PostcopyPlacer armed = placer;
        if (armed != null) {
            // A recovered connection: the pages the guest asked for and has not got are asked for again on it.
            armed.reRequest(this::fault);
            return;
        }
        String bad = stateMissing();
        if (bad != null) throw new WireException(WireException.Reason.REFUSED, bad);
        GuestState.Vcpu v;
        try {
            v = GuestState.decodeVcpu(vcpu);
        } catch (IllegalArgumentException e) {
            throw new WireException(WireException.Reason.REFUSED, "bad vCPU state: " + e.getMessage());
        }
        RamLayout l = guest.layout();
        long[][] held = new long[l.blockCount()][];
        for (RamBlock b : l.blocks()) {
            long[] bits = new long[(int) ((b.pages() + 63) / 64)];
            for (long i = received.nextSetBit(b.firstIndex(), b.endIndex());
                    i < b.endIndex();
                    i = received.nextSetBit(i + 1, b.endIndex())) {
                long p = i - b.firstIndex();
                if (!drop.test(i)) bits[(int) (p >>> 6)] |= 1L << p;
            }
            held[b.index()] = bits;
        }
        try {
            guest.adoptFeatures(v.features(hello.poisonByte()));
            placer = PostcopyPlacer.arm(
                    guest.machine().memory(), held, this::fault, this::inBalloon, faultBound, events, System::nanoTime);
            guest.start(v.state());
        } catch (RuntimeException e) {
            throw new WireException(
                    WireException.Reason.REFUSED, "the guest did not resume on the destination: " + e.getMessage());
        }
    }

    /** On the fault thread: a page the guest touched that is not here and not in the balloon bitmap. */
    private void fault(int block, long offset) {
        try {
            // the reader names blocks as the handshake does
            reader.requestPages(
                    hello.layout()
                            .blockNamed(guest.layout().block(block).name())
                            .index(),
                    offset,
                    1);
        } catch (IOException | RuntimeException e) {
            // The connection is gone (or a recovering one is not in postcopy yet): the page stays requested, and the
            // recovered connection asks for it again (switchOver()).
            requestsLost++;
        }
    }

    /**
     * Postcopy recovery: a new connection of the migration whose guest runs here (its link failed after the
     * switch-over). Reports, in the handshake's block numbering, every page that is neither here nor in the
     * switch-over's balloon bitmap (those this destination places as zero itself); the pages the guest waits for are
     * asked for again once the reader is in postcopy ({@link #switchOver}).
     */
    @Override
    public void recover(Hello h, PageRanges lacking) throws WireException {
        PostcopyPlacer p = placer;
        if (p == null
                || guest == null
                || completed
                || session != h.sessionId()
                || !sameBlocks(guest.layout(), h.layout()))
            throw new WireException(
                    WireException.Reason.REFUSED,
                    String.format("no postcopy migration of session 0x%x runs here to recover", h.sessionId()));
        if (p.failure() != null)
            throw new WireException(
                    WireException.Reason.REFUSED,
                    "the destination's fault thread failed: " + p.failure().getMessage());
        hello = h;
        PageBitmap bb = ballooned;
        for (RamBlock b : guest.layout().blocks()) {
            long[] present = p.presentPages(b.index());
            int wire = h.layout().blockNamed(b.name()).index();
            long i = 0;
            while (i < b.pages()) {
                while (i < b.pages() && (has(present, i) || (bb != null && bb.get(b.firstIndex() + i)))) i++;
                long from = i;
                while (i < b.pages() && !has(present, i) && (bb == null || !bb.get(b.firstIndex() + i))) i++;
                if (i > from) lacking.range(wire, from, i - from);
            }
        }
        recoveries++;
    }

    /** Postcopy migrations remembered after they completed, for a recovery whose COMPLETE_ACK was lost. */
    static final int REMEMBERED = 4;

    private record Done(long session, RamLayout layout, Verdict verdict) {}

    /** The last {@value #REMEMBERED} postcopy migrations completed here, oldest first (any thread reads it). */
    private final java.util.ArrayDeque<Done> done = new java.util.ArrayDeque<>();

    void remember(long session, RamLayout layout, Verdict v) {
        synchronized (done) {
            done.removeIf(d -> d.session() == session);
            if (done.size() == REMEMBERED) done.removeFirst();
            done.addLast(new Done(session, layout, v));
        }
    }

    /**
     * A HELLO flagged RECOVER of a postcopy migration that completed here (its COMPLETE_ACK was lost on the way to the
     * source): the verdict sent then, if the session is one of the last {@value #REMEMBERED} completed here and its
     * layout is the same; else null (and {@link #recover} refuses it). Needs no guest slot: it touches no guest.
     */
    @Override
    public Verdict completedBefore(Hello h) {
        synchronized (done) {
            for (Done d : done)
                if (d.session() == h.sessionId() && sameBlocks(d.layout(), h.layout())) return d.verdict();
        }
        return null;
    }

    private static boolean has(long[] bits, long i) {
        return (bits[(int) (i >>> 6)] & (1L << i)) != 0;
    }

    private long recoveries;

    /** Postcopy recoveries of the migration under way (or the last), on this destination. */
    public long recoveries() {
        return recoveries;
    }

    /** Page requests that found no connection (it had failed) and were asked again on the recovered one. */
    public long requestsLost() {
        return requestsLost;
    }

    /** On the fault thread: whether a faulted page is in the switch-over's balloon bitmap (placed as zero, no request). */
    private boolean inBalloon(int block, long offset) {
        PageBitmap bb = ballooned;
        if (bb == null || !bb.get(guest.layout().block(block).firstIndex() + offset)) return false;
        balloonZeroFaults++;
        return true;
    }

    /** Why the guest cannot start from the state that arrived, or null. */
    private String stateMissing() {
        long sysBytes = guest.machine().memory().system().bytes();
        if (systemReceived != sysBytes || vcpuReceived != GuestState.VCPU_BYTES) {
            return "the stream carried no complete guest state (system " + systemReceived + " of " + sysBytes
                    + " bytes, vCPU " + vcpuReceived + " of " + GuestState.VCPU_BYTES + "); the guest was not started";
        }
        return null;
    }

    /**
     * Postcopy's COMPLETE: the ballooned pages never sent are placed as zero, every page must be here,
     * userfaultfd lets go of the RAM, and the guest (running since the switch-over) checks itself.
     */
    private Verdict completePostcopy() {
        Verdict v = completePostcopyChecked();
        if (summary == null) return v;
        // the clause goes last, and the message is cut so that the whole fits the wire's limit
        String m = v.message();
        int room = dev.ballast.core.wire.WireFormat.MAX_MESSAGE_BYTES - summary.length() - 2;
        while (m.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > room)
            m = m.substring(0, Math.min(m.length() - 1, room));
        return Verdict.of(v.checkedPages(), v.badPages(), v.ok(), m + "; " + summary, v.checkMicros());
    }

    private Verdict completePostcopyChecked() {
        summary = null;
        long t0 = System.nanoTime();
        PostcopyPlacer p = placer;
        try {
            RamLayout l = guest.layout();
            PageBitmap bb = ballooned;
            if (bb != null) {
                for (RamBlock b : l.blocks()) {
                    for (long i = bb.nextSetBit(b.firstIndex(), b.endIndex());
                            i < b.endIndex();
                            i = bb.nextSetBit(i + 1, b.endIndex())) {
                        p.placeZeroIfMissing(b.index(), i - b.firstIndex());
                    }
                }
            }
            PostcopyPlacer.Figures f = p.figures();
            String unserved = p.faultsServedViolation(
                    (b, off) -> l.describeIndex(l.block(b).firstIndex() + off));
            long neverSent = 0;
            if (f.violations() == 0 && p.failure() == null && unserved == null) {
                // pages no one sent (hints with postcopy): zero, as the guest reads them once postcopy ends; its own
                // check below tells whether one was in use
                neverSent = p.placeZeroWhereMissing();
                f = p.figures();
            }
            if (f.missing() != 0 || f.violations() != 0 || p.failure() != null || unserved != null) {
                postcopyFigures = f;
                String why = p.failure() != null
                        ? "the fault thread failed: " + p.failure().getMessage()
                        : unserved != null
                                ? Invariant.FAULTS_SERVED.violation(unserved)
                                : f.violations() != 0
                                        ? Invariant.NO_NEEDLESS_RESEND.violation(
                                                "in postcopy a page came twice: " + f.firstViolation())
                                        : f.missing() + " pages never arrived in postcopy";
                return Verdict.of(0, 0, false, why, (System.nanoTime() - t0) / 1000);
            }
            p.complete();
            postcopyFigures = p.figures();
            check = SelfCheck.run(guest, hello.poisonByte());
            summary = PostcopySummary.of(postcopyFigures, balloonZeroFaults).clause()
                    + (neverSent == 0 ? "" : "; " + neverSent + " pages never sent, placed as zero at COMPLETE");
        } catch (RuntimeException e) {
            return Verdict.of(
                    0,
                    0,
                    false,
                    "the guest did not run on the destination: " + e.getMessage(),
                    (System.nanoTime() - t0) / 1000);
        } finally {
            completed = true;
        }
        return verdict(check, guest.devices().discardViolation(), (System.nanoTime() - t0) / 1000);
    }

    /**
     * The verdict of a guest's self-check on this destination and of this destination's own discards while the guest
     * ran here (free page reports its host discarded): a discard that broke an invariant fails the migration even
     * when the self-check read every page right, and names that invariant, so that the source's result says so.
     *
     * @param discardViolation {@code GuestDevices.discardViolation()} of this destination's guest, or null
     */
    static Verdict verdict(SelfCheck check, String discardViolation, long micros) {
        if (discardViolation != null) {
            return Verdict.of(
                    check.checkedPages(),
                    check.badPages(),
                    false,
                    discardViolation + " (on the destination"
                            + (check.ok() ? ")" : "; its self-check: " + check.violation() + ")"),
                    micros);
        }
        return Verdict.of(
                check.checkedPages(),
                check.badPages(),
                check.ok(),
                check.ok() ? "verified: " + check.checkedPages() + " pages checked" : check.violation(),
                micros);
    }

    /** The postcopy clause of the last verdict (the destination's fault figures), or null. */
    private String summary;

    /** Faults of the last postcopy migration on ballooned pages, served here as zero without a request. */
    public long balloonZeroFaults() {
        return balloonZeroFaults;
    }

    /** The last postcopy migration's figures on this destination (faults, their latency), or null. */
    public PostcopyPlacer.Figures postcopyFigures() {
        PostcopyPlacer p = placer;
        return postcopyFigures != null ? postcopyFigures : p == null ? null : p.figures();
    }

    private void closePlacer() {
        PostcopyPlacer p = placer;
        if (p != null) {
            placer = null;
            p.close();
        }
    }

    @Override
    public void state(int section, long total, long offset, ByteBuffer data) throws WireException {
        int n = data.remaining();
        MemorySegment src = MemorySegment.ofBuffer(data);
        switch (section) {
            case GuestState.SECTION_SYSTEM -> {
                MemorySegment sys = guest.machine().memory().system().host();
                if (total != sys.byteSize()) {
                    throw new WireException(
                            WireException.Reason.BAD_LENGTH,
                            "system state of " + total + " bytes; this guest's system slot has " + sys.byteSize());
                }
                MemorySegment.copy(src, 0, sys, offset, n);
                systemReceived = offset + n;
            }
            case GuestState.SECTION_VCPU -> {
                if (total != GuestState.VCPU_BYTES) {
                    throw new WireException(
                            WireException.Reason.BAD_LENGTH,
                            "vCPU state of " + total + " bytes, expected " + GuestState.VCPU_BYTES);
                }
                MemorySegment.copy(src, 0, vcpu, offset, n);
                vcpuReceived = offset + n;
            }
            default ->
                throw new WireException(
                        WireException.Reason.REFUSED,
                        "state section " + section + " means nothing to a KVM destination");
        }
        stateBytes += n;
    }

    /** The stream's digest verified everything so far: its pages count as received. */
    @Override
    public void verified() {
        if (unverified != null) unverified.clearAll();
    }

    @Override
    public Verdict complete() {
        if (placer != null) {
            Verdict v = completePostcopy();
            remember(session, guest.layout(), v);
            return v;
        }
        long sysBytes = guest.machine().memory().system().bytes();
        if (systemReceived != sysBytes || vcpuReceived != GuestState.VCPU_BYTES) {
            return Verdict.of(
                    0,
                    0,
                    false,
                    "the stream carried no complete guest state (system " + systemReceived + " of " + sysBytes
                            + " bytes, vCPU " + vcpuReceived + " of " + GuestState.VCPU_BYTES
                            + "); the guest was not started");
        }
        GuestState.Vcpu v;
        try {
            v = GuestState.decodeVcpu(vcpu);
        } catch (IllegalArgumentException e) {
            return Verdict.of(0, 0, false, "bad vCPU state: " + e.getMessage() + "; the guest was not started");
        }
        long t0 = System.nanoTime();
        try {
            guest.adoptFeatures(v.features(hello.poisonByte()));
            guest.start(v.state());
            check = SelfCheck.run(guest, hello.poisonByte());
        } catch (RuntimeException e) {
            completed = true;
            return Verdict.of(
                    0,
                    0,
                    false,
                    "the guest did not run on the destination: " + e.getMessage(),
                    (System.nanoTime() - t0) / 1000);
        } finally {
            completed = true;
        }
        return verdict(check, guest.devices().discardViolation(), (System.nanoTime() - t0) / 1000);
    }

    /** The last self-check, or null. */
    public SelfCheck lastCheck() {
        return check;
    }

    /** Whether the last migration completed (its guest was started, or failed to). */
    public boolean completed() {
        return completed;
    }

    /**
     * Hands the guest of a completed migration over (to be the next source, or to be closed);
     * the next migration gets a new VM.
     */
    public KvmGuest takeGuest() {
        closePlacer();
        KvmGuest g = guest;
        guest = null;
        completed = false;
        received = null;
        unverified = null;
        touched = null;
        return g;
    }

    /** The guest being received, or null. */
    public KvmGuest guest() {
        return guest;
    }

    public Counters counters() {
        return new Counters(pagesWritten, pagesFilled, balloonRanges, stateBytes, guestsCreated);
    }

    private void closeGuest() {
        closePlacer();
        if (guest != null) {
            guest.close();
            guest = null;
        }
    }

    private void closeSpare() {
        if (spare != null) {
            spare.close();
            spare = null;
        }
    }

    @Override
    public void close() {
        closeGuest();
        closeSpare();
    }
}
