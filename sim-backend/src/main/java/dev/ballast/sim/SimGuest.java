package dev.ballast.sim;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.GuestRequests;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.engine.SourceGuest;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.run.HintDriver;
import dev.ballast.core.run.WorkloadSpec;
import java.util.ArrayDeque;

/**
 * A simulated guest with its host-side devices: memory, an allocator, a balloon driver, a free
 * page hint driver, page poisoning and dirty logging. Page contents are modelled compactly, one
 * {@code int} a page ({@link PageContent}). It tells the run's {@link SimCheckers} what they need
 * to see (every write, every hint command) and checks nothing itself.
 *
 * <p>Single-threaded: the simulator calls it between engine steps and the engine calls it during
 * them. Not final: tests plant bugs in subclasses (for example a host that forgets to mark its
 * own writes dirty).
 */
public class SimGuest implements SourceGuest {
    /** Largest range in one balloon message: a PFN array holds 256 entries, a bitmap message 32768 bits. */
    static final int PFN_ARRAY_MAX = 256;

    static final int BITMAP_MESSAGE_MAX = 32768;

    /**
     * What a guest is made of: its memory and devices, the run's cost meters and checkers, the
     * simulator's knobs (its hint driver's block size, speed and delivery delay), and what its
     * balloon's changes cost ({@link SimRun} passes {@link SimOptions#balloon()}).
     */
    public record Setup(
            RamLayout layout,
            GuestFeatures features,
            boolean balloonBitmapMessages,
            SimCosts costs,
            SimCheckers checkers,
            SimOptions options,
            Kernel kernel,
            BalloonCosts balloonCosts) {
        /** A guest whose balloon changes take no time ({@link BalloonCosts#FREE}: tests of other parts). */
        public Setup(
                RamLayout layout,
                GuestFeatures features,
                boolean balloonBitmapMessages,
                SimCosts costs,
                SimCheckers checkers,
                SimOptions options,
                Kernel kernel) {
            this(layout, features, balloonBitmapMessages, costs, checkers, options, kernel, BalloonCosts.FREE);
        }

        /** A guest with {@link Kernel#IDEAL}: the idealised hint driver, no zeroing on allocation (tests of one part). */
        public Setup(
                RamLayout layout,
                GuestFeatures features,
                boolean balloonBitmapMessages,
                SimCosts costs,
                SimCheckers checkers,
                SimOptions options) {
            this(layout, features, balloonBitmapMessages, costs, checkers, options, Kernel.IDEAL);
        }

        /** The same guest with a hint driver that reports blocks of 2^order pages at this rate. */
        public Setup withHintDriver(int order, double blocksPerSec) {
            return new Setup(
                    layout,
                    features,
                    balloonBitmapMessages,
                    costs,
                    checkers,
                    options.withHintDriver(order, blocksPerSec),
                    kernel,
                    balloonCosts);
        }

        public Setup withKernel(Kernel k) {
            return new Setup(layout, features, balloonBitmapMessages, costs, checkers, options, k, balloonCosts);
        }

        /** The same guest with a balloon whose changes cost {@code b}. */
        public Setup withBalloonCosts(BalloonCosts b) {
            return new Setup(layout, features, balloonBitmapMessages, costs, checkers, options, kernel, b);
        }
    }

    /**
     * What the guest's kernel does that its drivers depend on (the workload's guest parameters,
     * {@link WorkloadSpec#GUEST_KEYS}).
     *
     * @param hintDriver   which free page hint driver runs
     * @param initOnAlloc  the allocator zeroes every block it hands out (Linux's {@code init_on_alloc=1}); ignored
     *                     under page poisoning, which Linux lets take precedence
     * @param deflateOnOom the balloon device offers DEFLATE_ON_OOM: an allocation that finds nothing free, even after
     *                     the shrinker, takes {@link #OOM_DEFLATE_PAGES} back from the balloon
     * @param reporting    free page reporting (VIRTIO_BALLOON_F_REPORTING): the guest reports free blocks of
     *                     {@link #REPORT_ORDER} {@link #REPORT_DELAY_NS} after it freed memory, {@link #REPORT_CAPACITY}
     *                     at a time, isolated until the host has handled them; the host discards them
     * @param discardPoisoned the host discards reported pages even when the guest poisons free pages (QEMU does not:
     *                     the guest relies on a reported page keeping its poison)
     * @param discardHinted the host discards each range the guest hints free for the command id its device holds, as
     *                     it reads the hint (Firecracker 1.14's balloon device); QEMU's keeps them
     * @param hintRun      the host runs a free page hint run of its own before each migration (Firecracker's
     *                     {@code hinting/start} with {@code acknowledge_on_stop}, as before a snapshot)
     * @param dirtyLogSyncOnly the host's dirty log is cleared by a sync only ({@code dirty-log=sync}, as QEMU under
     *                     TCG): {@link #clearDirty} does nothing, so a write logged before a range was sent or hinted
     *                     free is reported by the next sync all the same
     * @param minFreePages the free pages the kernel keeps for its reserves ({@code min-free}, Linux's min watermark):
     *                     Linux's hint driver takes no block that would leave fewer free (its allocations cannot
     *                     reclaim)
     */
    public record Kernel(
            HintDriver hintDriver,
            boolean initOnAlloc,
            boolean deflateOnOom,
            boolean reporting,
            boolean discardPoisoned,
            boolean discardHinted,
            boolean hintRun,
            boolean dirtyLogSyncOnly,
            long minFreePages) {
        public static final Kernel IDEAL = new Kernel(HintDriver.IDEAL, false, false);

        /** Without free page reporting. */
        public Kernel(HintDriver hintDriver, boolean initOnAlloc, boolean deflateOnOom) {
            this(hintDriver, initOnAlloc, deflateOnOom, false, false);
        }

        /**
         * A host that keeps hinted pages (QEMU's) and re-arms its dirty log range by range (the default); no reserves
         * kept free.
         */
        public Kernel(
                HintDriver hintDriver,
                boolean initOnAlloc,
                boolean deflateOnOom,
                boolean reporting,
                boolean discardPoisoned) {
            this(hintDriver, initOnAlloc, deflateOnOom, reporting, discardPoisoned, false, false, false, 0);
        }

        public static Kernel of(WorkloadSpec w) {
            return new Kernel(
                    w.hintDriver(),
                    w.initOnAlloc(),
                    w.deflateOnOom(),
                    w.reporting(),
                    w.discardPoisoned(),
                    w.discardHinted(),
                    w.hintRun(),
                    w.dirtyLogSyncOnly(),
                    w.minFreeBytes() / RamLayout.PAGE_SIZE);
        }
    }

