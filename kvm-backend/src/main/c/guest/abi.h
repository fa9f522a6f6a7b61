/*
 * Ballast guest ABI, version 1: everything the host (dev.ballast.kvm.guest.GuestAbi) and the
 * guest program agree on. The Java side mirrors these numbers by hand; GuestAbiTest compiles
 * this header with gcc and compares every constant, so the two cannot drift apart.
 *
 * Guest-physical memory (identity-mapped: guest virtual == guest physical):
 *
 *   [0, 3 GiB)            ram-low   (the whole RAM for guests <= 3 GiB)
 *   [3 GiB, 4 GiB)        hole, not mapped
 *   [4 GiB, ...)          ram-high  (guests > 3 GiB)
 *   SYS_GPA = 1 TiB       the system slot, laid out as below
 *
 * System slot (offsets from SYS_GPA):
 *
 *   0x000000  control block           (CTL_*)
 *   0x001000  command ring  host->guest (RING_*, 256 entries of 64 bytes)
 *   0x006000  reply ring    guest->host
 *   0x00B000  GDT, then at 0x00B100 a TSS whose I/O permission bitmap opens the PORT_* ports
 *             to CPL 3 (built by the host; RFLAGS.IOPL = 3 is not honoured by kvm_pvm)
 *   0x010000  guest image: header, text, data, bss (at most 448 KiB)
 *   0x080000  stack (512 KiB, grows down from 0x100000)
 *   0x100000  page tables (PML4, PDPTs, PDs with 2 MiB pages, U/S set on every level)
 *   after     version table: one u32 per RAM page (0 = never written), in block order
 *   then      (each page-aligned; addresses in the control block) the request ring (guest->host),
 *             BALLOON_BUFS balloon message buffers, the allocator's free map, the hint driver's
 *             held map, the balloon map (one bit per RAM page each), the workload's object
 *             ring (one u32 per RAM page) and free page reporting's map (a bit per RAM page)
 *   size rounded up to 2 MiB
 */
#ifndef BALLAST_GUEST_ABI_H
#define BALLAST_GUEST_ABI_H

#define ABI_VERSION            2

#define SYS_GPA                0x10000000000ULL
#define SYS_CTL_OFF            0x000000
#define SYS_CMD_RING_OFF       0x001000
#define SYS_REPLY_RING_OFF     0x006000
#define SYS_GDT_OFF            0x00B000
#define SYS_IMAGE_OFF          0x010000
#define SYS_IMAGE_MAX          0x070000
#define SYS_STACK_BOTTOM_OFF   0x080000
#define SYS_STACK_TOP_OFF      0x100000
#define SYS_PT_OFF             0x100000

/* Guest image header, first bytes of the image (at SYS_GPA + SYS_IMAGE_OFF). */
#define IMAGE_MAGIC            0x314D474954534C42ULL /* "BLSTGIM1" little-endian */
#define IMG_MAGIC_OFF          0x00 /* u64 */
#define IMG_ABI_OFF            0x08 /* u32 */
#define IMG_LOAD_GPA_OFF       0x10 /* u64: where the image must be loaded */
#define IMG_ENTRY_GPA_OFF      0x18 /* u64: first instruction */
#define IMG_END_GPA_OFF        0x20 /* u64: end of bss */
#define IMG_FILE_END_GPA_OFF   0x28 /* u64: end of the loaded bytes */

