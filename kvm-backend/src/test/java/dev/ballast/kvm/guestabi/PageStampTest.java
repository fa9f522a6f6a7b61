package dev.ballast.kvm.guestabi;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class PageStampTest {
    @Test
    void shouldAcceptItsOwnStampAndRejectAnyOtherPfnOrVersion() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment page = arena.allocate(GuestAbi.PAGE_SIZE, GuestAbi.PAGE_SIZE);
            PageStamp.stamp(page, 0x1234, 7);
            assertThat(PageStamp.check(page, 0x1234, 7)).isTrue();
            assertThat(PageStamp.check(page, 0x1235, 7)).isFalse();
            assertThat(PageStamp.check(page, 0x1234, 6)).isFalse();
            assertThat(PageStamp.versionOf(page, 0x1234)).isEqualTo(7);
        }
    }

    @Test
    void shouldRejectAPageWithAnyByteChanged() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment page = arena.allocate(GuestAbi.PAGE_SIZE, GuestAbi.PAGE_SIZE);
            for (int at : new int[] {0, 9, 17, 31, 32, 1000, 4095}) {
                PageStamp.stamp(page, 42, 3);
                page.set(JAVA_BYTE, at, (byte) (page.get(JAVA_BYTE, at) ^ 0x10));
                assertThat(PageStamp.check(page, 42, 3))
                        .as("byte " + at + " flipped")
                        .isFalse();
            }
        }
    }

    @Test
    void shouldRejectAZeroPageAndSwappedWords() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment page = arena.allocate(GuestAbi.PAGE_SIZE, GuestAbi.PAGE_SIZE);
            assertThat(PageStamp.check(page, 0, 0)).isFalse();
            PageStamp.stamp(page, 5, 1);
            long a = page.getAtIndex(JAVA_LONG, 100);
            page.setAtIndex(JAVA_LONG, 100, page.getAtIndex(JAVA_LONG, 101));
            page.setAtIndex(JAVA_LONG, 101, a);
            assertThat(PageStamp.check(page, 5, 1)).isFalse();
        }
    }
}