    /** Free page reporting reports free blocks of 2^9 pages (2 MiB, pageblock_order on x86) and larger. */
    static final int REPORT_ORDER = 9;
    /** Blocks in one report (PAGE_REPORTING_CAPACITY). */
    static final int REPORT_CAPACITY = 32;
    /** Reporting starts this long after a free (PAGE_REPORTING_DELAY, 2 s). */
    static final long REPORT_DELAY_NS = 2_000_000_000L;

    /** The resident memory is published at most this often (guest time). */
    static final long RESIDENT_EVERY_NS = 100_000_000L;

    /** Pages Linux's balloon driver deflates at each out-of-memory notification (VIRTIO_BALLOON_OOM_NR_PAGES, 1 MiB). */
    static final long OOM_DEFLATE_PAGES = 256;

    final RamLayout layout;
    final RamBlock[] blocks;
    final long totalPages;
    final GuestFeatures features;
    final boolean balloonBitmapMessages;
    final SimCosts costs;
    /** What a balloon message and the host's release of an inflated range cost in the guest's time. */
    final BalloonCosts balloonCosts;

    final PageAllocator alloc;
    final PageBitmap balloon;
    final PageBitmap held;
    final PageBitmap dirty;
    final PageBitmap hostDirty;
    /** Pages backed by host memory: written since the host last released them (its resident memory). */
    final PageBitmap resident;
    /** Free page reporting: blocks reported and not allocated since (Linux's PageReported). */
    final PageBitmap reported;
    /** Free page reporting: blocks isolated for a report the host has not handled yet. */
    final PageBitmap isolated;
    /** Held ranges a subclass's driver reported ({@link #reportFreeRange}): given back to the free lists as they are. */
    private final PageBitmap heldAsIs;
    /**
     * Under poisoning: pages of blocks Linux's driver holds that the host discarded; they read zero until the driver
     * gives them back and the allocator poisons them again (the poison check at the end of a hop passes over them).
     */
    final PageBitmap discardedWhileHeld;

    private final long[] reportBatch = new long[REPORT_CAPACITY];
    private int reportBatchSize;
    private long reportBatchReadyNs = -1;
    private long reportDueNs = -1;
    private int reportScanBlock;
    private long reportScan;
    /** Pages backed by host memory now: {@link #resident}'s count, kept as it changes. */
    private long residentCount;
    /** The resident count last published as a {@link EventType#RESIDENT} event, and when it may be published next. */
    private long publishedResident = -1;

    private long nextResidentNs;
    /** Pages the host released by discarding reported (or hinted) pages. */
    long discardedPages;
    /** Reports (batches) the guest sent. */
    long reports;

    final SimCheckers checkers;
    /** Where the guest publishes what it does on its own (reports, discards, its shrinker): the run's journal. */
    private EventSink events = EventSink.NONE;

    final long hintDeliveryNs;
    /**
     * The guest's requests, one queue per kind of virtqueue: balloon messages (inflate, deflate),
     * which the guest waits on, so the host has them before the guest goes on; and free page
     * reports, which arrive late. A report still in flight never holds a balloon message up.
     */
    private final RequestQueue balloonQueue = new RequestQueue();

    private final RequestQueue queue = new RequestQueue();
    /**
     * The host's notices of its discards to the migration ({@link EventType#HOST_ZEROED}), while the dirty log runs.
     * They reach the migration {@link #hintDeliveryNs} after the discard (the device and the migration are threads of
     * their own, as QEMU's balloon device and its migration thread), while the guest has its blocks back at once: a
     * sync may come between the two.
     */
    private final RequestQueue zeroedQueue = new RequestQueue();
    /** Dirty-log syncs since the latest {@link #startDirtyLog} (the engine's numbering of this migration's syncs). */
    private long logSyncs;

    private final ArrayDeque<long[]> lateDeflates = new ArrayDeque<>();
    /**
     * Deflated pages waiting for the host to take their message before the guest has them again: {when, first page,
     * pages, 1 if they go to the deflate's caller, 1 if they are freed poisoned}, oldest first.
     */
    private final ArrayDeque<long[]> deflating = new ArrayDeque<>();
    /** When the host takes the balloon driver's last message: it sends one after the other and waits for each. */
    private long balloonBusyUntilNs = Long.MIN_VALUE;
    /** An allocation that deflated the balloon on OOM waits for the host's answer until then. */
    private long oomDeflateReadyNs = Long.MIN_VALUE;

    /** The guest's memory as the guest sees it (in postcopy: what it last wrote, or the source's page). */
    int[][] content;
    /** The memory the migration reads pages from: the content, but in postcopy the source's, frozen at the switch-over. */
    int[][] sourceMemory;
    /** Postcopy: the guest runs on the destination, its writes land there, and a page it lacks faults (else null). */
    private PostcopyDestination onDestination;

    private int version;
    private boolean logging;
    private boolean running = true;
    private long syncs;
    private long nowNs;

    /** Pages the host's devices write into (used rings): in use for the guest's whole life. */
    final long[] ringPages;

    private int ringCursor;

    // The free page hint driver.
    final int hintOrder;
    final double hintBlocksPerNs;
    private long hintLiveId = -1;
    /** The last request id the device was given, over every migration of this guest. */
    private long lastRequestId = -1;

    private boolean hintReporting;
    private int hintScanBlock;
    private long hintScan;
    private double hintCredit;
    private long freeBitmapId = -1;
    final Kernel kernel;
    /** Linux's driver: the command id the device holds now, which the driver's work reads when it runs. */
    private long received = -1;
    /** Linux's driver: the blocks it holds, the last allocated on top (its free page list). */
    private long[] heldBlocks = new long[64];
    /** Linux's driver: for each held block, the number of its report in the queue (to tell whether the host took it). */
    private long[] heldReport = new long[64];

    private int heldCount;

    /** The command id the host's hint device holds now: the last one it sent (-1: none yet). */
    private long hostCmd = -1;
    /** While the engine drains: where the requests go after the host's device has read them. */
    private GuestRequests drainInto;

    private final GuestRequests hostSide = this::hostReads;
    private final RamLayout.BlockRangeConsumer discardHint =
            (b, off, n) -> hostDiscard(b.firstIndex() + off, n, EventType.HostDiscard.HINT);
    /** Pages the host discarded because the guest hinted them free. */
    long hintDiscardedPages;

    // Counters for the report.
    long balloonMessages;
    /** The guest's time its balloon messages took, in all (the host's releases included). */
    long balloonNs;
    /** The host's releases of inflated ranges (one madvise for each contiguous range of a message). */
    long hostReleases;

