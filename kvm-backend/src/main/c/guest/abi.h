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
 *   size rounded up to 2 MiB
 */
#ifndef BALLAST_GUEST_ABI_H
#define BALLAST_GUEST_ABI_H

#define ABI_VERSION            1

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
#define CTL_SIZE               0x200

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
