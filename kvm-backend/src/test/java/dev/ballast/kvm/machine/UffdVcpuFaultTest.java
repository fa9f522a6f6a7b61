package dev.ballast.kvm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.VcpuState;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.Reply;
import dev.ballast.kvm.mem.GuestLayout;
import dev.ballast.kvm.mem.MemorySlot;
import dev.ballast.kvm.sys.NativeException;
import dev.ballast.kvm.sys.Userfaultfd;
import dev.ballast.kvm.testing.KvmTests;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The measurement postcopy's KVM destination rests on: Ballast's user-mode guest, on this
 * machine's KVM ({@code kvm_pvm}, nested), reads pages of a RAM slot registered with
 * {@code userfaultfd} ({@code UFFDIO_REGISTER_MODE_MISSING}) that nothing has placed yet. Does its
 * vCPU block in {@code KVM_RUN}, the fault reach the descriptor, and the guest go on with the
 * right content once another thread places the page with {@code UFFDIO_COPY}? And can the VMM
 * still pause a vCPU that waits for a page?
 *
 * <p>Each round: a source guest stamps {@value #PAGES} pages (every other page of a 32 MiB
 * guest) and pauses; a second VM gets the source's system slot (program, version table, rings)
 * and vCPU state, and no RAM; its guest runs {@code OP_VERIFY_ALL}, which reads each stamped page;
 * a handler thread places each page it faults on from the source's memory. The same verify with
 * every page already copied is the baseline. Latency here is the handler's: from reading the
 * fault message to {@code UFFDIO_COPY} returning (the guest waits at least that). Writes its
 * figures to {@code target/kvm-uffd.md}; asserts only correctness (one fault per page, right
 * content, no page placed twice), never a time.
 */
class UffdVcpuFaultTest {
    private static final int PAGES = 4096;
    private static final int STRIDE = 2;
    private static final int ROUNDS = 5;
    private static final MachineConfig CONFIG = MachineConfig.ofRam(32 * GuestLayout.MIB);

    /** Serves faults of {@code dest}'s RAM from {@code source}'s, one {@code UFFDIO_COPY} each. */
    private static final class Handler implements Runnable {
        final Userfaultfd uffd;
        final KvmMachine source;
        final KvmMachine dest;
        final long[] latencies = new long[PAGES * 2];
        final Set<Integer> threads = new HashSet<>();
        /** Read by the test while the handler runs. */
        final Set<Long> placed = ConcurrentHashMap.newKeySet();

        volatile long firstAddress = -1;
        final AtomicBoolean stop = new AtomicBoolean();
        /** While set, faults are read and held, not served. */
        volatile boolean hold;

        volatile long held = -1;
        int faults;
        int notPlaced;
        volatile long firstFaultNanos;
        final Thread thread;

        Handler(Userfaultfd uffd, KvmMachine source, KvmMachine dest) {
            this.uffd = uffd;
            this.source = source;
            this.dest = dest;
            this.thread = Thread.ofPlatform().name("uffd-handler").daemon(true).start(this);
        }

        @Override
        public void run() {
            while (!stop.get()) {
                if (held >= 0 && !hold) {
                    place(held, System.nanoTime());
                    held = -1;
                }
                int n = uffd.awaitFaults(20);
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    if (uffd.event(i) != Userfaultfd.UFFD_EVENT_PAGEFAULT) {
                        continue;
                    }
                    if (firstFaultNanos == 0) firstFaultNanos = t0;
                    faults++;
                    threads.add(uffd.faultThread(i));
                    if (firstAddress < 0) firstAddress = uffd.faultAddress(i);
                    if (hold) {
                        held = uffd.faultAddress(i);
                    } else {
                        place(uffd.faultAddress(i), t0);
                    }
                }
            }
        }

        private void place(long address, long t0) {
            if (!placed.add(address)) {
                return; // a second message for a page already placed: nothing to do
            }
            for (MemorySlot d : dest.memory().ramBlocks()) {
                long off = address - d.host().address();
                if (off >= 0 && off < d.bytes()) {
                    MemorySegment from = source.memory().block(d.name()).host().asSlice(off, GuestAbi.PAGE_SIZE);
                    if (uffd.copy(address, from, true) != GuestAbi.PAGE_SIZE) {
                        notPlaced++;
                    }
                    if (faults <= latencies.length) latencies[faults - 1] = System.nanoTime() - t0;
                    return;
                }
            }
            throw new IllegalStateException("fault outside guest RAM at 0x" + Long.toHexString(address));
        }