    long hintMessages;
    /** Pages the shrinker gave back to the allocator under memory pressure. */
    long shrunkPages;
    /** Pages taken back from the balloon because an allocation found nothing else (DEFLATE_ON_OOM). */
    long oomDeflatedPages;
    /**
     * Allocation stalls: allocations that failed after the shrinker and DEFLATE_ON_OOM had given what they could, and
     * waited (each counted once, however many times it retried).
     */
    long allocStalls;
    /** Guest time the stalled allocations waited until they were served, summed. */
    long allocStallNs;
    /** When the allocation that stalls now first failed, or -1 when none does. */
    private long stallSinceNs = -1;
    /** Pages the shrinker gave back while the allocation that stalls now waited. */
    private long stallReclaimed;

    public SimGuest(Setup setup) {
        this.layout = setup.layout();
        this.blocks = layout.blocks().toArray(RamBlock[]::new);
        this.totalPages = layout.totalPages();
        this.features = setup.features();
        this.balloonBitmapMessages = setup.balloonBitmapMessages();
        this.costs = setup.costs();
        this.balloonCosts = setup.balloonCosts();
        this.checkers = setup.checkers();
        this.hintDeliveryNs = setup.options().hintDeliveryNs();
        this.alloc = new PageAllocator(layout);
        this.balloon = new PageBitmap(totalPages);
        this.held = new PageBitmap(totalPages);
        this.dirty = new PageBitmap(totalPages);
        this.hostDirty = new PageBitmap(totalPages);
        this.resident = new PageBitmap(totalPages);
        this.reported = new PageBitmap(totalPages);
        this.isolated = new PageBitmap(totalPages);
        this.heldAsIs = new PageBitmap(totalPages);
        this.discardedWhileHeld = new PageBitmap(totalPages);
        this.hintOrder = setup.options().hintOrder();
        this.hintBlocksPerNs = setup.options().hintBlocksPerSec() / 1e9;
        this.kernel = setup.kernel();
        if (kernel.dirtyLogSyncOnly()) checkers.resend.logClearedBySyncOnly();
        this.content = new int[blocks.length][];
        int poison = features.poisonByte();
        for (int i = 0; i < blocks.length; i++) {
            content[i] = new int[Math.toIntExact(blocks[i].pages())];
            if (poison != 0) java.util.Arrays.fill(content[i], -poison);
        }
        this.sourceMemory = content;
        if (poison != 0) resident.setAll(); // the kernel poisoned every page at boot
        residentCount = resident.count();
        // Two pages for the devices' used rings, allocated before anything else.
        this.ringPages = new long[2];
        for (int i = 0; i < ringPages.length; i++) {
            ringPages[i] = alloc.alloc(0);
            write(ringPages[i]);
        }
    }

    // ------------------------------------------------------------------ the guest's memory

    int read(long index) {
        RamBlock b = blockOf(index);
        return content[b.index()][(int) (index - b.firstIndex())];
    }

    private void set(long index, int value) {
        RamBlock b = blockOf(index);
        content[b.index()][(int) (index - b.firstIndex())] = value;
        if (onDestination != null) onDestination.written(b.index(), (int) (index - b.firstIndex()), value);
    }

    /**
     * Postcopy: whether a write of {@code value} to this page must wait for it (the destination
     * lacks it: the guest faults, and the write is made once the page is placed).
     */
    private boolean faults(long index, int value) {
        return onDestination != null && onDestination.fault(index, value);
    }

    private int nextVersion() {
        version = version == Integer.MAX_VALUE ? 1 : version + 1;
        return version;
    }

    /** The guest writes a page. */
    public void write(long index) {
        if (onDestination != null) {
            writeValue(index, nextVersion());
            return;
        }
        set(index, nextVersion());
        if (resident.testAndSet(index)) residentCount++;
        if (logging) dirty.set(index);
        checkers.resend.onWrite(index);
    }

    /** The guest writes every page of [index, index+pages), which may span RAM blocks. */
    public void writeRange(long index, long pages) {
        if (onDestination != null) {
            for (long i = index; i < index + pages; i++) write(i);
            return;
        }
        RamBlock b = blockOf(index);
        if (index + pages > b.endIndex()) {
            long first = b.endIndex() - index;
            writeRange(index, first);
            writeRange(index + first, pages - first);
            return;
        }
        int[] c = content[b.index()];
        int off = (int) (index - b.firstIndex());
        for (int i = 0; i < pages; i++) c[off + i] = nextVersion();
        residentCount += resident.setRangeCounting(index, index + pages);
        if (logging) dirty.setRange(index, index + pages);
        checkers.resend.onWriteRange(index, index + pages);
    }

    /** The host writes a page of guest memory (a device's used ring). */
    public void hostWrite(long index) {
        int v = nextVersion();
        if (faults(index, v)) return;
        set(index, v);
        if (resident.testAndSet(index)) residentCount++;
        markHostDirty(index);
        checkers.resend.onWrite(index);
    }

    /** Marks a page the host wrote as dirty, as every writer must be tracked. */
    protected void markHostDirty(long index) {
        if (logging) hostDirty.set(index);
    }

    /** A device answers the guest: the host writes the next used-ring entry. */
    void deviceReply() {
        hostWrite(ringPages[ringCursor]);
        ringCursor = (ringCursor + 1) % ringPages.length;
    }

    /**
     * Allocates a block of 2^order pages through the guest's allocator, as the kernel's page
     * allocator hands one out: zeroed under {@code init-on-alloc} (a write by the guest, so the
     * dirty log sees it). Returns -1 when no block is free; nothing is reclaimed.
     */
    public long allocPages(int order) {
        long i = alloc.alloc(order);
        if (i < 0) return i;
        reported.clearRange(i, i + (1L << order));
        if (zeroesOnAlloc()) zeroRange(i, 1L << order);
        return i;
    }

    /**
     * Allocates as {@link #allocPages} and, when nothing is free, reclaims as Linux does before
     * it gives up: the hint driver's shrinker gives held blocks back, then (DEFLATE_ON_OOM) the
     * balloon deflates {@link #OOM_DEFLATE_PAGES} at a time. Returns -1, and counts a stall, when
     * that is not enough. Returns -1 without a stall while the pages a deflate brings back are on
     * their way (with MUST_TELL_HOST the guest has them once the host has taken the message): the
     * allocation waits for them, as Linux's OOM notifier waits for the host.
     */
    public long allocReclaiming(int order) {
        if (running) completeDeflates();
        long i = allocPages(order);
        long shrunk = 0;
        while (i < 0) {
            long n = shrink(1L << order);
            if (n == 0) break;
            shrunk += n;
            i = allocPages(order);
        }
        if (stallSinceNs >= 0) stallReclaimed += shrunk;
        // an allocation that deflated the balloon waits for the pages until the host has taken the message (no stall)
        if (i < 0 && oomDeflateReadyNs > nowNs) return -1;
        while (i < 0 && kernel.deflateOnOom() && balloon.count() > 0) {
            long[] d = deflate(OOM_DEFLATE_PAGES, 0, false, true);
            if (d == null) break;
            oomDeflatedPages += d[1];
            if (d[2] > nowNs) {
                oomDeflateReadyNs = d[2];
                return -1;
            }
            i = allocPages(order);
        }
        if (i >= 0) {
            allocServed(order);
        } else if (stallSinceNs < 0) {
            stallSinceNs = nowNs;
            stallReclaimed = 0;
            allocStalls++;
            events.publish(EventType.ALLOC_STALL, nowNs, order, allocStalls, alloc.freePages());
        }
        return i;
    }

