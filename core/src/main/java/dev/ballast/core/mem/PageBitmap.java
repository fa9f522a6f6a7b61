package dev.ballast.core.mem;

import java.util.Arrays;

/**
 * A bitmap of pages, one bit a page, kept as 64-bit words so that walks skip 64 clear pages at a
 * time. Bit {@code i} lives in word {@code i >>> 6} at bit {@code i & 63}. Bits past {@link #size()}
 * are always clear.
 */
public final class PageBitmap {
    private final long size;
    private final long[] words;

    public PageBitmap(long size) {
        if (size < 0 || (size + 63) >>> 6 > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("bitmap size " + size);
        this.size = size;
        this.words = new long[(int) ((size + 63) >>> 6)];
    }

    public long size() {
        return size;
    }

    /** The backing words, for walks that want them directly. Do not set bits past {@link #size()}. */
    public long[] words() {
        return words;
    }

    public boolean get(long i) {
        return (words[(int) (i >>> 6)] & (1L << i)) != 0;
    }

    public void set(long i) {
        words[(int) (i >>> 6)] |= 1L << i;
    }

    public void clear(long i) {
        words[(int) (i >>> 6)] &= ~(1L << i);
    }

    /** Sets bit i and says whether it was clear before. */
    public boolean testAndSet(long i) {
        int w = (int) (i >>> 6);
        long m = 1L << i;
        long old = words[w];
        words[w] = old | m;
        return (old & m) == 0;
    }

    /** Clears bit i and says whether it was set before. */
    public boolean testAndClear(long i) {
        int w = (int) (i >>> 6);
        long m = 1L << i;
        long old = words[w];
        words[w] = old & ~m;
        return (old & m) != 0;
    }

    /** Sets [from, to). */
    public void setRange(long from, long to) {
        checkRange(from, to);
        if (from == to) return;
        int fw = (int) (from >>> 6), lw = (int) ((to - 1) >>> 6);
        long first = -1L << from, last = -1L >>> -to;
        if (fw == lw) {
            words[fw] |= first & last;
            return;
        }
        words[fw] |= first;
        Arrays.fill(words, fw + 1, lw, -1L);
        words[lw] |= last;
    }

    /** Clears [from, to). */
    public void clearRange(long from, long to) {
        checkRange(from, to);
        if (from == to) return;
        int fw = (int) (from >>> 6), lw = (int) ((to - 1) >>> 6);
        long first = -1L << from, last = -1L >>> -to;
        if (fw == lw) {
            words[fw] &= ~(first & last);
            return;
        }
        words[fw] &= ~first;
        Arrays.fill(words, fw + 1, lw, 0L);
        words[lw] &= ~last;
    }

    /** Clears [from, to) and returns how many of those bits were set. */
    public long clearRangeCounting(long from, long to) {
        long n = countRange(from, to);
        clearRange(from, to);
        return n;
    }

    /** Sets [from, to) and returns how many of those bits were clear. */
    public long setRangeCounting(long from, long to) {
        long n = (to - from) - countRange(from, to);
        setRange(from, to);
        return n;
    }

    /** Set bits in [from, to). */
    public long countRange(long from, long to) {
        checkRange(from, to);
        if (from == to) return 0;
        int fw = (int) (from >>> 6), lw = (int) ((to - 1) >>> 6);
        long first = -1L << from, last = -1L >>> -to;
        if (fw == lw) return Long.bitCount(words[fw] & first & last);
        long n = Long.bitCount(words[fw] & first);
        for (int w = fw + 1; w < lw; w++) n += Long.bitCount(words[w]);
        return n + Long.bitCount(words[lw] & last);
    }

    public long count() {
        long n = 0;
        for (long w : words) n += Long.bitCount(w);
        return n;
    }

    /** The first set bit at or after {@code from}, or -1. */
    public long nextSetBit(long from) {
        if (from >= size) return -1;
        int w = (int) (from >>> 6);
        long word = words[w] & (-1L << from);
        while (true) {
            if (word != 0) {
                long i = ((long) w << 6) + Long.numberOfTrailingZeros(word);
                return i < size ? i : -1;
            }
            if (++w == words.length) return -1;
            word = words[w];
        }
    }

    /** The first set bit in [from, limit), or {@code limit} if none; never looks past {@code limit}. */
    public long nextSetBit(long from, long limit) {
        if (from >= limit) return limit;
        int w = (int) (from >>> 6);
        int lastWord = (int) ((limit - 1) >>> 6);
        long word = words[w] & (-1L << from);
        while (true) {
            if (word != 0) return Math.min(((long) w << 6) + Long.numberOfTrailingZeros(word), limit);
            if (++w > lastWord) return limit;
            word = words[w];
        }
    }

    /** The first clear bit in [from, limit), or {@code limit} if none; never looks past {@code limit}. */
    public long nextClearBit(long from, long limit) {
        if (from >= limit) return limit;
        int w = (int) (from >>> 6);
        int lastWord = (int) ((limit - 1) >>> 6);
        long word = ~words[w] & (-1L << from);
        while (true) {
            if (word != 0) return Math.min(((long) w << 6) + Long.numberOfTrailingZeros(word), limit);
            if (++w > lastWord) return limit;
            word = ~words[w];
        }
    }

    /** The first clear bit at or after {@code from}, or {@link #size()} if none. */
    public long nextClearBit(long from) {
        if (from >= size) return size;
        int w = (int) (from >>> 6);
        long word = ~words[w] & (-1L << from);
        while (true) {
            if (word != 0) {
                long i = ((long) w << 6) + Long.numberOfTrailingZeros(word);
                return Math.min(i, size);
            }
            if (++w == words.length) return size;
            word = ~words[w];
        }
    }

    public void setAll() {
        Arrays.fill(words, -1L);
        trimTail();
    }

    public void clearAll() {
        Arrays.fill(words, 0L);
    }

    public void or(PageBitmap other) {
        checkSameSize(other);
        long[] o = other.words;
        for (int i = 0; i < words.length; i++) words[i] |= o[i];
    }

    public void andNot(PageBitmap other) {
        checkSameSize(other);
        long[] o = other.words;
        for (int i = 0; i < words.length; i++) words[i] &= ~o[i];
    }

    public void copyFrom(PageBitmap other) {
        checkSameSize(other);
        System.arraycopy(other.words, 0, words, 0, words.length);
    }

    /** Reports each maximal run of set bits as [start, end). */
    public void forEachRun(RunConsumer c) {
        forEachRun(0, size, c);
    }

    /** Reports each maximal run of set bits inside [from, to) as [start, end), cut at the bounds. */
    public void forEachRun(long from, long to, RunConsumer c) {
        long i = nextSetBit(from, to);
        while (i < to) {
            long end = nextClearBit(i, to);
            c.run(i, end);
            i = nextSetBit(end, to);
        }
    }

    @FunctionalInterface
    public interface RunConsumer {
        void run(long start, long end);
    }

    private void trimTail() {
        int rem = (int) (size & 63);
        if (rem != 0) words[words.length - 1] &= -1L >>> (64 - rem);
    }

    private void checkRange(long from, long to) {
        if (from < 0 || to > size || from > to) {
            throw new IndexOutOfBoundsException("range [" + from + ", " + to + ") of a bitmap of " + size);
        }
    }

    private void checkSameSize(PageBitmap other) {
        if (other.size != size)
            throw new IllegalArgumentException("bitmap sizes differ: " + size + " and " + other.size);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PageBitmap p && p.size == size && Arrays.equals(p.words, words);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(size) * 31 + Arrays.hashCode(words);
    }
}
