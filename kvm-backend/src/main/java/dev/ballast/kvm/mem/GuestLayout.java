package dev.ballast.kvm.mem;

import static dev.ballast.kvm.guestabi.GuestAbi.PAGE_SIZE;
import static dev.ballast.kvm.guestabi.GuestAbi.SYS_GPA;
import static dev.ballast.kvm.guestabi.GuestAbi.SYS_PT_OFF;

import dev.ballast.kvm.guestabi.GuestAbi;
import java.util.List;

/**
 * Where everything is in guest-physical memory, computed from the RAM size alone (so a
 * destination built from the same size has the same layout). PC-like: {@code ram-low} =
 * [0, 3 GiB); for guests over 3 GiB, {@code ram-high} from 4 GiB; the system slot at
 * {@link dev.ballast.kvm.guestabi.GuestAbi#SYS_GPA} (1 TiB) holds the guest program, its stack,
 * page tables, rings and version table, so the RAM blocks are pure guest RAM.
 *
 * <p>Page tables (identity map, 2 MiB pages, U/S set on every level), at
 * {@code SYS_PT_OFF} in the system slot:
 * <pre>
 *   +0x0000  PML4: [0] -> low PDPT, [2] -> system PDPT (1 TiB / 512 GiB = 2)
 *   +0x1000  low PDPT: [i] -> PD of GiB i, for every GiB up to the end of RAM
 *   +0x2000  system PDPT: [0] -> system PD
 *   +0x3000  system PD: 2 MiB pages of the system slot
 *   +0x4000  PDs of RAM, one per GiB (the hole's entries stay not-present)
 * </pre>
 * then the version table (one u32 per RAM page); then, each page-aligned, the request ring
 * (guest to host), the balloon message buffers, the guest allocator's free map, the hint driver's
 * held map and the guest's balloon map (a bit per RAM page each), the workload's object ring
 * (a u32 per RAM page) and free page reporting's map (a bit per RAM page); the slot is rounded up
 * to 2 MiB.
 *
 * @param ramBytes          guest RAM, a multiple of 2 MiB
 * @param ramBlocks         the RAM blocks in guest-physical order
 * @param systemBytes       size of the system slot
 * @param ramGibSpan        GiB of guest-physical space up to the end of RAM (one PD each)
 * @param versionTableOffset offset of the version table in the system slot
 * @param requestRingOffset  offset of the request ring (guest to host)
 * @param balloonBufOffset   offset of the balloon message buffers
 * @param freeMapOffset      offset of the guest allocator's free map
 * @param heldMapOffset      offset of the hint driver's held map
 * @param balloonMapOffset   offset of the guest's balloon map
 * @param objectsOffset      offset of the workload's object ring
 * @param reportedMapOffset  offset of free page reporting's map
 */