    /**
     * The application's allocation of 2^order pages was served (from the free lists or by reclaim): an allocation
     * that had stalled ends its wait here ({@link EventType#ALLOC_RESUMED}, with the guest time since it first
     * failed: the memory it needed came back at one of the guest's later ticks, when the host had taken the reports
     * of held blocks, said done, or something was freed). Nothing when no allocation stalls.
     */
    public void allocServed(int order) {
        if (stallSinceNs < 0) return;
        long wait = nowNs - stallSinceNs;
        allocStallNs += wait;
        events.publish(EventType.ALLOC_RESUMED, nowNs, order, wait, stallReclaimed);
        stallSinceNs = -1;
    }

    /** Whether an allocation of the application is waiting for memory now. */
    public boolean allocStalled() {
        return stallSinceNs >= 0;
    }

    /** Whether allocations are zeroed: {@code init-on-alloc}, unless page poisoning takes precedence (as Linux 5.11 on). */
    private boolean zeroesOnAlloc() {
        return kernel.initOnAlloc() && features.poisonByte() == 0;
    }

    /** The guest zeroes [index, index+pages): a write like any other. */
    private void zeroRange(long index, long pages) {
        RamBlock b = blockOf(index);
        int off = (int) (index - b.firstIndex());
        java.util.Arrays.fill(content[b.index()], off, off + (int) pages, 0);
        residentCount += resident.setRangeCounting(index, index + pages);
        if (logging) dirty.setRange(index, index + pages);
        checkers.resend.onWriteRange(index, index + pages);
    }

    /** The guest frees pages; under poisoning it fills them with the poison value first. */
    public void freePages(long index, long pages) {
        poisonFreed(index, pages);
        alloc.free(index, pages);
        freed();
    }

    /** Memory went back to the free lists: free page reporting runs {@link #REPORT_DELAY_NS} later, unless it is due already. */
    private void freed() {
        if (kernel.reporting() && reportDueNs < 0) reportDueNs = nowNs + REPORT_DELAY_NS;
    }

    /** Under poisoning, the guest fills pages it frees with the poison value (a write like any other). */
    private void poisonFreed(long index, long pages) {
        int poison = features.poisonByte();
        if (poison != 0 && onDestination != null) {
            for (long i = index; i < index + pages; i++) writeValue(i, -poison);
        } else if (poison != 0) {
            discardedWhileHeld.clearRange(index, index + pages);
            RamBlock b = blockOf(index);
            int off = (int) (index - b.firstIndex());
            java.util.Arrays.fill(content[b.index()], off, off + (int) pages, -poison);
            residentCount += resident.setRangeCounting(index, index + pages);
            if (logging) dirty.setRange(index, index + pages);
            checkers.resend.onWriteRange(index, index + pages);
        }
    }

    /**
     * Whether [index, index+pages) lies in one block Linux's hint driver holds: it gives it back through the allocator,
     * which poisons what it frees under poisoning (the idealised driver, and ranges a subclass reported, go back to the
     * free lists as they are).
     */
    boolean poisonedWhenGivenBack(long index, long pages) {
        long end = index + pages;
        return kernel.hintDriver().linux()
                && held.nextClearBit(index, end) >= end
                && heldAsIs.nextSetBit(index, end) >= end;
    }

    /** Whether the guest uses this page: not free, not in the balloon, not held by the hint driver, not isolated for a report. */
    public boolean inUse(long index) {
        return !alloc.isFree(index) && !balloon.get(index) && !held.get(index) && !isolated.get(index);
    }

    public boolean isRingPage(long index) {
        for (long r : ringPages) if (r == index) return true;
        return false;
    }

    public long freePageCount() {
        return alloc.freePages();
    }

    public long balloonPageCount() {
        return balloon.count();
    }

    /** The guest now runs on this memory (the destination's, after a migration). */
    void adopt(int[][] memory) {
        this.content = memory;
        this.sourceMemory = memory;
        this.onDestination = null;
        resident.clearAll();
        for (RamBlock b : blocks) {
            int[] c = memory[b.index()];
            for (int i = 0; i < c.length; i++) if (c[i] != 0) resident.set(b.firstIndex() + i);
        }
        residentCount = resident.count();
    }

    /**
     * Postcopy's switch-over: the migration goes on reading the source's memory as it is now, and
     * the guest runs on {@code dest}: its memory as it sees it starts as the source's, its writes
     * land on the destination too, and a page the destination lacks faults.
     */
    void moveTo(PostcopyDestination dest) {
        this.sourceMemory = content;
        int[][] seen = new int[content.length][];
        for (int i = 0; i < content.length; i++) seen[i] = content[i].clone();
        this.content = seen;
        this.onDestination = dest;
    }

    /** Whether the guest runs on a postcopy destination now (after the switch-over, until the migration ends). */
    boolean onPostcopyDestination() {
        return onDestination != null;
    }

    /** Postcopy: the guest writes {@code value} to a page on the destination (it faults first if the page is not there). */
    private void writeValue(long index, int value) {
        if (faults(index, value)) return;
        writePlaced(index, value);
    }

    /** Postcopy: a write made now that its page is on the destination (a deferred one, once the page was placed). */
    void writePlaced(long index, int value) {
        set(index, value);
        if (logging) dirty.set(index);
        checkers.resend.onWrite(index);
    }

    void setNow(long ns) {
        this.nowNs = ns;
        if (running) completeDeflates();
    }

    long nowNs() {
        return nowNs;
    }

    long syncCount() {
        return syncs;
    }

    /** The sync epoch of the free page report the engine took last. */
    long lastDrainedEpoch() {
        return queue.lastEpoch();
    }

    private RamBlock blockOf(long index) {
        for (RamBlock b : blocks) if (index < b.endIndex()) return b;
        throw new IndexOutOfBoundsException("page index " + index);
    }

    private long pfn(long index) {
        RamBlock b = blockOf(index);
        return b.firstPfn() + (index - b.firstIndex());
    }

    // ------------------------------------------------------------------ the balloon driver

