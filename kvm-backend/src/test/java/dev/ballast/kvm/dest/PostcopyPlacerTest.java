package dev.ballast.kvm.dest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.invariant.FaultBound;
import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.VcpuState;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.Reply;
import dev.ballast.kvm.machine.KvmMachine;
import dev.ballast.kvm.machine.MachineConfig;
import dev.ballast.kvm.mem.GuestLayout;
import dev.ballast.kvm.mem.MemorySlot;
import dev.ballast.kvm.sys.LibC;
import dev.ballast.kvm.sys.NativeException;
import dev.ballast.kvm.sys.Userfaultfd;
import dev.ballast.kvm.testing.KvmTests;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Postcopy into a KVM destination, in process, with a fake source: a source guest stamps pages;
 * "pre-copy" copies the first 4096 pages into the destination; the source rewrites 500 of them
 * (stale there: the switch-over's discard names them) and stops. The destination gets the system
 * slot and the vCPU state, arms a {@link PostcopyPlacer} with the pages it holds, and resumes the
 * guest, which checks every stamped page and writes new ones while pages are missing. The fake
 * source serves each page request from the source's memory (unless it sent that page already, as
 * the engine does) and, once asked for a first page, pushes every other page it has not sent, from
 * the top of RAM down, requests first. The guest's own check (the stamps against its version
 * table) must pass, no page may be placed twice, and every fault must be served.
 */
class PostcopyPlacerTest {
    private static final int PAGE = GuestAbi.PAGE_SIZE;
    private static final MachineConfig CONFIG = MachineConfig.ofRam(32 * GuestLayout.MIB);
    private static final int WRITTEN = 3000; // odd pages 1 .. 5999
    private static final long PRECOPIED = 4096; // pages [0, 4096) reach the destination before the switch
    private static final long STALE_FROM = 1000;
    private static final long STALE_TO = 2000; // odd pages in [1000, 2000) are rewritten after pre-copy

    @BeforeEach
    void assumeKvmAndUserfaultfd() {
        KvmTests.assumeKvm();
        try (Userfaultfd u = Userfaultfd.open()) {
            assertThat(u.fd()).isPositive();
        } catch (NativeException e) {
            Assumptions.abort("userfaultfd not usable here: " + e.getMessage());
        }
    }

    /** The events a placer publishes, counted by type. */
    private static final class Counts implements EventSink {
        final Map<EventType, Long> byType = new EnumMap<>(EventType.class);

        @Override
        public synchronized void publish(EventType type, long timeNs, long a, long b, long c) {
            byType.merge(type, 1L, Long::sum);
        }

        synchronized long of(EventType type) {
            return byType.getOrDefault(type, 0L);
        }
    }

    /** The fake source: requests first, then pushes what it has not sent, top of RAM down. */
    private static final class FakeSource implements PageRequests, Runnable {
        final MemorySlot from;
        final PostcopyPlacer[] placer = new PostcopyPlacer[1];
        final LinkedBlockingQueue<Long> queue = new LinkedBlockingQueue<>();
        final long[] sent;
        final AtomicBoolean stop = new AtomicBoolean();
        final MemorySegment zero;
        long served;
        long unserved;
        long pushed;
        long cursor;
        volatile Throwable failure;
        Thread thread;

        FakeSource(MemorySlot from, long[] held, Arena arena) {
            this.from = from;
            this.sent = held.clone(); // what the destination holds counts as sent
            this.zero = arena.allocate(PAGE);
            this.cursor = from.pages() - 1;
        }

        @Override
        public void request(int block, long offset) {
            assertThat(block).isZero();
            queue.add(offset);
        }

        void start(PostcopyPlacer p) {
            placer[0] = p;
            thread = Thread.ofPlatform().name("fake-source").daemon(true).start(this);
        }

        private boolean send(long page) {
            if ((sent[(int) (page >>> 6)] & (1L << page)) != 0) {
                return false;
            }
            sent[(int) (page >>> 6)] |= 1L << page;
            MemorySegment content = from.host().asSlice(page * PAGE, PAGE);
            boolean placed =
                    content.mismatch(zero) == -1 ? placer[0].placeZero(0, page) : placer[0].place(0, page, content);
            assertThat(placed).as("page %d placed", page).isTrue();
            return true;
        }

        @Override
        public void run() {
            try {
                Long first = queue.poll(60, TimeUnit.SECONDS); // push nothing until asked once
                assertThat(first).as("a first page request").isNotNull();
                if (send(first)) served++;
                else unserved++;
                while (!stop.get()) {
                    Long r;
                    while ((r = queue.poll()) != null) {
                        if (send(r)) served++;
                        else unserved++;
                    }
                    if (cursor < 0) {
                        r = queue.poll(10, TimeUnit.MILLISECONDS);
                        if (r != null) queue.add(r);
                        continue;
                    }
                    for (int i = 0; i < 16 && cursor >= 0; cursor--) {
                        if (send(cursor)) {
                            pushed++;
                            i++;
                        }
                    }
                    Thread.sleep(0, 200_000);
                }
            } catch (InterruptedException e) {
                if (!stop.get()) failure = e;
            } catch (Throwable t) {
                failure = t;
            }
        }