public record GuestLayout(
        long ramBytes,
        List<BlockSpec> ramBlocks,
        long systemBytes,
        int ramGibSpan,
        long versionTableOffset,
        long requestRingOffset,
        long balloonBufOffset,
        long freeMapOffset,
        long heldMapOffset,
        long balloonMapOffset,
        long objectsOffset,
        long reportedMapOffset) {

    public static final long KIB = 1024;
    public static final long MIB = 1024 * KIB;
    public static final long GIB = 1024 * MIB;
    public static final long HUGE_PAGE = 2 * MIB;
    /** The largest guest the KVM backend runs (and a {@code ballast dest} takes by default). */
    public static final long MAX_GUEST_BYTES = 256 * GIB;
    /** Start of the PC hole below 4 GiB. */
    public static final long LOW_RAM_MAX = 3 * GIB;

    public static final long HIGH_RAM_BASE = 4 * GIB;
    /** Guest-physical space one low PDPT maps: RAM must end below it. */
    public static final long RAM_SPACE_MAX = 512 * GIB;

    public static final String RAM_LOW = "ram-low";
    public static final String RAM_HIGH = "ram-high";
    public static final String SYSTEM = "system";

    public static final long PT_PML4 = SYS_PT_OFF;
    public static final long PT_LOW_PDPT = SYS_PT_OFF + 0x1000;
    public static final long PT_SYS_PDPT = SYS_PT_OFF + 0x2000;
    public static final long PT_SYS_PD = SYS_PT_OFF + 0x3000;
    public static final long PT_RAM_PDS = SYS_PT_OFF + 0x4000;

    /** A block of guest-physical memory: its name, start and size. */
    public record BlockSpec(String name, long gpa, long bytes) {
        public long pages() {
            return bytes / PAGE_SIZE;
        }

        public long firstPfn() {
            return gpa / PAGE_SIZE;
        }

        public long endGpa() {
            return gpa + bytes;
        }
    }

    public GuestLayout {
        ramBlocks = List.copyOf(ramBlocks);
    }

    /** The layout of a guest with {@code ramBytes} of RAM. */
    public static GuestLayout forRam(long ramBytes) {
        if (ramBytes <= 0 || ramBytes % HUGE_PAGE != 0) {
            throw new IllegalArgumentException("guest RAM must be a positive multiple of 2 MiB: ramBytes=" + ramBytes);
        }
        List<BlockSpec> blocks = ramBytes <= LOW_RAM_MAX
                ? List.of(new BlockSpec(RAM_LOW, 0, ramBytes))
                : List.of(
                        new BlockSpec(RAM_LOW, 0, LOW_RAM_MAX),
                        new BlockSpec(RAM_HIGH, HIGH_RAM_BASE, ramBytes - LOW_RAM_MAX));
        long end = blocks.getLast().endGpa();
        if (end > RAM_SPACE_MAX) {
            throw new IllegalArgumentException("guest RAM too large: ramBytes=" + ramBytes + " ends at gpa 0x"
                    + Long.toHexString(end) + ", past the 512 GiB the page tables map");
        }
        int gibSpan = (int) ((end + GIB - 1) / GIB);
        long versionTable = PT_RAM_PDS + (long) gibSpan * PAGE_SIZE;
        long pages = ramBytes / PAGE_SIZE;
        long requestRing = versionTable + roundUp(pages * 4, PAGE_SIZE);
        long balloonBufs = requestRing + roundUp(GuestAbi.RING_BYTES, PAGE_SIZE);
        long bitmapBytes = roundUp((pages + 63) / 64 * 8, PAGE_SIZE);
        long freeMap = balloonBufs + (long) GuestAbi.BALLOON_BUFS * PAGE_SIZE;
        long heldMap = freeMap + bitmapBytes;
        long balloonMap = heldMap + bitmapBytes;
        long objects = balloonMap + bitmapBytes;
        long reportedMap = objects + roundUp(pages * 4, PAGE_SIZE);
        long systemBytes = roundUp(reportedMap + bitmapBytes, HUGE_PAGE);
        if (systemBytes > GIB) {
            throw new IllegalArgumentException("system slot over 1 GiB for ramBytes=" + ramBytes);
        }
        return new GuestLayout(
                ramBytes,
                blocks,
                systemBytes,
                gibSpan,
                versionTable,
                requestRing,
                balloonBufs,
                freeMap,
                heldMap,
                balloonMap,
                objects,
                reportedMap);
    }

    static long roundUp(long v, long to) {
        return (v + to - 1) / to * to;
    }

    public long ramPages() {
        return ramBytes / PAGE_SIZE;
    }

    public BlockSpec systemBlock() {
        return new BlockSpec(SYSTEM, SYS_GPA, systemBytes);
    }

    /** The RAM blocks, then the system slot: every block a migration must carry. */
    public List<BlockSpec> allBlocks() {
        return java.util.stream.Stream.concat(ramBlocks.stream(), java.util.stream.Stream.of(systemBlock()))
                .toList();
    }

    /** The RAM block holding a PFN, or null when the PFN is not RAM. */
    public BlockSpec ramBlockOfPfn(long pfn) {
        for (BlockSpec b : ramBlocks) {
            if (pfn >= b.firstPfn() && pfn - b.firstPfn() < b.pages()) {
                return b;
            }
        }
        return null;
    }
}
