package dev.ballast.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.EngineStats;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.RunFold;
import dev.ballast.qemu.tap.QemuStreamJournal;
import dev.ballast.qemu.tap.Tap;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Real QEMU through {@link Tap} with a {@link QemuStreamJournal}: the journal's fold counts exactly what QEMU's own
 * {@code query-migrate} reports, the stop-and-copy is in it, and the destination runs. Skipped, with the reason,
 * where {@code qemu-system-x86_64} or the kernel is missing.
 */
class QemuTapTest {
    private QemuEnvironment env;

    @BeforeEach
    void environment() {
        env = QemuEnvironment.get();
        Assumptions.assumeTrue(env != null, () -> "no QEMU test: " + QemuEnvironment.reason());
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void shouldJournalExactlyWhatQemuSentThroughTheTapAndTheDestinationRuns() throws Exception {
        Path dir = Files.createTempDirectory(env.work, "tap-");
        MachineSpec spec =
                new MachineSpec(env.qemu.accelerator(), QemuMigrationTest.MEM_MIB << 10, true, env.image, "idle", "");
        try (QemuMachine source = QemuMachine.start(env.qemu.binary(), spec, dir.resolve("source"), null)) {
            source.awaitSerialLine("BALLAST READY", QemuMigrationTest.BOOT_TIMEOUT);
            StreamCapabilities.requireReadable(source.qmp());
            int destPort = freePort();
            try (QemuMachine dest = QemuMachine.start(
                            env.qemu.binary(), spec, dir.resolve("dest"), "tcp:127.0.0.1:" + destPort);
                    Tap tap = Tap.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
                RunFold[] fold = new RunFold[1];
                long[] stopAndCopyPages = new long[1];
                boolean[] inStop = new boolean[1];
                QemuStreamJournal journal = new QemuStreamJournal(
                        m -> {
                            fold[0] = new RunFold(m.layout(), 0, 8);
                            EventSink watch = (type, t, a, b, c) -> {
                                if (type == EventType.GUEST_RUN_STATE && a == 1) inStop[0] = true;
                                if (type == EventType.QEMU_PAGE && inStop[0]) stopAndCopyPages[0]++;
                            };
                            return EventSink.both(fold[0], watch);
                        },
                        QemuStreamJournal.Context.streamOnly("test"),
                        tap.clock());
                CompletableFuture<Tap.Result> relay = CompletableFuture.supplyAsync(() -> {
                    try {
                        return tap.relay(new InetSocketAddress(InetAddress.getLoopbackAddress(), destPort), journal);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                MigrationStats stats = MigrationStats.migrate(
                        source.qmp(),
                        "tcp:127.0.0.1:" + tap.address().getPort(),
                        QemuMigrationTest.UNLIMITED_BANDWIDTH,
                        QemuMigrationTest.DOWNTIME_LIMIT_MS,
                        QemuMigrationTest.MIGRATION_TIMEOUT);
                Tap.Result r = relay.get(60, TimeUnit.SECONDS);
                assertThat(r.ok()).as("tap: %s", r).isTrue();
                String status = MigrationStats.awaitStatus(dest.qmp(), "running", Duration.ofSeconds(60));
                EngineStats fs = fold[0].runStats();
                System.out.printf(
                        "qemu: tap, hint on: QEMU total %d ms, normal %d = journal %d, duplicate %d = journal %d, "
                                + "%d passes, %d pages in the stop-and-copy, %d bytes; destination %s%n",
                        stats.totalTimeMs(),
                        stats.normalPages(),
                        fs.pagesNormal(),
                        stats.zeroPages(),
                        fs.pagesZero(),
                        journal.passes(),
                        stopAndCopyPages[0],
                        r.streamBytes(),
                        status);
                assertThat(fs.pagesNormal())
                        .as("journal's data pages = ram.normal")
                        .isEqualTo(stats.normalPages());
                assertThat(fs.pagesZero())
                        .as("journal's zero pages = ram.duplicate")
                        .isEqualTo(stats.zeroPages());
                assertThat(fs.phase().name()).isEqualTo("COMPLETED");
                assertThat(journal.passes())
                        .as("the bulk pass and the stop-and-copy at least")
                        .isGreaterThanOrEqualTo(2);
                assertThat(r.forwardedBytes()).isEqualTo(r.streamBytes());
                assertThat(status).as("destination status").isEqualTo("running");
            }
        }
    }
}
