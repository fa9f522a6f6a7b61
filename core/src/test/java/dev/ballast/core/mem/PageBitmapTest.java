package dev.ballast.core.mem;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.BitSet;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class PageBitmapTest {

    /** Random range operations agree with java.util.BitSet, and every query agrees too. */
    @Property(tries = 200)
    void shouldAgreeWithBitSet(@ForAll @IntRange(min = 1, max = 700) int size, @ForAll @LongRange long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        PageBitmap b = new PageBitmap(size);
        BitSet ref = new BitSet(size);
        for (int op = 0; op < 60; op++) {
            int from = r.nextInt(size + 1);
            int to = from + r.nextInt(size - from + 1);
            switch (r.nextInt(4)) {
                case 0 -> {
                    assertThat(b.setRangeCounting(from, to))
                            .isEqualTo((to - from) - ref.get(from, to).cardinality());
                    ref.set(from, to);
                }
                case 1 -> {
                    assertThat(b.clearRangeCounting(from, to))
                            .isEqualTo(ref.get(from, to).cardinality());
                    ref.clear(from, to);
                }
                case 2 -> {
                    if (from < size) {
                        b.set(from);
                        ref.set(from);
                    }
                }
                default -> {
                    if (from < size) {
                        b.clear(from);
                        ref.clear(from);
                    }
                }
            }
            int q = r.nextInt(size);
            int lim = q + r.nextInt(size - q + 1);
            assertThat(b.get(q)).isEqualTo(ref.get(q));
            assertThat(b.nextSetBit(q)).isEqualTo(ref.nextSetBit(q) < 0 ? -1 : ref.nextSetBit(q));
            assertThat(b.nextClearBit(q)).isEqualTo(Math.min(ref.nextClearBit(q), size));
            int ns = ref.nextSetBit(q);
            assertThat(b.nextSetBit(q, lim)).isEqualTo(ns < 0 || ns >= lim ? lim : ns);
            assertThat(b.nextClearBit(q, lim)).isEqualTo(Math.min(ref.nextClearBit(q), lim));
            assertThat(b.countRange(q, lim)).isEqualTo(ref.get(q, lim).cardinality());
            assertThat(b.count()).isEqualTo(ref.cardinality());
            BitSet runs = new BitSet();
            long[] last = {-1};
            b.forEachRun(q, lim, (rs, re) -> {
                assertThat(rs).isGreaterThan(last[0]).isGreaterThanOrEqualTo(q);
                assertThat(re).isLessThanOrEqualTo(lim);
                last[0] = re;
                runs.set((int) rs, (int) re);
            });
            BitSet want = (BitSet) ref.clone();
            want.clear(0, q);
            want.clear(lim, size);
            assertThat(runs).isEqualTo(want);
        }
    }

    @Test
    void shouldKeepBitsPastSizeClear() {
        PageBitmap b = new PageBitmap(70);
        b.setAll();
        assertThat(b.count()).isEqualTo(70);
        assertThat(b.nextClearBit(0)).isEqualTo(70);
        assertThat(b.words()[1]).isEqualTo((1L << 6) - 1);
    }

    @Test
    void shouldReportRuns() {
        PageBitmap b = new PageBitmap(200);
        b.setRange(3, 70);
        b.setRange(128, 129);
        b.setRange(190, 200);
        StringBuilder sb = new StringBuilder();
        b.forEachRun((s, e) -> sb.append('[').append(s).append(',').append(e).append(')'));
        assertThat(sb).hasToString("[3,70)[128,129)[190,200)");
    }

    @Test
    void shouldRejectRangePastEnd() {
        PageBitmap b = new PageBitmap(64);
        assertThatThrownBy(() -> b.setRange(10, 65)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> b.clearRange(-1, 3)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