    /** Inflates by up to {@code pages}, largest blocks first; returns the pages inflated. */
    public long inflate(long pages, boolean tellHost) {
        long done = 0;
        int order = 18;
        while (done < pages && order >= 0) {
            if ((1L << order) > pages - done) {
                order--;
                continue;
            }
            long i = alloc.alloc(order);
            if (i < 0) {
                order--;
                continue;
            }
            long n = 1L << order;
            balloon.setRange(i, i + n);
            reported.clearRange(i, i + n);
            // (before the release: what the release costs depends on the host memory behind the pages)
            if (tellHost) message(EventType.BALLOON_INFLATE, i, n, onDestination == null);
            // The host gives the pages back to its own memory (madvise): they read as zero. Not on a
            // postcopy destination: QEMU inhibits the balloon there until the migration ends.
            if (onDestination == null) {
                RamBlock b = blockOf(i);
                int off = (int) (i - b.firstIndex());
                java.util.Arrays.fill(content[b.index()], off, off + (int) n, 0);
                residentCount -= resident.clearRangeCounting(i, i + n);
            }
            done += n;
        }
        return done;
    }

    /**
     * Deflates up to {@code pages} from the balloon, lowest pages first, and returns the first
     * page index and count deflated and when the guest has them back on its free lists. With
     * MUST_TELL_HOST the host is told before the pages can be reused: the guest gets them back
     * once the host has taken their messages (as Linux's {@code leak_balloon} frees them after
     * {@code tell_host}), until then they are neither free nor in the balloon; without it, they
     * are free at once and the host is told {@code lateNs} later.
     */
    public long[] deflate(long pages, long lateNs) {
        return deflate(pages, lateNs, false, false);
    }

    /**
     * {@link #deflate(long, long)}, the pages going back to the caller ({@code toCaller}: they stay allocated, the
     * caller uses them from the returned time on) or to the free lists, freed as the guest frees pages (poisoned
     * under poisoning) when {@code poison}.
     */
    long[] deflate(long pages, long lateNs, boolean toCaller, boolean poison) {
        long i = balloon.nextSetBit(0);
        if (i < 0) return null;
        RamBlock b = blockOf(i);
        long end = Math.min(balloon.nextClearBit(i, b.endIndex()), i + pages);
        long n = end - i;
        long back = nowNs;
        if (features.mustTellHost()) {
            back = message(EventType.BALLOON_DEFLATE, i, n, false);
        } else {
            lateDeflates.add(new long[] {nowNs + lateNs, i, n});
        }
        balloon.clearRange(i, end);
        if (back <= nowNs) {
            giveBack(i, n, toCaller, poison);
        } else {
            deflating.add(new long[] {back, i, n, toCaller ? 1 : 0, poison ? 1 : 0});
        }
        return new long[] {i, n, back};
    }

    /** Deflated pages come back to the guest: to the free lists, or to the caller that deflated them (nothing to do). */
    private void giveBack(long index, long pages, boolean toCaller, boolean poison) {
        if (toCaller) return;
        alloc.free(index, pages);
        if (poison) poisonFreed(index, pages); // the pages go back to the free lists as the guest frees pages
    }

    /** The deflated pages whose messages the host has taken by now come back to the guest. */
    void completeDeflates() {
        while (!deflating.isEmpty() && deflating.peek()[0] <= nowNs) {
            long[] d = deflating.poll();
            giveBack(d[1], d[2], d[3] != 0, d[4] != 0);
        }
    }

    /**
     * Sends [index, index+pages) to the host in messages of at most 256 pages (PFN arrays) or 32768 (bitmaps), one
     * after the other, the next once the host has taken the last ({@link BalloonCosts}); {@code release}: the host
     * releases each message's range (an inflate). Returns when the host has taken the last.
     */
    private long message(EventType type, long index, long pages, boolean release) {
        int max = balloonBitmapMessages ? BITMAP_MESSAGE_MAX : PFN_ARRAY_MAX;
        long mode = EventType.Balloon.of(balloonBitmapMessages);
        long t = Math.max(nowNs, balloonBusyUntilNs);
        for (long o = 0; o < pages; o += max) {
            long n = Math.min(max, pages - o);
            long g = index + o;
            double ns = balloonCosts.messageNs(balloonBitmapMessages, n);
            if (release) ns += balloonCosts.releaseNs(resident.countRange(g, g + n));
            long d = Math.round(ns);
            t += d;
            balloonNs += d;
            balloonQueue.add(type, mode, pfn(g), n, syncs, t > nowNs ? t : Long.MIN_VALUE);
            balloonMessages++;
            if (type == EventType.BALLOON_INFLATE) hostReleases++; // the host releases the message's range: one madvise
            deviceReply();
        }
        balloonBusyUntilNs = t;
        return t;
    }

    /** When the host will have taken the balloon driver's last message (the driver is busy until then). */
    long balloonBusyUntilNs() {
        return balloonBusyUntilNs;
    }

    // ------------------------------------------------------------------ the hint driver

    /** The guest's drivers do their work for {@code dtNs} of virtual time. */
    void tick(long dtNs) {
        // A paused guest's drivers do nothing: a late deflate message goes out once it runs again
        // (on the destination, after a migration), so its device reply never lands after the final sync.
        if (!running) return;
        publishResident();
        while (!lateDeflates.isEmpty() && lateDeflates.peek()[0] <= nowNs) {
            long[] d = lateDeflates.poll();
            message(EventType.BALLOON_DEFLATE, d[1], d[2], false);
        }
        if (freeBitmapId >= 0) sendFreeBitmap();
        if (kernel.reporting()) reportFreePages();
        if (kernel.hintDriver().linux()) {
            linuxHintWork(dtNs);
        } else if (hintReporting) {
            reportHints(dtNs);
        }
    }

    /**
     * Linux's free page hint work ({@code report_free_page_func}): it reads the command id the
     * device holds now. Done gives every held block back; stop does nothing (the blocks stay
     * held); a request it has not answered yet starts a run of reports, and a run goes on, one
     * block per allocation, until an allocation fails or the device's id changes.
     */
    private void linuxHintWork(long dtNs) {
        if (received < 0) return;
        if (received == CommandIds.DONE) {
            received = -1;
            hintReporting = false;
            hintLiveId = -1;
            releaseHeldBlocks();
            return;
        }
        if (received == CommandIds.STOP) {
            hintReporting = false;
            return;
        }
        if (received != hintLiveId) {
            hintLiveId = received;
            hintReporting = features.freePageHint();
            hintCredit = 0;
        }
        if (!hintReporting) return;
        hintCredit += dtNs * hintBlocksPerNs;
        long size = 1L << hintOrder;
        while (hintCredit >= 1) {
            // as Linux's watermark check: the allocation fails unless more than the reserve stays free after it
            long i = alloc.freePages() - size + 1 > kernel.minFreePages() ? allocPages(hintOrder) : -1;
            if (i < 0) {
                hintReporting = false;
                hintCredit = 0;
                return;
            }
            hintCredit--;
            held.setRange(i, i + size);
            if (heldCount == heldBlocks.length) {
                heldBlocks = java.util.Arrays.copyOf(heldBlocks, heldCount * 2);
                heldReport = java.util.Arrays.copyOf(heldReport, heldCount * 2);
            }
            heldReport[heldCount] = queue.added();
            heldBlocks[heldCount++] = i;
            hint(i, size);
        }
    }

