package dev.ballast.kvm.guest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventType;
import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.testing.KvmTests;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Linux's free page hint driver in the guest program ({@code WF_LINUX_HINTS}), driven command by command: it takes
 * every free 4 MiB block through the allocator (zeroed under {@code WF_INIT_ON_ALLOC}), one hint each, until an
 * allocation fails and says it stopped; a stop and a new id keep what it holds; done gives it all back.
 */
class LinuxHintDriverGuestTest {
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void shouldTakeFreeBlocksThroughTheAllocatorAndHoldThemUntilDone(boolean initOnAlloc) throws Exception {
        KvmTests.assumeKvm();
        long flags = GuestAbi.WF_LINUX_HINTS | (initOnAlloc ? GuestAbi.WF_INIT_ON_ALLOC : 0);
        try (Kvm kvm = Kvm.open();
                KvmGuest g = FreePageReportingTest.boot(kvm, 0, flags)) {
            List<long[]> hints = new ArrayList<>();
            g.balloonState((t, a, b, c) -> {}); // requests reach the queue, as in a migration
            g.call(GuestAbi.OP_ALLOC_WRITE, 8000, 0, 0); // pages 1..8000
            g.call(GuestAbi.OP_FREE_OLDEST, 3000); // 1..5000 freed, still holding their stamps
            long id = 0x8000_0001L;
            g.hintCommand(id);
            // aligned free blocks of 1024 pages: 1..3 and 8..15 of the 64 MiB guest
            FreePageReportingTest.await("the driver's stop", () -> g.control(GuestAbi.CTL_HINT_STOPPED_OFF) == id);
            FreePageReportingTest.await("the hints", () -> {
                g.drainRequests(
                        (t, a, b, c) -> {
                            if (t == EventType.HINT) hints.add(new long[] {a, b, c});
                        },
                        1000);
                return hints.size() == 11;
            });
            assertThat(hints).allSatisfy(h -> {
                assertThat(h[0]).isEqualTo(id);
                assertThat(h[1] % 1024).isZero();
                assertThat(h[2]).isEqualTo(1024);
            });
            // next-fit from where the allocator last stopped (after page 8000), then around
            assertThat(hints)
                    .extracting(h -> h[1])
                    .containsExactly(8192L, 9216L, 10240L, 11264L, 12288L, 13312L, 14336L, 15360L, 1024L, 2048L, 3072L);
            assertThat(g.call(GuestAbi.OP_STATS).arg(2)).as("held").isEqualTo(11 * 1024);
            // the allocator's normal path zeroes what it hands out under init_on_alloc, and only then
            assertThat(FreePageReportingTest.hostReadsZero(g, 1500)).isEqualTo(initOnAlloc);
            assertThat(FreePageReportingTest.hostReadsZero(g, 4500))
                    .as("freed, not in a whole free block")
                    .isFalse();

            g.hintCommand(0); // stop: keeps them
            g.hintCommand(id + 1); // a new request: keeps them, and nothing is free to take
            assertThat(g.call(GuestAbi.OP_STATS).arg(2)).isEqualTo(11 * 1024);
            g.hintCommand(1); // done: given back
            assertThat(g.call(GuestAbi.OP_STATS).arg(2)).isZero();
            long free = g.call(GuestAbi.OP_STATS).arg(1);
            assertThat(free).isEqualTo(FreePageReportingTest.PAGES_FOR_TESTS - 3001);
            assertThat(g.call(GuestAbi.OP_ALLOC_WRITE, free, 0, 0).arg(0)).isEqualTo(free);
            assertThat(g.call(GuestAbi.OP_SELF_CHECK).arg(1)).isZero();
        }
    }

    /**
     * The shrinker, made to run: the driver takes every free block before the pressure application starts (the
     * prologue starts it), so the application's first allocations find nothing free. As shipped, the shrinker gives
     * held blocks back at once. Acknowledged ({@code WF_HINTS_ACKED}), while a migration listens and has not drained
     * the hints, it gives nothing back and the application stalls; once the engine has drained them, it gives blocks
     * back and the application gets its memory, and says how long it waited.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void shouldGiveHeldBlocksBackUnderPressure(boolean acked) throws Exception {
        KvmTests.assumeKvm();
        GuestFeaturesHolder f = new GuestFeaturesHolder();
        long[] wl = WorkloadSettings.commandsOnly(f.features, false, 7);
        wl[GuestAbi.WL_KIND] = GuestAbi.WK_IDLE; // no writes of its own (rate 0, nothing used): only the application
        wl[GuestAbi.WL_PRESSURE_PAGES] = 4096; // 16 MiB of the 64 MiB guest
        wl[GuestAbi.WL_FLAGS] |= GuestAbi.WF_LINUX_HINTS | (acked ? GuestAbi.WF_HINTS_ACKED : 0);
        try (Kvm kvm = Kvm.open();
                KvmGuest g = KvmGuest.boot(kvm, dev.ballast.core.mem.RamLayout.pcLike(64L << 20), f.features, wl)) {
            if (acked) g.balloonState((t, a, b, c) -> {}); // a migration listens: a hint is taken once drained
            long id = 0x8000_0001L;
            g.hintCommand(id);
            FreePageReportingTest.await("the driver's stop", () -> g.control(GuestAbi.CTL_HINT_STOPPED_OFF) == id);
            assertThat(g.call(GuestAbi.OP_STATS).arg(2))
                    .as("held: blocks 1..15")
                    .isEqualTo(15 * 1024);
            g.call(GuestAbi.OP_PROLOGUE); // the application starts
            if (acked) {
                FreePageReportingTest.await("a stall", () -> g.devices().stats().allocStalls() > 0);
                Thread.sleep(20);
                assertThat(g.devices().stats().shrunkPages())
                        .as("nothing taken: nothing given back")
                        .isZero();
                g.drainRequests((t, a, b, c) -> {}, 10_000); // the engine acts on the hints: they are taken
            }
            FreePageReportingTest.await(
                    "the shrinker", () -> g.devices().stats().shrunkPages() >= 4 * 1024);
            FreePageReportingTest.await(
                    "the application's 16 MiB", () -> g.call(GuestAbi.OP_STATS).arg(0) >= 4097);
            assertThat(g.devices().stats().shrunkPages() % 1024).isZero();
            if (acked) {
                FreePageReportingTest.await(
                        "its wait", () -> g.devices().stats().stallWaitNs() > 0);
            } else {
                assertThat(g.devices().stats().allocStalls())
                        .as("the shrinker gave at once")
                        .isZero();
            }
            assertThat(g.call(GuestAbi.OP_SELF_CHECK).arg(1)).isZero();
        }
    }

    private static final class GuestFeaturesHolder {
        final dev.ballast.core.engine.GuestFeatures features =
                new dev.ballast.core.engine.GuestFeatures(true, true, true, 0);
    }
}
