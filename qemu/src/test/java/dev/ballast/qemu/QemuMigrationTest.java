package dev.ballast.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.qemu.stream.DeviceStateWalker;
import dev.ballast.qemu.stream.QemuStreamReader;
import dev.ballast.qemu.stream.QemuStreamVisitor;
import dev.ballast.qemu.stream.RamBlock;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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
        MachineSpec spec = new MachineSpec(env.qemu.accelerator(), MEM_MIB << 10, hint, env.image, "idle", "");
        QemuMachine m = QemuMachine.start(env.qemu.binary(), spec, dir, null);
        String balloon;
        try {
            balloon = m.awaitSerialLine("BALLAST balloon", BOOT_TIMEOUT);
            m.awaitSerialLine("BALLAST READY", BOOT_TIMEOUT);
        } catch (Exception e) {
            m.close(); // a guest that did not come up is not left running
            throw e;
        }
        System.out.printf(
                "qemu: source (hint %s, %s) booted to READY in %d ms; %s%n",
                hint ? "on" : "off", env.qemu.accelerator(), m.nanosSinceStart() / 1_000_000, balloon);
        // the real driver negotiated (or not) VIRTIO_BALLOON_F_FREE_PAGE_HINT, bit 3
        assertThat(balloon).contains("free_page_hint=" + (hint ? "1" : "0"));
        StreamCapabilities.requireReadable(m.qmp());
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
            MachineSpec spec = new MachineSpec(env.qemu.accelerator(), MEM_MIB << 10, hint, env.image, "idle", "");
            try (QemuMachine dest = QemuMachine.start(
                            env.qemu.binary(), spec, dir.resolve("dest"), "tcp:127.0.0.1:" + destPort);
                    MigrationRelay relay = MigrationRelay.start(
                            new InetSocketAddress(InetAddress.getLoopbackAddress(), destPort),
                            new QemuStreamVisitor() {})) {
                long t0 = System.nanoTime();
                MigrationStats stats = MigrationStats.migrate(
                        source.qmp(),
                        "tcp:127.0.0.1:" + relay.port(),
                        UNLIMITED_BANDWIDTH,
                        DOWNTIME_LIMIT_MS,
                        MIGRATION_TIMEOUT);
                long migrateMs = (System.nanoTime() - t0) / 1_000_000;
                MigrationRelay.Result r = relay.await(Duration.ofSeconds(30));
                assertThat(r).as("relay finished").isNotNull();
                assertThat(r.refused()).as("reader refused").isNull();
                assertThat(r.failed()).as("relay I/O").isNull();
                String status = MigrationStats.awaitStatus(dest.qmp(), "running", Duration.ofSeconds(60));
                System.out.printf(
                        "qemu: relay migration, hint %s: %d ms by the clock, QEMU total %d ms, downtime %d ms,"
                                + " normal %d = reader %d, duplicate %d = reader %d, %d PART sections, %d dirty syncs,"
                                + " %d bytes forwarded, RAM ends at byte %d; destination %s%n",
                        hint ? "on" : "off",
                        migrateMs,
                        stats.totalTimeMs(),
                        stats.downtimeMs(),
                        stats.normalPages(),
                        r.normalPages(),
                        stats.zeroPages(),
                        r.zeroPages(),
                        r.partSections(),
                        stats.dirtySyncCount(),
                        r.forwardedBytes(),
                        r.ramEndOffset(),
                        status);
                assertThat(r.normalPages()).as("PAGE records = ram.normal").isEqualTo(stats.normalPages());
                assertThat(r.zeroPages()).as("ZERO records = ram.duplicate").isEqualTo(stats.zeroPages());
                assertThat(r.machineType()).startsWith("pc-q35-");
                assertThat(status).as("destination status").isEqualTo("running");
            }
        }
    }

    /** A stream QEMU saved with hints on, and QEMU's stats for it; made once, for the tests that need one. */
    private static Path savedStream;

    private static MigrationStats savedStats;

    private synchronized void saveStream() throws Exception {
        if (savedStream != null) {
            return;
        }
        Path dir = Files.createTempDirectory(env.work, "file-");
        Path file = dir.resolve("stream.bin");
        try (QemuMachine source = bootSource(true, dir.resolve("source"))) {
            savedStats = MigrationStats.migrate(
                    source.qmp(), "exec:cat > " + file, UNLIMITED_BANDWIDTH, DOWNTIME_LIMIT_MS, MIGRATION_TIMEOUT);
            savedStream = file;
        }
    }

    @Test
    void shouldCountExactlyWhatQemuSavedToAFile() throws Exception {
        saveStream();
        Path file = savedStream;
        MigrationStats stats = savedStats;
        {
            long[] pages = new long[1];
            java.util.concurrent.atomic.AtomicReference<List<RamBlock>> blocks =
                    new java.util.concurrent.atomic.AtomicReference<>();
            try (FileChannel ch = FileChannel.open(file)) {
                QemuStreamReader reader = new QemuStreamReader(ch, null);
                long ramEnd = reader.readRam(new QemuStreamVisitor() {
                    @Override
                    public void onRamSetup(long at, long totalBytes, List<RamBlock> list) {
                        blocks.set(list);
                    }

                    @Override
                    public void onPage(long at, RamBlock block, long offset, byte[] data, int dataOff) {
                        pages[0]++;
                    }
                });
                long rest = reader.transferRest();
                DeviceStateWalker.Result devices = DeviceStateWalker.walk(ch, ramEnd);
                System.out.printf(
                        "qemu: saved stream's %d device sections walked with its VM description to EOF at"
                                + " byte %d: %s%n",
                        devices.devices().size(), devices.eofOffset(), devices.devices());
                assertThat(devices.eofOffset() + 1 + devices.descriptionBytes()).isEqualTo(Files.size(file));
                assertThat(devices.devices())
                        .contains("cpu", "globalstate")
                        .anySatisfy(d -> assertThat(d).endsWith("/virtio-balloon"));
                System.out.printf(
                        "qemu: saved stream, hint on: %d bytes, RAM ends at %d, %d bytes of device state"
                                + " after it; blocks %s; normal %d = reader %d, duplicate %d = reader %d%n",
                        Files.size(file),
                        ramEnd,
                        rest,
                        blocks.get(),
                        stats.normalPages(),
                        reader.normalPages(),
                        stats.zeroPages(),
                        reader.zeroPages());
                assertThat(reader.normalPages()).isEqualTo(stats.normalPages()).isEqualTo(pages[0]);
                assertThat(reader.zeroPages()).isEqualTo(stats.zeroPages());
                assertThat(ramEnd + rest).isEqualTo(Files.size(file));
                assertThat(blocks.get().getFirst().name()).isEqualTo("pc.ram");
                assertThat(blocks.get().getFirst().usedLength()).isEqualTo(MEM_MIB << 20);
                assertThat(blocks.get().stream().mapToLong(RamBlock::usedLength).sum())
                        .isEqualTo(reader.ramTotalBytes());
            }
        }
    }

    /**
     * A real stream with one record changed into an XBZRLE record, sent through the relay to a destination QEMU: the
     * relay refuses it, forwards exactly the bytes before it, and the destination never runs.
     */
    @Test
    void shouldForwardNothingPastARefusedRecordToARealDestination() throws Exception {
        saveStream();
        byte[] stream = Files.readAllBytes(savedStream);
        long[] target = {-1};
        long[] seen = {0};
        new QemuStreamReader(java.nio.channels.Channels.newChannel(new java.io.ByteArrayInputStream(stream)), null)
                .readRam(new QemuStreamVisitor() {
                    @Override
                    public void onPage(long at, RamBlock block, long offset, byte[] data, int dataOff) {
                        if (++seen[0] == savedStats.normalPages() / 2) {
                            target[0] = at;
                        }
                    }
                });
        assertThat(target[0]).isPositive();
        int flags = (int) target[0] + 7;
        stream[flags] = (byte) ((stream[flags] & 0x20) | 0x40);

        Path dir = Files.createTempDirectory(env.work, "refused-");
        int destPort = freePort();
        MachineSpec spec = new MachineSpec(env.qemu.accelerator(), MEM_MIB << 10, true, env.image, "idle", "");
        try (QemuMachine dest =
                        QemuMachine.start(env.qemu.binary(), spec, dir.resolve("dest"), "tcp:127.0.0.1:" + destPort);
                MigrationRelay relay = MigrationRelay.start(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), destPort),
                        new QemuStreamVisitor() {})) {
            try (java.nio.channels.SocketChannel src = java.nio.channels.SocketChannel.open(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), relay.port()))) {
                java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(stream);
                while (bb.hasRemaining()) {
                    src.write(bb);
                }
            } catch (java.io.IOException e) {
                // the relay closes its side when it refuses; what it forwarded is checked below
            }
            MigrationRelay.Result r = relay.await(Duration.ofSeconds(60));
            assertThat(r).isNotNull();
            assertThat(r.refused()).isNotNull();
            assertThat(r.refused().offset()).isEqualTo(target[0]);
            assertThat(r.refused().getMessage()).contains("XBZRLE");
            assertThat(r.forwardedBytes()).as("bytes the destination received").isEqualTo(target[0]);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            String status = "";
            while (dest.isAlive() && System.nanoTime() < deadline) {
                try {
                    status = dest.qmp().execute("query-status").path("status").asText();
                } catch (Exception e) {
                    break; // QEMU closes QMP as it quits after a failed incoming migration
                }
                assertThat(status).isNotEqualTo("running");
                Thread.sleep(100);
            }
            boolean exited = dest.awaitExit(Duration.ofSeconds(30));
            System.out.printf(
                    "qemu: refused record at byte %d (%s); %d bytes forwarded; destination %s%n",
                    r.refused().offset(),
                    r.refused().detail(),
                    r.forwardedBytes(),
                    exited ? "exited" : "alive, " + status);
            assertThat(exited).as("the destination gave up on the cut stream").isTrue();
        }
    }

    /** QEMU's defaults leave the stream readable; multifd and xbzrle, once on, are named before any migration. */
    @Test
    void shouldNameCapabilitiesTheReaderCannotFollow() throws Exception {
        Path dir = Files.createTempDirectory(env.work, "caps-");
        MachineSpec spec = new MachineSpec(env.qemu.accelerator(), 128 << 10, false, env.image, "idle", "");
        try (QemuMachine m = QemuMachine.start(env.qemu.binary(), spec, dir, null)) {
            assertThat(StreamCapabilities.unreadable(m.qmp())).isEmpty();
            m.qmp()
                    .execute(
                            "migrate-set-capabilities",
                            java.util.Map.of(
                                    "capabilities",
                                    List.of(
                                            java.util.Map.of("capability", "multifd", "state", true),
                                            java.util.Map.of("capability", "xbzrle", "state", true),
                                            java.util.Map.of("capability", "events", "state", true))));
            assertThat(StreamCapabilities.unreadable(m.qmp())).containsExactlyInAnyOrder("multifd", "xbzrle");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> StreamCapabilities.requireReadable(m.qmp()))
                    .hasMessageContaining("xbzrle")
                    .hasMessageContaining("multifd")
                    .hasMessageNotContaining("events");
        }
    }
}
