package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.G;
import static dev.ballast.sim.SimRuns.M;
import static dev.ballast.sim.SimRuns.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.HintDriver;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The free page hint driver as Linux writes it, against the idealised one. */
class LinuxHintDriverTest {
    static final RamLayout LAYOUT = RamLayout.pcLike(64 * M);
    static final GuestFeatures FEATURES = new GuestFeatures(true, true, true, 0);
    static final long BLOCK = 1024; // 4 MiB: the driver's order on x86
    static final long ID = 0x8000_0000L;

    static SimGuest guest(SimGuest.Kernel kernel, GuestFeatures features) {
        SimCosts costs = new SimCosts(CostProfile.defaults(), 0);
        return new SimGuest(new SimGuest.Setup(
                LAYOUT,
                features,
                false,
                costs,
                new SimCheckers(LAYOUT, features.poisonByte()),
                SimOptions.DEFAULTS,
                kernel));
    }

    static SimGuest linux(boolean initOnAlloc) {
        return guest(new SimGuest.Kernel(HintDriver.LINUX, initOnAlloc, false), FEATURES);
    }

    /** The (pfn, pages) of every hint the guest sent so far. */
    static List<long[]> hints(SimGuest g) {
        List<long[]> out = new ArrayList<>();
        g.setNow(1_000_000_000L); // every report in flight has arrived
        g.drainRequests(
                (type, a, b, c) -> {
                    if (type == EventType.HINT) out.add(new long[] {b, c});
                },
                Integer.MAX_VALUE);
        return out;
    }

    @Test
    void shouldTakeFourMiBBlocksFromTheAllocatorUntilOneFailsAndReportEachOnItsOwn() {
        SimGuest g = linux(false);
        long used = g.allocPages(12); // 16 MiB in use: blocks 4..7 of 16... wherever the allocator puts it
        g.hintCommand(ID);
        g.tick(1_000_000);
        List<long[]> hints = hints(g);
        // 64 MiB is 16 blocks of 4 MiB; the device rings sit in one and the 16 MiB allocation covers four
        assertThat(hints).hasSize(11).allSatisfy(h -> {
            assertThat(h[1]).isEqualTo(BLOCK);
            assertThat(h[0] % BLOCK).isZero();
        });
        assertThat(g.heldPageCount()).isEqualTo(11 * BLOCK);
        assertThat(g.freePageCount()).isEqualTo(BLOCK - 2);
        assertThat(used).isNotNegative();
    }

    @Test
    void shouldLeaveTheKernelsReserveFree() {
        // 64 MiB, 16 blocks of 4 MiB, the device rings in one: 15 blocks and 1,022 pages free (16,382). With
        // min-free=10M (2,560 pages) a block is taken only if, less the block's pages but one, more than 2,560 stay
        // free (Linux's __zone_watermark_ok): the 13th leaves 3,070 (2 blocks and the 1,022 pages), a 14th would
        // leave 2,046. A driver whose allocations cannot reclaim stops there.
        SimGuest g = guest(
                new SimGuest.Kernel(HintDriver.LINUX, false, false, false, false, false, false, false, 2560), FEATURES);
        g.hintCommand(ID);
        g.tick(1_000_000);
        assertThat(hints(g)).hasSize(13);
        assertThat(g.freePageCount()).isEqualTo(2 * BLOCK + BLOCK - 2);
        assertThat(linuxWithoutReserve().freePageCount()).isEqualTo(BLOCK - 2);
    }

    private static SimGuest linuxWithoutReserve() {
        SimGuest g = linux(false);
        g.hintCommand(ID);
        g.tick(1_000_000);
        return g;
    }

    @Test
    void shouldZeroWhatItTakesUnderInitOnAllocAndTheDirtyLogSeesIt() {
        for (boolean initOnAlloc : new boolean[] {false, true}) {
            SimGuest g = linux(initOnAlloc);
            // the guest wrote most of its memory and freed it again (a memory hog)
            long hog = g.allocPages(13);
            g.writeRange(hog, 8192);
            g.freePages(hog, 8192);
            g.startDirtyLog();
            g.hintCommand(ID);
            g.tick(1_000_000);
            long zero = 0;
            for (long i = hog; i < hog + 8192; i++) if (g.read(i) == 0) zero++;
            long[] dirty = {0};
            g.syncDirtyLog((block, off, n) -> dirty[0] += n);
            assertThat(g.heldPageCount()).as("init-on-alloc=%s", initOnAlloc).isEqualTo(15 * BLOCK);
            assertThat(zero).as("init-on-alloc=%s", initOnAlloc).isEqualTo(initOnAlloc ? 8192 : 0);
            // the device's reply to the command and to each report lands in a ring page: 1 or 2 pages
            assertThat(dirty[0])
                    .as("init-on-alloc=%s", initOnAlloc)
                    .isBetween(initOnAlloc ? 15 * BLOCK : 1, 15 * BLOCK + 2);
        }
    }

