package dev.ballast.kvm.guest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.device.GuestDevices;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.Reply;
import dev.ballast.kvm.testing.KvmTests;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * Free page reporting in the guest program (VIRTIO_BALLOON_F_REPORTING) and the host's discards: free 2 MiB blocks
 * are reported after a delay and discarded by the host (they read zero), pages in use never are, poisoned pages are
 * kept unless the host is told to discard them, and a discard of a page the guest did not isolate is caught.
 */
class FreePageReportingTest {
    private static final RamLayout LAYOUT = RamLayout.pcLike(64L << 20);
    private static final long PAGES = LAYOUT.totalPages();
    static final long PAGES_FOR_TESTS = PAGES;
    private static final long BLOCK = 1L << GuestAbi.REPORT_ORDER;

    static KvmGuest boot(Kvm kvm, int poison, long flags) {
        GuestFeatures f = new GuestFeatures(true, true, true, poison);
        long[] wl = WorkloadSettings.commandsOnly(f, false, 7);
        wl[GuestAbi.WL_FLAGS] |= flags;
        wl[GuestAbi.WL_REPORT_DELAY_US] = 20_000;
        return KvmGuest.boot(kvm, LAYOUT, f, wl);
    }

    static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(1);
        }
    }

    static boolean hostReadsZero(KvmGuest g, long pfn) {
        MemorySegment p = g.machine().memory().page(pfn);
        for (long w = 0; w < GuestAbi.PAGE_WORDS; w++) {
            if (p.getAtIndex(ValueLayout.JAVA_LONG, w) != 0) return false;
        }
        return true;
    }

    @Test
    void shouldReportFreeBlocksWhichTheHostDiscardsAndNeverAPageInUse() throws Exception {
        KvmTests.assumeKvm();
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, 0, GuestAbi.WF_REPORTING)) {
            // at boot every 2 MiB block but the first (the devices' used page is in it) is free and reported
            long atBoot = PAGES - BLOCK;
            await("the boot's report", () -> g.devices().stats().reportedPages() == atBoot);
            assertThat(g.devices().stats().reportDiscardedPages()).isEqualTo(atBoot);

            // the guest writes 6000 pages, keeps the newest 2000: the freed ones are reported again, in use ones not
            assertThat(g.call(GuestAbi.OP_ALLOC_WRITE, 6000, 0, 0).arg(0)).isEqualTo(6000);
            for (long pfn = 1; pfn <= 6000; pfn++) { // next-fit from the start: pages 1..6000
                assertThat(hostReadsZero(g, pfn)).as("page %d written", pfn).isFalse();
            }
            g.call(GuestAbi.OP_FREE_OLDEST, 2000); // pages 1..4000 freed
            // blocks 1..6 hold freed pages only (pages 512..3583), block 7 freed and kept ones
            await("the report of the freed blocks", () -> g.devices().stats().reportedPages() >= atBoot + 6 * BLOCK);
            Thread.sleep(50);
            assertThat(g.devices().stats().reportedPages()).isEqualTo(atBoot + 6 * BLOCK);
            for (long pfn = BLOCK; pfn < 7 * BLOCK; pfn++) {
                assertThat(hostReadsZero(g, pfn)).as("reported page %d", pfn).isTrue();
            }
            assertThat(hostReadsZero(g, 1))
                    .as("freed page 1 shares a block with the used page")
                    .isFalse();
            assertThat(g.devices().discardViolation()).isNull();
            Reply c = g.call(GuestAbi.OP_SELF_CHECK);
            assertThat(c.arg(1))
                    .as("bad pages: none of the 2000 in use was discarded")
                    .isZero();
            assertThat(c.arg(0)).isEqualTo(2001);
            // the reported pages are the guest's again: it allocates and writes them
            assertThat(g.call(GuestAbi.OP_ALLOC_WRITE, PAGES - 2001, 0, 0).arg(0))
                    .isEqualTo(PAGES - 2001);
            assertThat(g.call(GuestAbi.OP_SELF_CHECK).arg(1)).isZero();
        }
    }

    /**
     * The journal has the device's reports and discards with the simulator's fields: each REPORT answered by a
     * REPORT_DONE of the same pages, a HOST_DISCARD (why: report) of each reported page the host released, hints'
     * discards as HOST_DISCARD (why: hint); their sums are the device's own counts.
     */
    @Test
    void shouldJournalTheReportsAndDiscardsTheDeviceCounts() throws Exception {
        KvmTests.assumeKvm();
        java.util.List<long[]> events = new java.util.ArrayList<>();
        dev.ballast.core.event.EventSink sink = (type, t, a, b, c) -> events.add(new long[] {type.id(), a, b, c});
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, 0, GuestAbi.WF_REPORTING | GuestAbi.WF_DISCARD_HINTED)) {
            g.journalTo(sink);
            await("the boot's report", () -> g.devices().stats().reportedPages() == PAGES - BLOCK);
            g.call(GuestAbi.OP_ALLOC_WRITE, 6000, 0, 0);
            g.call(GuestAbi.OP_FREE_OLDEST, 2000);
            await("the report of the freed blocks", () -> g.devices().stats().reportedPages() >= PAGES + 5 * BLOCK);
            g.balloonState((t, a, b, c) -> {});
            g.hintCommand(0x8000_0001L);
            await("the host's hint discards", () -> g.devices().stats().hintDiscardedPages() > 0);
            g.hintCommand(1);
            Thread.sleep(50);
            g.drainJournal();
            GuestDevices.Stats st = g.devices().stats();
            long reported = 0, done = 0, discardedForReports = 0, discardedForHints = 0;
            dev.ballast.core.mem.PageBitmap reportedNow = new dev.ballast.core.mem.PageBitmap(PAGES);
            for (long[] e : events) {
                dev.ballast.core.event.EventType type = dev.ballast.core.event.EventType.byId((int) e[0]);
                long first = LAYOUT.block((int) e[1]).firstIndex() + e[2];
                switch (type) {
                    case REPORT -> {
                        assertThat(e[3] % BLOCK)
                                .as("a report names whole 2 MiB blocks")
                                .isZero();
                        assertThat(reportedNow.countRange(first, first + e[3])).isZero();
                        reportedNow.setRange(first, first + e[3]);
                        reported += e[3];
                    }
                    case REPORT_DONE -> {
                        assertThat(reportedNow.countRange(first, first + e[3]))
                                .as("REPORT_DONE answers a REPORT of the same pages")
                                .isEqualTo(e[3]);
                        reportedNow.clearRange(first, first + e[3]);
                        done += e[3];
                    }
                    case HOST_DISCARD -> {
                        long n = dev.ballast.core.event.EventType.HostDiscard.pages(e[3]);
                        if (dev.ballast.core.event.EventType.HostDiscard.why(e[3])
                                == dev.ballast.core.event.EventType.HostDiscard.REPORT) {
                            assertThat(reportedNow.countRange(first, first + n))
                                    .as("a report's discard is of pages it reported")
                                    .isEqualTo(n);
                            discardedForReports += n;
                        } else {
                            discardedForHints += n;
                        }
                    }
                    default -> {}
                }
            }
            assertThat(reported).isEqualTo(st.reportedPages()).isGreaterThan(PAGES);
            assertThat(done).isEqualTo(reported);
            assertThat(discardedForReports).isEqualTo(st.reportDiscardedPages());
            assertThat(discardedForHints).isEqualTo(st.hintDiscardedPages()).isPositive();
        }
    }

    @Test
    void shouldCatchTheHostDiscardingAPageTheGuestUses() throws Exception {
        KvmTests.assumeKvm();
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, 0, 0)) { // no reporting of its own
            g.call(GuestAbi.OP_ALLOC_WRITE, 100, 0, 0); // pages 1..100 in use
            g.call(GuestAbi.OP_INJECT, GuestAbi.REQ_REPORT, 1, 40, 8, 0, 0); // a report naming 40..47
            await("the host to take the report", () -> g.devices().stats().reportEntries() == 1);
            assertThat(g.devices().discardViolation())
                    .startsWith("invariant 1")
                    .contains("page ram-low+0x28 ")
                    .contains("not isolated");
            Reply c = g.call(GuestAbi.OP_SELF_CHECK);
            assertThat(c.arg(1)).isEqualTo(8);
            assertThat(c.arg(2)).isEqualTo(40);
            assertThat(c.arg(3)).isEqualTo(GuestAbi.CHECK_STAMP);
        }
    }

    @Test
    void shouldKeepPoisonedPagesUnlessTheHostIsToldToDiscardThem() throws Exception {
        KvmTests.assumeKvm();
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, 0xAA, GuestAbi.WF_REPORTING)) {
            await("the boot's report", () -> g.devices().stats().reportedPages() == PAGES - BLOCK);
            assertThat(g.devices().stats().reportDiscardedPages()).isZero();
            assertThat(g.devices().discardViolation()).isNull();
            assertThat(g.call(GuestAbi.OP_SELF_CHECK).arg(1)).isZero();
        }
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, 0xAA, GuestAbi.WF_REPORTING | GuestAbi.WF_DISCARD_POISONED)) {
            await("the boot's report", () -> g.devices().stats().reportedPages() == PAGES - BLOCK);
            assertThat(g.devices().stats().reportDiscardedPages()).isEqualTo(PAGES - BLOCK);
            assertThat(g.devices().discardViolation()).startsWith("invariant 2");
            Reply c = g.call(GuestAbi.OP_SELF_CHECK);
            assertThat(c.arg(1)).isEqualTo(PAGES - BLOCK);
            assertThat(c.arg(3)).isEqualTo(GuestAbi.CHECK_POISON);
        }
    }

    /**
     * Firecracker's balloon device (WF_DISCARD_HINTED): the host discards what the guest hints for the live request
     * id, pages the guest holds until the host says done; hints of an id that is no longer live are not discarded;
     * after done the guest uses the pages again and nothing it uses was lost.
     */
    @Test
    void shouldDiscardHintedPagesWhileTheGuestHoldsThem() throws Exception {
        KvmTests.assumeKvm();
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, 0, GuestAbi.WF_DISCARD_HINTED)) {
            g.balloonState((t, a, b, c) -> {}); // requests reach the queue, as in a migration
            g.call(GuestAbi.OP_ALLOC_WRITE, 8000, 0, 0); // pages 1..8000
            g.call(GuestAbi.OP_FREE_OLDEST, 3000); // 1..5000 freed: blocks of 1024 pages 1..3 are all free
            g.hintCommand(0x8000_0001L);
            await("the hint run", () -> g.call(GuestAbi.OP_STATS).arg(2) == 11 * 1024);
            await("the host's discards", () -> g.devices().stats().hintDiscardedPages() == 11 * 1024);
            for (long pfn = 1024; pfn < 4096; pfn++) {
                assertThat(hostReadsZero(g, pfn)).as("hinted page %d", pfn).isTrue();
            }
            assertThat(g.devices().discardViolation()).isNull();
            assertThat(g.call(GuestAbi.OP_SELF_CHECK).arg(1))
                    .as("in use: 5001..8000 and the used page")
                    .isZero();

            // a hint for an id the host has moved past: not discarded
            g.hintCommand(1); // done
            g.call(GuestAbi.OP_INJECT, GuestAbi.REQ_HINT, 0x8000_0001L, 1024, 1024, 0, 0);
            await(
                    "the stale hint",
                    () -> g.devices().stats().requests()
                            == g.call(GuestAbi.OP_STATS).arg(5));
            assertThat(g.devices().stats().hintDiscardedPages()).isEqualTo(11 * 1024);

            // done: the guest takes the pages back, writes every free page, and nothing in use was lost
            long free = g.call(GuestAbi.OP_STATS).arg(1);
            assertThat(g.call(GuestAbi.OP_ALLOC_WRITE, free, 0, 0).arg(0)).isEqualTo(free);
            assertThat(g.call(GuestAbi.OP_SELF_CHECK).arg(1)).isZero();
            assertThat(g.devices().discardViolation()).isNull();
        }
    }
}