/* Control block. Fields written by one side only live on their own 64-byte line. */
#define CTL_MAGIC              0x4C5254435453414CULL /* "LASTCTRL" little-endian */
#define CTL_MAX_BLOCKS         4
#define CTL_MAGIC_OFF          0x000 /* u64, host */
#define CTL_ABI_OFF            0x008 /* u32, host */
#define CTL_NBLOCKS_OFF        0x00C /* u32, host */
#define CTL_BLOCKS_OFF         0x010 /* {u64 gpa; u64 pages;}[CTL_MAX_BLOCKS], host */
#define CTL_VERSIONS_GPA_OFF   0x050 /* u64, host: the version table */
#define CTL_TOTAL_PAGES_OFF    0x058 /* u64, host: RAM pages in all blocks */
#define CTL_IDLE_SPINS_OFF     0x060 /* u64, host: empty polls before the guest sleeps */
#define CTL_HOST_WANTS_DOORBELL_OFF 0x080 /* u32: host sets, guest clears before ringing */
#define CTL_GUEST_SLEEPING_OFF 0x0C0 /* u32, guest: 1 while it waits in PORT_SLEEP */
#define CTL_SPIN_COUNTER_OFF   0x100 /* u64, guest: counts OP_SPIN iterations */
#define CTL_SPIN_STOP_OFF      0x140 /* u64, host: OP_SPIN ends when this equals its token */
#define CTL_PANIC_CODE_OFF     0x180 /* u64, guest: why it rang PORT_PANIC */
#define CTL_PANIC_ARG_OFF      0x188 /* u64, guest */
#define CTL_STAT_COMMANDS_OFF  0x1C0 /* u64, guest */
#define CTL_STAT_PAGES_WRITTEN_OFF  0x1C8 /* u64, guest */
#define CTL_STAT_PAGES_VERIFIED_OFF 0x1D0 /* u64, guest */
#define CTL_STAT_SLEEPS_OFF    0x1D8 /* u64, guest */
#define CTL_STAT_ALLOC_STALLS_OFF 0x1E0 /* u64, guest: allocations that failed after the shrinker and DEFLATE_ON_OOM */
#define CTL_STAT_STALL_NS_OFF  0x1E8 /* u64, guest: time stalled allocations waited until they got memory, in all */
#define CTL_STAT_SHRUNK_PAGES_OFF 0x1F0 /* u64, guest: pages the hint driver's shrinker gave back */
#define CTL_STAT_STALL_MAX_NS_OFF 0x1F8 /* u64, guest: the longest such wait */
/* Host-written at boot: where the guest's larger structures are, and its clock. */
#define CTL_TSC_KHZ_OFF        0x200 /* u64, host: TSC ticks per millisecond (KVM_GET_TSC_KHZ) */
#define CTL_REQ_RING_GPA_OFF   0x208 /* u64, host: the request ring (guest -> host) */
#define CTL_BALLOON_BUF_GPA_OFF 0x210 /* u64, host: BALLOON_BUFS buffers of PAGE_SIZE */
#define CTL_FREE_MAP_GPA_OFF   0x218 /* u64, host: allocator free map, bit i = RAM page index i is free */
#define CTL_HELD_MAP_GPA_OFF   0x220 /* u64, host: pages the hint driver holds */
#define CTL_BALLOON_MAP_GPA_OFF 0x228 /* u64, host: pages in the balloon (the guest's view) */
#define CTL_OBJS_GPA_OFF       0x230 /* u64, host: the workload's live allocations, u32 each */
#define CTL_REPORTED_MAP_GPA_OFF 0x238 /* u64, host: free page reporting's map: free and set = reported since last allocated; not free and set = isolated for a report in flight */
#define CTL_HOST_WANTS_REQUESTS_OFF 0x240 /* u32: host sets when it waits for requests, guest clears before ringing */
#define CTL_USED_PFN_OFF       0x280 /* u64, guest: the RAM page the devices write (USED_*), ~0 when none */
#define CTL_SLEEP_NS_OFF       0x288 /* u64, guest: longest PORT_SLEEP it wants (0: until a command) */
#define CTL_STAT_REQUESTS_OFF  0x290 /* u64, guest: request entries posted */
#define CTL_STAT_TICKS_OFF     0x298 /* u64, guest: workload ticks */
#define CTL_LAST_CMD_ID_OFF    0x2A0 /* u64, host: the last free page hint request id the host's device issued (0: none); device state that moves with the guest */
#define CTL_HINT_STOPPED_OFF   0x2A8 /* u64, guest: the last command id whose run of free page hints ended (an allocation failed, nothing free was left, or a stop) */
#define CTL_WL_OFF             0x2C0 /* u64[WL_COUNT], host: the workload and the drivers' settings */
#define CTL_SIZE               0x400

/* Workload parameters (u64 each, at CTL_WL_OFF + 8 * WL_*). Rates in bytes per second. */
#define WL_KIND                0  /* WK_* */
#define WL_SEED                1
#define WL_USED_PAGES          2  /* pages written at boot and kept */
#define WL_HOG_PAGES           3  /* memhog: pages written then freed before the migration */
#define WL_WS_PAGES            4  /* compile: working set */
#define WL_RATE_BPS            5  /* rewrites of live pages */
#define WL_CHURN_BPS           6  /* compile: new allocations (the oldest freed) */
#define WL_KEEP_PAGES          7  /* balloon, deflate-race: pages left to the guest, the rest ballooned */
#define WL_STEP_PAGES          8  /* deflate-race: pages deflated at a time */
#define WL_EVERY_US            9  /* deflate-race: how often */
#define WL_LATE_US             10 /* deflate-race without MUST_TELL_HOST: how late the host is told */
#define WL_POISON              11 /* the poison byte, 0 when free pages are not poisoned */
#define WL_FLAGS               12 /* WF_* */
#define WL_HINT_ORDER          13 /* free page hints report aligned free blocks of 2^order pages */
#define WL_REPORT_DELAY_US     14 /* free page reporting: how long after memory is freed the guest reports (Linux: 2 s) */
#define WL_PRESSURE_PAGES      15 /* pressure: pages an application keeps allocating on top of the workload (0: none) */
#define WL_COUNT               16