    /** Linux's driver gives every block it holds back to the allocator (freed as the guest frees: poisoned under poisoning). */
    private void releaseHeldBlocks() {
        long size = 1L << hintOrder;
        while (heldCount > 0) {
            long i = heldBlocks[--heldCount];
            held.clearRange(i, i + size);
            freePages(i, size);
        }
        releaseHeld(); // ranges a subclass's driver reported (reportFreeRange)
    }

    /**
     * The hint driver's shrinker: under memory pressure it gives held blocks back to the
     * allocator, the last taken first, until {@code pages} are free again or it holds none. Only
     * Linux's driver has one. As Linux ships it, it gives back a block whose report may still be
     * on its way to the host; with {@link HintDriver#LINUX_ACKED} only blocks whose report the
     * host has taken. Returns the pages given back.
     */
    long shrink(long pages) {
        if (!kernel.hintDriver().linux()) return 0;
        long size = 1L << hintOrder;
        // reports reach the host in order, so the blocks it has taken are the oldest: [0, taken)
        int top = heldCount;
        if (kernel.hintDriver() == HintDriver.LINUX_ACKED) {
            top = 0;
            while (top < heldCount && heldReport[top] < queue.drained()) top++;
        }
        long given = 0;
        int k = top;
        while (k > 0 && given < pages) {
            long i = heldBlocks[--k];
            held.clearRange(i, i + size);
            RamBlock b = blockOf(i);
            events.publish(EventType.SHRINK, nowNs, b.index(), i - b.firstIndex(), size);
            freePages(i, size);
            given += size;
        }
        System.arraycopy(heldBlocks, top, heldBlocks, k, heldCount - top);
        System.arraycopy(heldReport, top, heldReport, k, heldCount - top);
        heldCount -= top - k;
        shrunkPages += given;
        return given;
    }

    // ------------------------------------------------------------------ free page reporting

    /**
     * Free page reporting ({@code mm/page_reporting.c}): once due, the guest isolates up to
     * {@link #REPORT_CAPACITY} free blocks of {@link #REPORT_ORDER} it has not reported since they
     * were last allocated, sends them and waits; the host handles the report (discards each block,
     * unless the guest poisons and the host keeps poisoned pages) and answers; the guest puts the
     * blocks back on its free lists, marked reported, and goes on with the next batch until none
     * is left.
     */
    private void reportFreePages() {
        if (reportBatchReadyNs >= 0) {
            if (nowNs < reportBatchReadyNs) return;
            handleReport();
        }
        if (reportDueNs < 0 || nowNs < reportDueNs) return;
        long size = 1L << REPORT_ORDER;
        reportBatchSize = 0;
        while (reportBatchSize < REPORT_CAPACITY) {
            long i = nextReportable(size);
            if (i < 0) break;
            alloc.take(i, size);
            isolated.setRange(i, i + size);
            reportBatch[reportBatchSize++] = i;
        }
        if (reportBatchSize == 0) {
            reportDueNs = -1;
            reportScanBlock = 0;
            reportScan = 0;
            return;
        }
        reports++;
        reportBatchReadyNs = nowNs + hintDeliveryNs;
        publishBatch(EventType.REPORT);
    }

    /** One event of this type for each run of adjacent blocks of the report in flight (they are in scan order). */
    private void publishBatch(EventType type) {
        long size = 1L << REPORT_ORDER;
        int k = 0;
        while (k < reportBatchSize) {
            long start = reportBatch[k];
            RamBlock b = blockOf(start);
            long end = start + size;
            while (++k < reportBatchSize && reportBatch[k] == end && end < b.endIndex()) end += size;
            events.publish(type, nowNs, b.index(), start - b.firstIndex(), end - start);
        }
    }

    /** The host handles the report in flight: it discards each block and answers; the guest takes the blocks back. */
    private void handleReport() {
        long size = 1L << REPORT_ORDER;
        boolean discard = features.poisonByte() == 0 || kernel.discardPoisoned();
        if (discard) {
            int k = 0;
            while (k < reportBatchSize) {
                long start = reportBatch[k];
                long end = start + size;
                RamBlock b = blockOf(start);
                while (++k < reportBatchSize && reportBatch[k] == end && end < b.endIndex()) end += size;
                hostDiscard(start, end - start, EventType.HostDiscard.REPORT);
            }
        }
        deviceReply();
        publishBatch(EventType.REPORT_DONE);
        for (int k = 0; k < reportBatchSize; k++) {
            long i = reportBatch[k];
            isolated.clearRange(i, i + size);
            alloc.free(i, size);
            reported.setRange(i, i + size);
        }
        reportBatchSize = 0;
        reportBatchReadyNs = -1;
    }

    /**
     * The host releases [index, index+pages) of guest memory (madvise(MADV_DONTNEED)): it reads as
     * zero afterwards. The host must never do it to a page the guest uses (invariant 1), nor, under
     * poisoning, to a free page whose poison the guest relies on (invariant 2).
     */
    void hostDiscard(long index, long pages, int why) {
        checkers.onDiscard(this, index, pages);
        RamBlock b = blockOf(index);
        int off = (int) (index - b.firstIndex());
        events.publish(EventType.HOST_DISCARD, nowNs, b.index(), off, EventType.HostDiscard.c(pages, why));
        if (features.poisonByte() != 0 && poisonedWhenGivenBack(index, pages))
            discardedWhileHeld.setRange(index, index + pages);
        java.util.Arrays.fill(content[b.index()], off, off + (int) pages, 0);
        if (logging && onDestination == null)
            zeroedQueue.add(EventType.HOST_ZEROED, logSyncs, b.firstPfn() + off, pages, syncs, nowNs + hintDeliveryNs);
        long released = resident.clearRangeCounting(index, index + pages);
        discardedPages += released;
        residentCount -= released;
    }

