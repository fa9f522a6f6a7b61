package dev.ballast.kvm.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.wire.Hello;
import dev.ballast.core.wire.PageSink;
import dev.ballast.core.wire.PageStreamReader;
import dev.ballast.core.wire.Verdict;
import dev.ballast.core.wire.WireException;
import dev.ballast.core.wire.WireFormat;
import dev.ballast.kvm.testing.KvmTests;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A KVM source in postcopy against a hostile destination on loopback (a page stream reader that takes the stream and
 * runs no guest): after its SWITCH_OVER_ACK it answers with a record the source must not serve. The source refuses it with
 * one line that names the reason and the record's stream offset on the return direction, tells the destination in
 * ERROR, and, its recoveries refused, fails the migration as one whose guest is split (invariant 6) rather than
 * retrying from its paused guest. (Where the source had sent COMPLETE before it read the record, it recovers from
 * there: a COMPLETE without its COMPLETE_ACK does not end a postcopy migration.)
 */
class HostilePostcopyDestinationTest {
    /**
     * A guest that writes 200 MiB/s against a downtime limit of 0.1 ms: pre-copy cannot meet it after its first pass
     * (the plain postcopy scenario's guest, at a light load, sometimes could, and the migration never switched over).
     * On a 200 Mbit/s link: its guest dirties nearly every page during the 2.7 s of pass 1, so postcopy has most of
     * them to push and the hostile record, written at the first record after the switch-over, reaches the source long
     * before it could send COMPLETE (on a link without a limit postcopy could be over at once, and a COMPLETE_ACK
     * sent then is a due answer, refused for its digest instead).
     */
    static dev.ballast.core.run.Scenario scenario() {
        return KvmMigrationTest.scenario(64L << 20, "random-write,rate=200MiB/s", "legacy")
                .withLimits(200_000_000L, 100_000L, 30, 0)
                .withPostcopy(dev.ballast.core.engine.Postcopy.parse("1"));
    }

    /** The 64 MiB guest's one block (pages). */
    static final long PAGES = 16384;

