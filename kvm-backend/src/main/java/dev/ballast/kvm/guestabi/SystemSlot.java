package dev.ballast.kvm.guestabi;

import static dev.ballast.kvm.guestabi.GuestAbi.PAGE_SIZE;
import static dev.ballast.kvm.guestabi.GuestAbi.SYS_GPA;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.ballast.kvm.Regs;
import dev.ballast.kvm.Segment;
import dev.ballast.kvm.Sregs;
import dev.ballast.kvm.mem.GuestLayout;
import java.lang.foreign.MemorySegment;

/**
 * Builds the system slot of a fresh guest (control block, rings, GDT and TSS, guest image, page
 * tables; see {@code abi.h} and {@link GuestLayout}) and the vCPU state that starts the guest
 * program at CPL 3 in 64-bit long mode, so no guest code ever runs at CPL 0.
 */
public final class SystemSlot {
    // page-table entry bits
    static final long PTE_P = 1L;
    static final long PTE_RW = 1L << 1;
    static final long PTE_US = 1L << 2;
    static final long PTE_PS = 1L << 7;
    static final long TABLE = PTE_P | PTE_RW | PTE_US;
    static final long HUGE = PTE_P | PTE_RW | PTE_US | PTE_PS;

    // control registers
    public static final long CR0_PE = 1L;
    public static final long CR0_MP = 1L << 1;
    public static final long CR0_ET = 1L << 4;
    public static final long CR0_NE = 1L << 5;
    public static final long CR0_WP = 1L << 16;
    public static final long CR0_PG = 1L << 31;
    public static final long CR4_PAE = 1L << 5;
    public static final long EFER_LME = 1L << 8;
    public static final long EFER_LMA = 1L << 10;

    // GDT: null, kernel code, kernel data, user code (0x18|3), user data (0x20|3), TSS (0x28, 16 bytes)
    public static final int SEL_USER_CODE = 0x18 | 3;
    public static final int SEL_USER_DATA = 0x20 | 3;
    public static final int SEL_TSS = 0x28;
    static final int GDT_ENTRIES = 7;
    static final int TSS_OFF = GuestAbi.SYS_GDT_OFF + 0x100;
    /** Where the I/O permission bitmap starts in the TSS (right after the 104-byte TSS proper). */
    static final int TSS_IOMAP_BASE = 0x68;
    /** 65536 ports, one bit each, plus the all-ones byte the CPU requires after the bitmap. */
    static final int TSS_LIMIT = TSS_IOMAP_BASE + 65536 / 8;

    private SystemSlot() {}

    /**
     * Fills a zeroed system slot for a guest of this layout.
     *
     * @param idleSpins empty polls of the command ring before the guest sleeps (exits)
     */
    public static void install(MemorySegment sys, GuestLayout layout, GuestImage image, long idleSpins) {
        if (sys.byteSize() != layout.systemBytes()) {
            throw new IllegalArgumentException(
                    "system slot is " + sys.byteSize() + " bytes, layout says " + layout.systemBytes());
        }
        writeControlBlock(sys, layout, idleSpins);
        Ring.format(sys.asSlice(GuestAbi.SYS_CMD_RING_OFF));
        Ring.format(sys.asSlice(GuestAbi.SYS_REPLY_RING_OFF));
        Ring.format(sys.asSlice(layout.requestRingOffset()));
        writeGdt(sys);
        MemorySegment.copy(
                MemorySegment.ofArray(image.bytes()), 0, sys, image.loadGpa() - SYS_GPA, image.bytes().length);
        writePageTables(sys, layout);
    }

