package dev.ballast.qemu;

import dev.ballast.qemu.stream.ChannelSink;
import dev.ballast.qemu.stream.QemuStreamException;
import dev.ballast.qemu.stream.QemuStreamReader;
import dev.ballast.qemu.stream.QemuStreamVisitor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A relay between a migrating QEMU ({@code migrate tcp:127.0.0.1:port()}) and a destination QEMU
 * ({@code -incoming tcp:...}) that reads the stream as it passes: the destination receives a byte only once the
 * record it belongs to is validated, and after RAM's END the device state unexamined. A refused record is not
 * forwarded; both connections are closed. One migration per relay. This is the core of the future
 * {@code ballast tap}: the visitor is where journal events will come from.
 */
public final class MigrationRelay implements AutoCloseable {
    /** What went through. {@code refused} is set when the reader refused the stream, {@code failed} on I/O error. */
    public record Result(
            long ramEndOffset,
            long zeroPages,
            long normalPages,
            long partSections,
            long forwardedBytes,
            String machineType,
            QemuStreamException refused,
            IOException failed) {}

    private final ServerSocketChannel server;
    private final Thread thread;
    private volatile Result result;

    private MigrationRelay(InetSocketAddress destination, QemuStreamVisitor visitor) throws IOException {
        this.server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        this.thread = Thread.ofPlatform().name("qemu-relay").daemon().unstarted(() -> relay(destination, visitor));
    }

    public static MigrationRelay start(InetSocketAddress destination, QemuStreamVisitor visitor) throws IOException {
        MigrationRelay r = new MigrationRelay(destination, visitor);
        r.thread.start();
        return r;
    }

    /** The loopback port the source migrates to. */
    public int port() throws IOException {
        return ((InetSocketAddress) server.getLocalAddress()).getPort();
    }

    /** Waits for the source to finish sending (or the relay to fail); null if {@code timeout} passed first. */
    public Result await(Duration timeout) throws InterruptedException {
        thread.join(TimeUnit.NANOSECONDS.toMillis(timeout.toNanos()));
        return result;
    }

    private void relay(InetSocketAddress destination, QemuStreamVisitor visitor) {
        ChannelSink forwarded = null;
        QemuStreamReader reader = null;
        try (SocketChannel source = server.accept();
                SocketChannel dest = SocketChannel.open(destination)) {
            dest.socket().setTcpNoDelay(true);
            forwarded = new ChannelSink(dest);
            reader = new QemuStreamReader(source, forwarded);
            long ramEnd = reader.readRam(visitor);
            reader.transferRest();
            dest.shutdownOutput();
            result = new Result(
                    ramEnd,
                    reader.zeroPages(),
                    reader.normalPages(),
                    reader.partSections(),
                    (forwarded == null ? 0 : forwarded.written()),
                    reader.machineType(),
                    null,
                    null);
        } catch (QemuStreamException e) {
            result = new Result(
                    -1,
                    reader.zeroPages(),
                    reader.normalPages(),
                    reader.partSections(),
                    (forwarded == null ? 0 : forwarded.written()),
                    reader.machineType(),
                    e,
                    null);
        } catch (IOException e) {
            result = new Result(
                    -1,
                    reader == null ? 0 : reader.zeroPages(),
                    reader == null ? 0 : reader.normalPages(),
                    reader == null ? 0 : reader.partSections(),
                    (forwarded == null ? 0 : forwarded.written()),
                    null,
                    null,
                    e);
        } finally {
            try {
                server.close();
            } catch (IOException ignored) {
                // nothing listens any more either way
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
