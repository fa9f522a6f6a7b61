package dev.ballast.kvm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.guest.GuestAbi;
import dev.ballast.kvm.mem.DirtyLogMode;
import dev.ballast.kvm.mem.GuestLayout;
import dev.ballast.kvm.mem.RamBlock;
import dev.ballast.kvm.testing.KvmTests;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Measures what the KVM backend's basic operations cost on this machine (the README's table):
 * an I/O exit, a first touch, a guest write at native speed, a write after a dirty-log read, a
 * dirty-log read of a 1 GiB slot (plain and manual-protect), and a pause. Asserts only what
 * separates native from emulated guest code (about 1 µs per instruction at CPL 0 here). Writes
 * its table to {@code target/kvm-costs.md}.
 */
class KvmCostsTest {
    private static final int PAGES = 32768; // 128 MiB
    private final StringBuilder table = new StringBuilder();

    private void row(String what, double value, String unit) {
        String line = String.format("| %s | %.1f %s |%n", what, value, unit);
        table.append(line);
        System.out.print(line);
    }

    private static double usPerPage(long nanos) {
        return nanos / 1e3 / PAGES;
    }

    private static long timed(ThrowingRunnable r) throws Exception {
        long t0 = System.nanoTime();
        r.run();
        return System.nanoTime() - t0;
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void shouldMeasureTheBasicCostsOfTheKvmBackend() throws Exception {
        KvmTests.assumeKvm();
        table.append("| operation | cost |\n|---|---|\n");
        try (Kvm kvm = Kvm.open()) {
            for (DirtyLogMode mode : DirtyLogMode.values()) {
                try (KvmMachine m = KvmMachine.create(kvm, MachineConfig.ofRam(GuestLayout.GIB).withDirtyLogMode(mode))) {
                    m.boot();
                    measure(m, mode);
                }
            }
        }
        Path out = Path.of("target", "kvm-costs.md");
        try {
            Files.createDirectories(out.getParent());
            Files.writeString(out, table, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING);
        } catch (IOException e) {
            System.out.println("could not write " + out + ": " + e);
        }
    }

    private void measure(KvmMachine m, DirtyLogMode mode) throws Exception {
        var ch = m.channel();
        RamBlock ram = m.memory().block(GuestLayout.RAM_LOW);
        ch.call(GuestAbi.OP_NOP);
        for (RamBlock b : m.memory().allBlocks()) {
            m.memory().syncDirtyLog(b);
        }
        String tag = " [" + mode + "]";
        if (mode == DirtyLogMode.GET) {
            int exits = 20_000;
            long exitNanos = timed(() -> ch.call(Duration.ofSeconds(60), GuestAbi.OP_EXITS, exits));
            row("I/O exit to the Java vCPU thread and back (OUT, " + exits + "x)", exitNanos / 1e3 / exits, "µs");
        }
        long first = timed(() -> ch.call(Duration.ofSeconds(120), GuestAbi.OP_WRITE_PAGES, 0, PAGES, 1));
        row("first touch + stamp of a page (128 MiB)" + tag, usPerPage(first), "µs/page");
        long again = timed(() -> ch.call(Duration.ofSeconds(60), GuestAbi.OP_WRITE_PAGES, 0, PAGES, 1));
        row("rewrite + stamp of a page, no dirty-log read in between" + tag, usPerPage(again), "µs/page");
        if (mode == DirtyLogMode.GET) {
            row("guest write bandwidth (stamping whole pages)", PAGES * 4096.0 / again * 1e9 / (1 << 30), "GiB/s");
            // emulated guest code would take ~1 µs per instruction, ~1000 instructions per page
            assertThat(usPerPage(again)).as("guest code runs natively").isLessThan(50);
        }
        long readDirty = timed(() -> m.memory().syncDirtyLog(ram));
        row("dirty-log read of a 1 GiB slot, 32768 pages dirty" + tag, readDirty / 1e3, "µs");
        long afterRead = timed(() -> ch.call(Duration.ofSeconds(60), GuestAbi.OP_WRITE_PAGES, 0, PAGES, 1));
        row("rewrite + stamp of a page after a dirty-log read" + tag, usPerPage(afterRead), "µs/page");
        m.memory().syncDirtyLog(ram);
        long[] clean = new long[5];
        for (int i = 0; i < clean.length; i++) {
            clean[i] = timed(() -> m.memory().syncDirtyLog(ram));
        }
        Arrays.sort(clean);
        row("dirty-log read of a 1 GiB slot, no page dirty" + tag, clean[2] / 1e3, "µs");
        if (mode == DirtyLogMode.MANUAL_CLEAR) {
            // the two halves of a manual-protect read, separately
            ch.call(Duration.ofSeconds(60), GuestAbi.OP_WRITE_PAGES, 0, PAGES, 1);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bitmap = arena.allocate(ram.pages() / 8, 8);
                long get = timed(() -> m.vm().getDirtyLog(ram.slot(), bitmap));
                long clear = timed(() -> m.vm().clearDirtyLog(ram.slot(), 0, (int) ram.pages(), bitmap));
                row("  of which KVM_GET_DIRTY_LOG (32768 dirty)" + tag, get / 1e3, "µs");
                row("  of which KVM_CLEAR_DIRTY_LOG (32768 dirty)" + tag, clear / 1e3, "µs");
            }
        }
        if (mode == DirtyLogMode.GET) {
            long token = 7;
            long id = ch.submit(GuestAbi.OP_SPIN, token);
            while (ch.control(GuestAbi.CTL_SPIN_COUNTER_OFF) == 0) {
                Thread.sleep(1);
            }
            long[] pause = new long[21];
            for (int i = 0; i < pause.length; i++) {
                Thread.sleep(2); // the guest is well inside KVM_RUN, spinning
                m.pause();
                pause[i] = m.lastPauseNanos();
                m.resume();
            }
            ch.stopSpin(token);
            ch.await(id, Duration.ofSeconds(10));
            Arrays.sort(pause);
            row("pause of a guest spinning with no exits (median of 21)", pause[10] / 1e3, "µs");
            row("pause of a guest spinning with no exits (max of 21)", pause[20] / 1e3, "µs");
            long[] rtt = new long[501];
            for (int i = 0; i < rtt.length; i++) {
                rtt[i] = timed(() -> ch.call(GuestAbi.OP_NOP));
            }
            Arrays.sort(rtt);
            row("ring round trip of a NOP, guest awake (median of 501)", rtt[250] / 1e3, "µs");
        }
    }
}
