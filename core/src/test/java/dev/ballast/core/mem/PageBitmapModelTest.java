package dev.ballast.core.mem;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.BitSet;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/**
 * Every public operation of {@link PageBitmap} against {@link java.util.BitSet} as the model: two
 * bitmaps and two BitSets go through the same random sequence of every operation (single bits,
 * ranges, counting ranges, the two-bitmap operations {@code or}, {@code andNot}, {@code copyFrom},
 * {@code setAll}, {@code clearAll}), and after each step every query agrees. Sizes and range ends are
 * drawn near word boundaries (0, 1, 63, 64, 65, 127, 128, ...) more often than elsewhere, because that
 * is where a mask is off by one.
 */
class PageBitmapModelTest {

    @Provide
    Arbitrary<Integer> sizes() {
        return Arbitraries.oneOf(
                Arbitraries.of(1, 2, 63, 64, 65, 127, 128, 129, 191, 192, 193, 256, 320, 383, 384, 385),
                Arbitraries.integers().between(1, 700));
    }

    /** A position in [0, max], near a word boundary half of the time. */
    private static int pos(SplittableRandom r, int max) {
        if (r.nextBoolean()) {
            int w = r.nextInt(max / 64 + 2) * 64 + r.nextInt(3) - 1;
            return Math.clamp(w, 0, max);
        }
        return r.nextInt(max + 1);
    }

    @Property(tries = 300)
    void everyOperationAgreesWithBitSet(@ForAll("sizes") int size, @ForAll @LongRange long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        PageBitmap[] b = {new PageBitmap(size), new PageBitmap(size)};
        BitSet[] m = {new BitSet(size), new BitSet(size)};
        for (int step = 0; step < 80; step++) {
            int k = r.nextInt(2);
            PageBitmap x = b[k], y = b[1 - k];
            BitSet mx = m[k], my = m[1 - k];
            int i = Math.min(pos(r, size), size - 1);
            int from = pos(r, size);
            int to = from + pos(r, size - from);
            switch (r.nextInt(14)) {
                case 0 -> {
                    x.set(i);
                    mx.set(i);
                }
                case 1 -> {
                    x.clear(i);
                    mx.clear(i);
                }
                case 2 -> {
                    assertThat(x.testAndSet(i)).as("testAndSet(%d)", i).isEqualTo(!mx.get(i));
                    mx.set(i);
                }
                case 3 -> {
                    assertThat(x.testAndClear(i)).as("testAndClear(%d)", i).isEqualTo(mx.get(i));
                    mx.clear(i);
                }
                case 4 -> {
                    x.setRange(from, to);
                    mx.set(from, to);
                }
                case 5 -> {
                    x.clearRange(from, to);
                    mx.clear(from, to);
                }
                case 6 -> {
                    assertThat(x.setRangeCounting(from, to))
                            .as("setRangeCounting(%d, %d)", from, to)
                            .isEqualTo((to - from) - mx.get(from, to).cardinality());
                    mx.set(from, to);
                }
                case 7 -> {
                    assertThat(x.clearRangeCounting(from, to))
                            .as("clearRangeCounting(%d, %d)", from, to)
                            .isEqualTo(mx.get(from, to).cardinality());
                    mx.clear(from, to);
                }
                case 8 -> {
                    x.or(y);
                    mx.or(my);
                }
                case 9 -> {
                    x.andNot(y);
                    mx.andNot(my);
                }
                case 10 -> {
                    x.copyFrom(y);
                    mx.clear();
                    mx.or(my);
                }
                case 11 -> {
                    if (r.nextInt(4) == 0) {
                        x.setAll();
                        mx.set(0, size);
                    }
                }
                case 12 -> {
                    if (r.nextInt(4) == 0) {
                        x.clearAll();
                        mx.clear();
                    }
                }
                default ->
                    assertThat(x.countRange(from, to))
                            .as("countRange(%d, %d)", from, to)
                            .isEqualTo(mx.get(from, to).cardinality());
            }
            for (int j = 0; j < 2; j++) agrees(b[j], m[j], size, r);
            assertThat(b[0].equals(b[1])).isEqualTo(m[0].equals(m[1]));
            if (m[0].equals(m[1])) assertThat(b[0].hashCode()).isEqualTo(b[1].hashCode());
        }
    }

