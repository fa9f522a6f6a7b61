package dev.ballast.sim;

import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;

/**
 * The guest's allocator of free pages, in blocks of 2^k pages aligned to their size within a RAM
 * block. Next-fit over a bitmap of free pages: it keeps going from where the last allocation
 * ended, so long-running churn fragments memory as a real allocator's does.
 */
final class PageAllocator {
    private final RamBlock[] blocks;
    private final PageBitmap free;
    private long freePages;
    private int cursorBlock;
    private long cursor;
    /**
     * The smallest order a full search found no block of since the last free (only frees can make one): a larger
     * or equal order fails at once. A stalled allocation tries again every guest tick, each try from order 9 down,
     * and each failed order was a search of the whole memory; under memory pressure with fragmented free memory that
     * made a simulated second cost minutes.
     */
    private int failsFrom = Integer.MAX_VALUE;
    /** Searches of a RAM block for a free aligned range (for tests). */
    long searches;

    PageAllocator(RamLayout layout) {
        this.blocks = layout.blocks().toArray(RamBlock[]::new);
        this.free = new PageBitmap(layout.totalPages());
        free.setAll();
        this.freePages = layout.totalPages();
        this.cursor = blocks[0].firstIndex();
    }

    PageBitmap freeMap() {
        return free;
    }

    long freePages() {
        return freePages;
    }

    boolean isFree(long index) {
        return free.get(index);
    }

    /** The next allocation searches from the start of memory (as Linux hands a process the low pages a boot freed). */
    void rewind() {
        cursorBlock = 0;
        cursor = blocks[0].firstIndex();
    }

    /** Allocates an aligned block of 2^order pages; returns its first page index, or -1 if there is none. */
    long alloc(int order) {
        long size = 1L << order;
        if (freePages < size) return -1;
        if (order >= failsFrom) {
            // where a failed search leaves the cursor: it went round every block once and one more
            cursorBlock = (cursorBlock + 1) % blocks.length;
            cursor = blocks[cursorBlock].firstIndex();
            return -1;
        }
        for (int pass = 0; pass <= blocks.length; pass++) {
            RamBlock b = blocks[cursorBlock];
            long start = Math.max(cursor, b.firstIndex());
            long found = findIn(b, start, size);
            if (found >= 0) {
                free.clearRange(found, found + size);
                freePages -= size;
                cursor = found + size;
                return found;
            }
            // wrap: the next block, or this block from its start on the last pass
            cursorBlock = (cursorBlock + 1) % blocks.length;
            cursor = blocks[cursorBlock].firstIndex();
        }
        failsFrom = order;
        return -1;
    }

    private long findIn(RamBlock b, long from, long size) {
        searches++;
        long base = b.firstIndex();
        long end = b.endIndex();
        long i = base + ((from - base + size - 1) / size) * size;
        while (i + size <= end) {
            long f = free.nextSetBit(i, end);
            if (f >= end) return -1;
            if (f > i) {
                i = base + ((f - base + size - 1) / size) * size;
                continue;
            }
            long c = free.nextClearBit(i, i + size);
            if (c == i + size) return i;
            i = base + ((c - base) / size + 1) * size;
        }
        return -1;
    }

    /** Takes a specific free range (all of it must be free). */
    void take(long index, long pages) {
        if (free.countRange(index, index + pages) != pages) throw new IllegalStateException("range is not free");
        free.clearRange(index, index + pages);
        freePages -= pages;
    }

    /** Returns pages to the allocator. */
    void free(long index, long pages) {
        long added = free.setRangeCounting(index, index + pages);
        if (added != pages)
            throw new IllegalStateException("double free of " + (pages - added) + " pages at index " + index);
        freePages += pages;
        failsFrom = Integer.MAX_VALUE;
    }
}