        void close() throws InterruptedException {
            stop.set(true);
            thread.join();
        }
    }

    private static long percentile(long[] v, int n, double p) {
        long[] s = Arrays.copyOf(v, n);
        Arrays.sort(s);
        return s[Math.min(n - 1, (int) Math.floor(p * n))];
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** A destination with the source's system slot and nothing of its RAM. */
    private static KvmMachine destinationWithoutRam(Kvm kvm, KvmMachine source) {
        KvmMachine dest = KvmMachine.create(kvm, CONFIG);
        dest.memory().system().host().copyFrom(source.memory().system().host());
        return dest;
    }

    @Test
    void shouldBlockTheVcpuOnAMissingPageAndContinueItAfterUffdioCopy() throws Exception {
        KvmTests.assumeKvm();
        try (Userfaultfd probe = Userfaultfd.open()) {
            System.out.println(
                    "userfaultfd opened by " + probe.openedBy() + ", features 0x" + Long.toHexString(probe.features()));
        } catch (NativeException e) {
            Assumptions.abort("userfaultfd not usable here: " + e.getMessage());
        }
        double[] perFaultUs = new double[ROUNDS];
        double[] overheadUs = new double[ROUNDS];
        double[] medianUs = new double[ROUNDS];
        double[] p99Us = new double[ROUNDS];
        double[] baselineMs = new double[ROUNDS];
        double[] faultedMs = new double[ROUNDS];
        double[] rewriteMs = new double[ROUNDS];
        try (Kvm kvm = Kvm.open();
                KvmMachine source = KvmMachine.create(kvm, CONFIG)) {
            source.boot();
            Reply written = source.channel().call(Duration.ofSeconds(60), GuestAbi.OP_WRITE_PAGES, 0, PAGES, STRIDE);
            assertThat(written.arg(0)).isEqualTo(PAGES);
            source.pause();
            VcpuState state = source.saveState();

            for (int pass = -1; pass < ROUNDS; pass++) { // pass -1 warms up the JIT and is not counted
                int round = Math.max(pass, 0);
                // baseline: every page copied in, no userfaultfd
                try (KvmMachine plain = destinationWithoutRam(kvm, source)) {
                    for (MemorySlot b : source.memory().ramBlocks()) {
                        plain.memory().block(b.name()).host().copyFrom(b.host());
                    }
                    plain.start(state);
                    long t0 = System.nanoTime();
                    Reply check = plain.channel().call(Duration.ofSeconds(60), GuestAbi.OP_VERIFY_ALL);
                    baselineMs[round] = (System.nanoTime() - t0) / 1e6;
                    assertThat(check.arg(0)).isEqualTo(PAGES);
                    assertThat(check.arg(1)).isZero();
                }
                // the same, with every page faulted in
                try (KvmMachine dest = destinationWithoutRam(kvm, source);
                        Userfaultfd uffd = Userfaultfd.open()) {
                    for (MemorySlot b : dest.memory().ramBlocks()) {
                        uffd.registerMissing(b.host());
                    }
                    Handler handler = new Handler(uffd, source, dest);
                    try {
                        dest.start(state);
                        long t0 = System.nanoTime();
                        Reply check = dest.channel().call(Duration.ofSeconds(120), GuestAbi.OP_VERIFY_ALL);
                        faultedMs[round] = (System.nanoTime() - t0) / 1e6;
                        assertThat(check.arg(0)).as("pages checked").isEqualTo(PAGES);
                        assertThat(check.arg(1)).as("bad pages").isZero();
                        long r0 = System.nanoTime();
                        Reply again =
                                dest.channel().call(Duration.ofSeconds(60), GuestAbi.OP_WRITE_PAGES, 0, PAGES, STRIDE);
                        rewriteMs[round] = (System.nanoTime() - r0) / 1e6;
                        assertThat(again.arg(0)).isEqualTo(PAGES);
                        Reply after = dest.channel().call(Duration.ofSeconds(60), GuestAbi.OP_VERIFY_ALL);
                        assertThat(after.arg(1)).isZero();
                        assertThat(dest.failure()).isNull();
                    } finally {
                        handler.close();
                    }
                    assertThat(handler.faults).as("one fault per page read").isEqualTo(PAGES);
                    assertThat(handler.notPlaced).as("pages already there").isZero();
                    assertThat(handler.threads).as("the faulting threads").hasSize(1);
                    long[] lat = handler.latencies;
                    medianUs[round] = percentile(lat, PAGES, 0.5) / 1e3;
                    p99Us[round] = percentile(lat, PAGES, 0.99) / 1e3;
                    perFaultUs[round] = faultedMs[round] * 1e3 / PAGES;
                    overheadUs[round] = (faultedMs[round] - baselineMs[round]) * 1e3 / PAGES;
                }
            }
        }
        // figures
        StringBuilder md = new StringBuilder();
        md.append(
                "| round | verify, pages present ms | verify, pages faulted in ms | per fault µs | overhead per fault µs | handler latency median µs | p99 µs | rewrite ms |\n");
        md.append("|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        for (int r = 0; r < ROUNDS; r++) {
            md.append(String.format(
                    "| %d | %.2f | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f |%n",
                    r + 1,
                    baselineMs[r],
                    faultedMs[r],
                    perFaultUs[r],
                    overheadUs[r],
                    medianUs[r],
                    p99Us[r],
                    rewriteMs[r]));
        }
        md.append(String.format(
                "| median | %.2f | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f |%n",
                median(baselineMs),
                median(faultedMs),
                median(perFaultUs),
                median(overheadUs),
                median(medianUs),
                median(p99Us),
                median(rewriteMs)));
        md.append(String.format(
                "%n%d pages (%d MiB) a round, %d rounds, load average %s%n",
                PAGES,
                PAGES * 4 / 1024,
                ROUNDS,
                Files.readString(Path.of("/proc/loadavg")).trim()));
        System.out.print(md);
        writeFigures(md);
    }

    /**
     * A vCPU that waits in the kernel for a missing page can still be paused: the kick signal
     * takes it out of {@code KVM_RUN} (the fault is retried on resume), so a destination can stop
     * its guest while a page is outstanding (recovery, shutdown). The page placed while it is
     * paused, it resumes and the guest's check is right.
     */
    @Test
    void shouldPauseAVcpuThatWaitsForAMissingPage() throws Exception {
        KvmTests.assumeKvm();
        try (Userfaultfd probe = Userfaultfd.open()) {
            assertThat(probe.fd()).isPositive();
        } catch (NativeException e) {
            Assumptions.abort("userfaultfd not usable here: " + e.getMessage());
        }
        try (Kvm kvm = Kvm.open();
                KvmMachine source = KvmMachine.create(kvm, CONFIG)) {
            source.boot();
            source.channel().call(Duration.ofSeconds(60), GuestAbi.OP_WRITE_PAGES, 100, 64, 1);
            source.pause();
            VcpuState state = source.saveState();
            try (KvmMachine dest = destinationWithoutRam(kvm, source);
                    Userfaultfd uffd = Userfaultfd.open()) {
                for (MemorySlot b : dest.memory().ramBlocks()) {
                    uffd.registerMissing(b.host());
                }
                Handler handler = new Handler(uffd, source, dest);
                handler.hold = true;
                try {
                    dest.start(state);
                    long verify = dest.channel().submit(GuestAbi.OP_VERIFY_ALL);
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (handler.held < 0 && System.nanoTime() < deadline) {
                        Thread.sleep(1);
                    }
                    assertThat(handler.held).as("the vCPU faulted").isNotNegative();
                    // the first page it waits for is the devices' used page, pfn 0, which the guest's idle loop
                    // reads, or, when the command was there before the loop came to it, the first page the check
                    // reads (pfn 100): which one depends on when the vCPU thread first runs
                    long ram = dest.memory().ramBlocks().getFirst().host().address();
                    assertThat(handler.firstAddress).isIn(ram, ram + 100L * GuestAbi.PAGE_SIZE);
                    Thread.sleep(50); // the vCPU thread is now asleep on the fault
                    CompletableFuture<Long> pause = CompletableFuture.supplyAsync(() -> {
                        long t0 = System.nanoTime();
                        dest.pause();
                        return System.nanoTime() - t0;
                    });
                    long pauseNs;
                    try {
                        pauseNs = pause.get(5, TimeUnit.SECONDS);
                    } finally {
                        handler.hold = false; // whatever happened, let the fault be served
                    }
                    System.out.printf("pause of a vCPU waiting for a missing page: %.2f ms%n", pauseNs / 1e6);
                    assertThat(dest.isPaused()).isTrue();
                    assertThat(handler.faults).as("faults while it waited").isBetween(1, 2);
                    dest.resume();
                    Reply check = dest.channel().await(verify, Duration.ofSeconds(60));
                    assertThat(check.arg(0)).isEqualTo(64);
                    assertThat(check.arg(1)).isZero();
                    // when the check ran before the idle loop first came round, the loop reads the used page
                    // only after the reply: wait for that fault before the handler stops
                    long usedDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (!handler.placed.contains(ram) && System.nanoTime() < usedDeadline) {
                        Thread.sleep(1);
                    }
                } finally {
                    handler.hold = false;
                    handler.close();
                }
                assertThat(handler.placed)
                        .as("pages faulted on: the 64 verified and the used page")
                        .hasSize(65);
                assertThat(handler.notPlaced).isZero();
                // a fault interrupted by the pause may be taken again: its page reported twice
                System.out.printf(
                        "fault messages %d for %d pages after a pause on a missing page%n",
                        handler.faults, handler.placed.size());
                assertThat(handler.faults).isBetween(65, 66);
            }
        }
    }

    private static void writeFigures(StringBuilder md) throws IOException {
        Path out = Path.of("target/kvm-uffd.md");
        if (Files.isDirectory(out.getParent())) {
            Files.writeString(out, md);
        }
    }
}
