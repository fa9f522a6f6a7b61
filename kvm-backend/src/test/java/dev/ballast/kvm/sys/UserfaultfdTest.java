package dev.ballast.kvm.sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Userfaultfd} on an anonymous mapping, with a host thread as the one that faults. The
 * faulting thread reads through {@link LibC#copyNative}, in native code: a Java thread blocked in
 * a fault in Java code would hold up every safepoint of the JVM, this test's handler included.
 */
class UserfaultfdTest {
    private static final int PAGE = 4096;

    @BeforeEach
    void assumeUserfaultfd() {
        try (Userfaultfd u = Userfaultfd.open()) {
            assertThat(u.openedBy()).isIn(Userfaultfd.DEVICE, "userfaultfd(2)");
        } catch (NativeException e) {
            Assumptions.abort("userfaultfd not usable here: " + e.getMessage());
        }
    }

    /** A thread that copies page {@code page} of {@code mem} into a buffer, natively, and returns the buffer. */
    private static CompletableFuture<MemorySegment> touch(MemorySegment mem, int page, Arena arena) {
        MemorySegment into = arena.allocate(PAGE, PAGE);
        CompletableFuture<MemorySegment> done = new CompletableFuture<>();
        Thread.ofPlatform().daemon(true).start(() -> {
            try {
                LibC.copyNative(into, mem.asSlice((long) page * PAGE, PAGE));
                done.complete(into);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        return done;
    }

    /** Waits for the one fault the test expects and returns its address. */
    private static long oneFault(Userfaultfd u) {
        int n = u.awaitFaults(10_000);
        assertThat(n).as("faults read within 10 s").isEqualTo(1);
        assertThat(u.event(0)).isEqualTo(Userfaultfd.UFFD_EVENT_PAGEFAULT);
        return u.faultAddress(0);
    }

    /**
     * Waits until thread {@code tid} of this process sleeps in the kernel (state S or D): the
     * faulting thread queues its message before it goes to sleep, so reading the message does not
     * yet mean it waits.
     */
    private static void waitUntilAsleep(int tid) throws Exception {
        Path stat = Path.of("/proc/self/task/" + tid + "/stat");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            String s = Files.readString(stat);
            char state = s.charAt(s.lastIndexOf(')') + 2);
            if (state == 'S' || state == 'D') {
                return;
            }
            Thread.sleep(1);
        }
        throw new AssertionError("thread " + tid + " did not go to sleep on its fault");
    }

    private static MemorySegment pattern(Arena arena, long seed) {
        MemorySegment p = arena.allocate(PAGE, PAGE);
        for (int i = 0; i < PAGE / 8; i++) {
            p.setAtIndex(JAVA_LONG, i, seed * 0x9E3779B97F4A7C15L + i);
        }
        return p;
    }

    @Test
    void shouldBlockAThreadOnAMissingPageUntilCopyPlacesItWithItsContent() throws Exception {
        try (Arena arena = Arena.ofShared();
                Userfaultfd u = Userfaultfd.open()) {
            MemorySegment mem = LibC.mmapAnonymous("uffd test", 16L * PAGE, arena);
            long offered = u.registerMissing(mem);
            assertThat(offered & (1L << Userfaultfd._UFFDIO_COPY)).isNotZero();

            CompletableFuture<MemorySegment> reader = touch(mem, 3, arena);
            long address = oneFault(u);
            assertThat(address).isEqualTo(mem.address() + 3L * PAGE);
            assertThat(u.faultFlags(0) & Userfaultfd.UFFD_PAGEFAULT_FLAG_WRITE)
                    .as("a read fault")
                    .isZero();
            assertThat(u.faultThread(0)).as("the faulting thread's id").isPositive();
            // the fault was read: the thread still waits, since nothing placed the page
            assertThat(reader.isDone()).as("the reader waits for the page").isFalse();

            MemorySegment content = pattern(arena, 3);
            assertThat(u.copy(address, content, true)).isEqualTo(PAGE);
            MemorySegment read = reader.get(10, TimeUnit.SECONDS);
            assertThat(read.mismatch(content)).as("what the reader saw").isEqualTo(-1);
            assertThat(mem.asSlice(3L * PAGE, PAGE).mismatch(content)).isEqualTo(-1);
        }
    }

    @Test
    void shouldPlaceZerosWithZeroPage() throws Exception {
        try (Arena arena = Arena.ofShared();
                Userfaultfd u = Userfaultfd.open()) {
            MemorySegment mem = LibC.mmapAnonymous("uffd test", 16L * PAGE, arena);
            u.registerMissing(mem);
            CompletableFuture<MemorySegment> reader = touch(mem, 5, arena);
            long address = oneFault(u);
            assertThat(address).isEqualTo(mem.address() + 5L * PAGE);
            assertThat(u.zeroPage(address, PAGE, true)).isTrue();
            MemorySegment read = reader.get(10, TimeUnit.SECONDS);
            assertThat(read.mismatch(arena.allocate(PAGE))).isEqualTo(-1);
        }
    }

    @Test
    void shouldRefuseToPlaceAPageTwiceWithEexist() throws Exception {
        try (Arena arena = Arena.ofShared();
                Userfaultfd u = Userfaultfd.open()) {
            MemorySegment mem = LibC.mmapAnonymous("uffd test", 16L * PAGE, arena);
            u.registerMissing(mem);
            long page7 = mem.address() + 7L * PAGE;
            MemorySegment first = pattern(arena, 1);
            MemorySegment second = pattern(arena, 2);
            assertThat(u.copy(page7, first, true))
                    .as("placed before anyone faulted")
                    .isEqualTo(PAGE);
            assertThat(u.copy(page7, second, true)).as("a second UFFDIO_COPY").isZero();
            assertThat(u.zeroPage(page7, PAGE, true))
                    .as("UFFDIO_ZEROPAGE on a placed page")
                    .isFalse();
            assertThat(mem.asSlice(7L * PAGE, PAGE).mismatch(first))
                    .as("the first copy stays")
                    .isEqualTo(-1);
            // a zero page placed first refuses a copy too
            long page8 = page7 + PAGE;
            assertThat(u.zeroPage(page8, PAGE, true)).isTrue();
            assertThat(u.copy(page8, first, true)).isZero();
            // a range copy stops at the first page that is there: pages 5 and 6 placed, 7 kept
            MemorySegment three = arena.allocate(3L * PAGE, PAGE);
            three.fill((byte) 0x5A);
            assertThat(u.copy(mem.address() + 5L * PAGE, three, true)).isEqualTo(2L * PAGE);
            assertThat(mem.asSlice(5L * PAGE, 2L * PAGE).mismatch(three.asSlice(0, 2L * PAGE)))
                    .isEqualTo(-1);
            assertThat(mem.asSlice(7L * PAGE, PAGE).mismatch(first)).isEqualTo(-1);
            assertThat(u.awaitFaults(0)).as("no thread faulted").isZero();
        }
    }

    @Test
    void shouldLeaveTheThreadWaitingUntilWakeWhenCopyIsToldNotToWake() throws Exception {
        try (Arena arena = Arena.ofShared();
                Userfaultfd u = Userfaultfd.open()) {
            MemorySegment mem = LibC.mmapAnonymous("uffd test", 16L * PAGE, arena);
            u.registerMissing(mem);
            CompletableFuture<MemorySegment> reader = touch(mem, 2, arena);
            long address = oneFault(u);
            waitUntilAsleep(u.faultThread(0));
            MemorySegment content = pattern(arena, 2);
            assertThat(u.copy(address, content, false)).isEqualTo(PAGE);
            assertThat(mem.asSlice(2L * PAGE, PAGE).mismatch(content))
                    .as("placed")
                    .isEqualTo(-1);
            // placed but not woken: the reader is still in the kernel's wait
            assertThat(reader.isDone()).isFalse();
            u.wake(address, PAGE);
            assertThat(reader.get(10, TimeUnit.SECONDS).mismatch(content)).isEqualTo(-1);
        }
    }

    @Test
    void shouldTellAnUnregisteredRangeByName() {
        try (Arena arena = Arena.ofShared();
                Userfaultfd u = Userfaultfd.open()) {
            MemorySegment mem = LibC.mmapAnonymous("uffd test", 4L * PAGE, arena);
            assertThatThrownBy(() -> u.copy(mem.address(), arena.allocate(PAGE, PAGE), true))
                    .isInstanceOf(NativeException.class)
                    .hasMessageStartingWith("UFFDIO_COPY failed: ENOENT (2)");
        }
    }
}