    /** A PAGE_REQUEST with every field as given (little-endian), {@code length} in its header. */
    static ByteBuffer request(int type, int length, long block, long reserved, long offset, long count) {
        ByteBuffer b = ByteBuffer.allocate(WireFormat.PAGE_REQUEST_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(WireFormat.MAGIC_OFFSET, (short) WireFormat.MAGIC);
        b.put(WireFormat.TYPE_OFFSET, (byte) type);
        b.put(WireFormat.FLAGS_OFFSET, (byte) 0);
        b.putInt(WireFormat.LENGTH_OFFSET, length - WireFormat.HEADER_LENGTH);
        b.putInt(WireFormat.REQUEST_BLOCK_OFFSET, (int) block);
        b.putInt(WireFormat.REQUEST_RESERVED_OFFSET, (int) reserved);
        b.putLong(WireFormat.REQUEST_PAGE_OFFSET, offset);
        b.putLong(WireFormat.REQUEST_COUNT_OFFSET, count);
        return b;
    }

    /** Counts what goes to the source: the stream offset of the hostile record. */
    static final class Counting implements WritableByteChannel {
        final WritableByteChannel out;
        long written;

        Counting(WritableByteChannel out) {
            this.out = out;
        }

        @Override
        public synchronized int write(ByteBuffer src) throws IOException {
            int n = out.write(src);
            written += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return out.isOpen();
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    /**
     * Takes one migration; at SWITCH_OVER writes {@code hostile} on the return direction; records the offset it went
     * at and the ERROR the source answered with. Further connections (the source's recoveries) are refused.
     */
    static final class Hostile implements AutoCloseable {
        final ServerSocketChannel server;
        final Thread thread;
        volatile long hostileAt = -1;
        final AtomicReference<String> sourceSaid = new AtomicReference<>();

        Hostile(ByteBuffer hostile) throws IOException {
            this(hostile, false);
        }

        /** @param beforeAck the hostile record goes before the SWITCH_OVER_ACK (the switch-over is not done yet) */
        Hostile(ByteBuffer hostile, boolean beforeAck) throws IOException {
            server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            thread = Thread.ofPlatform().daemon().start(() -> {
                try (SocketChannel ch = server.accept()) {
                    server.close(); // the recoveries find no one
                    Counting out = new Counting(ch);
                    PageSink sink = new PageSink() {
                        boolean switched;
                        boolean sent;

                        /** After the switch-over (its SWITCH_OVER_ACK is out), at the first record: the hostile one. */
                        void after() {
                            if (switched && !sent) hostile();
                        }

                        void hostile() {
                            sent = true;
                            synchronized (out) {
                                hostileAt = out.written;
                                try {
                                    while (hostile.hasRemaining()) out.write(hostile);
                                } catch (IOException e) {
                                    throw new IllegalStateException(e);
                                }
                            }
                        }

                        @Override
                        public void open(Hello h, PageRanges missing) {
                            for (RamBlock b : h.layout().blocks()) missing.range(b.index(), 0, b.pages());
                        }

                        @Override
                        public void writePages(int block, long offset, int count, ByteBuffer data) {
                            after();
                        }

                        @Override
                        public void fill(int block, long offset, long count, int fillByte) {
                            after();
                        }

                        @Override
                        public void balloon(int block, long offset, long count, boolean ballooned) {}

                        @Override
                        public void state(int section, long total, long offset, ByteBuffer data) {}

                        @Override
                        public void discard(int block, long offset, long count) {}

                        @Override
                        public void balloonBitmap(int block, long offset, long count, boolean ballooned) {}

                        @Override
                        public void iterationEnd(int iteration) {
                            after();
                        }

                        @Override
                        public void switchOver() {
                            switched = true;
                            if (beforeAck) hostile();
                        }

                        @Override
                        public Verdict complete() {
                            return Verdict.of(0, 0, false, "a hostile destination runs no guest");
                        }
                    };
                    try (PageStreamReader r = PageStreamReader.adoptingLayout(ch, out, sink)) {
                        r.run();
                        // the source may have sent COMPLETE before it read the hostile record: its ERROR follows
                        r.step();
                    } catch (WireException e) {
                        sourceSaid.set(e.getMessage());
                    }
                } catch (IOException | RuntimeException e) {
                    sourceSaid.compareAndSet(null, "lost: " + e);
                }
            });
        }

        InetSocketAddress address() throws IOException {
            return (InetSocketAddress) server.getLocalAddress();
        }

        @Override
        public void close() throws IOException {
            server.close();
            try {
                thread.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "UNKNOWN_BLOCK, 17, 32, 7, 0, 0, 1",
        "BAD_COUNT,     17, 32, 0, 0, 0, 1025",
        "BAD_LENGTH,    17, 40, 0, 0, 0, 1",
        "UNEXPECTED_RECORD, 8, 32, 0, 0, 0, 1",
    })
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void shouldRefuseAHostileAnswerInPostcopyWithItsOffsetAndNotRetryFromThePausedGuest(
            String reason, int type, int length, long block, long reserved, long offset, long count) throws Exception {
        KvmTests.assumeKvm();
        ByteBuffer hostile = request(type, length, block, reserved, offset, count);
        if (length > WireFormat.PAGE_REQUEST_LENGTH) {
            // the header claims more than a PAGE_REQUEST: it is refused from the header alone
            hostile = ByteBuffer.allocate(length).put(hostile).flip();
        }
        if (type == 8) {
            // a COMPLETE_ACK before COMPLETE: a well-formed answer, sent the wrong way round
            hostile = ByteBuffer.allocate(WireFormat.VERDICT_MESSAGE_OFFSET).order(ByteOrder.LITTLE_ENDIAN);
            hostile.putShort(0, (short) WireFormat.MAGIC)
                    .put(2, (byte) 8)
                    .putInt(4, WireFormat.VERDICT_MESSAGE_OFFSET - 8);
        }
        try (Hostile d = new Hostile(hostile)) {
            RunReport r = RemoteMigrationTest.run(scenario(), d.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            d.thread.join(TimeUnit.SECONDS.toMillis(30));
            long at = d.hostileAt;
            assertThat(at).as("the destination reached the switch-over").isPositive();
            String expected = reason + ": ";
            // the source's one line: the reason, the record, its offset on the return direction
            String cause = r.attempts().getFirst().cause();
            assertThat(cause).contains(expected).contains("stream offset " + at);
            // and the destination was told the same, where it could read it: a reader takes nothing after COMPLETE
            // (if the source had sent it before it read the hostile record, its ERROR comes after, refused unread),
            // and the source closes after its ERROR (the destination may see the connection reset first)
            String said = d.sourceSaid.get();
            if (said != null && said.startsWith("PEER_ERROR"))
                assertThat(said).contains(expected).contains("stream offset " + at);
            // the guest ran on the destination's side of the switch-over: not retried from the paused source
            assertThat(r.outcome()).isEqualTo("failed");
            assertThat(r.attempts()).hasSize(1);
            assertThat(r.verify().violation()).startsWith("invariant 6").contains("split");
        }
    }

    /**
     * The same hostile record before the SWITCH_OVER_ACK: the switch-over did not happen, so the source refuses it with
     * its offset and fails the attempt as a pre-copy one: its guest runs on (no invariant broken), and its retries find
     * no destination.
     */
    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void shouldFailTheSwitchOverOnAHostileAnswerBeforeItsAcknowledgement() throws Exception {
        KvmTests.assumeKvm();
        try (Hostile d = new Hostile(request(17, 32, 7, 0, 0, 1), true)) {
            RunReport r = RemoteMigrationTest.run(scenario(), d.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            assertThat(r.attempts().getFirst().cause())
                    .contains("UNKNOWN_BLOCK: PAGE_REQUEST record at stream offset " + d.hostileAt);
            assertThat(r.outcome()).isEqualTo("failed");
            assertThat(r.attempts()).hasSizeGreaterThan(1);
            assertThat(r.verify().violation()).as("the source's guest ran on").isNull();
            assertThat(r.postcopy()).as("no switch-over").isNull();
        }
    }

    /** A recovering HELLO_ACK whose missing range runs past its block: refused with its offset on the new connection. */
    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void shouldRefuseARecoveryAckThatRunsPastItsBlock() throws Exception {
        KvmTests.assumeKvm();
        // covered through the writer in core (PageStreamWriterPostcopyTest); here the whole source, once
        ServerSocketChannel server =
                ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        AtomicReference<String> sourceSaid = new AtomicReference<>();
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            try {
                // the first connection: a destination that cuts the link at the switch-over
                try (SocketChannel ch = server.accept()) {
                    PageSink cut = new PageSink() {
                        boolean switched;

                        /** The first record after the switch-over (its SWITCH_OVER_ACK is out): the link is cut. */
                        void after() {
                            if (!switched) return;
                            try {
                                ch.shutdownOutput(); // both directions end
                                ch.shutdownInput();
                            } catch (IOException ignored) {
                                // cut
                            }
                        }

                        @Override
                        public void open(Hello h, PageRanges missing) {
                            for (RamBlock b : h.layout().blocks()) missing.range(b.index(), 0, b.pages());
                        }

                        @Override
                        public void writePages(int block, long offset, int count, ByteBuffer data) {
                            after();
                        }

                        @Override
                        public void fill(int block, long offset, long count, int fillByte) {
                            after();
                        }

                        @Override
                        public void iterationEnd(int iteration) {
                            after();
                        }

                        @Override
                        public void balloon(int block, long offset, long count, boolean ballooned) {}

                        @Override
                        public void state(int section, long total, long offset, ByteBuffer data) {}

                        @Override
                        public void discard(int block, long offset, long count) {}

                        @Override
                        public void switchOver() {
                            switched = true;
                        }

                        @Override
                        public Verdict complete() {
                            return Verdict.of(0, 0, false, "no guest");
                        }
                    };
                    try (PageStreamReader r = PageStreamReader.adoptingLayout(ch, ch, cut)) {
                        r.run();
                    } catch (IOException | WireException | RuntimeException e) {
                        // the cut
                    }
                }
                // each recovery: its HELLO read raw, a hostile HELLO_ACK answered (the source tries a few times)
                for (int attempt = 0; ; attempt++)
                    try (SocketChannel ch = server.accept()) {
                        ByteBuffer head =
                                ByteBuffer.allocate(WireFormat.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
                        while (head.hasRemaining()) if (ch.read(head) < 0) break;
                        if (head.hasRemaining()) continue;
                        ByteBuffer hello = ByteBuffer.allocate(head.getInt(WireFormat.LENGTH_OFFSET))
                                .order(ByteOrder.LITTLE_ENDIAN);
                        while (hello.hasRemaining()) if (ch.read(hello) < 0) break;
                        if (hello.hasRemaining()) continue;
                        long session = hello.getLong(WireFormat.HELLO_SESSION_OFFSET - WireFormat.HEADER_LENGTH);
                        ByteBuffer ack = ByteBuffer.allocate(WireFormat.ACK_RANGES_OFFSET + 24)
                                .order(ByteOrder.LITTLE_ENDIAN);
                        ack.putShort(0, (short) WireFormat.MAGIC)
                                .put(2, (byte) 2)
                                .putInt(4, ack.capacity() - 8);
                        ack.putInt(WireFormat.ACK_RANGE_COUNT_OFFSET, 1)
                                .putLong(WireFormat.ACK_SESSION_OFFSET, session);
                        ack.putLong(WireFormat.ACK_RANGES_OFFSET + 8, PAGES - 2)
                                .putLong(WireFormat.ACK_RANGES_OFFSET + 16, 10);
                        while (ack.hasRemaining()) ch.write(ack);
                        // the source's answer: ERROR, its reason's code, its message
                        ByteBuffer err = ByteBuffer.allocate(2048).order(ByteOrder.LITTLE_ENDIAN);
                        while (ch.read(err) > 0) {}
                        err.flip();
                        if (attempt == 0 && err.remaining() > WireFormat.ERROR_MESSAGE_OFFSET) {
                            byte[] m = new byte[err.remaining() - WireFormat.ERROR_MESSAGE_OFFSET];
                            err.get(WireFormat.ERROR_MESSAGE_OFFSET, m);
                            sourceSaid.set("type " + err.get(WireFormat.TYPE_OFFSET) + " code "
                                    + err.getShort(WireFormat.ERROR_CODE_OFFSET) + ": "
                                    + new String(m, java.nio.charset.StandardCharsets.UTF_8));
                        }
                    }
            } catch (java.nio.channels.ClosedChannelException e) {
                // the test is over
            } catch (IOException e) {
                sourceSaid.compareAndSet(null, "lost: " + e);
            }
        });
        try {
            RunReport r = RemoteMigrationTest.run(
                    scenario(), (InetSocketAddress) server.getLocalAddress(), null, RemoteMigrationTest.TIMEOUT_NS);
            String cause = r.attempts().getFirst().cause();
            assertThat(cause).contains("OUT_OF_RANGE: HELLO_ACK record at stream offset 0");
            assertThat(sourceSaid.get())
                    .startsWith("type 9 code " + WireException.Reason.OUT_OF_RANGE.code() + ": ")
                    .contains("HELLO_ACK record at stream offset 0");
            assertThat(r.outcome()).isEqualTo("failed");
            assertThat(r.verify().violation()).startsWith("invariant 6");
        } finally {
            server.close();
        }
    }
}
