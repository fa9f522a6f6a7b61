package dev.ballast.kvm.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ballast.core.wire.ReadThreshold;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.InterruptedByTimeoutException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The reading side of {@link StallGuard} over a loopback connection: waits for many bytes, never for bytes that are not coming. */
class StallGuardTest {
    private ServerSocketChannel server;
    private SocketChannel sender;
    private SocketChannel receiver;

    @BeforeEach
    void connect() throws IOException {
        server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        sender = SocketChannel.open(server.getLocalAddress());
        receiver = server.accept();
    }

    @AfterEach
    void close() throws IOException {
        sender.close();
        receiver.close();
        server.close();
    }

    private static ByteBuffer pattern(int from, int n) {
        ByteBuffer b = ByteBuffer.allocateDirect(n);
        for (int i = 0; i < n; i++) b.put((byte) ((from + i) * 31));
        return b.flip();
    }

    private void send(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) sender.write(b);
    }

    /** Reads until {@code into} is full with reads that wait for all it lacks. */
    private static void readAll(ReadThreshold in, ByteBuffer into) throws IOException {
        while (into.hasRemaining()) {
            if (in.read(into, into.remaining()) < 0) throw new IOException("end of stream");
        }
    }

    @Test
    void aReadThatHasPartOfWhatItWaitsForStillGetsTheRestWhenNothingFollows() throws Exception {
        // The shape of a page stream's end: part of the last record is there, the rest arrives,
        // then the source waits for an answer. A blocking read with SO_RCVLOWAT at the whole
        // record copies the first part and then sleeps until a whole threshold of new bytes has
        // come, which never happens.
        try (StallGuard g = new StallGuard(receiver, 0)) {
            ReadThreshold in = assertInstanceOf(
                    ReadThreshold.class, g.in(), "reads wait for many bytes where the descriptor is readable");
            int first = 100_000, rest = 400_000;
            ByteBuffer got = ByteBuffer.allocateDirect(first + rest);
            CountDownLatch firstThere = new CountDownLatch(1);
            ByteBuffer warm = ByteBuffer.allocateDirect(1 << 20);
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    // 64 MiB first, so the receive window has grown well past the threshold, as in a migration
                    for (int i = 0; i < 64; i++) send(warm.clear());
                    send(pattern(0, first));
                    firstThere.countDown();
                    Thread.sleep(150);
                    send(pattern(first, rest));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
                ByteBuffer sink = ByteBuffer.allocateDirect(1 << 20);
                for (int i = 0; i < 64; i++) readAll(in, sink.clear());
                firstThere.await();
                Thread.sleep(50); // the first part is readable when the read for all of it starts
                readAll(in, got);
            });
            writer.join();
            assertEquals(pattern(0, first + rest), got.flip());
        }
    }

    @Test
    void aPlainReadAfterAThresholdReadWakesForOneByte() throws Exception {
        try (StallGuard g = new StallGuard(receiver, 0)) {
            ReadThreshold in = (ReadThreshold) g.in();
            send(pattern(0, 4096));
            readAll(in, ByteBuffer.allocateDirect(4096));
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(50);
                    send(pattern(0, 3));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            ByteBuffer small = ByteBuffer.allocateDirect(64);
            int n = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> g.in().read(small));
            assertTrue(n >= 1 && n <= 3, "read " + n + " bytes");
            writer.join();
        }
    }

    @Test
    void theEndOfTheStreamEndsAWaitingRead() throws Exception {
        try (StallGuard g = new StallGuard(receiver, 0)) {
            send(pattern(0, 10));
            sender.shutdownOutput();
            ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
            ReadThreshold in = (ReadThreshold) g.in();
            assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
                assertEquals(10, in.read(b, b.remaining()));
                assertEquals(-1, in.read(b, b.remaining()));
            });
        }
    }

    @Test
    void aStalledPeerTimesAWaitingReadOut() {
        try (StallGuard g = new StallGuard(receiver, TimeUnit.MILLISECONDS.toNanos(200))) {
            ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
            InterruptedByTimeoutException e = assertTimeoutPreemptively(
                    Duration.ofSeconds(10),
                    () -> assertThrows(
                            InterruptedByTimeoutException.class,
                            () -> ((ReadThreshold) g.in()).read(b, b.remaining())));
            assertTrue(e.getMessage().contains("stalled"), e.getMessage());
            assertEquals(0, b.position());
        }
    }

    @Test
    void closingTheGuardEndsAWaitingRead() throws Exception {
        StallGuard g = new StallGuard(receiver, 0);
        Thread closer = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException ignored) {
                // close now
            }
            g.close();
        });
        ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
        assertTimeoutPreemptively(
                Duration.ofSeconds(10),
                () -> assertThrows(
                        ClosedChannelException.class, () -> ((ReadThreshold) g.in()).read(b, b.remaining())));
        closer.join();
    }
}
