package dev.ballast.kvm.guestabi;

/**
 * The host's copy of the guest ABI, {@code src/main/c/guest/abi.h}, which has the full picture
 * of the system slot, the control block, the rings and the page stamp. Same names, same values;
 * {@code GuestAbiTest} compiles the header and compares every constant.
 */
public final class GuestAbi {
    private GuestAbi() {}

    public static final int ABI_VERSION = 2;

    // ---- system slot (offsets from SYS_GPA) ----
    /** Guest-physical (and virtual) base of the system slot: 1 TiB. */
    public static final long SYS_GPA = 0x10000000000L;

    public static final int SYS_CTL_OFF = 0x000000;
    public static final int SYS_CMD_RING_OFF = 0x001000;
    public static final int SYS_REPLY_RING_OFF = 0x006000;
    public static final int SYS_GDT_OFF = 0x00B000;
    public static final int SYS_IMAGE_OFF = 0x010000;
    public static final int SYS_IMAGE_MAX = 0x070000;
    public static final int SYS_STACK_BOTTOM_OFF = 0x080000;
    public static final int SYS_STACK_TOP_OFF = 0x100000;
    public static final int SYS_PT_OFF = 0x100000;

    // ---- guest image header ----
    public static final long IMAGE_MAGIC = 0x314D474954534C42L;
    public static final int IMG_MAGIC_OFF = 0x00;
    public static final int IMG_ABI_OFF = 0x08;
    public static final int IMG_LOAD_GPA_OFF = 0x10;
    public static final int IMG_ENTRY_GPA_OFF = 0x18;
    public static final int IMG_END_GPA_OFF = 0x20;
    public static final int IMG_FILE_END_GPA_OFF = 0x28;

    // ---- control block ----
    public static final long CTL_MAGIC = 0x4C5254435453414CL;
    public static final int CTL_MAX_BLOCKS = 4;
    public static final int CTL_MAGIC_OFF = 0x000;
    public static final int CTL_ABI_OFF = 0x008;
    public static final int CTL_NBLOCKS_OFF = 0x00C;
    public static final int CTL_BLOCKS_OFF = 0x010;
    public static final int CTL_VERSIONS_GPA_OFF = 0x050;
    public static final int CTL_TOTAL_PAGES_OFF = 0x058;
    public static final int CTL_IDLE_SPINS_OFF = 0x060;
    public static final int CTL_HOST_WANTS_DOORBELL_OFF = 0x080;
    public static final int CTL_GUEST_SLEEPING_OFF = 0x0C0;
    public static final int CTL_SPIN_COUNTER_OFF = 0x100;
    public static final int CTL_SPIN_STOP_OFF = 0x140;
    public static final int CTL_PANIC_CODE_OFF = 0x180;
    public static final int CTL_PANIC_ARG_OFF = 0x188;
    public static final int CTL_STAT_COMMANDS_OFF = 0x1C0;
    public static final int CTL_STAT_PAGES_WRITTEN_OFF = 0x1C8;
    public static final int CTL_STAT_PAGES_VERIFIED_OFF = 0x1D0;
    public static final int CTL_STAT_SLEEPS_OFF = 0x1D8;
    /** u64, guest: allocations that failed after the shrinker and DEFLATE_ON_OOM */
    public static final int CTL_STAT_ALLOC_STALLS_OFF = 0x1E0;
    /** u64, guest: time stalled allocations waited until they got memory, in all */
    public static final int CTL_STAT_STALL_NS_OFF = 0x1E8;
    /** u64, guest: pages the hint driver's shrinker gave back */
    public static final int CTL_STAT_SHRUNK_PAGES_OFF = 0x1F0;
    /** u64, guest: the longest such wait */
    public static final int CTL_STAT_STALL_MAX_NS_OFF = 0x1F8;

    public static final int CTL_SIZE = 0x400;

