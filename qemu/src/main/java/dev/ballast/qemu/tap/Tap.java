package dev.ballast.qemu.tap;

import dev.ballast.core.event.FailureCause;
import dev.ballast.qemu.stream.ChannelSink;
import dev.ballast.qemu.stream.QemuStreamException;
import dev.ballast.qemu.stream.QemuStreamReader;
import dev.ballast.qemu.stream.QemuStreamVisitor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * {@code ballast tap}: a relay between a QEMU source ({@code migrate tcp:A}) and a QEMU destination
 * ({@code -incoming tcp:B}) that forwards the stream unchanged while {@link QemuStreamReader} validates it and a
 * {@link QemuStreamJournal} journals it. The destination receives a byte only once the record it belongs to has been
 * read whole and accepted; after RAM's END the device state is forwarded unexamined. A record the reader refuses is
 * not forwarded: both connections are closed at once and the journal ends at the last good record.
 *
 * <pre>
 *   try (Tap tap = Tap.listen(new InetSocketAddress("127.0.0.1", 4444))) {
 *       QemuStreamJournal journal = new QemuStreamJournal(manifest -&gt; sink, context, tap.clock());
 *       Tap.Result r = tap.relay(new InetSocketAddress("127.0.0.1", 4445), journal);
 *   }
 * </pre>
 * One migration per {@link #relay} call. The clock ({@link #clock()}) reads nanoseconds since the source connected.
 */
public final class Tap implements AutoCloseable {
    /**
     * What went through. {@code refused}: the reader refused a record (nothing from it on was forwarded);
     * {@code failed}: a connection broke (the message says which); both null: the source's stream ended after RAM.
     */
    public record Result(
            long ramEndOffset,
            long streamBytes,
            long forwardedBytes,
            long zeroPages,
            long normalPages,
            long partSections,
            String machineType,
            QemuStreamException refused,
            String failed) {
        public boolean ok() {
            return refused == null && failed == null;
        }
    }

    /** Told when the source has connected, before anything is read (e.g. to check its capabilities over QMP). */
    @FunctionalInterface
    public interface OnConnect {
        /** Returns null to go on, or one line saying why the migration must not go through (both are closed). */
        String connected() throws IOException;
    }

    private final ServerSocketChannel server;
    private volatile long startNs = System.nanoTime();

    private Tap(ServerSocketChannel server) {
        this.server = server;
    }

    /** Binds {@code listen} (port 0: any free port, see {@link #address()}). */
    public static Tap listen(InetSocketAddress listen) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open();
        try {
            s.bind(listen);
        } catch (IOException e) {
            s.close();
            throw new IOException(
                    "cannot listen on " + listen.getHostString() + ":" + listen.getPort() + ": " + e.getMessage(), e);
        }
        return new Tap(s);
    }

    public InetSocketAddress address() throws IOException {
        return (InetSocketAddress) server.getLocalAddress();
    }

    /** Nanoseconds since the source connected (since the tap was made, before that). */
    public java.util.function.LongSupplier clock() {
        return () -> System.nanoTime() - startNs;
    }

    /** Waits for the source, connects to {@code forward}, and relays one migration; see the class comment. */
    public Result relay(SocketAddress forward, QemuStreamJournal journal) throws IOException {
        return relay(forward, journal, journal, () -> null, 0);
    }

    /**
     * As {@link #relay(SocketAddress, QemuStreamJournal)}, with any visitor; {@code journal} (may be null) is told
     * how the stream ended. {@code acceptTimeoutNs} &gt; 0: no source within that long is a failure.
     */
    public Result relay(
            SocketAddress forward,
            QemuStreamVisitor visitor,
            QemuStreamJournal journal,
            OnConnect onConnect,
            long acceptTimeoutNs)
            throws IOException {
        SocketChannel accepted;
        Thread watchdog = null;
        if (acceptTimeoutNs > 0) {
            watchdog = Thread.ofPlatform().daemon().name("qemu-tap-accept").start(() -> {
                try {
                    Thread.sleep(java.time.Duration.ofNanos(acceptTimeoutNs));
                    server.close();
                } catch (InterruptedException | IOException e) {
                    // the source came, or the tap closed
                }
            });
        }
        try {
            accepted = server.accept();
        } catch (java.nio.channels.AsynchronousCloseException e) {
            return new Result(
                    -1,
                    0,
                    0,
                    0,
                    0,
                    0,
                    null,
                    null,
                    "no source connected within "
                            + java.time.Duration.ofNanos(acceptTimeoutNs).toMillis() + " ms");
        } finally {
            if (watchdog != null) watchdog.interrupt();
        }
        try (SocketChannel source = accepted) {
            startNs = System.nanoTime();
            server.close(); // one migration: nobody else may connect
            SocketChannel dest;
            try {
                dest = SocketChannel.open(forward);
            } catch (IOException e) {
                return new Result(
                        -1,
                        0,
                        0,
                        0,
                        0,
                        0,
                        null,
                        null,
                        "cannot connect to the destination " + forward + ": " + e.getMessage());
            }
            try (dest) {
                String no = onConnect.connected();
                if (no != null) {
                    return new Result(-1, 0, 0, 0, 0, 0, null, null, no);
                }
                return relay(source, dest, visitor, journal);
            }
        } finally {
            server.close();
        }
    }

    /**
     * Relays one migration between two connected sockets (a backend that made them itself): reads the source's
     * stream through the reader and {@code visitor}, forwards each validated byte to {@code dest}, and tells
     * {@code journal} (may be null) how it ended. Closes neither socket; shuts {@code dest}'s output down at the end.
     */
    public static Result relay(
            SocketChannel source, SocketChannel dest, QemuStreamVisitor visitor, QemuStreamJournal journal)
            throws IOException {
        ChannelSink forwarded = new ChannelSink(dest);
        QemuStreamReader reader = null;
        try {
            dest.socket().setTcpNoDelay(true);
            reader = new QemuStreamReader(source, forwarded);
            long ramEnd;
            try {
                ramEnd = reader.readRam(visitor);
            } catch (QemuStreamException e) {
                if (journal != null) journal.refused(e);
                return new Result(
                        -1,
                        e.offset(),
                        forwarded.written(),
                        reader.zeroPages(),
                        reader.normalPages(),
                        reader.partSections(),
                        reader.machineType(),
                        e,
                        null);
            } catch (QemuStreamJournal.TooLargeException e) {
                return new Result(
                        -1,
                        reader.position(),
                        forwarded.written(),
                        0,
                        0,
                        0,
                        reader.machineType(),
                        null,
                        e.getMessage());
            }
            long rest = reader.transferRest();
            dest.shutdownOutput();
            if (journal != null) journal.completed(ramEnd + rest);
            return new Result(
                    ramEnd,
                    ramEnd + rest,
                    forwarded.written(),
                    reader.zeroPages(),
                    reader.normalPages(),
                    reader.partSections(),
                    reader.machineType(),
                    null,
                    null);
        } catch (IOException e) {
            long valid = reader == null ? 0 : reader.position();
            if (journal != null) journal.failed(FailureCause.IO, valid);
            return new Result(
                    -1,
                    valid,
                    forwarded.written(),
                    reader == null ? 0 : reader.zeroPages(),
                    reader == null ? 0 : reader.normalPages(),
                    reader == null ? 0 : reader.partSections(),
                    reader == null ? null : reader.machineType(),
                    null,
                    "the connection broke after " + forwarded.written() + " bytes were forwarded: " + e.getMessage());
        }
    }

    /**
     * Runs the reader and a {@link QemuStreamJournal} over a synthetic stream in memory (4096 records, half zero,
     * half data, several times) into {@code sink}, so that the page path is compiled before a source connects: a
     * fresh JVM otherwise interprets the first records of a live migration while QEMU waits.
     */
    public static void warmUp(dev.ballast.core.event.EventSink sink) throws IOException {
        byte[] stream = syntheticStream(4096);
        ChannelSink discard = new ChannelSink(new java.nio.channels.WritableByteChannel() {
            @Override
            public int write(ByteBuffer src) {
                int n = src.remaining();
                src.position(src.limit());
                return n;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {}
        });
        for (int round = 0; round < 12; round++) {
            QemuStreamReader reader = new QemuStreamReader(new java.io.ByteArrayInputStream(stream), discard);
            QemuStreamJournal j =
                    new QemuStreamJournal(m -> sink, QemuStreamJournal.Context.streamOnly("warm-up"), System::nanoTime);
            try {
                j.completed(reader.readRam(j));
            } catch (QemuStreamException e) {
                throw new IllegalStateException("the warm-up stream is QEMU 7.2's: " + e.getMessage(), e);
            }
        }
    }

    /** Header, RAM's START with one block of {@code pages}, one PART with every page (even ones data), an empty END. */
    static byte[] syntheticStream(int pages) {
        ByteBuffer b = ByteBuffer.allocate(64 + 64 + (pages / 2) * (8 + 4096 + 16) + (pages / 2) * 9 + 64);
        byte[] name = "warm-up".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        b.putInt(0x5145564D)
                .putInt(3)
                .put((byte) 7)
                .putInt(10)
                .put("pc-q35-7.2".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        b.put((byte) 1)
                .putInt(2)
                .put((byte) 3)
                .put((byte) 'r')
                .put((byte) 'a')
                .put((byte) 'm')
                .putInt(0)
                .putInt(4);
        b.putLong((long) pages * QemuStreamReader.PAGE_SIZE | 0x04)
                .put((byte) name.length)
                .put(name)
                .putLong((long) pages * QemuStreamReader.PAGE_SIZE)
                .putLong(0x10)
                .put((byte) 0x7E)
                .putInt(2);
        b.put((byte) 2).putInt(2);
        for (int p = 0; p < pages; p++) {
            boolean data = (p & 1) == 0;
            b.putLong((long) p * QemuStreamReader.PAGE_SIZE | (data ? 0x08 : 0x02) | (p == 0 ? 0 : 0x20));
            if (p == 0) b.put((byte) name.length).put(name);
            if (data) b.position(b.position() + QemuStreamReader.PAGE_SIZE);
            else b.put((byte) 0);
        }
        b.putLong(0x10).put((byte) 0x7E).putInt(2);
        b.put((byte) 3).putInt(2).putLong(0x10).put((byte) 0x7E).putInt(2).put((byte) 0);
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