        void close() throws InterruptedException {
            stop.set(true);
            thread.interrupt();
            thread.join();
        }
    }

    private static long[] heldBitmap(MemorySlot block, long from, long to) {
        long[] bits = new long[(int) ((block.pages() + 63) / 64)];
        for (long p = from; p < to; p++) {
            bits[(int) (p >>> 6)] |= 1L << p;
        }
        return bits;
    }

    private static void clear(long[] bits, long from, long to) {
        for (long p = from; p < to; p++) {
            bits[(int) (p >>> 6)] &= ~(1L << p);
        }
    }

    /** A source guest after pre-copy: returns its paused state; {@code dest} holds pages [0, PRECOPIED) as they were then. */
    private static VcpuState preCopy(KvmMachine source, KvmMachine dest) throws Exception {
        source.boot();
        assertThat(source.channel()
                        .call(Duration.ofSeconds(60), GuestAbi.OP_WRITE_PAGES, 1, WRITTEN, 2)
                        .arg(0))
                .isEqualTo(WRITTEN);
        MemorySlot src = source.memory().ramBlocks().getFirst();
        MemorySlot dst = dest.memory().ramBlocks().getFirst();
        dst.host().asSlice(0, PRECOPIED * PAGE).copyFrom(src.host().asSlice(0, PRECOPIED * PAGE));
        long rewritten = (STALE_TO - STALE_FROM) / 2;
        assertThat(source.channel()
                        .call(Duration.ofSeconds(60), GuestAbi.OP_WRITE_PAGES, STALE_FROM + 1, rewritten, 2)
                        .arg(0))
                .isEqualTo(rewritten);
        source.pause();
        VcpuState state = source.saveState();
        dest.memory().system().host().copyFrom(source.memory().system().host());
        return state;
    }