    // ---- rings ----
    public static final int RING_MAGIC = 0x474E4952;
    public static final int RING_MAGIC_OFF = 0x00;
    public static final int RING_CAPACITY_OFF = 0x04;
    public static final int RING_ENTRY_SIZE_OFF = 0x08;
    public static final int RING_TAIL_OFF = 0x40;
    public static final int RING_HEAD_OFF = 0x80;
    public static final int RING_ENTRIES_OFF = 0xC0;
    public static final int RING_CAPACITY = 256;
    public static final int RING_ENTRY_SIZE = 64;
    public static final int RING_BYTES = RING_ENTRIES_OFF + RING_CAPACITY * RING_ENTRY_SIZE;

    public static final int ENT_OP_OFF = 0x00;
    public static final int ENT_STATUS_OFF = 0x04;
    public static final int ENT_ID_OFF = 0x08;
    public static final int ENT_ARGS_OFF = 0x10;
    public static final int ENT_NARGS = 6;

    // ---- operations ----
    /** Echo: reply args = command args. */
    public static final int OP_NOP = 1;
    /** (pfn, count, stride): bump each page's version and stamp it; reply (written). */
    public static final int OP_WRITE_PAGES = 2;
    /** (pfn, count, stride): reply (checked, bad, first bad pfn or -1). */
    public static final int OP_VERIFY_PAGES = 3;
    /** (): same reply, over every page ever written. */
    public static final int OP_VERIFY_ALL = 4;
    /** (token): a loop with no exits until CTL_SPIN_STOP == token; reply (iterations). */
    public static final int OP_SPIN = 5;
    /** (pfn): reply (version). */
    public static final int OP_READ_VERSION = 6;
    /** (n): n exits to PORT_NOP, to measure what an exit costs; reply (n). */
    public static final int OP_EXITS = 7;

    public static final int ST_OK = 0;
    public static final int ST_BAD_OP = 1;
    public static final int ST_BAD_RANGE = 2;

    // ---- ports ----
    public static final int PORT_DOORBELL = 0x10;
    public static final int PORT_SLEEP = 0x11;
    public static final int PORT_PANIC = 0x12;
    public static final int PORT_NOP = 0x13;

    public static final int PANIC_BAD_CONTROL = 1;
    public static final int PANIC_BAD_RING = 2;

    // ---- page stamp ----
    public static final long STAMP_MAGIC = 0x3154534C4C41425FL;
    public static final int STAMP_PFN_WORD = 0;
    public static final int STAMP_VERSION_WORD = 1;
    public static final int STAMP_CHECKSUM_WORD = 2;
    public static final int STAMP_MAGIC_WORD = 3;
    public static final int STAMP_PAYLOAD_WORD = 4;

    public static final int PAGE_SIZE = 4096;
    public static final int PAGE_WORDS = 512;

    // ---- added in ABI 2: workloads, drivers, devices (see abi.h) ----
    /** u64, host: TSC ticks per millisecond (KVM_GET_TSC_KHZ) */
    public static final int CTL_TSC_KHZ_OFF = 0x200;
    /** u64, host: the request ring (guest -> host) */
    public static final int CTL_REQ_RING_GPA_OFF = 0x208;
    /** u64, host: BALLOON_BUFS buffers of PAGE_SIZE */
    public static final int CTL_BALLOON_BUF_GPA_OFF = 0x210;
    /** u64, host: allocator free map, bit i = RAM page index i is free */
    public static final int CTL_FREE_MAP_GPA_OFF = 0x218;
    /** u64, host: pages the hint driver holds */
    public static final int CTL_HELD_MAP_GPA_OFF = 0x220;
    /** u64, host: pages in the balloon (the guest's view) */
    public static final int CTL_BALLOON_MAP_GPA_OFF = 0x228;
    /** u64, host: the workload's live allocations, u32 each */
    public static final int CTL_OBJS_GPA_OFF = 0x230;
    /** u64, host: free page reporting's map (free and set: reported; not free and set: isolated for a report in flight) */
    public static final int CTL_REPORTED_MAP_GPA_OFF = 0x238;
    /** u32: host sets when it waits for requests, guest clears before ringing */
    public static final int CTL_HOST_WANTS_REQUESTS_OFF = 0x240;
    /** u64, guest: the RAM page the devices write (USED_*), ~0 when none */
    public static final int CTL_USED_PFN_OFF = 0x280;
    /** u64, guest: longest PORT_SLEEP it wants (0: until a command) */
    public static final int CTL_SLEEP_NS_OFF = 0x288;
    /** u64, guest: request entries posted */
    public static final int CTL_STAT_REQUESTS_OFF = 0x290;
    /** u64, guest: workload ticks */
    public static final int CTL_STAT_TICKS_OFF = 0x298;
    /** u64, host: the last free page hint request id the host's device issued (0: none); device state that moves with the guest. */
    public static final int CTL_LAST_CMD_ID_OFF = 0x2A0;
    /** u64[WL_COUNT], host: the workload and the drivers' settings */
    public static final int CTL_WL_OFF = 0x2C0;
    /** u64, guest: the last command id whose run of free page hints ended (an allocation failed, nothing free was left, or a stop) */
    public static final int CTL_HINT_STOPPED_OFF = 0x2A8;
    /** WK_* */
    public static final int WL_KIND = 0;