#define WK_NONE                0  /* no activity of its own: only commands */
#define WK_IDLE                1
#define WK_MEMHOG              2
#define WK_COMPILE             3
#define WK_RANDOM_WRITE        4
#define WK_BALLOON             5
#define WK_DEFLATE_RACE        6

#define WF_MUST_TELL_HOST      1  /* wait for the host before reusing a deflated page */
#define WF_BALLOON_BITMAP      2  /* balloon messages as bitmaps (else PFN arrays) */
#define WF_FREE_PAGE_HINT      4
#define WF_FREE_BITMAP         8
#define WF_REPORTING           16 /* free page reporting (VIRTIO_BALLOON_F_REPORTING) */
#define WF_DISCARD_POISONED    32 /* the host discards reported pages even when free pages hold a non-zero poison value */
#define WF_DISCARD_HINTED      64 /* the host discards the ranges hinted for the live command id (Firecracker's balloon) */
#define WF_LINUX_HINTS         128 /* the free page hint driver as Linux writes it (else the idealised one) */
#define WF_HINTS_ACKED         256 /* with WF_LINUX_HINTS: its shrinker gives back only blocks whose hint the host has taken */
#define WF_INIT_ON_ALLOC       512 /* the allocator zeroes what it hands out (init_on_alloc=1; not under poisoning) */
#define WF_DEFLATE_ON_OOM      1024 /* an allocation that finds nothing, even after the shrinker, takes pages back from the balloon */

/*
 * Single-producer single-consumer ring. head and tail count entries forever (mod 2^32);
 * the entry for index i is at RING_ENTRIES_OFF + (i % capacity) * RING_ENTRY_SIZE.
 * The producer fills the entry, then stores tail (release); the consumer loads tail
 * (acquire), reads the entry, then stores head (release).
 */
#define RING_MAGIC             0x474E4952U /* "RING" */
#define RING_MAGIC_OFF         0x00 /* u32 */
#define RING_CAPACITY_OFF      0x04 /* u32, a power of two */
#define RING_ENTRY_SIZE_OFF    0x08 /* u32 */
#define RING_TAIL_OFF          0x40 /* u32, producer */
#define RING_HEAD_OFF          0x80 /* u32, consumer */
#define RING_ENTRIES_OFF       0xC0
#define RING_CAPACITY          256
#define RING_ENTRY_SIZE        64
#define RING_BYTES             (RING_ENTRIES_OFF + RING_CAPACITY * RING_ENTRY_SIZE)

/* Ring entry: a command, and its reply (same id). */
#define ENT_OP_OFF             0x00 /* u32 */
#define ENT_STATUS_OFF         0x04 /* u32, replies */
#define ENT_ID_OFF             0x08 /* u64 */
#define ENT_ARGS_OFF           0x10 /* u64[ENT_NARGS] */
#define ENT_NARGS              6

/* Operations. Page arguments are PFNs (guest-physical frame numbers). */
#define OP_NOP                 1 /* reply args = command args */
#define OP_WRITE_PAGES         2 /* (pfn, count, stride): bump each page's version, stamp it; reply (written) */
#define OP_VERIFY_PAGES        3 /* (pfn, count, stride): reply (checked, bad, first bad pfn or ~0) */
#define OP_VERIFY_ALL          4 /* (): same reply, over every page ever written */
#define OP_SPIN                5 /* (token): loop with no exits until CTL_SPIN_STOP == token; reply (iterations) */
#define OP_READ_VERSION        6 /* (pfn): reply (version) */
#define OP_EXITS               7 /* (n): n exits to PORT_NOP, to measure what an exit costs; reply (n) */
#define OP_PROLOGUE            8 /* (): the workload's boot (CTL_WL_*), then it runs; reply (in use, free, ballooned) */
#define OP_HINT_CMD            9 /* (id): free page hint command: a new id [0x80000000, 0xffffffff], 0 stop, 1 done */
#define OP_FREE_BITMAP         10 /* (id): send the whole free page bitmap, answering id */
#define OP_SELF_CHECK          11 /* (): reply (checked, bad, first bad pfn or ~0, its CHECK_*, in use, free) */
#define OP_INJECT              12 /* (op, id, a0, a1, a2, a3): post this raw request (tests of bad guests) */
#define OP_STATS               13 /* (): reply (in use, free, held, ballooned, live objects, requests posted) */
#define OP_BALLOON             14 /* (1 inflate / 0 deflate, pages): reply (pages moved, first pfn) */
#define OP_ALLOC_WRITE         15 /* (pages, min order, max order): allocate, write and keep; reply (pages) */
#define OP_FREE_OLDEST         16 /* (keep pages): free the oldest allocations down to keep; reply (pages kept) */
#define OP_NO_REPLY            0x80000000U /* flag on op: the guest posts no reply */