    @Test
    void shouldNotZeroUnderPoisoningWhichTakesPrecedence() {
        SimGuest g =
                guest(new SimGuest.Kernel(HintDriver.LINUX, true, false), new GuestFeatures(true, true, true, 0xaa));
        g.hintCommand(ID);
        g.tick(1_000_000);
        long i = hints(g).getFirst()[0];
        assertThat(g.read(i)).isEqualTo(-0xaa);
    }

    @Test
    void shouldKeepItsBlocksAtStopAndAtANewRequestAndGiveThemBackAtDoneOnlyOnceTheGuestRuns() {
        SimGuest g = linux(false);
        g.hintCommand(ID);
        g.tick(1_000_000);
        assertThat(g.heldPageCount()).isEqualTo(15 * BLOCK);
        g.hintCommand(0); // stop
        g.tick(1_000_000);
        assertThat(g.heldPageCount()).isEqualTo(15 * BLOCK);
        long page = g.allocPages(0); // the guest frees a 4 MiB block's worth... one page only: no new block is free
        g.freePages(page, 1);
        g.hintCommand(ID + 1); // a new request: the old blocks stay held, nothing new to report
        g.tick(1_000_000);
        hints(g);
        assertThat(g.heldPageCount()).isEqualTo(15 * BLOCK);
        g.pause();
        g.hintCommand(1); // done, while paused for stop-and-copy
        g.tick(1_000_000);
        assertThat(g.heldPageCount()).isEqualTo(15 * BLOCK);
        g.resume(); // on the destination
        g.tick(1_000_000);
        assertThat(g.heldPageCount()).isZero();
        assertThat(g.freePageCount()).isEqualTo(16 * BLOCK - 2);
    }

    @Test
    void shouldLetTheIdealDriverGiveBlocksBackAtEveryNewRequest() {
        SimGuest g = guest(SimGuest.Kernel.IDEAL, FEATURES);
        g.hintCommand(ID);
        g.tick(1_000_000);
        assertThat(g.heldPageCount()).isEqualTo(15 * BLOCK);
        g.hintCommand(ID + 1);
        assertThat(g.heldPageCount()).isZero();
    }

    @Test
    void shouldShrinkHeldBlocksWhenAnAllocationFindsNothingFree() {
        SimGuest g = linux(false);
        g.hintCommand(ID);
        g.tick(1_000_000);
        while (g.allocPages(0) >= 0) {} // the guest takes what is left
        long i = g.allocReclaiming(3);
        assertThat(i).isNotNegative();
        assertThat(g.heldPageCount()).isEqualTo(14 * BLOCK);
        assertThat(g.shrunkPages).isEqualTo(BLOCK);
        assertThat(g.allocStalls).isZero();
    }

    @Test
    void shouldDeflateOnOomOnlyWhenTheDeviceOffersItAndStallOtherwise() {
        for (boolean deflateOnOom : new boolean[] {false, true}) {
            SimGuest g = guest(new SimGuest.Kernel(HintDriver.LINUX, false, deflateOnOom), FEATURES);
            g.inflate(8 * BLOCK, true);
            while (g.allocPages(0) >= 0) {}
            long i = g.allocReclaiming(0);
            assertThat(i >= 0).as("deflate-on-oom=%s", deflateOnOom).isEqualTo(deflateOnOom);
            assertThat(g.oomDeflatedPages).isEqualTo(deflateOnOom ? SimGuest.OOM_DEFLATE_PAGES : 0);
            assertThat(g.allocStalls).isEqualTo(deflateOnOom ? 0 : 1);
            assertThat(g.balloonPageCount()).isEqualTo(8 * BLOCK - g.oomDeflatedPages);
        }
    }

    @Test
    void shouldPoisonWhatDeflateOnOomGivesBackUnderPoisoning() {
        SimGuest g =
                guest(new SimGuest.Kernel(HintDriver.LINUX, false, true), new GuestFeatures(true, true, true, 0x5a));
        g.inflate(8 * BLOCK, true);
        while (g.allocPages(0) >= 0) {}
        long i = g.allocReclaiming(0);
        assertThat(i).isNotNegative();
        long free = 0;
        for (long p = 0; p < 16 * BLOCK; p++) {
            if (!g.isFree(p)) continue;
            free++;
            assertThat(g.read(p)).as("free page %d", p).isEqualTo(-0x5a);
        }
        assertThat(free).isEqualTo(SimGuest.OOM_DEFLATE_PAGES - 1);
    }

