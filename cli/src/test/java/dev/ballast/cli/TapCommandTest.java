package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ballast tap} between a fake source and a fake destination socket, as a user runs it. */
class TapCommandTest {
    @TempDir
    Path dir;

    record Outcome(Cli.Result result, byte[] received) {}

    Outcome tap(byte[] stream, String... more) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        // threads of their own: the common pool may have a single worker (2 CPUs), which the destination's accept holds
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newCachedThreadPool();
        try (pool;
                ServerSocketChannel dest =
                        ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            CompletableFuture<Void> destination = CompletableFuture.runAsync(
                    () -> {
                        try (SocketChannel c = dest.accept()) {
                            ByteBuffer b = ByteBuffer.allocate(1 << 16);
                            while (c.read(b.clear()) >= 0) received.write(b.array(), 0, b.position());
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    },
                    pool);
            String[] args = new String[] {
                "tap",
                "--listen",
                "127.0.0.1:" + port,
                "--forward",
                "127.0.0.1:" + ((InetSocketAddress) dest.getLocalAddress()).getPort(),
                "--accept-timeout",
                "60s"
            };
            String[] all = Arrays.copyOf(args, args.length + more.length);
            System.arraycopy(more, 0, all, args.length, more.length);
            CompletableFuture<Cli.Result> run =
                    CompletableFuture.supplyAsync(() -> new Cli(dir, Backends.of()).run(all), pool);
            SocketChannel source = null;
            for (int i = 0; i < 600 && source == null; i++) {
                try {
                    source = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                } catch (IOException notYet) {
                    Thread.sleep(100);
                }
            }
            assertThat(source).as("the tap listens").isNotNull();
            try (SocketChannel c = source) {
                ByteBuffer b = ByteBuffer.wrap(stream);
                while (b.hasRemaining()) c.write(b);
            } catch (IOException refusedWhileWriting) {
                // the tap closed the source
            }
            Cli.Result r = run.get(120, TimeUnit.SECONDS);
            destination.get(30, TimeUnit.SECONDS);
            return new Outcome(r, received.toByteArray());
        }
    }

    @Test
    void shouldForwardAMigrationUnchangedAndJournalIt() throws Exception {
        byte[] s = QemuJournalCommandsTest.stream(true);
        Path j = dir.resolve("tap");
        Outcome o = tap(s, "--journal", j.toString());
        assertThat(o.result().exitCode()).as(o.result().err()).isZero();
        assertThat(o.received()).isEqualTo(s);
        assertThat(o.result().out())
                .contains(
                        "tap: listening on 127.0.0.1:",
                        "tap: " + String.format(java.util.Locale.ROOT, "%,d", s.length) + " bytes forwarded",
                        "6 normal pages",
                        "3 passes")
                .containsPattern("journal: .* \\(\\d+ events, digest [0-9a-f]{16}\\)");
        Cli cli = new Cli(dir, Backends.of());
        assertThat(cli.run("inspect", j.toString(), "--page", "2").out())
                .contains("QEMU sent it with its data (4104 bytes) in pass 1");
        assertThat(cli.run("replay", j.toString()).out()).contains("the journal is intact");
    }

    @Test
    void shouldForwardNothingPastARefusedRecordAndSaySoInOneLine() throws Exception {
        byte[] s = QemuJournalCommandsTest.stream(true);
        int second = 23 + 17 + 47 + 5 + 5 + 4111 + 9 + 4104 + 9 + 8 + 5 + 5;
        s[second + 7] = 0x40 | 0x20;
        Path j = dir.resolve("bad");
        Outcome o = tap(s, "--journal", j.toString());
        assertThat(o.result().exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(o.result().errLines()).hasSize(1);
        assertThat(o.result().err())
                .contains(
                        "QEMU stream, byte " + second + ": XBZRLE page record",
                        "not forwarded, both connections closed; the journal ends at the last good record: " + j);
        assertThat(o.received()).isEqualTo(Arrays.copyOf(s, second));
        Cli.Result ev = new Cli(dir, Backends.of()).run("inspect", j.toString(), "--events", "0:100");
        assertThat(ev.out().lines().filter(l -> l.contains("QEMU_PAGE"))).hasSize(4);
        assertThat(ev.out()).contains("STREAM_REFUSED offset=" + second);
    }

    @Test
    void shouldRefuseAJournalDirectoryThatHoldsOneBeforeListening() throws Exception {
        Path j = dir.resolve("twice");
        Outcome first = tap(QemuJournalCommandsTest.stream(true), "--journal", j.toString());
        assertThat(first.result().exitCode()).isZero();
        Cli.Result again = new Cli(dir, Backends.of())
                .run("tap", "--listen", "127.0.0.1:0", "--forward", "127.0.0.1:9", "--journal", j.toString());
        assertThat(again.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(again.errLines()).containsExactly("ballast: --journal " + j + ": already holds a journal");
    }
}