    /** The next aligned fully free block of {@code size} pages that is not reported, from the reporting's scan position. */
    private long nextReportable(long size) {
        PageBitmap free = alloc.freeMap();
        while (reportScanBlock < blocks.length) {
            RamBlock b = blocks[reportScanBlock];
            long base = b.firstIndex();
            long i = base + ((Math.max(reportScan, base) - base + size - 1) / size) * size;
            for (; i + size <= b.endIndex(); i += size) {
                long f = free.nextSetBit(i, b.endIndex());
                if (f >= b.endIndex()) break;
                if (f > i) {
                    long a = base + ((f - base) / size) * size; // the block f is in; this one is not all free
                    i = (a > i ? a : i + size) - size;
                    continue;
                }
                if (free.nextClearBit(i, i + size) == i + size && reported.nextClearBit(i, i + size) < i + size) {
                    reportScan = i + size;
                    return i;
                }
            }
            reportScanBlock++;
            reportScan = 0;
        }
        return -1;
    }

    /** Publishes the resident memory when it changed, at most every {@link #RESIDENT_EVERY_NS}. */
    private void publishResident() {
        if (nowNs < nextResidentNs || residentCount == publishedResident) return;
        publishedResident = residentCount;
        nextResidentNs = nowNs + RESIDENT_EVERY_NS;
        events.publish(EventType.RESIDENT, nowNs, residentCount, discardedPages, totalPages);
    }

    /** The guest publishes what it does on its own (reports, discards, its shrinker, its resident memory) here. */
    void publishTo(EventSink sink) {
        this.events = sink;
    }

    /** Pages backed by host memory now (the source's resident memory, in pages). */
    public long residentPageCount() {
        return residentCount;
    }

    /** Pages the hint driver holds now. */
    public long heldPageCount() {
        return held.count();
    }

    private void reportHints(long dtNs) {
        hintCredit += dtNs * hintBlocksPerNs;
        long size = 1L << hintOrder;
        long runStart = -1;
        long runPages = 0;
        while (hintCredit >= 1) {
            long found = findFreeBlock(size);
            if (found < 0) {
                hintReporting = false;
                break;
            }
            hintCredit--;
            alloc.take(found, size);
            reported.clearRange(found, found + size);
            held.setRange(found, found + size);
            if (runStart >= 0
                    && runStart + runPages == found
                    && blockOf(runStart) == blockOf(found)
                    && runPages < (1L << 18)) {
                runPages += size;
            } else {
                if (runStart >= 0) hint(runStart, runPages);
                runStart = found;
                runPages = size;
            }
        }
        if (runStart >= 0) hint(runStart, runPages);
        if (!hintReporting) hintCredit = 0;
    }

    private void hint(long index, long pages) {
        queue.add(EventType.HINT, hintLiveId, pfn(index), pages, syncs, nowNs + hintDeliveryNs);
        hintMessages++;
        deviceReply();
    }

    /** Whether the allocator has this page free (for subclasses that model drivers of their own). */
    protected final boolean isFree(long index) {
        return alloc.isFree(index);
    }

    /**
     * Reports the free guest-physical range [pfn, pfn+pages) for the live free page hint request,
     * as a hint driver of a subclass's own would: the range may cross from one RAM block into the
     * next where the two are adjacent in guest-physical memory. The pages are held until the
     * request is done, like those the built-in driver reports. Reports nothing and returns false
     * when no request is live or some page of the range is not free RAM.
     */
    protected boolean reportFreeRange(long pfn, long pages) {
        // Linux's driver answers the request the device holds, though its own work has not run yet
        long live = kernel.hintDriver().linux() ? (CommandIds.isRequest(received) ? received : -1) : hintLiveId;
        if (live < 0 || !features.freePageHint() || pages <= 0) return false;
        long[] free = {0};
        long outside = layout.splitPfnRange(pfn, pages, (b, off, n) -> {
            long g = b.firstIndex() + off;
            free[0] += alloc.freeMap().countRange(g, g + n);
        });
        if (outside > 0 || free[0] != pages) return false;
        layout.splitPfnRange(pfn, pages, (b, off, n) -> {
            long g = b.firstIndex() + off;
            alloc.take(g, n);
            reported.clearRange(g, g + n);
            held.setRange(g, g + n);
            heldAsIs.setRange(g, g + n);
        });
        queue.add(EventType.HINT, live, pfn, pages, syncs, nowNs + hintDeliveryNs);
        hintMessages++;
        deviceReply();
        return true;
    }

    /** The next aligned fully free block of {@code size} pages from the driver's scan position. */
    private long findFreeBlock(long size) {
        PageBitmap free = alloc.freeMap();
        while (hintScanBlock < blocks.length) {
            RamBlock b = blocks[hintScanBlock];
            long base = b.firstIndex();
            long i = Math.max(hintScan, base);
            i = base + ((i - base + size - 1) / size) * size;
            while (i + size <= b.endIndex()) {
                long f = free.nextSetBit(i, b.endIndex());
                if (f >= b.endIndex()) break;
                if (f > i) {
                    i = base + ((f - base + size - 1) / size) * size;
                    continue;
                }
                long c = free.nextClearBit(i, i + size);
                if (c == i + size) {
                    hintScan = i + size;
                    return i;
                }
                i = base + ((c - base) / size + 1) * size;
            }
            hintScanBlock++;
            hintScan = 0;
        }
        return -1;
    }

    private void releaseHeld() {
        long i = held.nextSetBit(0);
        while (i >= 0) {
            long e = held.nextClearBit(i);
            held.clearRange(i, e);
            heldAsIs.clearRange(i, e);
            alloc.free(i, e - i);
            i = e < totalPages ? held.nextSetBit(e) : -1;
        }
    }

    private void sendFreeBitmap() {
        long id = freeBitmapId;
        freeBitmapId = -1;
        PageBitmap free = alloc.freeMap();
        for (RamBlock b : blocks) {
            free.forEachRun(
                    b.firstIndex(),
                    b.endIndex(),
                    (s, e) -> queue.add(EventType.FREE_BITMAP, id, pfn(s), e - s, syncs, nowNs + hintDeliveryNs));
        }
        queue.add(EventType.FREE_BITMAP_END, id, 0, 0, syncs, nowNs + hintDeliveryNs);
        hintMessages++;
        deviceReply();
    }

    // ------------------------------------------------------------------ SourceGuest

    @Override
    public RamLayout layout() {
        return layout;
    }

    @Override
    public GuestFeatures features() {
        return features;
    }

    @Override
    public void startDirtyLog() {
        logging = true;
        logSyncs = 0;
        zeroedQueue.drain((t, a, b, c) -> {}, Integer.MAX_VALUE, Long.MAX_VALUE); // an earlier migration's notices
    }

    @Override
    public void syncDirtyLog(PageRanges out) {
        syncs++;
        checkers.resend.onSync();
        costs.cpu(costs.profile.syncNsPerGiB() * (double) layout.totalBytes() / (1L << 30));
        dirty.or(hostDirty);
        hostDirty.clearAll();
        for (RamBlock b : blocks) {
            dirty.forEachRun(b.firstIndex(), b.endIndex(), (s, e) -> out.range(b.index(), s - b.firstIndex(), e - s));
        }
        dirty.clearAll();
        logSyncs++;
    }