    @Test
    void shouldKeepEveryInvariantWithTheAcknowledgedShrinkerUnderPressurePoisoningAndFailures() {
        String[] workloads = {"idle", "memhog", "compile", "balloon:50", "deflate-race"};
        String[] guests = {
            ",hint-driver=linux-acked",
            ",hint-driver=linux-acked,init-on-alloc=1",
            ",hint-driver=linux-acked,pressure=60%",
            ",hint-driver=linux-acked,pressure=95%,deflate-on-oom=1,init-on-alloc=1",
            ",hint-driver=ideal,pressure=60%",
            ",pressure=0%"
        };
        int runs = 0;
        for (String w : workloads) {
            for (String k : guests) {
                for (int poison : new int[] {0, 0xaa}) {
                    // under poisoning the shrinker's freeing rewrites poison into a hinted page after its report:
                    // the engine's poison fill then sends it twice (invariant 3): the property suite's known issue 1
                    // (docs/findings.md, notes), which the suite tolerates where the run's events show it
                    if (poison != 0 && k.contains("pressure=") && !k.contains("pressure=0%")) continue;
                    Scenario s = Scenario.sim(256 * M, w + k, "hint+balloon", 11 + runs)
                            .withGuest(poison, true, "pfn", Scenario.MIN_COMMAND_ID);
                    if (runs % 3 == 0) s = s.withFailAt("30%");
                    RunReport r = run(s);
                    assertThat(r.verify().ok())
                            .as("%s poison=%d: %s", w + k, poison, r.verify().violation())
                            .isTrue();
                    assertThat(r.outcome()).isEqualTo("completed");
                    runs++;
                }
            }
        }
    }

    /**
     * Finding 1 of {@code docs/findings.md}: Linux's shrinker gives a block back while its report is
     * still on its way to the host; the guest writes it; the host then takes the report (its
     * request is still live), skips the page and clears its dirty bit: the write is lost.
     */
    @Test
    void shouldLoseAWriteWhenTheShrinkerGivesBackABlockWhoseReportIsInFlight() {
        Scenario s = Scenario.sim(256 * M, "idle,pressure=60%", "hint+balloon", 15);
        SimRun shipped = new SimRun(s);
        RunReport r = shipped.run();
        assertThat(r.verify().ok()).isFalse();
        assertThat(r.verify().violation()).startsWith("invariant 1 (no lost write)");
        assertThat(shipped.guest().shrunkPages).isPositive();

        SimRun acked =
                new SimRun(Scenario.sim(256 * M, "idle,pressure=60%,hint-driver=linux-acked", "hint+balloon", 15));
        RunReport fixed = acked.run();
        assertThat(fixed.verify().ok()).as(fixed.verify().violation()).isTrue();
        assertThat(acked.guest().shrunkPages).isPositive();
    }

    @Test
    void shouldCostNoResendForTheBlocksItZeroedUnderInitOnAlloc() {
        // after a memory hog the driver zeroes the blocks it takes under init-on-alloc, a write the
        // dirty log sees; the host clears the dirty bits of the pages it skips for a hint (as QEMU
        // does since it clears the memory region's dirty bitmap of skipped free pages), so the zeroing is not sent
        RunReport plain = run(Scenario.sim(1 * G, "memhog", "hint", 3));
        RunReport zeroing = run(Scenario.sim(1 * G, "memhog,init-on-alloc=1", "hint", 3));
        RunReport legacy = run(Scenario.sim(1 * G, "memhog,init-on-alloc=1", "legacy", 3));
        assertThat(plain.verify().ok()).isTrue();
        assertThat(zeroing.verify().ok()).isTrue();
        assertThat(zeroing.pages().resent()).isEqualTo(plain.pages().resent());
        assertThat(zeroing.transferredBytes()).isLessThan(legacy.transferredBytes() / 2);
    }

