package dev.ballast.kvm.dest;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.invariant.FaultBound;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.mem.GuestMemory;
import dev.ballast.kvm.mem.MemorySlot;
import dev.ballast.kvm.sys.Userfaultfd;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The KVM destination's side of postcopy, as QEMU's with its {@code userfaultfd}: the guest runs
 * here while pages are still missing; a page it touches that the destination does not hold blocks
 * its vCPU in the kernel, the fault thread asks the source for it ({@link PageRequests}), and the
 * vCPU goes on once the page is placed ({@code UFFDIO_COPY}, or {@code UFFDIO_ZEROPAGE} for a page
 * of zeros).
 *
 * <p>{@link #arm} takes the pages the destination holds at the switch-over (what pre-copy delivered,
 * less what the switch-over's discard named stale), drops every other page of the RAM blocks
 * ({@code MADV_DONTNEED}, so a preallocated or stale page faults too), registers the RAM blocks
 * ({@code UFFDIO_REGISTER_MODE_MISSING}) and starts the fault thread; then the caller starts the
 * vCPU. The system slot (program, page tables, rings) is never registered: it is part of the
 * device state, in place before the guest resumes.
 *
 * <p><b>Single send</b>: a page is placed at most once. {@link #place} of a page that is held or
 * already placed places nothing and counts a violation (invariant 3's hard check); the kernel
 * refuses such a copy as well ({@code EEXIST}), and a page it refuses that this class thought
 * missing counts too. A held page the guest faults on is one pre-copy sent as zeros and never
 * wrote (the sink does not touch zero pages it never received): it is placed as zero here, no
 * request.
 *
 * <p>Events, with the RAM block's index and the page's offset: {@code FAULT} when a fault is
 * turned into a request, {@code FAULT_SERVED} (with the latency from the fault's arrival to the
 * placement) when that page is placed, {@code FAULT_ZERO} for a held page placed as zero, or a
 * missing page the destination places as zero itself ({@link ZeroHere}: the balloon bitmap's). The
 * sink is called from the fault thread and from the threads that place pages. With a
 * {@link FaultBound} every fault's wait is checked against invariant 8
 * ({@link #faultsServedViolation}).
 *
 * <p>The host must not read or write a missing page from Java code (a device, a check): the
 * thread would block in the fault with the JVM waiting on it at its next safepoint. Guest memory
 * is the vCPU's until {@link #complete}.
 */
public final class PostcopyPlacer implements AutoCloseable {
    private static final int PAGE = GuestAbi.PAGE_SIZE;

    private final GuestMemory memory;
    private final List<MemorySlot> blocks;
    private final long[] bases;
    private final long[] ends;
    private volatile PageRequests requests;
    private final ZeroHere zeroHere;
    private final FaultBound bound;
    private final EventSink events;
    private final LongSupplier clock;
    private final Userfaultfd uffd;
    private final Thread faultThread;
    private volatile boolean running = true;
    private volatile RuntimeException failure;

    // guarded by this
    private final long[][] held;
    private final long[][] placed;
    private final long[][] requested;
    private final long[][] faultNs;
    /** Per page asked for: the requests outstanding when it was asked for (what it waits behind). */
    private final int[][] queuedBefore;
    /** Pages asked for and not placed yet. */
    private long outstanding;

    private long lateFaults;
    /** The first fault served later than its bound: block, offset, latency, bound; or null. */
    private long[] firstLate;

    private long missing;
    private long faults;
    private long requestCount;
    private long duplicateFaults;
    private long staleMessages;
    private long placedCopies;
    private long placedZero;
    private long heldZero;
    private long violations;
    private String firstViolation;
    private long[] latencies = new long[1024];
    private int latencyCount;

    /** Which missing pages the destination places as zero itself when the guest faults on them, without a request. */
    @FunctionalInterface
    public interface ZeroHere {
        /** Called on the fault thread, once per page, with this placer's lock held: answer, do not block. */
        boolean test(int block, long offset);

        ZeroHere NONE = (block, offset) -> false;
    }

    /** Names a page in a violation's words (block index and offset in it). */
    @FunctionalInterface
    public interface PageNamer {
        String name(int block, long offset);
    }

    private PostcopyPlacer(
            GuestMemory memory,
            long[][] heldPages,
            PageRequests requests,
            ZeroHere zeroHere,
            FaultBound bound,
            EventSink events,
            LongSupplier clock) {
        this.memory = memory;
        this.blocks = memory.ramBlocks();
        if (heldPages.length != blocks.size()) {
            throw new IllegalArgumentException(
                    "held pages for " + heldPages.length + " blocks, the guest has " + blocks.size());
        }
        this.requests = requests;
        this.zeroHere = zeroHere;
        this.bound = bound;
        this.events = events;
        this.clock = clock;
        int n = blocks.size();
        this.bases = new long[n];
        this.ends = new long[n];
        this.held = new long[n][];
        this.placed = new long[n][];
        this.requested = new long[n][];
        this.faultNs = new long[n][];
        this.queuedBefore = new int[n][];
        for (int b = 0; b < n; b++) {
            MemorySlot block = blocks.get(b);
            int words = (int) ((block.pages() + 63) / 64);
            if (heldPages[b].length != words) {
                throw new IllegalArgumentException("held pages of block " + block.name() + ": " + heldPages[b].length
                        + " words, the block needs " + words);
            }
            held[b] = heldPages[b].clone();
            long tail = block.pages() % 64;
            if (tail != 0) {
                held[b][words - 1] &= (1L << tail) - 1;
            }
            placed[b] = new long[words];
            requested[b] = new long[words];
            faultNs[b] = new long[(int) block.pages()];
            queuedBefore[b] = new int[(int) block.pages()];
            bases[b] = block.host().address();
            ends[b] = bases[b] + block.bytes();
            for (long w : held[b]) {
                missing -= Long.bitCount(w);
            }
            missing += block.pages();
        }
        dropPagesNotHeld();
        Userfaultfd u = Userfaultfd.open();
        try {
            for (MemorySlot block : blocks) {
                u.registerMissing(block.host());
            }
        } catch (RuntimeException e) {
            u.close();
            throw e;
        }
        this.uffd = u;
        this.faultThread =
                Thread.ofPlatform().name("postcopy-faults").daemon(true).start(this::serveFaults);
    }

    /**
     * Arms postcopy on a destination whose guest has not started: {@code heldPages} (per RAM block,
     * bit {@code i % 64} of word {@code i / 64} for page {@code i}) are the pages it holds; every
     * other page is dropped and will fault. Start the vCPU after this returns.
     */
    public static PostcopyPlacer arm(
            GuestMemory memory, long[][] heldPages, PageRequests requests, EventSink events, LongSupplier clock) {
        return new PostcopyPlacer(memory, heldPages, requests, ZeroHere.NONE, null, events, clock);
    }

    /**
     * As {@link #arm(GuestMemory, long[][], PageRequests, EventSink, LongSupplier)}; a missing page the
     * guest faults on that {@code zeroHere} names (a page of the switch-over's balloon bitmap) is placed
     * as zero at once, journaled as {@code FAULT_ZERO}, and not asked for. With a {@code bound} (null:
     * none) invariant 8 is checked: a fault whose page is placed later than the bound allows for the
     * requests it waited behind, or is still missing at the end, is a violation
     * ({@link #faultsServedViolation}).
     */
    public static PostcopyPlacer arm(
            GuestMemory memory,
            long[][] heldPages,
            PageRequests requests,
            ZeroHere zeroHere,
            FaultBound bound,
            EventSink events,
            LongSupplier clock) {
        return new PostcopyPlacer(memory, heldPages, requests, zeroHere, bound, events, clock);
    }

    private void dropPagesNotHeld() {
        for (int b = 0; b < blocks.size(); b++) {
            MemorySlot block = blocks.get(b);
            long pages = block.pages();
            long p = 0;
            while (p < pages) {
                while (p < pages && isSet(held[b], p)) p++;
                long from = p;
                while (p < pages && !isSet(held[b], p)) p++;
                if (p > from) {
                    memory.discard(block, from * PAGE, (p - from) * PAGE);
                }
            }
        }
    }

    private static boolean isSet(long[] bits, long p) {
        return (bits[(int) (p >>> 6)] & (1L << p)) != 0;
    }

    private static void set(long[] bits, long p) {
        bits[(int) (p >>> 6)] |= 1L << p;
    }

    // ------------------------------------------------------------------ the fault thread

    private void serveFaults() {
        try {
            while (running) {
                int n = uffd.awaitFaults(50);
                for (int i = 0; i < n && running; i++) {
                    if (uffd.event(i) == Userfaultfd.UFFD_EVENT_PAGEFAULT) {
                        onFault(
                                uffd.faultAddress(i),
                                (uffd.faultFlags(i) & Userfaultfd.UFFD_PAGEFAULT_FLAG_WRITE) != 0);
                    }
                }
            }
        } catch (RuntimeException | Error e) {
            failure = e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
    }

    private void onFault(long address, boolean write) {
        int b = blockOf(address);
        if (b < 0) {
            throw new IllegalStateException(
                    "userfaultfd reported a fault outside guest RAM at 0x" + Long.toHexString(address));
        }
        long page = (address - bases[b]) / PAGE;
        long now = clock.getAsLong();
        PageRequests ask = null;
        synchronized (this) {
            faults++;
            if (isSet(placed[b], page)) {
                staleMessages++; // placed after the fault was queued; the copy woke the vCPU
            } else if (isSet(held[b], page)) {
                // held but never written here: pre-copy sent it as zeros
                set(placed[b], page);
                if (uffd.zeroPage(bases[b] + page * PAGE, PAGE, true)) {
                    heldZero++; // a held page was never counted missing
                    events.publish(EventType.FAULT_ZERO, now, b, page, 0);
                } else {
                    violation("page " + page + " of " + blocks.get(b).name()
                            + " was held and faulted, and the kernel refused a zero page (EEXIST)");
                }
            } else if (!isSet(requested[b], page) && zeroHere.test(b, page)) {
                set(placed[b], page);
                if (uffd.zeroPage(bases[b] + page * PAGE, PAGE, true)) {
                    missing--;
                    placedZero++;
                    events.publish(EventType.FAULT_ZERO, now, b, page, 0);
                } else {
                    violation("page " + page + " of " + blocks.get(b).name()
                            + " was missing and faulted, and the kernel refused a zero page (EEXIST)");
                }
            } else if (isSet(requested[b], page)) {
                duplicateFaults++; // another touch (or a retried one) of a page already asked for
            } else {
                set(requested[b], page);
                faultNs[b][(int) page] = now;
                queuedBefore[b][(int) page] = (int) Math.min(Integer.MAX_VALUE, outstanding);
                outstanding++;
                requestCount++;
                events.publish(EventType.FAULT, now, b, page, write ? 1 : 0);
                ask = requests;
            }
        }
        if (ask != null) {
            ask.request(b, page);
        }
    }

    private int blockOf(long address) {
        for (int b = 0; b < bases.length; b++) {
            if (address >= bases[b] && address < ends[b]) {
                return b;
            }
        }
        return -1;
    }

    // ------------------------------------------------------------------ placing arriving pages

    /**
     * Places an arriving page ({@code content}: one page of native memory) with {@code UFFDIO_COPY},
     * waking a vCPU that waits for it. Returns false, placing nothing, when the page is held or was
     * placed already: a page sent twice, counted as a violation.
     */
    public boolean place(int block, long offset, MemorySegment content) {
        if (content.byteSize() != PAGE || !content.isNative()) {
            throw new IllegalArgumentException("a page is " + PAGE + " bytes of native memory");
        }
        if (!claim(block, offset)) {
            return false;
        }
        if (uffd.copy(bases[block] + offset * PAGE, content, true) != PAGE) {
            synchronized (this) {
                violation("page " + offset + " of " + blocks.get(block).name()
                        + ": the kernel refused UFFDIO_COPY (EEXIST), the page was there");
            }
            return false;
        }
        placedOne(block, offset, false);
        return true;
    }

    /** Places an arriving page of zeros ({@code UFFDIO_ZEROPAGE}); as {@link #place} otherwise. */
    public boolean placeZero(int block, long offset) {
        if (!claim(block, offset)) {
            return false;
        }
        return zeroClaimed(block, offset);
    }

    /**
     * Places a page of zeros unless it is here already (held, placed, or placed as zero on a fault
     * meanwhile): the destination's own zero for a page no one will send (a ballooned page at
     * COMPLETE). Returns whether it placed it.
     */
    public boolean placeZeroIfMissing(int block, long offset) {
        synchronized (this) {
            check(block, offset);
            if (isSet(held[block], offset) || isSet(placed[block], offset)) return false;
            set(placed[block], offset);
        }
        return zeroClaimed(block, offset);
    }

    /** {@code UFFDIO_ZEROPAGE} on a page this placer has claimed; a refusal (the page was there) is a violation. */
    private boolean zeroClaimed(int block, long offset) {
        if (!uffd.zeroPage(bases[block] + offset * PAGE, PAGE, true)) {
            synchronized (this) {
                violation("page " + offset + " of " + blocks.get(block).name()
                        + ": the kernel refused UFFDIO_ZEROPAGE (EEXIST), the page was there");
            }
            return false;
        }
        placedOne(block, offset, true);
        return true;
    }

    private void check(int block, long offset) {
        if (block < 0
                || block >= blocks.size()
                || offset < 0
                || offset >= blocks.get(block).pages()) {
            throw new IllegalArgumentException("page " + offset + " of block " + block + " is not guest RAM");
        }
    }

    private synchronized boolean claim(int block, long offset) {
        check(block, offset);
        if (isSet(held[block], offset) || isSet(placed[block], offset)) {
            violation("page " + offset + " of " + blocks.get(block).name() + " sent again: it was "
                    + (isSet(held[block], offset) ? "held since the switch-over" : "placed already"));
            return false;
        }
        set(placed[block], offset);
        return true;
    }

    private synchronized void placedOne(int block, long offset, boolean zero) {
        missing--;
        if (zero) placedZero++;
        else placedCopies++;
        long faulted = faultNs[block][(int) offset];
        if (faulted != 0) {
            long now = clock.getAsLong();
            long latency = now - faulted;
            outstanding--;
            if (bound != null) {
                long allowed = bound.allowedNs(queuedBefore[block][(int) offset]);
                if (latency > allowed) {
                    lateFaults++;
                    if (firstLate == null) firstLate = new long[] {block, offset, latency, allowed};
                }
            }
            if (latencyCount == latencies.length) {
                latencies = Arrays.copyOf(latencies, latencies.length * 2);
            }
            latencies[latencyCount++] = latency;
            events.publish(EventType.FAULT_SERVED, now, block, offset, latency);
        }
    }

    private void violation(String what) {
        violations++;
        if (firstViolation == null) {
            firstViolation = what;
        }
    }

    // ------------------------------------------------------------------ the end

    /**
     * Invariant 8 on this destination, in the words of its violation: the first fault served later
     * than the bound allowed, else (the migration has ended) the first fault whose page is still
     * missing; null if none, or without a bound.
     */
    public synchronized String faultsServedViolation(PageNamer names) {
        if (bound == null) return null;
        if (firstLate != null) {
            return FaultBound.late(names.name((int) firstLate[0], firstLate[1]), firstLate[2], firstLate[3]);
        }
        for (int b = 0; b < requested.length; b++) {
            for (int w = 0; w < requested[b].length; w++) {
                long waiting = requested[b][w] & ~placed[b][w];
                if (waiting != 0) {
                    return FaultBound.neverServed(names.name(b, 64L * w + Long.numberOfTrailingZeros(waiting)));
                }
            }
        }
        return null;
    }

    /** Pages neither held nor placed yet. */
    public synchronized long missingPages() {
        return missing;
    }

    /**
     * The pages of a RAM block that are here (held at the switch-over or placed since), bit
     * {@code i % 64} of word {@code i / 64} for page {@code i}: what a destination reports when a
     * postcopy link is recovered, so that the source resends the rest.
     */
    public synchronized long[] presentPages(int block) {
        long[] bits = held[block].clone();
        for (int w = 0; w < bits.length; w++) {
            bits[w] |= placed[block][w];
        }
        return bits;
    }

    /**
     * Postcopy recovery: from now on faults are asked of {@code link} (the new connection), and it
     * is asked again, now, for every page requested and not yet placed (the old link may have lost
     * the request or the page). Returns how many pages it was asked for.
     */
    public long reRequest(PageRequests link) {
        long[][] again;
        synchronized (this) {
            this.requests = link;
            again = new long[blocks.size()][];
            for (int b = 0; b < again.length; b++) {
                again[b] = requested[b].clone();
                for (int w = 0; w < again[b].length; w++) {
                    again[b][w] &= ~placed[b][w];
                }
            }
        }
        long n = 0;
        for (int b = 0; b < again.length; b++) {
            for (int w = 0; w < again[b].length; w++) {
                for (long bits = again[b][w]; bits != 0; bits &= bits - 1) {
                    link.request(b, 64L * w + Long.numberOfTrailingZeros(bits));
                    n++;
                }
            }
        }
        return n;
    }

    /**
     * At COMPLETE, once no fault waits: places every page still missing as zero and returns how many. No one will send
     * them (the source had nothing to send: pages free page hints cleared when hints run with postcopy), and a guest
     * reads such a page as zero once userfaultfd lets go of it, as QEMU's does when postcopy ends; the guest's own
     * check then tells whether it had a page in use among them (invariant 1) or a free page that must read as poison
     * (invariant 2).
     */
    public long placeZeroWhereMissing() {
        long n = 0;
        for (int b = 0; b < blocks.size(); b++) {
            long[] here = presentPages(b);
            long pages = blocks.get(b).pages();
            for (int w = 0; w < here.length; w++) {
                long absent = ~here[w];
                if (w == here.length - 1 && pages % 64 != 0) absent &= (1L << (pages % 64)) - 1;
                for (; absent != 0; absent &= absent - 1) {
                    if (placeZeroIfMissing(b, 64L * w + Long.numberOfTrailingZeros(absent))) n++;
                }
            }
        }
        return n;
    }

    /** Whether a page is in place here (held at the switch-over or placed since). */
    public synchronized boolean present(int block, long offset) {
        return isSet(held[block], offset) || isSet(placed[block], offset);
    }

    /**
     * Ends postcopy once every page is here: stops the fault thread and unregisters the RAM blocks,
     * which are ordinary memory again. Throws, changing nothing, while pages are missing.
     */
    public void complete() {
        long left = missingPages();
        if (left != 0) {
            throw new IllegalStateException(left + " pages are still missing: postcopy is not complete");
        }
        stopFaultThread();
        for (MemorySlot block : blocks) {
            uffd.unregister(block.host());
        }
    }

    /** Why the fault thread stopped, or null. */
    public RuntimeException failure() {
        return failure;
    }

    /** The figures so far. */
    public synchronized Figures figures() {
        long[] sorted = Arrays.copyOf(latencies, latencyCount);
        Arrays.sort(sorted);
        long median = latencyCount == 0 ? 0 : sorted[latencyCount / 2];
        long p99 = latencyCount == 0 ? 0 : sorted[Math.min(latencyCount - 1, (int) Math.floor(0.99 * latencyCount))];
        long max = latencyCount == 0 ? 0 : sorted[latencyCount - 1];
        long total = 0;
        for (int i = 0; i < latencyCount; i++) total += sorted[i];
        return new Figures(
                faults,
                requestCount,
                duplicateFaults,
                staleMessages,
                placedCopies,
                placedZero,
                heldZero,
                missing,
                outstanding,
                lateFaults,
                violations,
                firstViolation,
                latencyCount,
                median,
                p99,
                max,
                total);
    }

    /**
     * Postcopy's figures on this destination.
     *
     * @param faults          fault messages read
     * @param requests        pages asked for (one per page)
     * @param duplicateFaults faults on a page already asked for (another touch, or a retried one)
     * @param staleMessages   fault messages for a page placed after the fault was queued
     * @param placedCopies    pages placed with {@code UFFDIO_COPY}
     * @param placedZero      pages placed with {@code UFFDIO_ZEROPAGE}: zero fills as they arrived, and
     *                        faulted pages the destination places as zero itself ({@link ZeroHere})
     * @param heldZero        held pages the guest faulted on, placed as zero here without a request
     * @param missing         pages neither held nor placed
     * @param unserved        pages asked for and not placed yet
     * @param lateFaults      faults served later than invariant 8's bound (0 without one)
     * @param violations      pages sent twice (placed or held already), none placed twice
     * @param firstViolation  the first of them, or null
     * @param served          requested pages placed (the latency samples)
     * @param medianLatencyNs median, from the fault's arrival to the placement of its page
     * @param p99LatencyNs    99th percentile of the same
     * @param maxLatencyNs    the longest of the same
     * @param totalLatencyNs  the same added up: how long faulting vCPUs waited for their pages
     */
    public record Figures(
            long faults,
            long requests,
            long duplicateFaults,
            long staleMessages,
            long placedCopies,
            long placedZero,
            long heldZero,
            long missing,
            long unserved,
            long lateFaults,
            long violations,
            String firstViolation,
            long served,
            long medianLatencyNs,
            long p99LatencyNs,
            long maxLatencyNs,
            long totalLatencyNs) {}

    private void stopFaultThread() {
        running = false;
        try {
            faultThread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the fault thread stops", e);
        }
    }

    /**
     * Stops the fault thread and closes the descriptor. A vCPU still waiting for a page wakes and
     * finds it zero (the kernel's rule on close): stop the guest first.
     */
    @Override
    public void close() {
        stopFaultThread();
        uffd.close();
    }
}
