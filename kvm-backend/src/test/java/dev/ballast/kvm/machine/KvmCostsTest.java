package dev.ballast.kvm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.GuestChannel;
import dev.ballast.kvm.mem.DirtyLogMode;
import dev.ballast.kvm.mem.GuestLayout;
import dev.ballast.kvm.mem.MemorySlot;
import dev.ballast.kvm.testing.KvmTests;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Measures what the KVM backend's basic operations cost on this machine (the README's table):
 * an I/O exit, a first touch, a guest write at native speed, a write after a dirty-log read, a
 * dirty-log read of a 1 GiB slot (plain and manual-protect, interleaved so that both see the same
 * load), a pause, a ring round trip. Medians over several rounds; the load average is printed
 * with them, since this machine's two cores are shared. Asserts only what separates native from
 * emulated guest code. Writes its table to {@code target/kvm-costs.md}.
 */
class KvmCostsTest {
    private static final int PAGES = 32768; // 128 MiB
    private static final int ROUNDS = 5;
    private final StringBuilder table = new StringBuilder();

    private void row(String what, double value, String unit) {
        String line = String.format("| %s | %.1f %s |%n", what, value, unit);
        table.append(line);
        System.out.print(line);
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    private static long timed(ThrowingRunnable r) throws Exception {
        long t0 = System.nanoTime();
        r.run();
        return System.nanoTime() - t0;
    }

    private static double median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static void writeAll(GuestChannel ch) throws Exception {
        assertThat(ch.call(Duration.ofSeconds(120), GuestAbi.OP_WRITE_PAGES, 0, PAGES, 1)
                        .arg(0))
                .isEqualTo(PAGES);
    }

    @Test
    void shouldMeasureTheBasicCostsOfTheKvmBackend() throws Exception {
        KvmTests.assumeKvm();
        table.append("| operation | cost |\n|---|---|\n");
        try (Kvm kvm = Kvm.open();
                KvmMachine get = KvmMachine.create(kvm, MachineConfig.ofRam(GuestLayout.GIB));
                KvmMachine manual = KvmMachine.create(
                        kvm, MachineConfig.ofRam(GuestLayout.GIB).withDirtyLogMode(DirtyLogMode.MANUAL_CLEAR))) {
            Map<DirtyLogMode, KvmMachine> machines = new EnumMap<>(DirtyLogMode.class);
            machines.put(DirtyLogMode.GET, get);
            machines.put(DirtyLogMode.MANUAL_CLEAR, manual);
            for (KvmMachine m : machines.values()) {
                m.boot();
                m.channel().call(GuestAbi.OP_NOP);
                for (MemorySlot b : m.memory().allBlocks()) {
                    m.memory().syncDirtyLog(b);
                }
            }
            GuestChannel ch = get.channel();

            long[] exits = new long[ROUNDS];
            for (int i = 0; i < ROUNDS; i++) {
                exits[i] = timed(() -> ch.call(Duration.ofSeconds(60), GuestAbi.OP_EXITS, 4000)) / 4000;
            }
            row("I/O exit (OUT) to the Java vCPU thread and back into the guest", median(exits) / 1e3, "µs");

            long first = timed(() -> writeAll(ch));
            row("first touch of a page (guest stamps 128 MiB of fresh pages)", first / 1e3 / PAGES, "µs/page");
            long[] rewrite = new long[ROUNDS];
            for (int i = 0; i < ROUNDS; i++) {
                rewrite[i] = timed(() -> writeAll(ch));
            }
            double rewriteUs = median(rewrite) / 1e3 / PAGES;
            row("rewrite of a page, no dirty-log read in between", rewriteUs, "µs/page");
            row(
                    "guest write bandwidth (stamping whole pages)",
                    PAGES * 4096.0 / (median(rewrite) / 1e9) / (1L << 30),
                    "GiB/s");
            // emulated guest code would take ~1 µs per instruction, thousands of instructions per page
            assertThat(rewriteUs).as("guest code runs natively").isLessThan(50);

            writeAll(manual.channel()); // first touch of the other machine, outside the comparison
            Map<DirtyLogMode, long[]> readDirty = new EnumMap<>(DirtyLogMode.class);
            Map<DirtyLogMode, long[]> writeAfterRead = new EnumMap<>(DirtyLogMode.class);
            Map<DirtyLogMode, long[]> readClean = new EnumMap<>(DirtyLogMode.class);
            for (DirtyLogMode mode : DirtyLogMode.values()) {
                readDirty.put(mode, new long[ROUNDS]);
                writeAfterRead.put(mode, new long[ROUNDS]);
                readClean.put(mode, new long[ROUNDS]);
            }
            for (int i = 0; i < ROUNDS; i++) {
                for (DirtyLogMode mode : DirtyLogMode.values()) {
                    KvmMachine m = machines.get(mode);
                    MemorySlot ram = m.memory().block(GuestLayout.RAM_LOW);
                    m.memory().syncDirtyLog(ram);
                    writeAfterRead.get(mode)[i] = timed(() -> writeAll(m.channel()));
                    readDirty.get(mode)[i] = timed(() -> m.memory().syncDirtyLog(ram));
                    readClean.get(mode)[i] = timed(() -> m.memory().syncDirtyLog(ram));
                }
            }
            for (DirtyLogMode mode : DirtyLogMode.values()) {
                String tag = " [" + mode + "]";
                row(
                        "rewrite of a page after a dirty-log read" + tag,
                        median(writeAfterRead.get(mode)) / 1e3 / PAGES,
                        "µs/page");
                row("dirty-log read of a 1 GiB slot, 32768 pages dirty" + tag, median(readDirty.get(mode)) / 1e3, "µs");
                row("dirty-log read of a 1 GiB slot, no page dirty" + tag, median(readClean.get(mode)) / 1e3, "µs");
            }
            MemorySlot ram = manual.memory().block(GuestLayout.RAM_LOW);
            long[] getOnly = new long[ROUNDS];
            long[] clearOnly = new long[ROUNDS];
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bitmap = arena.allocate(ram.pages() / 8, 8);
                for (int i = 0; i < ROUNDS; i++) {
                    writeAll(manual.channel());
                    getOnly[i] = timed(() -> manual.vm().getDirtyLog(ram.slot(), bitmap));
                    clearOnly[i] = timed(() -> manual.vm().clearDirtyLog(ram.slot(), 0, (int) ram.pages(), bitmap));
                }
            }
            row("  of which KVM_GET_DIRTY_LOG [MANUAL_CLEAR]", median(getOnly) / 1e3, "µs");
            row("  of which KVM_CLEAR_DIRTY_LOG of the whole slot [MANUAL_CLEAR]", median(clearOnly) / 1e3, "µs");

            long token = 7;
            long id = ch.submit(GuestAbi.OP_SPIN, token);
            while (ch.control(GuestAbi.CTL_SPIN_COUNTER_OFF) == 0) {
                Thread.sleep(1);
            }
            long[] pause = new long[21];
            for (int i = 0; i < pause.length; i++) {
                Thread.sleep(2); // the guest is well inside KVM_RUN, spinning
                get.pause();
                pause[i] = get.lastPauseNanos();
                get.resume();
            }
            ch.stopSpin(token);
            ch.await(id, Duration.ofSeconds(10));
            row("pause of a guest spinning with no exits (median of 21)", median(pause) / 1e3, "µs");

            long[] rtt = new long[501];
            for (int i = 0; i < rtt.length; i++) {
                rtt[i] = timed(() -> ch.call(GuestAbi.OP_NOP));
            }
            row("ring round trip of a NOP, guest awake (median of 501)", median(rtt) / 1e3, "µs");
        }
        String load = Files.readString(Path.of("/proc/loadavg")).trim();
        table.append("\nload average during the run: ").append(load).append('\n');
        System.out.println("load average: " + load);
        Path out = Path.of("target", "kvm-costs.md");
        try {
            Files.createDirectories(out.getParent());
            Files.writeString(out, table);
        } catch (IOException e) {
            System.out.println("could not write " + out + ": " + e);
        }
    }
}