    @Test
    void shouldSendEveryHintedPageAsAZeroPageWhenOnlyASyncClearsTheHostsLog() {
        // Linux's driver allocates the blocks it reports, and under init_on_alloc the allocation zeroes them: a
        // write, after the sync that started the request. A host that re-arms the log of what a hint skips (QEMU on
        // KVM with manual dirty-log protection) never sends them; a host whose log only a sync clears (QEMU under
        // TCG) reports the zeroing at the next sync, and the pages go as zero pages after all.
        RunReport manual = run(Scenario.sim(256 * M, "idle,init-on-alloc=1", "hint", 1));
        RunReport sync = run(Scenario.sim(256 * M, "idle,init-on-alloc=1,dirty-log=sync", "hint", 1));
        assertThat(manual.verify().ok()).as(manual.verify().violation()).isTrue();
        assertThat(sync.verify().ok()).as(sync.verify().violation()).isTrue();
        long hinted = sync.pages().skippedFree();
        assertThat(hinted).isEqualTo(manual.pages().skippedFree()).isGreaterThan(256 * M / 4096 / 2);
        assertThat(manual.pages().zero()).isLessThan(hinted / 10);
        assertThat(sync.pages().zero() - manual.pages().zero()).isGreaterThanOrEqualTo(hinted);
        // the data pages are the same: only pages the allocation zeroed went again
        assertThat(sync.pages().normal()).isEqualTo(manual.pages().normal());
    }

    @Test
    void shouldSendTheOperatingSystemsMemoryWithItsDataAndNeverHintIt() {
        // os=64M: 16,384 pages the guest's kernel wrote at boot and holds; each goes once with its data, in every
        // policy (give or take the trickle of rewrites, which land elsewhere), and a hint never skips one of them
        for (String policy : new String[] {"legacy", "hint"}) {
            RunReport bare = run(Scenario.sim(256 * M, "idle", policy, 1));
            RunReport os = run(Scenario.sim(256 * M, "idle,os=64M", policy, 1));
            assertThat(os.verify().ok()).as(os.verify().violation()).isTrue();
            assertThat(os.pages().normal() - bare.pages().normal()).as(policy).isBetween(16_384L - 64, 16_384L + 64);
            if (policy.equals("hint")) {
                assertThat(bare.pages().skippedFree() - os.pages().skippedFree())
                        .isGreaterThanOrEqualTo(16_384L - 64);
            }
        }
    }

    @Test
    void shouldLeaveTheRealGuestsMarginFreeWhenTheHogRunsBesideAnOperatingSystem() {
        // 65,536 pages; os=16M holds 4,096 and idle's used 4% 2,621, so 58,819 are free when the hog starts. The QEMU
        // backend's guest program leaves 32 MiB (8,192 pages) and a sixteenth of that (3,676) free: a hog of 46,951
        // pages, which legacy sends with their data (freed, not zeroed). Without an OS the hog may take them all.
        RunReport idle = run(Scenario.sim(256 * M, "idle,os=16M", "legacy", 1));
        RunReport hog = run(Scenario.sim(256 * M, "memhog,os=16M", "legacy", 1));
        assertThat(hog.verify().ok()).as(hog.verify().violation()).isTrue();
        assertThat(hog.pages().normal() - idle.pages().normal()).isBetween(46_951L - 64, 46_951L + 64);
        RunReport bare = run(Scenario.sim(256 * M, "memhog", "legacy", 1));
        RunReport bareIdle = run(Scenario.sim(256 * M, "idle", "legacy", 1));
        // without an OS: 90% of 65,536 is 58,982 pages, fewer than the 62,915 free after idle's 4%: all of it
        assertThat(bare.pages().normal() - bareIdle.pages().normal()).isBetween(58_982L - 64, 58_982L + 64);
    }

    @Test
    void shouldReportFreeMemoryAtTheHintRateItIsGiven() {
        // hint-rate=40M/s: 10 blocks of 4 MiB a second of virtual time (by default the driver reports at once); at
        // 20 Mbit/s the migration lasts long enough to see it
        List<Long> times = new ArrayList<>();
        dev.ballast.core.event.EventSink sink = (type, t, a, b, c) -> {
            if (type == EventType.HINT) times.add(t);
        };
        Scenario slow = Scenario.sim(256 * M, "idle,hint-rate=40M/s", "hint", 1).withLimits(20_000_000L, 2 * G, 30, 0);
        new SimRun(slow, slow.layout(), SimRun.Hooks.NONE, sink, dev.ballast.core.run.Backend.Progress.NONE).run();
        assertThat(times).hasSizeGreaterThan(20);
        long first = times.getFirst();
        // blocks reported within the first second after the first: at most 10 (+1 for the tick that the first began)
        assertThat(times.stream().filter(t -> t < first + 1_000_000_000L).count())
                .isBetween(9L, 11L);
        assertThatRejects("idle,hint-rate=0");
    }

    private static void assertThatRejects(String workload) {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> dev.ballast.core.run.WorkloadSpec.parse(workload))
                .hasMessageContaining("hint-rate=0: expected a rate above 0");
    }
}