    @Override
    public void clearDirty(int block, long offset, long count) {
        if (kernel.dirtyLogSyncOnly()) return; // only a sync clears this host's log
        long g = blocks[block].firstIndex() + offset;
        dirty.clearRange(g, g + count);
        hostDirty.clearRange(g, g + count);
    }

    @Override
    public void restoreDirty(int block, long offset, long count) {
        long g = blocks[block].firstIndex() + offset;
        dirty.setRange(g, g + count);
        checkers.resend.onRestored(g, g + count);
    }

    @Override
    public void stopDirtyLog() {
        logging = false;
        dirty.clearAll();
        hostDirty.clearAll();
    }

    public boolean dirtyLogging() {
        return logging;
    }

    @Override
    public long classify(int block, long offset, long max) {
        int[] c = sourceMemory[block];
        int from = (int) offset;
        int to = (int) (offset + max);
        int i = from;
        if (c[i] == 0) {
            while (i < to && c[i] == 0) i++;
            costs.cpu((i - from) * (costs.profile.zeroCheckNsPerPage() + costs.profile.scanNsPerPage()));
            return i - from;
        }
        while (i < to && c[i] != 0) i++;
        costs.cpu((i - from) * (costs.profile.dataCheckNsPerPage() + costs.profile.scanNsPerPage()));
        return -(i - from);
    }

    @Override
    public void pause() {
        running = false;
    }

    @Override
    public void resume() {
        running = true;
    }

    @Override
    public boolean running() {
        return running;
    }

    @Override
    public void hintCommand(long id) {
        checkers.hints.onHintCommand(id);
        long wire = id & 0xFFFF_FFFFL;
        hostCmd = wire;
        deviceReply();
        if (kernel.hintDriver().linux()) {
            // the device's config changes; the driver's work reads it when it runs (its next tick)
            received = wire;
            if (CommandIds.isRequest(wire)) lastRequestId = wire;
            if (wire == CommandIds.STOP) hintReporting = false;
            return;
        }
        if (wire == CommandIds.STOP) {
            hintReporting = false;
        } else if (wire == CommandIds.DONE) {
            hintReporting = false;
            hintLiveId = -1;
            releaseHeld();
        } else {
            releaseHeld();
            hintLiveId = wire;
            lastRequestId = wire;
            hintReporting = features.freePageHint();
            hintScanBlock = 0;
            hintScan = 0;
            hintCredit = 0;
        }
    }

    @Override
    public long lastCommandId() {
        return lastRequestId;
    }

    @Override
    public void requestFreeBitmap(long id) {
        if (CommandIds.isRequest(id)) lastRequestId = id;
        deviceReply();
        if (features.freeBitmap()) freeBitmapId = id;
    }

    @Override
    public void balloonState(GuestRequests ballooned) {
        for (RamBlock b : blocks) {
            balloon.forEachRun(
                    b.firstIndex(),
                    b.endIndex(),
                    (s, e) -> ballooned.request(EventType.BALLOON_INFLATE, EventType.Balloon.AT_SETUP, pfn(s), e - s));
        }
    }

    @Override
    public int drainRequests(GuestRequests into, int max) {
        drainInto = into;
        try {
            int n = balloonQueue.drain(taken, max, nowNs);
            n += zeroedQueue.drain(into, max - n, nowNs);
            return n + queue.drain(kernel.discardHinted() ? hostSide : into, max - n, nowNs);
        } finally {
            drainInto = null;
        }
    }

    /**
     * The host's device reads a request from the free page queue. With {@code discard-hinted} it discards a hinted
     * range at once when the hint answers the command id it holds (Firecracker's {@code
     * process_free_page_hinting_queue}: a range of an older id, or any range once it holds stop or done, is dropped),
     * the RAM part of it; then the request goes on to the engine, if one drains.
     */
    private void hostReads(EventType type, long a, long b, long c) {
        // (in postcopy the guest runs on the destination and the source's memory is frozen: nothing to discard)
        if (kernel.discardHinted()
                && type == EventType.HINT
                && a == hostCmd
                && CommandIds.isRequest(hostCmd)
                && c > 0
                && onDestination == null) {
            long before = discardedPages;
            layout.splitPfnRange(b, c, discardHint);
            hintDiscardedPages += discardedPages - before;
        }
        if (drainInto != null) drainInto.request(type, a, b, c);
    }

    /**
     * The host's own hint run outside a migration, as Firecracker's ({@code hinting/start}): it gives the device a new
     * command id after the last one this guest saw (or {@code firstId} for its first), and returns it.
     */
    long startHostHintRun(long firstId) {
        long id = lastRequestId < 0 ? firstId : CommandIds.next(lastRequestId);
        hintCommand(id);
        return id;
    }

    /** The host's device reads what has arrived on the free page queue, with no engine draining (a run of its own). */
    void hostDrain() {
        queue.drain(hostSide, Integer.MAX_VALUE, nowNs);
    }

    /**
     * Whether the guest's driver has finished the host's hint run: it stopped reporting (an allocation failed, or no
     * free block is left) and every report reached the host. Linux's driver then sends stop, and Firecracker answers
     * done ({@code acknowledge_on_stop}).
     */
    boolean hintRunFinished() {
        boolean started = !kernel.hintDriver().linux() || hintLiveId == received;
        return started && !hintReporting && queue.size() == 0;
    }

    private final GuestRequests taken = this::taken;
    private final RamLayout.BlockRangeConsumer deflateTaken = this::deflateTaken;

    private void deflateTaken(dev.ballast.core.mem.RamBlock b, long off, long n) {
        checkers.resend.onWriteRange(b.firstIndex() + off, b.firstIndex() + off + n);
    }

    /**
     * A balloon message the host takes now. A deflate counts as a write of its pages for invariant 3 from here on:
     * the guest may have written them before the host heard of it (the host's record of a ballooned page, a zero,
     * is out of date from the deflate on, and the host cannot tell whether the guest wrote it yet).
     */
    private void taken(EventType type, long a, long b, long c) {
        if (type == EventType.BALLOON_DEFLATE && c > 0 && c <= totalPages && b >= 0)
            layout.splitPfnRange(b, c, deflateTaken);
        drainInto.request(type, a, b, c);
    }

    /** Puts a request in the queue as a (possibly misbehaving) guest would. For tests of bad guests. */
    public void injectRequest(EventType type, long a, long b, long c) {
        boolean report = type == EventType.HINT || type == EventType.FREE_BITMAP || type == EventType.FREE_BITMAP_END;
        (report ? queue : balloonQueue).add(type, a, b, c, syncs);
    }
}