    public static final int WL_SEED = 1;
    /** pages written at boot and kept */
    public static final int WL_USED_PAGES = 2;
    /** memhog: pages written then freed before the migration */
    public static final int WL_HOG_PAGES = 3;
    /** compile: working set */
    public static final int WL_WS_PAGES = 4;
    /** rewrites of live pages */
    public static final int WL_RATE_BPS = 5;
    /** compile: new allocations (the oldest freed) */
    public static final int WL_CHURN_BPS = 6;
    /** balloon, deflate-race: pages left to the guest, the rest ballooned */
    public static final int WL_KEEP_PAGES = 7;
    /** deflate-race: pages deflated at a time */
    public static final int WL_STEP_PAGES = 8;
    /** deflate-race: how often */
    public static final int WL_EVERY_US = 9;
    /** deflate-race without MUST_TELL_HOST: how late the host is told */
    public static final int WL_LATE_US = 10;
    /** the poison byte, 0 when free pages are not poisoned */
    public static final int WL_POISON = 11;
    /** WF_* */
    public static final int WL_FLAGS = 12;
    /** free page hints report aligned free blocks of 2^order pages */
    public static final int WL_HINT_ORDER = 13;
    /** free page reporting: how long after memory is freed the guest reports (Linux: 2 s) */
    public static final int WL_REPORT_DELAY_US = 14;

    /** pressure: pages an application keeps allocating on top of the workload (0: none) */
    public static final int WL_PRESSURE_PAGES = 15;

    public static final int WL_COUNT = 16;
    /** no activity of its own: only commands */
    public static final int WK_NONE = 0;

    public static final int WK_IDLE = 1;
    public static final int WK_MEMHOG = 2;
    public static final int WK_COMPILE = 3;
    public static final int WK_RANDOM_WRITE = 4;
    public static final int WK_BALLOON = 5;
    public static final int WK_DEFLATE_RACE = 6;
    /** wait for the host before reusing a deflated page */
    public static final int WF_MUST_TELL_HOST = 1;
    /** balloon messages as bitmaps (else PFN arrays) */
    public static final int WF_BALLOON_BITMAP = 2;

