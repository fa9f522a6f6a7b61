package dev.ballast.qemu;

import dev.ballast.qemu.stream.QemuStreamReader;
import dev.ballast.qemu.stream.QemuStreamVisitor;
import dev.ballast.qemu.stream.RamBlock;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real QEMU, a real Linux guest: a 512 MiB guest boots with Ballast's initramfs, migrates with free page hinting on
 * and off, and the reader's count of ZERO and PAGE records must equal what QEMU itself reports in
 * {@code query-migrate} ({@code ram.duplicate}, {@code ram.normal}) exactly. Skipped, with the reason, where
 * {@code qemu-system-x86_64} or the kernel is missing.
 */
class QemuMigrationTest {
    static final long MEM_MIB = 512;
    static final long UNLIMITED_BANDWIDTH = 100L << 30;
    static final long DOWNTIME_LIMIT_MS = 2000;
    static final Duration BOOT_TIMEOUT = Duration.ofSeconds(180);
    static final Duration MIGRATION_TIMEOUT = Duration.ofSeconds(180);

    private QemuEnvironment env;

    @BeforeEach
    void environment() {
        env = QemuEnvironment.get();
        Assumptions.assumeTrue(env != null, () -> "no QEMU test: " + QemuEnvironment.reason());
    }

    private QemuMachine bootSource(boolean hint, Path dir) throws Exception {
        MachineSpec spec = new MachineSpec(env.qemu.accelerator(), MEM_MIB, hint, env.image, "idle", "");
        QemuMachine m = QemuMachine.start(env.qemu.binary(), spec, dir, null);
        String balloon = m.awaitSerialLine("BALLAST balloon", BOOT_TIMEOUT);
        m.awaitSerialLine("BALLAST READY", BOOT_TIMEOUT);
        System.out.printf("qemu: source (hint %s, %s) booted to READY in %d ms; %s%n", hint ? "on" : "off",
                env.qemu.accelerator(), m.nanosSinceStart() / 1_000_000, balloon);
        // the real driver negotiated (or not) VIRTIO_BALLOON_F_FREE_PAGE_HINT, bit 3
        assertThat(balloon).contains("free_page_hint=" + (hint ? "1" : "0"));
        return m;
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @ParameterizedTest(name = "free-page-hint={0}")
    @ValueSource(booleans = {false, true})
    void shouldCountExactlyWhatQemuSentThroughARelayAndTheDestinationRuns(boolean hint) throws Exception {
        Path dir = Files.createTempDirectory(env.work, "relay-" + hint + "-");
        try (QemuMachine source = bootSource(hint, dir.resolve("source"))) {
            int destPort = freePort();
            MachineSpec spec = new MachineSpec(env.qemu.accelerator(), MEM_MIB, hint, env.image, "idle", "");
            try (QemuMachine dest = QemuMachine.start(env.qemu.binary(), spec, dir.resolve("dest"),
                    "tcp:127.0.0.1:" + destPort);
                 MigrationRelay relay = MigrationRelay.start(
                         new InetSocketAddress(InetAddress.getLoopbackAddress(), destPort), new QemuStreamVisitor() { })) {
                long t0 = System.nanoTime();
                MigrationStats stats = MigrationStats.migrate(source.qmp(), "tcp:127.0.0.1:" + relay.port(),
                        UNLIMITED_BANDWIDTH, DOWNTIME_LIMIT_MS, MIGRATION_TIMEOUT);
                long migrateMs = (System.nanoTime() - t0) / 1_000_000;
                MigrationRelay.Result r = relay.await(Duration.ofSeconds(30));
                assertThat(r).as("relay finished").isNotNull();
                assertThat(r.refused()).as("reader refused").isNull();
                assertThat(r.failed()).as("relay I/O").isNull();
                String status = MigrationStats.awaitStatus(dest.qmp(), "running", Duration.ofSeconds(60));
                System.out.printf("qemu: relay migration, hint %s: %d ms by the clock, QEMU total %d ms, downtime %d ms,"
                                + " normal %d = reader %d, duplicate %d = reader %d, %d PART sections, %d dirty syncs,"
                                + " %d bytes forwarded, RAM ends at byte %d; destination %s%n",
                        hint ? "on" : "off", migrateMs, stats.totalTimeMs(), stats.downtimeMs(), stats.normalPages(),
                        r.normalPages(), stats.zeroPages(), r.zeroPages(), r.partSections(), stats.dirtySyncCount(),
                        r.forwardedBytes(), r.ramEndOffset(), status);
                assertThat(r.normalPages()).as("PAGE records = ram.normal").isEqualTo(stats.normalPages());
                assertThat(r.zeroPages()).as("ZERO records = ram.duplicate").isEqualTo(stats.zeroPages());
                assertThat(r.machineType()).startsWith("pc-q35-");
                assertThat(status).as("destination status").isEqualTo("running");
            }
        }
    }

    @Test
    void shouldCountExactlyWhatQemuSavedToAFile() throws Exception {
        Path dir = Files.createTempDirectory(env.work, "file-");
        Path file = dir.resolve("stream.bin");
        try (QemuMachine source = bootSource(true, dir.resolve("source"))) {
            MigrationStats stats = MigrationStats.migrate(source.qmp(), "exec:cat > " + file, UNLIMITED_BANDWIDTH,
                    DOWNTIME_LIMIT_MS, MIGRATION_TIMEOUT);
            long[] pages = new long[1];
            List<RamBlock>[] blocks = new List[1];
            try (FileChannel ch = FileChannel.open(file)) {
                QemuStreamReader reader = new QemuStreamReader(ch, null);
                long ramEnd = reader.readRam(new QemuStreamVisitor() {
                    @Override
                    public void onRamSetup(long at, long totalBytes, List<RamBlock> list) {
                        blocks[0] = list;
                    }

                    @Override
                    public void onPage(long at, RamBlock block, long offset, byte[] data, int dataOff) {
                        pages[0]++;
                    }
                });
                long rest = reader.transferRest();
                System.out.printf("qemu: saved stream, hint on: %d bytes, RAM ends at %d, %d bytes of device state"
                                + " after it; blocks %s; normal %d = reader %d, duplicate %d = reader %d%n",
                        Files.size(file), ramEnd, rest, blocks[0], stats.normalPages(), reader.normalPages(),
                        stats.zeroPages(), reader.zeroPages());
                assertThat(reader.normalPages()).isEqualTo(stats.normalPages()).isEqualTo(pages[0]);
                assertThat(reader.zeroPages()).isEqualTo(stats.zeroPages());
                assertThat(ramEnd + rest).isEqualTo(Files.size(file));
                assertThat(blocks[0].getFirst().name()).isEqualTo("pc.ram");
                assertThat(blocks[0].getFirst().usedLength()).isEqualTo(MEM_MIB << 20);
                assertThat(blocks[0].stream().mapToLong(RamBlock::usedLength).sum()).isEqualTo(reader.ramTotalBytes());
            }
        }
    }
}
