package dev.ballast.core.mem;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RamLayoutTest {
    private static final long G = 1L << 30;
    private static final long PAGES_PER_G = G / RamLayout.PAGE_SIZE;

    @Test
    void shouldUseOneBlockUpTo3G() {
        RamLayout l = RamLayout.pcLike(3 * G);
        assertThat(l.blockCount()).isEqualTo(1);
        assertThat(l.block(0).name()).isEqualTo("ram-low");
        assertThat(l.totalPages()).isEqualTo(3 * PAGES_PER_G);
    }

    @Test
    void shouldLeaveAHoleBelow4GForLargerGuests() {
        RamLayout l = RamLayout.pcLike(8 * G);
        assertThat(l.blocks()).extracting(RamBlock::name).containsExactly("ram-low", "ram-high");
        assertThat(l.block(0).endPfn()).isEqualTo(3 * PAGES_PER_G);
        assertThat(l.block(1).firstPfn()).isEqualTo(4 * PAGES_PER_G);
        assertThat(l.block(1).pages()).isEqualTo(5 * PAGES_PER_G);
        assertThat(l.totalBytes()).isEqualTo(8 * G);
        // the hole is not RAM
        assertThat(l.indexOfPfn(3 * PAGES_PER_G)).isEqualTo(-1);
        assertThat(l.indexOfPfn(4 * PAGES_PER_G - 1)).isEqualTo(-1);
        // the first page above the hole follows the last page below it in page-index space
        assertThat(l.indexOfPfn(4 * PAGES_PER_G)).isEqualTo(3 * PAGES_PER_G);
        assertThat(l.pfnOfIndex(3 * PAGES_PER_G)).isEqualTo(4 * PAGES_PER_G);
    }

    @Test
    void shouldSplitARangeThatCrossesTheHole() {
        RamLayout l = RamLayout.pcLike(8 * G);
        List<String> parts = new ArrayList<>();
        long start = 3 * PAGES_PER_G - 10;
        long outside =
                l.splitPfnRange(start, PAGES_PER_G + 20, (b, off, n) -> parts.add(b.name() + "+" + off + "x" + n));
        assertThat(parts).containsExactly("ram-low+" + (3 * PAGES_PER_G - 10) + "x10", "ram-high+0x10");
        assertThat(outside).isEqualTo(PAGES_PER_G);
    }

    @Test
    void shouldSplitAcrossAdjacentBlocksListedOutOfOrder() {
        RamLayout l = RamLayout.of(List.of(new RamLayout.Spec("b", 100, 50), new RamLayout.Spec("a", 0, 100)));
        List<String> parts = new ArrayList<>();
        long outside = l.splitPfnRange(90, 70, (b, off, n) -> parts.add(b.name() + "+" + off + "x" + n));
        assertThat(parts).containsExactly("a+90x10", "b+0x50");
        assertThat(outside).isEqualTo(10);
        assertThat(l.indexOfPfn(0)).isEqualTo(50); // host order: b first
    }

    @Test
    void shouldRejectRangesThatAreNotRam() {
        RamLayout l = RamLayout.pcLike(1 * G);
        assertThat(l.splitPfnRange(PAGES_PER_G, 5, (b, o, n) -> {
                    throw new AssertionError();
                }))
                .isEqualTo(5);
        assertThat(l.splitPfnRange(-5, 5, (b, o, n) -> {
                    throw new AssertionError();
                }))
                .isEqualTo(5);
        assertThat(l.splitPfnRange(Long.MAX_VALUE - 1, 5, (b, o, n) -> {
                    throw new AssertionError();
                }))
                .isEqualTo(5);
    }

    @Test
    void shouldRejectOverlappingOrDuplicateBlocks() {
        assertThatThrownBy(() -> RamLayout.of(List.of(new RamLayout.Spec("a", 0, 10), new RamLayout.Spec("b", 5, 10))))
                .hasMessageContaining("overlap");
        assertThatThrownBy(() -> RamLayout.of(List.of(new RamLayout.Spec("a", 0, 10), new RamLayout.Spec("a", 20, 10))))
                .hasMessageContaining("twice");
    }

    @Test
    void shouldDescribePagesByBlockAndPfn() {
        RamLayout l = RamLayout.pcLike(8 * G);
        assertThat(l.describeIndex(3 * PAGES_PER_G + 0x12)).isEqualTo("ram-high+0x12 (PFN 0x100012)");
    }
}