    static void writeControlBlock(MemorySegment sys, GuestLayout layout, long idleSpins) {
        MemorySegment c = sys.asSlice(GuestAbi.SYS_CTL_OFF, GuestAbi.CTL_SIZE);
        c.set(JAVA_LONG, GuestAbi.CTL_MAGIC_OFF, GuestAbi.CTL_MAGIC);
        c.set(JAVA_INT, GuestAbi.CTL_ABI_OFF, GuestAbi.ABI_VERSION);
        c.set(JAVA_INT, GuestAbi.CTL_NBLOCKS_OFF, layout.ramBlocks().size());
        for (int i = 0; i < layout.ramBlocks().size(); i++) {
            GuestLayout.BlockSpec b = layout.ramBlocks().get(i);
            c.set(JAVA_LONG, GuestAbi.CTL_BLOCKS_OFF + 16L * i, b.gpa());
            c.set(JAVA_LONG, GuestAbi.CTL_BLOCKS_OFF + 16L * i + 8, b.pages());
        }
        c.set(JAVA_LONG, GuestAbi.CTL_VERSIONS_GPA_OFF, SYS_GPA + layout.versionTableOffset());
        c.set(JAVA_LONG, GuestAbi.CTL_TOTAL_PAGES_OFF, layout.ramPages());
        c.set(JAVA_LONG, GuestAbi.CTL_IDLE_SPINS_OFF, idleSpins);
        c.set(JAVA_LONG, GuestAbi.CTL_REQ_RING_GPA_OFF, SYS_GPA + layout.requestRingOffset());
        c.set(JAVA_LONG, GuestAbi.CTL_BALLOON_BUF_GPA_OFF, SYS_GPA + layout.balloonBufOffset());
        c.set(JAVA_LONG, GuestAbi.CTL_FREE_MAP_GPA_OFF, SYS_GPA + layout.freeMapOffset());
        c.set(JAVA_LONG, GuestAbi.CTL_HELD_MAP_GPA_OFF, SYS_GPA + layout.heldMapOffset());
        c.set(JAVA_LONG, GuestAbi.CTL_BALLOON_MAP_GPA_OFF, SYS_GPA + layout.balloonMapOffset());
        c.set(JAVA_LONG, GuestAbi.CTL_OBJS_GPA_OFF, SYS_GPA + layout.objectsOffset());
        c.set(JAVA_LONG, GuestAbi.CTL_REPORTED_MAP_GPA_OFF, SYS_GPA + layout.reportedMapOffset());
        c.set(JAVA_LONG, GuestAbi.CTL_USED_PFN_OFF, -1L);
    }

    /**
     * Writes the guest's settings (TSC rate and the {@code WL_*} workload parameters) into the
     * control block of an installed slot, before the guest starts.
     */
    public static void writeSettings(MemorySegment sys, long tscKhz, long[] workload) {
        if (workload.length > GuestAbi.WL_COUNT) {
            throw new IllegalArgumentException(
                    "at most " + GuestAbi.WL_COUNT + " workload parameters: " + workload.length);
        }
        sys.set(JAVA_LONG, GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_TSC_KHZ_OFF, tscKhz);
        for (int i = 0; i < workload.length; i++) {
            sys.set(JAVA_LONG, GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_WL_OFF + 8L * i, workload[i]);
        }
    }

    /** A GDT with the descriptors the segment registers claim, so that a reload would find them. */
    static void writeGdt(MemorySegment sys) {
        MemorySegment g = sys.asSlice(GuestAbi.SYS_GDT_OFF, GDT_ENTRIES * 8L);
        g.setAtIndex(JAVA_LONG, 1, 0x00AF9B000000FFFFL); // kernel code, 64-bit
        g.setAtIndex(JAVA_LONG, 2, 0x00CF93000000FFFFL); // kernel data
        g.setAtIndex(JAVA_LONG, 3, 0x00AFFB000000FFFFL); // user code, 64-bit, DPL 3
        g.setAtIndex(JAVA_LONG, 4, 0x00CFF3000000FFFFL); // user data, DPL 3
        long base = SYS_GPA + TSS_OFF;
        long low = (TSS_LIMIT & 0xFFFFL) | (base & 0xFFFFFFL) << 16 | 0x8BL << 40 | ((base >>> 24) & 0xFF) << 56;
        g.setAtIndex(JAVA_LONG, 5, low); // 64-bit TSS, busy
        g.setAtIndex(JAVA_LONG, 6, base >>> 32);
        // TSS with an I/O permission bitmap that lets CPL 3 use the guest's ports (PORT_DOORBELL..PORT_NOP)
        // and nothing else. RFLAGS.IOPL = 3 is not enough here: this machine's KVM (kvm_pvm) ignores it and
        // checks the bitmap (see README).
        sys.set(JAVA_SHORT, TSS_OFF + 0x66, (short) TSS_IOMAP_BASE);
        MemorySegment bitmap = sys.asSlice(TSS_OFF + TSS_IOMAP_BASE, 65536 / 8 + 1);
        bitmap.fill((byte) 0xFF);
        for (int port = GuestAbi.PORT_DOORBELL; port <= GuestAbi.PORT_NOP; port++) {
            int at = port / 8;
            bitmap.set(JAVA_BYTE, at, (byte) (bitmap.get(JAVA_BYTE, at) & ~(1 << (port % 8))));
        }
    }