    @Test
    void shouldRunTheGuestOnTheDestinationWhilePagesFaultInAndVerifyItsStamps() throws Exception {
        Counts events = new Counts();
        try (Arena arena = Arena.ofShared();
                Kvm kvm = Kvm.open();
                KvmMachine source = KvmMachine.create(kvm, CONFIG);
                KvmMachine dest = KvmMachine.create(kvm, CONFIG)) {
            VcpuState state = preCopy(source, dest);
            MemorySlot src = source.memory().ramBlocks().getFirst();
            long[] held = heldBitmap(src, 0, PRECOPIED);
            clear(held, STALE_FROM, STALE_TO); // the switch-over's discard
            FakeSource fake = new FakeSource(src, held, arena);
            PostcopyFigures figures;
            try (PostcopyPlacer placer =
                    PostcopyPlacer.arm(dest.memory(), new long[][] {held}, fake, events, System::nanoTime)) {
                long notHeld = src.pages() - (PRECOPIED - (STALE_TO - STALE_FROM));
                assertThat(placer.missingPages()).isEqualTo(notHeld);
                fake.start(placer);
                dest.start(state);
                Reply check = dest.channel().call(Duration.ofSeconds(120), GuestAbi.OP_VERIFY_ALL);
                assertThat(check.arg(0)).as("pages checked").isEqualTo(WRITTEN);
                assertThat(check.arg(1))
                        .as("bad pages, first at pfn " + check.arg(2))
                        .isZero();
                // the guest writes while pages are still missing (or not)
                Reply wrote = dest.channel().call(Duration.ofSeconds(60), GuestAbi.OP_WRITE_PAGES, 6001, 100, 1);
                assertThat(wrote.arg(0)).isEqualTo(100);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (placer.missingPages() > 0 && fake.failure == null && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                fake.close();
                assertThat(fake.failure).isNull();
                assertThat(placer.failure()).isNull();
                assertThat(placer.missingPages()).isZero();
                placer.complete();
                Reply after = dest.channel().call(Duration.ofSeconds(60), GuestAbi.OP_VERIFY_ALL);
                assertThat(after.arg(0)).isEqualTo(WRITTEN + 100); // the odd pages < 6000 and 6001-6100
                assertThat(after.arg(1)).isZero();
                assertThat(dest.failure()).isNull();
                PostcopyPlacer.Figures f = placer.figures();
                figures = new PostcopyFigures(f, fake.served, fake.unserved, fake.pushed);
                System.out.println("postcopy into KVM: " + figures);
                assertThat(f.violations()).as(f.firstViolation()).isZero();
                assertThat(f.requests()).as("page requests").isPositive();
                assertThat(f.served()).as("every request served").isEqualTo(f.requests());
                assertThat(fake.served + fake.unserved).isEqualTo(f.requests());
                assertThat(f.placedCopies() + f.placedZero())
                        .as("every page not held placed once")
                        .isEqualTo(notHeld);
                assertThat(f.heldZero())
                        .as("held pages are never zero here: pre-copy copied them")
                        .isZero();
                assertThat(events.of(EventType.FAULT)).isEqualTo(f.requests());
                assertThat(events.of(EventType.FAULT_SERVED)).isEqualTo(f.requests());
                assertThat(f.medianLatencyNs()).isPositive();
            }
        }
    }

    /** The figures of one run, printed. */
    private record PostcopyFigures(PostcopyPlacer.Figures placer, long served, long unserved, long pushed) {}

    @Test
    void shouldRefuseAPageSentTwiceAndKeepTheFirst() throws Exception {
        try (Arena arena = Arena.ofShared();
                Kvm kvm = Kvm.open();
                KvmMachine dest = KvmMachine.create(kvm, CONFIG)) {
            MemorySlot ram = dest.memory().ramBlocks().getFirst();
            long[] held = heldBitmap(ram, 0, 10); // pages 0-9 held
            try (PostcopyPlacer placer = PostcopyPlacer.arm(
                    dest.memory(), new long[][] {held}, (b, o) -> {}, EventSink.NONE, System::nanoTime)) {
                MemorySegment first = arena.allocate(PAGE, PAGE);
                first.fill((byte) 0x11);
                MemorySegment second = arena.allocate(PAGE, PAGE);
                second.fill((byte) 0x22);
                assertThat(placer.place(0, 20, first)).isTrue();
                assertThat(placer.place(0, 20, second)).as("page 20 again").isFalse();
                assertThat(placer.placeZero(0, 20))
                        .as("page 20 again, as zeros")
                        .isFalse();
                assertThat(placer.place(0, 5, second)).as("a held page").isFalse();
                PostcopyPlacer.Figures f = placer.figures();
                assertThat(f.violations()).isEqualTo(3);
                assertThat(f.firstViolation()).isEqualTo("page 20 of ram-low sent again: it was placed already");
                assertThat(f.placedCopies()).isEqualTo(1);
                assertThat(ram.page(20).mismatch(first))
                        .as("the first copy stays")
                        .isEqualTo(-1);
                assertThatThrownBy(placer::complete)
                        .hasMessage((ram.pages() - 11) + " pages are still missing: postcopy is not complete");
                assertThatThrownBy(() -> placer.place(0, ram.pages(), first))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("page " + ram.pages() + " of block 0 is not guest RAM");
            }
        }
    }

    /** A host thread that reads page {@code page} of RAM, natively (it blocks while the page is missing). */
    private static CompletableFuture<MemorySegment> touch(MemorySlot ram, long page, Arena arena) {
        MemorySegment into = arena.allocate(PAGE, PAGE);
        var done = new CompletableFuture<MemorySegment>();
        Thread.ofPlatform().daemon(true).start(() -> {
            try {
                LibC.copyNative(into, ram.page(page));
                done.complete(into);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        return done;
    }

    /**
     * Postcopy recovery: the destination reports what it holds, the new link is asked again for the
     * page whose request the old one lost, and faults after that go to the new link.
     */
    @Test
    void shouldAskTheNewLinkAgainForAPageRequestedAndNotPlacedWhenRecovered() throws Exception {
        try (Arena arena = Arena.ofShared();
                Kvm kvm = Kvm.open();
                KvmMachine dest = KvmMachine.create(kvm, CONFIG)) {
            MemorySlot ram = dest.memory().ramBlocks().getFirst();
            LinkedBlockingQueue<Long> lost = new LinkedBlockingQueue<>();
            LinkedBlockingQueue<Long> recovered = new LinkedBlockingQueue<>();
            try (PostcopyPlacer placer = PostcopyPlacer.arm(
                    dest.memory(),
                    new long[][] {heldBitmap(ram, 0, 10)},
                    (b, o) -> lost.add(o),
                    EventSink.NONE,
                    System::nanoTime)) {
                var reader = touch(ram, 30, arena);
                assertThat(lost.poll(10, TimeUnit.SECONDS))
                        .as("the request the old link lost")
                        .isEqualTo(30L);
                long[] present = placer.presentPages(0);
                assertThat(present[0]).isEqualTo((1L << 10) - 1);
                assertThat(placer.reRequest((b, o) -> recovered.add(o))).isEqualTo(1);
                assertThat(recovered.poll()).isEqualTo(30L);
                MemorySegment content = arena.allocate(PAGE, PAGE);
                content.fill((byte) 0x30);
                assertThat(placer.place(0, 30, content)).isTrue();
                assertThat(reader.get(10, TimeUnit.SECONDS).mismatch(content)).isEqualTo(-1);
                assertThat(placer.presentPages(0)[0]).isEqualTo((1L << 10) - 1 | 1L << 30);
                assertThat(placer.reRequest((b, o) -> recovered.add(o)))
                        .as("nothing left to ask")
                        .isZero();
                var second = touch(ram, 31, arena);
                assertThat(recovered.poll(10, TimeUnit.SECONDS))
                        .as("a fault after the recovery")
                        .isEqualTo(31L);
                assertThat(lost).isEmpty();
                placer.placeZero(0, 31);
                assertThat(second.get(10, TimeUnit.SECONDS).mismatch(arena.allocate(PAGE)))
                        .isEqualTo(-1);
            }
        }
    }

    /**
     * Invariant 8: with a bound, a fault whose page never comes is named once the migration ends, and
     * one whose page comes later than the bound allows is named as late. The clock is the test's: a
     * fault waits exactly as long as the test says.
     */
    @Test
    void shouldNameAFaultNotServedAndAFaultServedOverTheBound() throws Exception {
        try (Arena arena = Arena.ofShared();
                Kvm kvm = Kvm.open();
                KvmMachine dest = KvmMachine.create(kvm, CONFIG)) {
            MemorySlot ram = dest.memory().ramBlocks().getFirst();
            LinkedBlockingQueue<Long> asked = new LinkedBlockingQueue<>();
            java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(1_000);
            // 100 ms, plus 10 ms a step: a request with none queued before it waits through 2 steps
            FaultBound bound = new FaultBound(100_000_000L, 10_000_000L, 4);
            try (PostcopyPlacer placer = PostcopyPlacer.arm(
                    dest.memory(),
                    new long[][] {heldBitmap(ram, 0, 10)},
                    (b, o) -> asked.add(o),
                    PostcopyPlacer.ZeroHere.NONE,
                    bound,
                    EventSink.NONE,
                    now::get)) {
                PostcopyPlacer.PageNamer names = (b, o) -> "#" + o;
                var first = touch(ram, 40, arena);
                assertThat(asked.poll(10, TimeUnit.SECONDS)).isEqualTo(40L);
                assertThat(placer.faultsServedViolation(names))
                        .as("a fault still waiting")
                        .isEqualTo(FaultBound.neverServed("#40"));
                now.addAndGet(120_000_000L); // within 100 + 2 x 10 ms
                placer.placeZero(0, 40);
                first.get(10, TimeUnit.SECONDS);
                assertThat(placer.faultsServedViolation(names)).isNull();
                var second = touch(ram, 41, arena);
                assertThat(asked.poll(10, TimeUnit.SECONDS)).isEqualTo(41L);
                now.addAndGet(120_000_001L);
                placer.placeZero(0, 41);
                second.get(10, TimeUnit.SECONDS);
                assertThat(placer.faultsServedViolation(names))
                        .isEqualTo(FaultBound.late("#41", 120_000_001L, 120_000_000L));
                assertThat(placer.figures().lateFaults()).isEqualTo(1);
                assertThat(placer.figures().unserved()).isZero();
            }
        }
    }

    /**
     * The mutant the switch-over must not allow: a stale page the discard did not name stays held
     * with its old content. Nothing faults on it, and the guest's own check finds it.
     */
    @Test
    void shouldLetTheGuestFindAStalePageThatTheSwitchOverDidNotReport() throws Exception {
        Counts events = new Counts();
        try (Arena arena = Arena.ofShared();
                Kvm kvm = Kvm.open();
                KvmMachine source = KvmMachine.create(kvm, CONFIG);
                KvmMachine dest = KvmMachine.create(kvm, CONFIG)) {
            VcpuState state = preCopy(source, dest);
            MemorySlot src = source.memory().ramBlocks().getFirst();
            long[] held = heldBitmap(src, 0, PRECOPIED);
            clear(held, STALE_FROM, STALE_TO);
            held[1001 >>> 6] |= 1L << 1001; // pfn 1001 was rewritten, and is kept
            FakeSource fake = new FakeSource(src, held, arena);
            try (PostcopyPlacer placer =
                    PostcopyPlacer.arm(dest.memory(), new long[][] {held}, fake, events, System::nanoTime)) {
                fake.start(placer);
                dest.start(state);
                Reply check = dest.channel().call(Duration.ofSeconds(120), GuestAbi.OP_VERIFY_ALL);
                assertThat(check.arg(0)).isEqualTo(WRITTEN);
                assertThat(check.arg(1)).as("bad pages").isEqualTo(1);
                assertThat(check.arg(2)).as("the first bad pfn").isEqualTo(1001);
                dest.pause(); // stop the guest before the descriptor closes
                fake.close();
            }
        }
    }
}