    public static final int WF_FREE_PAGE_HINT = 4;
    public static final int WF_FREE_BITMAP = 8;
    /** free page reporting (VIRTIO_BALLOON_F_REPORTING) */
    public static final int WF_REPORTING = 16;
    /** the host discards reported pages even when free pages hold a non-zero poison value */
    public static final int WF_DISCARD_POISONED = 32;
    /** the host discards the ranges hinted for the live command id (Firecracker's balloon) */
    public static final int WF_DISCARD_HINTED = 64;
    /** the free page hint driver as Linux writes it (else the idealised one) */
    public static final int WF_LINUX_HINTS = 128;
    /** with WF_LINUX_HINTS: its shrinker gives back only blocks whose hint the host has taken */
    public static final int WF_HINTS_ACKED = 256;
    /** the allocator zeroes what it hands out (init_on_alloc=1; not under poisoning) */
    public static final int WF_INIT_ON_ALLOC = 512;
    /** an allocation that finds nothing, even after the shrinker, takes pages back from the balloon */
    public static final int WF_DEFLATE_ON_OOM = 1024;
    /** (): the workload's boot (CTL_WL_*), then it runs; reply (in use, free, ballooned) */
    public static final int OP_PROLOGUE = 8;
    /** (id): free page hint command: a new id [0x80000000, 0xffffffff], 0 stop, 1 done */
    public static final int OP_HINT_CMD = 9;
    /** (id): send the whole free page bitmap, answering id */
    public static final int OP_FREE_BITMAP = 10;
    /** (): reply (checked, bad, first bad pfn or ~0, its CHECK_*, in use, free) */
    public static final int OP_SELF_CHECK = 11;
    /** (op, id, a0, a1, a2, a3): post this raw request (tests of bad guests) */
    public static final int OP_INJECT = 12;
    /** (): reply (in use, free, held, ballooned, live objects, requests posted) */
    public static final int OP_STATS = 13;
    /** (1 inflate / 0 deflate, pages): reply (pages moved, first pfn) */
    public static final int OP_BALLOON = 14;
    /** (pages, min order, max order): allocate, write and keep; reply (pages) */
    public static final int OP_ALLOC_WRITE = 15;
    /** (keep pages): free the oldest allocations down to keep; reply (pages kept) */
    public static final int OP_FREE_OLDEST = 16;
    /** flag on op: the guest posts no reply */
    public static final int OP_NO_REPLY = 0x80000000;
    /** id = command id; up to 3 ranges */
    public static final int REQ_HINT = 0x101;
    /** id = command id; up to 3 ranges of free pages */
    public static final int REQ_FREE_BITMAP = 0x102;
    /** id = command id */
    public static final int REQ_FREE_BITMAP_END = 0x103;
    /** (1 inflate / 0 deflate, BM_*, buffer, count, base pfn) */
    public static final int REQ_BALLOON = 0x104;
    /** id = report number; up to 3 ranges of free blocks the guest isolated for the host */
    public static final int REQ_REPORT = 0x105;
    /** the hint driver's shrinker gave back these held blocks: up to 3 ranges */
    public static final int REQ_SHRINK = 0x106;
    /** (order, stalls so far, free pages): an allocation failed after the shrinker and DEFLATE_ON_OOM */
    public static final int REQ_ALLOC_STALL = 0x107;
    /** (order, ns waited, stalls so far): a stalled allocation got its memory */
    public static final int REQ_ALLOC_WAITED = 0x108;
    /** pages DEFLATE_ON_OOM takes back at a time (Linux's VIRTIO_BALLOON_OOM_NR_PAGES) */
    public static final int OOM_DEFLATE_PAGES = 256;
    /** pressure: the application allocates and writes at 1 GiB/s */
    public static final int PRESSURE_RATE_BPS = 0x40000000;
    /** and holds what it reached 100 ms before it frees it all */
    public static final int PRESSURE_HOLD_US = 100000;
    /** free page reporting reports aligned free blocks of 2^9 pages (2 MiB, pageblock_order on x86) */
    public static final int REPORT_ORDER = 9;
    /** blocks per report (Linux's PAGE_REPORTING_CAPACITY) */
    public static final int REPORT_CAPACITY = 32;
    /** buffer holds count u32 PFNs */
    public static final int BM_PFNS = 0;
    /** buffer holds count bits, bit i = base pfn + i */
    public static final int BM_BITMAP = 1;

    public static final int BALLOON_BUFS = 16;
    public static final int BALLOON_PFNS_MAX = 256;
    public static final int BALLOON_BITS_MAX = 32768;
    /** "BLLGUSED" little-endian */
    public static final long USED_MAGIC = 0x44455355474C4C42L;

    public static final int USED_MAGIC_WORD = 0;
    /** request entries the host has finished (the ring head) */
    public static final int USED_CONSUMED_WORD = 1;
    /** 1 + the request ring index of the last hint the host has taken (read and acted on) */
    public static final int USED_HINT_TAKEN_WORD = 2;
    /** a page in use does not hold what the guest last wrote */
    public static final int CHECK_STAMP = 1;
    /** a free page does not hold the poison byte */
    public static final int CHECK_POISON = 2;
    /** the devices' page is older than what the guest saw */
    public static final int CHECK_USED = 5;

    public static final int PANIC_NO_MEMORY = 3;
}