/* Requests, guest -> host, on the request ring. Ranges are (pfn, pages) pairs in args; a pair
 * with pages = 0 ends the list. */
#define REQ_HINT               0x101 /* id = command id; up to 3 ranges */
#define REQ_FREE_BITMAP        0x102 /* id = command id; up to 3 ranges of free pages */
#define REQ_FREE_BITMAP_END    0x103 /* id = command id */
#define REQ_BALLOON            0x104 /* (1 inflate / 0 deflate, BM_*, buffer, count, base pfn) */
#define REQ_REPORT             0x105 /* id = report number; up to 3 ranges of free blocks the guest isolated for the host */
#define REQ_SHRINK             0x106 /* the hint driver's shrinker gave back these held blocks: up to 3 ranges */
#define REQ_ALLOC_STALL        0x107 /* (order, stalls so far, free pages): an allocation failed after the shrinker and DEFLATE_ON_OOM */
#define REQ_ALLOC_WAITED       0x108 /* (order, ns waited, stalls so far): a stalled allocation got its memory */
#define OOM_DEFLATE_PAGES      256 /* pages DEFLATE_ON_OOM takes back at a time (Linux's VIRTIO_BALLOON_OOM_NR_PAGES) */
#define PRESSURE_RATE_BPS      0x40000000 /* pressure: the application allocates and writes at 1 GiB/s */
#define PRESSURE_HOLD_US       100000 /* and holds what it reached 100 ms before it frees it all */
#define REPORT_ORDER           9  /* free page reporting reports aligned free blocks of 2^9 pages (2 MiB, pageblock_order on x86) */
#define REPORT_CAPACITY        32 /* blocks per report (Linux's PAGE_REPORTING_CAPACITY) */
#define BM_PFNS                0  /* buffer holds count u32 PFNs */
#define BM_BITMAP              1  /* buffer holds count bits, bit i = base pfn + i */
#define BALLOON_BUFS           16
#define BALLOON_PFNS_MAX       256
#define BALLOON_BITS_MAX       32768

/* The devices' page in guest RAM (the used ring of a virtio device, in short): the host writes
 * it after every batch of requests, so it is guest memory the host writes. */
#define USED_MAGIC             0x44455355474C4C42ULL /* "BLLGUSED" little-endian */
#define USED_MAGIC_WORD        0
#define USED_CONSUMED_WORD     1 /* request entries the host has finished (the ring head) */
#define USED_HINT_TAKEN_WORD   2 /* 1 + the request ring index of the last hint the host has taken (read and acted on) */

/* What OP_SELF_CHECK found wrong first. */
#define CHECK_STAMP            1 /* a page in use does not hold what the guest last wrote */
#define CHECK_POISON           2 /* a free page does not hold the poison byte */
#define CHECK_USED             5 /* the devices' page is older than what the guest saw */

#define ST_OK                  0
#define ST_BAD_OP              1
#define ST_BAD_RANGE           2

/* I/O ports: the only exits the guest makes. */
#define PORT_DOORBELL          0x10 /* a reply is ready and the host asked to be woken */
#define PORT_SLEEP             0x11 /* the command ring is empty: resume me when it is not */
#define PORT_PANIC             0x12 /* the guest cannot go on: CTL_PANIC_CODE says why */
#define PORT_NOP               0x13 /* nothing: the host just runs the guest again (OP_EXITS) */

#define PANIC_BAD_CONTROL      1
#define PANIC_BAD_RING         2
#define PANIC_NO_MEMORY        3

/*
 * Page stamp: the first four words of a stamped page, then 508 payload words.
 * checksum = stamp_checksum(all words except word 2); see stamp.h.
 */
#define STAMP_MAGIC            0x3154534C4C41425FULL /* "_BALLST1" little-endian */
#define STAMP_PFN_WORD         0
#define STAMP_VERSION_WORD     1
#define STAMP_CHECKSUM_WORD    2
#define STAMP_MAGIC_WORD       3
#define STAMP_PAYLOAD_WORD     4

#define PAGE_SIZE              4096
#define PAGE_WORDS             512

#endif
