package dev.ballast.core.mem;

/**
 * A named, contiguous range of guest-physical RAM.
 *
 * @param name       what the wire calls it, e.g. {@code ram-low}
 * @param index      its position in its layout (host-side only: never sent)
 * @param firstPfn   guest-physical frame number of its first page
 * @param pages      its length in pages
 * @param firstIndex the index of its first page in the layout's concatenated page space (host-side only)
 */
public record RamBlock(String name, int index, long firstPfn, long pages, long firstIndex) {
    public RamBlock {
        if (name == null || name.isEmpty() || name.length() > 64)
            throw new IllegalArgumentException("block name must be 1..64 chars");
        if (pages <= 0) throw new IllegalArgumentException("block " + name + ": pages=" + pages + " must be > 0");
        if (firstPfn < 0)
            throw new IllegalArgumentException("block " + name + ": firstPfn=" + firstPfn + " must be >= 0");
    }

    public long endPfn() {
        return firstPfn + pages;
    }

    public long endIndex() {
        return firstIndex + pages;
    }

    public long bytes() {
        return pages * RamLayout.PAGE_SIZE;
    }

    public boolean containsPfn(long pfn) {
        return pfn >= firstPfn && pfn < firstPfn + pages;
    }
}