    private static void agrees(PageBitmap b, BitSet m, int size, SplittableRandom r) {
        assertThat(b.size()).isEqualTo(size);
        assertThat(b.count()).isEqualTo(m.cardinality());
        assertThat(b.words().length).isEqualTo((size + 63) / 64);
        // Bits past size stay clear in the backing words.
        int rem = size & 63;
        if (rem != 0) assertThat(b.words()[b.words().length - 1] >>> rem).isZero();
        BitSet fromWords = BitSet.valueOf(b.words());
        assertThat(fromWords).isEqualTo(m);
        int q = Math.min(pos(r, size), size);
        int lim = q + pos(r, size - q);
        if (q < size) assertThat(b.get(q)).isEqualTo(m.get(q));
        int ns = m.nextSetBit(q);
        assertThat(b.nextSetBit(q)).as("nextSetBit(%d)", q).isEqualTo(ns);
        assertThat(b.nextClearBit(q)).as("nextClearBit(%d)", q).isEqualTo(Math.min(m.nextClearBit(q), size));
        assertThat(b.nextSetBit(q, lim)).as("nextSetBit(%d, %d)", q, lim).isEqualTo(ns < 0 || ns >= lim ? lim : ns);
        assertThat(b.nextClearBit(q, lim))
                .as("nextClearBit(%d, %d)", q, lim)
                .isEqualTo(Math.min(m.nextClearBit(q), lim));
        assertThat(b.countRange(q, lim)).isEqualTo(m.get(q, lim).cardinality());
        // Runs: maximal, ordered, cut at the bounds, and exactly the model's bits.
        assertThat(runs(b, 0, size)).isEqualTo(modelRuns(m, 0, size));
        assertThat(runs(b, q, lim)).isEqualTo(modelRuns(m, q, lim));
        StringBuilder whole = new StringBuilder();
        b.forEachRun((s, e) -> whole.append('[').append(s).append(',').append(e).append(')'));
        assertThat(whole.toString()).isEqualTo(modelRuns(m, 0, size));
    }

    private static String runs(PageBitmap b, long from, long to) {
        StringBuilder sb = new StringBuilder();
        b.forEachRun(
                from,
                to,
                (s, e) -> sb.append('[').append(s).append(',').append(e).append(')'));
        return sb.toString();
    }

    /** The model's maximal runs of set bits inside [from, to). */
    private static String modelRuns(BitSet m, int from, int to) {
        StringBuilder sb = new StringBuilder();
        int i = from;
        while (i < to) {
            int s = m.nextSetBit(i);
            if (s < 0 || s >= to) break;
            int e = Math.min(m.nextClearBit(s), to);
            sb.append('[').append(s).append(',').append(e).append(')');
            i = e;
        }
        return sb.toString();
    }

    @Test
    void shouldCoverEveryWordBoundaryRangeExhaustively() {
        // Every [from, to) of a 3-word bitmap of 130 bits, set on an empty map and cleared from a full one.
        int size = 130;
        for (int from = 0; from <= size; from++) {
            for (int to = from; to <= size; to++) {
                PageBitmap b = new PageBitmap(size);
                b.setRange(from, to);
                BitSet want = new BitSet();
                want.set(from, to);
                assertThat(BitSet.valueOf(b.words()))
                        .as("setRange(%d, %d)", from, to)
                        .isEqualTo(want);
                b.setAll();
                b.clearRange(from, to);
                BitSet full = new BitSet();
                full.set(0, size);
                full.clear(from, to);
                assertThat(BitSet.valueOf(b.words()))
                        .as("clearRange(%d, %d)", from, to)
                        .isEqualTo(full);
                assertThat(b.countRange(0, size)).isEqualTo(size - (to - from));
            }
        }
    }

    @Test
    void shouldRejectBitmapsOfAnotherSize() {
        PageBitmap a = new PageBitmap(64), b = new PageBitmap(65);
        assertThatThrownBy(() -> a.or(b))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("64 and 65");
        assertThatThrownBy(() -> a.andNot(b)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> a.copyFrom(b)).isInstanceOf(IllegalArgumentException.class);
        assertThat(a)
                .isNotEqualTo(new PageBitmap(65))
                .isEqualTo(new PageBitmap(64))
                .isNotEqualTo("not a bitmap");
    }

    @Test
    void shouldRejectBadSizesAndRanges() {
        assertThatThrownBy(() -> new PageBitmap(-1)).isInstanceOf(IllegalArgumentException.class);
        PageBitmap b = new PageBitmap(0);
        assertThat(b.words().length).isZero();
        assertThat(b.nextSetBit(0)).isEqualTo(-1);
        assertThat(b.nextClearBit(0)).isZero();
        PageBitmap c = new PageBitmap(100);
        assertThatThrownBy(() -> c.countRange(5, 4)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> c.countRange(0, 101)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> c.setRange(-1, 3)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(c.countRange(7, 7)).isZero();
    }
}
