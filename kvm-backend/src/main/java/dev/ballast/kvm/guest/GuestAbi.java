package dev.ballast.kvm.guest;

/**
 * The host's copy of the guest ABI, {@code src/main/c/guest/abi.h}, which has the full picture
 * of the system slot, the control block, the rings and the page stamp. Same names, same values;
 * {@code GuestAbiTest} compiles the header and compares every constant.
 */
public final class GuestAbi {
    private GuestAbi() {
    }

    public static final int ABI_VERSION = 1;

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
    public static final int CTL_SIZE = 0x200;

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
}
