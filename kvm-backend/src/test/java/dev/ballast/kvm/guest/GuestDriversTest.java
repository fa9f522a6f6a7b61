package dev.ballast.kvm.guest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.RejectReason;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.GuestImage;
import dev.ballast.kvm.guestabi.Reply;
import dev.ballast.kvm.testing.KvmTests;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The guest program's allocator, balloon driver, free page hint driver, poisoning and self-check, with the host's devices. */
class GuestDriversTest {
    private static final RamLayout LAYOUT = RamLayout.pcLike(64L << 20);
    private static final long PAGES = LAYOUT.totalPages();

    record Req(EventType type, long a, long b, long c) {}

    static KvmGuest boot(Kvm kvm, GuestFeatures f, boolean bitmaps) {
        KvmGuest g = KvmGuest.boot(kvm, LAYOUT, f, WorkloadSettings.commandsOnly(f, bitmaps, 42));
        g.balloonState((t, a, b, c) -> {}); // requests go to the queue from now on
        return g;
    }

    static List<Req> drain(KvmGuest g) {
        List<Req> out = new ArrayList<>();
        g.drainRequests((t, a, b, c) -> out.add(new Req(t, a, b, c)), Integer.MAX_VALUE);
        return out;
    }

    static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(1);
        }
    }

    /** Requests until one of this type arrives, then what else came with it. */
    static List<Req> drainUntil(KvmGuest g, EventType type) throws InterruptedException {
        List<Req> all = new ArrayList<>();
        await(type + " request", () -> {
            all.addAll(drain(g));
            return all.stream().anyMatch(r -> r.type() == type);
        });
        return all;
    }

    @Test
    void shouldAllocateWriteAndCheckItself() {
        KvmTests.assumeKvm();
        GuestFeatures f = new GuestFeatures(true, true, true, 0);
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, f, false)) {
            assertThat(g.call(GuestAbi.OP_ALLOC_WRITE, 1000, 0, 9).arg(0)).isEqualTo(1000);
            Reply s = g.call(GuestAbi.OP_STATS);
            assertThat(s.arg(0)).as("in use: 1000 and the devices' used page").isEqualTo(1001);
            assertThat(s.arg(1)).as("free").isEqualTo(PAGES - 1001);
            Reply c = g.call(GuestAbi.OP_SELF_CHECK);
            assertThat(c.arg(0))
                    .as("checked: the pages written and the used page")
                    .isEqualTo(1001);
            assertThat(c.arg(1)).as("bad").isZero();
            assertThat(g.call(GuestAbi.OP_FREE_OLDEST, 0).arg(0)).isZero();
            assertThat(g.call(GuestAbi.OP_STATS).arg(0)).isEqualTo(1);
        }
    }

    @Test
    void shouldFindAStampThatTheHostBroke() {
        KvmTests.assumeKvm();
        GuestFeatures f = new GuestFeatures(true, true, true, 0);
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, f, false)) {
            g.call(GuestAbi.OP_ALLOC_WRITE, 100, 0, 0);
            long pfn = 50; // next-fit from the start: pages 1..100 are the ones written
            g.machine().memory().page(pfn).set(java.lang.foreign.ValueLayout.JAVA_LONG, 800, 0xBADL);
            Reply c = g.call(GuestAbi.OP_SELF_CHECK);
            assertThat(c.arg(1)).isEqualTo(1);
            assertThat(c.arg(2)).isEqualTo(pfn);
            assertThat(c.arg(3)).isEqualTo(GuestAbi.CHECK_STAMP);
        }
    }

    @ParameterizedTest(name = "bitmaps={0} mustTellHost={1}")
    @CsvSource({"false,true", "true,true", "false,false", "true,false"})
    void shouldInflateAndDeflateTheBalloon(boolean bitmaps, boolean mustTellHost) throws Exception {
        KvmTests.assumeKvm();
        GuestFeatures f = new GuestFeatures(mustTellHost, true, true, 0);
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, f, bitmaps)) {
            g.call(GuestAbi.OP_ALLOC_WRITE, 1000, 0, 9);
            assertThat(g.call(GuestAbi.OP_BALLOON, 1, 5000).arg(0)).isEqualTo(5000);
            await("the device to take 5000 pages", () -> g.devices().balloonPages() == 5000);
            List<Req> in = drain(g);
            assertThat(in)
                    .allMatch(r -> r.type() == EventType.BALLOON_INFLATE && r.a() == EventType.Balloon.of(bitmaps));
            assertThat(in.stream().mapToLong(Req::c).sum()).isEqualTo(5000);
            assertThat(g.devices().stats().discardedPages()).isEqualTo(5000);

            Reply d = g.call(GuestAbi.OP_BALLOON, 0, 1200);
            assertThat(d.arg(0)).isEqualTo(1200);
            if (mustTellHost) {
                // the guest waited for the host before it reused (poisoned or wrote) the pages
                assertThat(g.devices().balloonPages()).isEqualTo(3800);
            }
            assertThat(g.call(GuestAbi.OP_STATS).arg(3)).isEqualTo(3800);
            if (!mustTellHost) {
                assertThat(drain(g)).noneMatch(r -> r.type() == EventType.BALLOON_DEFLATE); // not told yet
            }
            // the host is told in several messages (256 PFNs each as arrays): wait for all of them
            List<Req> out = new ArrayList<>();
            await("1200 deflated pages told", () -> {
                out.addAll(drain(g));
                return out.stream()
                                .filter(r -> r.type() == EventType.BALLOON_DEFLATE)
                                .mapToLong(Req::c)
                                .sum()
                        >= 1200;
            });
            assertThat(out.stream()
                            .filter(r -> r.type() == EventType.BALLOON_DEFLATE)
                            .mapToLong(Req::c)
                            .sum())
                    .isEqualTo(1200);
            assertThat(out.stream()
                            .filter(r -> r.type() == EventType.BALLOON_DEFLATE)
                            .mapToLong(Req::b)
                            .min()
                            .orElseThrow())
                    .isEqualTo(d.arg(1));
            assertThat(g.call(GuestAbi.OP_SELF_CHECK).arg(1)).isZero();
        }
    }

    /**
     * The lost write of issue 17. Pages in an inflate message belong to the host until it has
     * taken the message: it gives them back (madvise) when it gets to it, which under poisoning
     * (every page present) took this host tens to hundreds of milliseconds. The guest answered an
     * inflate as soon as it had posted the messages, so without MUST_TELL_HOST (nothing else
     * makes it wait) it could deflate the pages and write them first, and the host's madvise then
     * threw the writes away. Here the host's devices start only after the guest was asked to
     * inflate, deflate and write: a guest that waits for the host's word on its inflate does the
     * rest after the discard, and every page then holds what the guest last put there.
     */
    @ParameterizedTest(name = "bitmaps={0}")
    @CsvSource({"false", "true"})
    void shouldNotReuseAnInflatedPageBeforeTheHostHasTakenIt(boolean bitmaps) throws Exception {
        KvmTests.assumeKvm();
        GuestFeatures f = new GuestFeatures(false, true, true, 0x5A);
        // 3000 pages: at most 16 buffers of messages (12 as PFN arrays), so no buffer has to be
        // reused, which would make even the old guest wait for the host.
        long inflate = 3000;
        try (Kvm kvm = Kvm.open();
                KvmGuest g = KvmGuest.incoming(kvm, LAYOUT, f)) {
            g.machine().boot(GuestImage.load(), WorkloadSettings.commandsOnly(f, bitmaps, 42));
            g.balloonState((t, a, b, c) -> {});
            g.post(GuestAbi.OP_BALLOON, 1, inflate);
            g.post(GuestAbi.OP_BALLOON, 0, inflate); // the host hears of it late
            g.post(GuestAbi.OP_ALLOC_WRITE, PAGES - 100, 0, 9); // into the deflated pages too
            try {
                // Whatever the guest can do without the host, it has done when it answers this.
                g.machine().channel().call(java.time.Duration.ofSeconds(1), GuestAbi.OP_NOP);
            } catch (java.util.concurrent.TimeoutException e) {
                // it waits for the host: it may not go on before the device has taken the inflate
            }
            g.devices().start();
            await(
                    "the host to give the inflated pages back",
                    () -> g.devices().stats().discardedPages() == inflate);
            Reply c = g.call(GuestAbi.OP_SELF_CHECK);
            assertThat(g.call(GuestAbi.OP_STATS).arg(3)).as("ballooned").isZero();
            assertThat(c.arg(0)).as("checked: every page, written or poisoned").isEqualTo(PAGES);
            assertThat(c.arg(1))
                    .as("bad pages, the first at PFN 0x%x (kind %d)", c.arg(2), c.arg(3))
                    .isZero();
        }
    }

    /**
     * With MUST_TELL_HOST, when the guest says a deflate is done, the host has taken every page of it out of its
     * balloon. The host is played by hand here, one request at a time. The guest used to wait for the message
     * posted before its last flush, so it had the last partial batch of PFNs back while the host still held them.
     */
    @ParameterizedTest(name = "bitmaps={0}")
    @CsvSource({"false", "true"})
    void shouldNotGetDeflatedPagesBackBeforeTheHostHasTakenEveryMessage(boolean bitmaps) throws Exception {
        KvmTests.assumeKvm();
        GuestFeatures f = new GuestFeatures(true, true, true, 0);
        try (Kvm kvm = Kvm.open();
                KvmGuest g = KvmGuest.incoming(kvm, LAYOUT, f)) {
            g.machine().boot(GuestImage.load(), WorkloadSettings.commandsOnly(f, bitmaps, 42));
            var channel = g.machine().channel();
            var devices = g.devices();
            Reply inflated = playHostUntilReply(channel, devices, channel.submit(GuestAbi.OP_BALLOON, 1, 1200));
            assertThat(inflated.arg(0)).isEqualTo(1200);
            assertThat(devices.balloonPages()).isEqualTo(1200);

            Reply deflated = playHostUntilReply(channel, devices, channel.submit(GuestAbi.OP_BALLOON, 0, 1200));
            assertThat(deflated.arg(0)).isEqualTo(1200);
            assertThat(devices.balloonPages())
                    .as("pages still in the host's balloon when the guest had them back")
                    .isZero();
        }
    }

    /** Handles the guest's requests one at a time until command {@code id} is answered. */
    private static Reply playHostUntilReply(
            dev.ballast.kvm.guestabi.GuestChannel channel, dev.ballast.kvm.device.GuestDevices devices, long id)
            throws Exception {
        for (int i = 0; i < 2000; i++) {
            try {
                return channel.await(id, java.time.Duration.ofMillis(20));
            } catch (java.util.concurrent.TimeoutException e) {
                devices.handle(1);
            }
        }
        throw new AssertionError("no reply to command " + id);
    }

    @Test
    void shouldReportFreeBlocksAndHoldThemUntilDone() throws Exception {
        KvmTests.assumeKvm();
        GuestFeatures f = new GuestFeatures(true, true, true, 0);
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, f, false)) {
            g.call(GuestAbi.OP_ALLOC_WRITE, 3000, 0, 0);
            long id = 0x8000_0007L;
            g.hintCommand(id);
            List<Req> hints = new ArrayList<>();
            await("the report to end", () -> {
                hints.addAll(drain(g));
                Reply s = g.call(GuestAbi.OP_STATS);
                return s.arg(2) > 0 && hints.stream().mapToLong(Req::c).sum() == s.arg(2);
            });
            long held = g.call(GuestAbi.OP_STATS).arg(2);
            // 64 MiB = 16 blocks of 1024 pages; pages 0..3000 are in use, so blocks 3..15 are free
            assertThat(held).isEqualTo(13 * 1024);
            assertThat(hints)
                    .allMatch(r -> r.type() == EventType.HINT && r.a() == id && r.b() % 1024 == 0 && r.c() % 1024 == 0);
            // held pages cannot be allocated
            assertThat(g.call(GuestAbi.OP_ALLOC_WRITE, 2048, 0, 0).arg(0)).isEqualTo(1024 * 3 - 3001);
            g.hintCommand(1); // done: the guest may use them again
            assertThat(g.call(GuestAbi.OP_STATS).arg(2)).isZero();
            assertThat(g.call(GuestAbi.OP_ALLOC_WRITE, 2048, 0, 0).arg(0)).isEqualTo(2048);

            g.hintCommand(0x8000_0008L);
            await(
                    "a second report",
                    () -> drain(g).stream().anyMatch(r -> r.type() == EventType.HINT && r.a() == 0x8000_0008L));
            g.hintCommand(0); // stop: the pages stay held
            Reply s = g.call(GuestAbi.OP_STATS);
            assertThat(s.arg(2)).isGreaterThan(0);
            g.hintCommand(0x8000_0009L); // a new id releases what the old one held and reports again
            await(
                    "a third report",
                    () -> drain(g).stream().anyMatch(r -> r.type() == EventType.HINT && r.a() == 0x8000_0009L));
            assertThat(g.call(GuestAbi.OP_SELF_CHECK).arg(1)).isZero();
        }
    }

    @Test
    void shouldSendTheWholeFreeBitmapWithoutHoldingIt() throws Exception {
        KvmTests.assumeKvm();
        GuestFeatures f = new GuestFeatures(true, true, true, 0);
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, f, false)) {
            g.call(GuestAbi.OP_ALLOC_WRITE, 3000, 0, 9);
            g.requestFreeBitmap(0x8000_0001L);
            List<Req> reqs = drainUntil(g, EventType.FREE_BITMAP_END);
            long free = reqs.stream()
                    .filter(r -> r.type() == EventType.FREE_BITMAP)
                    .mapToLong(Req::c)
                    .sum();
            assertThat(free).isEqualTo(PAGES - 3001);
            assertThat(g.call(GuestAbi.OP_STATS).arg(2)).isZero();
        }
    }

    @Test
    void shouldPoisonFreePagesAndCheckThem() {
        KvmTests.assumeKvm();
        GuestFeatures f = new GuestFeatures(true, true, true, 0xAA);
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, f, false)) {
            g.call(GuestAbi.OP_ALLOC_WRITE, 1000, 0, 9);
            g.call(GuestAbi.OP_FREE_OLDEST, 500);
            Reply c = g.call(GuestAbi.OP_SELF_CHECK);
            assertThat(c.arg(0))
                    .as("every page but the ones written and not freed is checked")
                    .isEqualTo(PAGES);
            assertThat(c.arg(1)).isZero();
            long freePfn = PAGES - 1;
            g.machine().memory().page(freePfn).set(java.lang.foreign.ValueLayout.JAVA_BYTE, 7, (byte) 0);
            c = g.call(GuestAbi.OP_SELF_CHECK);
            assertThat(c.arg(1)).isEqualTo(1);
            assertThat(c.arg(2)).isEqualTo(freePfn);
            assertThat(c.arg(3)).isEqualTo(GuestAbi.CHECK_POISON);
        }
    }

    /**
     * The host's madvise calls per balloon message: one per run of contiguous pages, whether the message is a PFN
     * array or a bitmap (the 001 claim's host-side cost, counted by the device).
     */
    @ParameterizedTest(name = "bitmap={0}")
    @CsvSource({"false", "true"})
    void shouldCountOneMadvisePerRunOfAMessage(boolean bitmap) throws Exception {
        KvmTests.assumeKvm();
        GuestFeatures f = new GuestFeatures(true, true, true, 0);
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, f, false)) {
            MemorySegment buf = g.machine()
                    .memory()
                    .system()
                    .host()
                    .asSlice(g.machine().memory().layout().balloonBufOffset() + 15L * 4096, 4096);
            long[] pfns = {100, 101, 102, 200, 202, 203};
            long count;
            if (bitmap) {
                buf.fill((byte) 0);
                for (long p : pfns) {
                    long w = buf.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, p >>> 6);
                    buf.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, p >>> 6, w | 1L << (p & 63));
                }
                count = 256; // bits 0..255, base pfn 0
            } else {
                for (int i = 0; i < pfns.length; i++) {
                    buf.setAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, i, (int) pfns[i]);
                }
                count = pfns.length;
            }
            g.call(
                    GuestAbi.OP_INJECT,
                    GuestAbi.REQ_BALLOON,
                    0,
                    1,
                    bitmap ? GuestAbi.BM_BITMAP : GuestAbi.BM_PFNS,
                    15,
                    count);
            await("the device to take 6 pages", () -> g.devices().balloonPages() == 6);
            var s = g.devices().stats();
            assertThat(s.balloonMessages()).isEqualTo(1);
            assertThat(s.discardedPages()).isEqualTo(6);
            assertThat(s.madviseCalls()).as("runs 100-102, 200, 202-203").isEqualTo(3);
        }
    }

    @Test
    void shouldRejectGarbageAndGoOn() throws Exception {
        KvmTests.assumeKvm();
        GuestFeatures f = new GuestFeatures(true, true, true, 0);
        try (Kvm kvm = Kvm.open();
                KvmGuest g = boot(kvm, f, false)) {
            g.call(GuestAbi.OP_INJECT, 0x999, 5, 1, 2, 3, 4); // an op no device knows
            g.call(GuestAbi.OP_INJECT, GuestAbi.REQ_BALLOON, 0, 1, 0, 99, 1); // buffer 99 does not exist
            g.call(GuestAbi.OP_INJECT, GuestAbi.REQ_BALLOON, 0, 1, 0, 0, 100_000); // too many PFNs
            g.call(GuestAbi.OP_INJECT, GuestAbi.REQ_HINT, 0x8000_0001L, 0, 0, 0, 0); // no range at all
            List<Req> got = new ArrayList<>();
            await("four rejects", () -> {
                got.addAll(drain(g));
                return got.size() >= 4;
            });
            assertThat(got)
                    .hasSize(4)
                    .allMatch(r -> r.type() == EventType.REJECT && r.a() == RejectReason.MALFORMED.ordinal());

            // a balloon message naming PFNs outside RAM: passed on for the engine to reject, nothing discarded
            MemorySegment buf = g.machine()
                    .memory()
                    .system()
                    .host()
                    .asSlice(g.machine().memory().layout().balloonBufOffset(), 4096);
            buf.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, (int) PAGES + 10);
            g.call(GuestAbi.OP_INJECT, GuestAbi.REQ_BALLOON, 0, 1, GuestAbi.BM_PFNS, 0, 1);
            List<Req> out = drainUntil(g, EventType.BALLOON_INFLATE);
            assertThat(out).containsExactly(new Req(EventType.BALLOON_INFLATE, EventType.Balloon.PFNS, PAGES + 10, 1));
            assertThat(g.devices().balloonPages()).isZero();

            // garbage ring indexes: rejected, skipped, and the ring works again
            MemorySegment ring = g.machine()
                    .memory()
                    .system()
                    .host()
                    .asSlice(g.machine().memory().layout().requestRingOffset());
            int tail = ring.get(java.lang.foreign.ValueLayout.JAVA_INT, GuestAbi.RING_TAIL_OFF);
            ring.set(java.lang.foreign.ValueLayout.JAVA_INT, GuestAbi.RING_HEAD_OFF, tail + 5000);
            List<Req> garbage = drainUntil(g, EventType.REJECT);
            assertThat(garbage).hasSize(1);
            ring.set(
                    java.lang.foreign.ValueLayout.JAVA_INT,
                    GuestAbi.RING_HEAD_OFF,
                    tail); // (the host skipped to the tail; put it back as the guest expects)
            assertThat(g.call(GuestAbi.OP_BALLOON, 1, 64).arg(0)).isEqualTo(64);
            await("the balloon to work again", () -> g.devices().balloonPages() == 64);
            assertThat(g.devices().stats().rejected()).isEqualTo(5);
        }
    }
}
