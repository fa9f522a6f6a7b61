package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.mem.RamLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

class PageAllocatorTest {
    /** Two blocks of 40 and 24 pages, the second at an odd PFN. */
    private static final RamLayout LAYOUT =
            RamLayout.of(List.of(new RamLayout.Spec("a", 0, 40), new RamLayout.Spec("b", 1001, 24)));

    @Test
    void shouldAllocateBlocksAlignedToTheirSizeWithinARamBlock() {
        PageAllocator a = new PageAllocator(LAYOUT);
        for (int k = 0; k < 6; k++) {
            long i = a.alloc(3);
            assertThat(i).isNotNegative();
            long base = LAYOUT.blockOfIndex(i).firstIndex();
            assertThat((i - base) % 8).isZero();
            assertThat(i + 8).isLessThanOrEqualTo(LAYOUT.blockOfIndex(i).endIndex());
        }
        assertThat(a.freePages()).isEqualTo(64 - 48);
    }

    @Test
    void shouldGoOnFromWhereTheLastAllocationEnded() {
        PageAllocator a = new PageAllocator(LAYOUT);
        long first = a.alloc(0);
        a.free(first, 1);
        assertThat(a.alloc(0)).isEqualTo(first + 1); // next fit: not the page just freed
    }

    @Test
    void shouldSayWhenNoBlockOfThatSizeIsFree() {
        PageAllocator a = new PageAllocator(LAYOUT);
        assertThat(a.alloc(6)).isEqualTo(-1); // 64 pages, but no block holds 64
        assertThat(a.alloc(5)).isEqualTo(0);
        assertThat(a.alloc(5)).isEqualTo(-1);
        assertThat(a.freePages()).isEqualTo(32);
    }

    @Test
    void shouldTakeAFreeRangeAndRefuseOneThatIsNot() {
        PageAllocator a = new PageAllocator(LAYOUT);
        a.take(10, 5);
        assertThat(a.isFree(9)).isTrue();
        assertThat(a.isFree(10)).isFalse();
        assertThat(a.freePages()).isEqualTo(59);
        assertThatThrownBy(() -> a.take(12, 4))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("range is not free");
    }

    @Test
    void shouldRefuseADoubleFree() {
        PageAllocator a = new PageAllocator(LAYOUT);
        long i = a.alloc(2);
        a.free(i, 4);
        assertThatThrownBy(() -> a.free(i, 4))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("double free of 4 pages");
    }

    /** Every page taken, then every other one given back: 32 pages free, no two of them adjacent. */
    private static PageAllocator fragmented() {
        PageAllocator a = new PageAllocator(LAYOUT);
        for (int k = 0; k < 64; k++) a.alloc(0);
        for (long i = 0; i < 40; i += 2) a.free(i, 1);
        for (long i = 40; i < 64; i += 2) a.free(i, 1);
        return a;
    }

    @Test
    void shouldNotSearchAgainForASizeItFoundNoneOfUntilSomethingIsFreed() {
        PageAllocator a = fragmented();
        assertThat(a.alloc(3)).isEqualTo(-1);
        long searched = a.searches;
        assertThat(searched).isPositive();
        // a stalled allocation tries each tick: no second search of the whole memory, for that size or larger
        assertThat(a.alloc(3)).isEqualTo(-1);
        assertThat(a.alloc(4)).isEqualTo(-1);
        assertThat(a.searches).isEqualTo(searched);
        // a smaller size is searched for
        assertThat(a.alloc(1)).isEqualTo(-1);
        assertThat(a.searches).isGreaterThan(searched);
        // a free can make a block: 0 and 1 both free now
        a.free(1, 1);
        assertThat(a.alloc(1)).isEqualTo(0);
    }

    @Test
    void shouldLeaveTheCursorWhereAFailedSearchLeavesIt() {
        PageAllocator remembered = fragmented();
        assertThat(remembered.alloc(3)).isEqualTo(-1);
        assertThat(remembered.alloc(3)).isEqualTo(-1); // answered without a search
        PageAllocator searched = fragmented();
        assertThat(searched.alloc(3)).isEqualTo(-1);
        // page 1 (in use) given back and taken again: the same memory and cursor, and what failed forgotten
        searched.free(1, 1);
        searched.take(1, 1);
        assertThat(searched.alloc(3)).isEqualTo(-1); // a second full search
        assertThat(remembered.alloc(0)).isEqualTo(searched.alloc(0));
    }
}
