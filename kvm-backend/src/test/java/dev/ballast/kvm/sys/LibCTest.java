package dev.ballast.kvm.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class LibCTest {
    @Test
    void shouldKeepEachThreadsErrnoApart() throws Exception {
        // two threads fail different calls at the same time: each must see its own errno
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Integer>> runs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            boolean even = t % 2 == 0;
            runs.add(CompletableFuture.supplyAsync(
                    () -> {
                        try {
                            go.await();
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                        int checked = 0;
                        for (int i = 0; i < 2000; i++) {
                            try {
                                if (even) {
                                    LibC.open("/nonexistent/" + i, LibC.O_RDWR);
                                } else {
                                    LibC.close(-1);
                                }
                            } catch (NativeException e) {
                                assertThat(e.errno()).isEqualTo(even ? Errno.ENOENT : Errno.EBADF);
                                checked++;
                            }
                        }
                        return checked;
                    },
                    r -> Thread.ofPlatform().start(r)));
        }
        go.countDown();
        for (CompletableFuture<Integer> r : runs) {
            assertThat(r.get()).isEqualTo(2000);
        }
    }

    @Test
    void shouldMapAnonymousMemoryOwnedByAnArena() {
        MemorySegment m;
        try (Arena arena = Arena.ofConfined()) {
            m = LibC.mmapAnonymous("test", 1 << 20, arena);
            assertThat(m.byteSize()).isEqualTo(1 << 20);
            assertThat(m.address() % 4096).isZero();
            m.set(ValueLayout.JAVA_LONG, 4096, 42);
            LibC.madvise(m.asSlice(4096, 4096), LibC.MADV_DONTNEED);
            assertThat(m.get(ValueLayout.JAVA_LONG, 4096))
                    .as("discarded anonymous memory reads as zero")
                    .isZero();
        }
        assertThat(m.scope().isAlive()).isFalse(); // unmapped with its arena
    }

    @Test
    void shouldNameMadviseWhenItFails() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = LibC.mmapAnonymous("test", 8192, arena);
            assertThatThrownBy(() -> LibC.madvise(m.asSlice(1, 4096), LibC.MADV_DONTNEED))
                    .isInstanceOf(NativeException.class)
                    .hasMessage("madvise(4) failed: EINVAL (22)");
        }
    }

    @Test
    void shouldReportPthreadKillErrors() {
        assertThat(Errno.name(3)).isEqualTo("ESRCH");
        assertThat(Errno.name(999)).isEqualTo("errno 999");
        assertThatThrownBy(() -> LibC.pthreadKill(LibC.pthreadSelf(), 999))
                .isInstanceOf(NativeException.class)
                .hasMessage("pthread_kill(999) failed: EINVAL (22)");
    }
}