    static void writePageTables(MemorySegment sys, GuestLayout layout) {
        long ptBase = SYS_GPA;
        sys.set(JAVA_LONG, GuestLayout.PT_PML4, (ptBase + GuestLayout.PT_LOW_PDPT) | TABLE);
        sys.set(JAVA_LONG, GuestLayout.PT_PML4 + 8L * (SYS_GPA >>> 39), (ptBase + GuestLayout.PT_SYS_PDPT) | TABLE);
        // RAM: one PD per GiB; 2 MiB pages only where a RAM block is
        for (int gib = 0; gib < layout.ramGibSpan(); gib++) {
            long pd = GuestLayout.PT_RAM_PDS + (long) gib * PAGE_SIZE;
            sys.set(JAVA_LONG, GuestLayout.PT_LOW_PDPT + 8L * gib, (ptBase + pd) | TABLE);
        }
        for (GuestLayout.BlockSpec b : layout.ramBlocks()) {
            for (long gpa = b.gpa(); gpa < b.endGpa(); gpa += GuestLayout.HUGE_PAGE) {
                long gib = gpa / GuestLayout.GIB;
                long pd = GuestLayout.PT_RAM_PDS + gib * PAGE_SIZE;
                long index = (gpa % GuestLayout.GIB) / GuestLayout.HUGE_PAGE;
                sys.set(JAVA_LONG, pd + 8 * index, gpa | HUGE);
            }
        }
        // the system slot itself, at 1 TiB
        sys.set(JAVA_LONG, GuestLayout.PT_SYS_PDPT, (ptBase + GuestLayout.PT_SYS_PD) | TABLE);
        for (long off = 0; off < layout.systemBytes(); off += GuestLayout.HUGE_PAGE) {
            sys.set(JAVA_LONG, GuestLayout.PT_SYS_PD + 8 * (off / GuestLayout.HUGE_PAGE), (SYS_GPA + off) | HUGE);
        }
    }

    /** Special registers for CPL 3 in 64-bit long mode with this slot's page tables and GDT. */
    public static Sregs longModeSregs(Sregs reset) {
        Segment code = new Segment(0, 0xFFFFFFFF, SEL_USER_CODE, 0xB, true, 3, false, true, true, true, false, false);
        Segment data = new Segment(0, 0xFFFFFFFF, SEL_USER_DATA, 0x3, true, 3, true, true, false, true, false, false);
        Segment tr = new Segment(
                SYS_GPA + TSS_OFF, TSS_LIMIT, SEL_TSS, 0xB, true, 0, false, false, false, false, false, false);
        return reset.withLongMode(
                CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG,
                SYS_GPA + GuestLayout.PT_PML4,
                CR4_PAE,
                EFER_LME | EFER_LMA,
                code,
                data,
                tr,
                new Sregs.DTable(SYS_GPA + GuestAbi.SYS_GDT_OFF, GDT_ENTRIES * 8 - 1),
                new Sregs.DTable(0, 0));
    }

    /**
     * General registers at the guest program's entry: its stack, interrupts off, IOPL 0 (the guest's
     * ports are opened by the TSS I/O bitmap instead, which works here and on any KVM).
     */
    public static Regs entryRegs(GuestImage image) {
        return Regs.entry(image.entryGpa(), SYS_GPA + GuestAbi.SYS_STACK_TOP_OFF, Regs.RFLAGS_FIXED);
    }
}
