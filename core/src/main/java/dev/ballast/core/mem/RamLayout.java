package dev.ballast.core.mem;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The guest's RAM blocks. Host-side, pages are numbered by a <em>page index</em>: the blocks'
 * pages concatenated in list order. The guest names pages by PFN. The wire names them by (block
 * name, offset in block) — never by page index, because two hosts can order their blocks
 * differently.
 */
public final class RamLayout {
    public static final int PAGE_SIZE = 4096;
    public static final int PAGE_SHIFT = 12;
    /** Guests larger than this get a PC-like layout with a hole below 4 GiB. */
    public static final long LOW_MEM_MAX = 3L << 30;

    public static final long HIGH_MEM_START = 4L << 30;

    private final RamBlock[] blocks;
    private final long totalPages;

    private RamLayout(List<RamBlock> list) {
        this.blocks = list.toArray(RamBlock[]::new);
        long t = 0;
        for (RamBlock b : blocks) t += b.pages();
        this.totalPages = t;
    }

    /** A block as the caller describes it. */
    public record Spec(String name, long firstPfn, long pages) {}

    /**
     * Blocks in the given order (the host-side order). Names must be unique and PFN ranges must
     * not overlap.
     */
    public static RamLayout of(List<Spec> specs) {
        if (specs.isEmpty()) throw new IllegalArgumentException("a layout needs at least one block");
        List<RamBlock> list = new ArrayList<>();
        Set<String> names = new HashSet<>();
        long index = 0;
        for (int i = 0; i < specs.size(); i++) {
            Spec s = specs.get(i);
            if (!names.add(s.name())) throw new IllegalArgumentException("block name " + s.name() + " appears twice");
            RamBlock b = new RamBlock(s.name(), i, s.firstPfn(), s.pages(), index);
            for (RamBlock o : list) {
                if (b.firstPfn() < o.endPfn() && o.firstPfn() < b.endPfn()) {
                    throw new IllegalArgumentException("blocks " + o.name() + " and " + b.name() + " overlap");
                }
            }
            list.add(b);
            index += s.pages();
        }
        return new RamLayout(list);
    }

    /**
     * The PC-like layout: up to 3 GiB one block {@code ram-low} at 0; more than that splits into
     * {@code ram-low} = [0, 3 GiB) and {@code ram-high} from 4 GiB (the hole between is not RAM).
     */
    public static RamLayout pcLike(long bytes) {
        if (bytes <= 0 || bytes % PAGE_SIZE != 0)
            throw new IllegalArgumentException("guest memory " + bytes + " must be a positive multiple of 4 KiB");
        if (bytes <= LOW_MEM_MAX) return of(List.of(new Spec("ram-low", 0, bytes >>> PAGE_SHIFT)));
        return of(List.of(
                new Spec("ram-low", 0, LOW_MEM_MAX >>> PAGE_SHIFT),
                new Spec("ram-high", HIGH_MEM_START >>> PAGE_SHIFT, (bytes - LOW_MEM_MAX) >>> PAGE_SHIFT)));
    }

    public List<RamBlock> blocks() {
        return List.of(blocks);
    }

    public int blockCount() {
        return blocks.length;
    }

    public RamBlock block(int i) {
        return blocks[i];
    }

    public long totalPages() {
        return totalPages;
    }

    public long totalBytes() {
        return totalPages * PAGE_SIZE;
    }

    /** The block with this name, or null. */
    public RamBlock blockNamed(String name) {
        for (RamBlock b : blocks) if (b.name().equals(name)) return b;
        return null;
    }

    /** The block that holds page index {@code index}. */
    public RamBlock blockOfIndex(long index) {
        for (RamBlock b : blocks)
            if (index < b.endIndex()) {
                if (index < b.firstIndex()) break;
                return b;
            }
        throw new IndexOutOfBoundsException("page index " + index + " of " + totalPages);
    }

    /** The page index of a PFN, or -1 if it is not RAM. */
    public long indexOfPfn(long pfn) {
        for (RamBlock b : blocks) if (b.containsPfn(pfn)) return b.firstIndex() + (pfn - b.firstPfn());
        return -1;
    }

    public long pfnOfIndex(long index) {
        RamBlock b = blockOfIndex(index);
        return b.firstPfn() + (index - b.firstIndex());
    }

    /** Receives a range that lies inside one block. */
    @FunctionalInterface
    public interface BlockRangeConsumer {
        void range(RamBlock block, long offset, long pages);
    }

    /**
     * Splits the guest range [pfn, pfn+pages) into the parts that lie in each block (a range can
     * cross from one block into the next) and returns how many of its pages are not RAM at all.
     */
    public long splitPfnRange(long pfn, long pages, BlockRangeConsumer c) {
        if (pages <= 0) return 0;
        if (pfn < 0 || pfn + pages < pfn) return pages;
        long end = pfn + pages;
        long inside = 0;
        // Blocks may be listed in any order: report the parts in guest-physical order.
        long cursor = pfn;
        while (cursor < end) {
            RamBlock next = null;
            for (RamBlock b : blocks) {
                if (b.endPfn() > cursor && b.firstPfn() < end && (next == null || b.firstPfn() < next.firstPfn()))
                    next = b;
            }
            if (next == null) break;
            long s = Math.max(cursor, next.firstPfn());
            long e = Math.min(end, next.endPfn());
            c.range(next, s - next.firstPfn(), e - s);
            inside += e - s;
            cursor = e;
        }
        return pages - inside;
    }

    /** "ram-high+0x1200 (PFN 0x101200)" */
    public String describeIndex(long index) {
        RamBlock b = blockOfIndex(index);
        long off = index - b.firstIndex();
        return b.name() + "+0x" + Long.toHexString(off) + " (PFN 0x" + Long.toHexString(b.firstPfn() + off) + ")";
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (RamBlock b : blocks) {
            if (!sb.isEmpty()) sb.append(", ");
            sb.append(b.name())
                    .append("@0x")
                    .append(Long.toHexString(b.firstPfn() << PAGE_SHIFT))
                    .append('+')
                    .append(b.pages())
                    .append('p');
        }
        return sb.toString();
    }
}
