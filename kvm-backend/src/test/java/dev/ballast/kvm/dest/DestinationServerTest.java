package dev.ballast.kvm.dest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.wire.PageSource;
import dev.ballast.core.wire.PageStreamWriter;
import dev.ballast.core.wire.WireSecret;
import dev.ballast.kvm.backend.KvmMigrationTest;
import dev.ballast.kvm.backend.RemoteMigrationTest;
import dev.ballast.kvm.testing.KvmTests;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A live {@link DestinationServer} against hostile or slow peers on loopback: what a rejected
 * stream leaves behind, bytes after COMPLETE, handshake deadlines, the single guest slot shared
 * by concurrent connections, and the connection limit. Every slow peer here is bounded in time.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DestinationServerTest {
    static final long MEM = 64L << 20;
    static final RamLayout LAYOUT = RamLayout.pcLike(MEM);
    static final long HANDSHAKE_NS = 1_000_000_000L;
    static final long TIMEOUT_NS = 5_000_000_000L;

    final List<String> log = new CopyOnWriteArrayList<>();

    DestinationServer dest(WireSecret secret, int maxConnections) throws IOException {
        return DestinationServer.start(new DestinationServer.Options(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                secret,
                TIMEOUT_NS,
                1L << 30,
                0,
                null,
                null,
                line -> {
                    log.add(line);
                    System.out.println("[dest] " + line);
                },
                HANDSHAKE_NS,
                maxConnections));
    }

    /** Pages whose contents are a function of their place, or of their place and {@code salt}. */
    static PageSource pattern(long salt) {
        return (block, offset, count, dst, at) -> {
            for (long i = 0; i < (long) count * 4096; i += 8)
                dst.set(ValueLayout.JAVA_LONG_UNALIGNED, at + i, salt * 31 + offset * 4096 + i);
        };
    }

    /** A source end over a plain socket: the test drives the writer by hand. */
    record Source(SocketChannel channel, PageStreamWriter writer) implements AutoCloseable {
        static Source connect(InetSocketAddress to, long session, PageSource pages) throws IOException {
            return connect(to, session, pages, null);
        }

        static Source connect(InetSocketAddress to, long session, PageSource pages, Tail tail) throws IOException {
            SocketChannel ch = SocketChannel.open(to);
            WritableByteChannel out = tail == null ? ch : tail.wrap(ch);
            return new Source(ch, new PageStreamWriter(out, ch, pages, PageStreamWriter.Options.defaults(session)));
        }

        /** Opens the migration; returns the missing ranges as (block, offset, count). */
        List<long[]> open() throws LinkException {
            List<long[]> missing = new ArrayList<>();
            writer.open(LAYOUT, 0, (b, o, n) -> missing.add(new long[] {b, o, n}));
            return missing;
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** Appends bytes to the next write once armed: what a hostile source sends after COMPLETE. */
    static final class Tail {
        final AtomicBoolean armed = new AtomicBoolean();
        final byte[] bytes;

        Tail(byte[] bytes) {
            this.bytes = bytes;
        }

        WritableByteChannel wrap(SocketChannel ch) {
            return new WritableByteChannel() {
                @Override
                public int write(ByteBuffer src) throws IOException {
                    int n = src.remaining();
                    ByteBuffer all = src;
                    if (armed.getAndSet(false)) { // one write, so the bytes arrive with COMPLETE
                        all = ByteBuffer.allocate(n + bytes.length)
                                .put(src)
                                .put(bytes)
                                .flip();
                    }
                    while (all.hasRemaining()) ch.write(all);
                    return n;
                }

                @Override
                public boolean isOpen() {
                    return ch.isOpen();
                }

                @Override
                public void close() throws IOException {
                    ch.close();
                }
            };
        }
    }

    static boolean missing(List<long[]> ranges, int block, long page) {
        return ranges.stream().anyMatch(r -> r[0] == block && r[1] <= page && page < r[1] + r[2]);
    }

    /**
     * A stream that carries pages and is then rejected (here: it ends before COMPLETE) proves
     * nothing about them: a retry of the same session must be asked for them again. It was told
     * they had arrived, so an altered page of a rejected stream could reach a started guest.
     */
    @Test
    void shouldAskAgainForThePagesOfAStreamThatWasRejected() throws Exception {
        KvmTests.assumeKvm();
        try (DestinationServer d = dest(null, 4)) {
            long session = 0x5E55;
            try (Source first = Source.connect(d.address(), session, pattern(666))) {
                assertThat(missing(first.open(), 0, 100)).isTrue();
                first.writer().sendPages(0, 96, 8);
                first.writer().flush();
            }
            DestinationServer.Served s =
                    d.awaitServed(1, Duration.ofSeconds(10)).getLast();
            assertThat(s.outcome()).isEqualTo("rejected");
            assertThat(s.reason()).contains("TRUNCATED");
            assertThat(s.counters().pagesWritten()).isEqualTo(8);

            try (Source retry = Source.connect(d.address(), session, pattern(0))) {
                List<long[]> missing = retry.open();
                assertThat(missing(missing, 0, 96))
                        .as("page 96 of the rejected stream is asked for again")
                        .isTrue();
                assertThat(missing(missing, 0, 103))
                        .as("page 103 of the rejected stream is asked for again")
                        .isTrue();
            }
            assertThat(d.awaitServed(2, Duration.ofSeconds(10))
                            .getLast()
                            .counters()
                            .guestsCreated())
                    .as("a resume, not a new VM")
                    .isZero();
        }
    }

    /** Nothing may follow COMPLETE: bytes that arrived with it are refused, and the guest is not started. */
    @Test
    void shouldRefuseBytesAfterCompleteAndNotStartTheGuest() throws Exception {
        KvmTests.assumeKvm();
        try (DestinationServer d = dest(null, 4)) {
            Tail tail = new Tail(new byte[] {(byte) 0x11, (byte) 0xBA, 6, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0});
            try (Source s = Source.connect(d.address(), 7, pattern(1), tail)) {
                s.open();
                s.writer().sendPages(0, 0, 4);
                tail.armed.set(true); // the next write carries COMPLETE
                assertThatThrownBy(() -> s.writer().complete())
                        .isInstanceOf(LinkException.class)
                        .hasMessageContaining("UNEXPECTED_RECORD")
                        .hasMessageContaining("after COMPLETE");
            }
            DestinationServer.Served served =
                    d.awaitServed(1, Duration.ofSeconds(10)).getLast();
            assertThat(served.outcome()).isEqualTo("rejected");
            assertThat(served.reason()).contains("UNEXPECTED_RECORD");
            assertThat(served.guestStarted()).isFalse();
        }
    }

    /** Bytes sent after the COMPLETE_ACK are refused too (the guest has run its check by then: the migration is reported rejected). */
    @Test
    void shouldReportAStreamRejectedWhenBytesFollowItsCompleteAck() throws Exception {
        KvmTests.assumeKvm();
        try (DestinationServer d = dest(null, 4)) {
            try (Source s = Source.connect(d.address(), 8, pattern(1))) {
                s.open();
                s.writer().sendPages(0, 0, 4);
                s.writer().complete();
                s.channel().write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9}));
            }
            DestinationServer.Served served =
                    d.awaitServed(1, Duration.ofSeconds(10)).getLast();
            assertThat(served.outcome()).isEqualTo("rejected");
            assertThat(served.reason()).contains("UNEXPECTED_RECORD").contains("after COMPLETE");
            assertThat(log).anyMatch(l -> l.contains("rejected after its COMPLETE_ACK"));
        }
    }

    /** Sends {@code bytes} one at a time, {@code gapMs} apart, until done or the socket closes; returns when it stopped. */
    static Thread trickle(InetSocketAddress to, byte[] bytes, long gapMs, AtomicBoolean dropped) {
        return Thread.ofPlatform().name("trickler").start(() -> {
            try (Socket s = new Socket()) {
                s.connect(to, 2000);
                OutputStream out = s.getOutputStream();
                s.setSoTimeout((int) gapMs);
                for (byte b : bytes) {
                    out.write(b);
                    out.flush();
                    try {
                        if (s.getInputStream().read() < 0) break; // closed by the destination
                    } catch (java.net.SocketTimeoutException still) {
                        // nothing from the destination yet: go on trickling
                    }
                }
            } catch (IOException closed) {
                // the destination dropped the connection
            }
            dropped.set(true);
        });
    }

    /** A valid start of a stream (a HELLO of {@link #LAYOUT}) to trickle. */
    static byte[] helloBytes() {
        ByteBuffer b = ByteBuffer.allocate(24 + 17 + 7).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0xBA11).put((byte) 1).put((byte) 0).putInt(b.capacity() - 8);
        b.putShort((short) dev.ballast.core.wire.WireFormat.VERSION)
                .put((byte) 0)
                .put((byte) 0)
                .putInt(1)
                .putLong(99);
        b.putLong(0).putLong(LAYOUT.totalPages()).put((byte) 7).put("ram-low".getBytes(StandardCharsets.US_ASCII));
        return b.array();
    }

    /** A valid AUTH_INIT (mechanism 1, a zero nonce) to trickle. */
    static byte[] authInitBytes() {
        ByteBuffer b = ByteBuffer.allocate(48).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0xBA11).put((byte) 10).put((byte) 0).putInt(40).putShort((short) 1);
        return b.array();
    }

    /**
     * A peer that sends a byte every 200 ms never stalls, but must finish its handshake within
     * the deadline; it used to be served until the end, and every other source waited.
     */
    @Test
    void shouldDropAPeerThatTricklesItsHandshake() throws Exception {
        KvmTests.assumeKvm();
        try (DestinationServer d = dest(null, 4)) {
            AtomicBoolean dropped = new AtomicBoolean();
            long t0 = System.nanoTime();
            Thread t = trickle(d.address(), helloBytes(), 200, dropped);
            t.join(15_000);
            assertThat(dropped).isTrue();
            assertThat((System.nanoTime() - t0) / 1e9)
                    .as("dropped near its deadline of 1 s")
                    .isLessThan(5);
            DestinationServer.Served s = d.awaitServed(1, Duration.ofSeconds(5)).getLast();
            assertThat(s.outcome()).isEqualTo("lost");
            assertThat(s.reason())
                    .contains("no authentication and HELLO within 1000 ms")
                    .contains("--handshake-timeout");
        }
    }

    /**
     * While one peer trickles (before HELLO, or with a secret before its AUTH_INIT is whole), a
     * real migration is served at once, in one attempt.
     */
    @Test
    void shouldServeARealSourceWhileAnotherTricklesItsFirstMessage() throws Exception {
        KvmTests.assumeKvm();
        WireSecret secret = WireSecret.of("correct horse battery staple".getBytes(StandardCharsets.US_ASCII));
        for (WireSecret sec : new WireSecret[] {null, secret}) {
            try (DestinationServer d = dest(sec, 4)) {
                AtomicBoolean dropped = new AtomicBoolean();
                byte[] first = sec == null ? helloBytes() : authInitBytes();
                Thread t =
                        trickle(d.address(), first, 300, dropped); // 48 bytes: 14 s, longer than the source's timeout
                Thread.sleep(200); // it is connected and trickling
                RunReport r = RemoteMigrationTest.run(
                        KvmMigrationTest.scenario(MEM, "idle", "hint"), d.address(), sec, TIMEOUT_NS);
                KvmMigrationTest.assertVerified(r);
                assertThat(r.attempts())
                        .as("no attempt waited for the trickler")
                        .hasSize(1);
                t.join(20_000);
                assertThat(dropped).isTrue();
            }
        }
    }

    /** One guest at a time: a second migration waits for the slot up to the deadline, then is told the destination is busy. */
    @Test
    void shouldTellASecondSourceThatTheDestinationIsBusyAndServeItOnceFree() throws Exception {
        KvmTests.assumeKvm();
        try (DestinationServer d = dest(null, 4)) {
            try (Source a = Source.connect(d.address(), 1, pattern(1))) {
                a.open();
                a.writer().sendPages(0, 0, 16);
                a.writer().flush();
                long t0 = System.nanoTime();
                try (Source b = Source.connect(d.address(), 2, pattern(2))) {
                    assertThatThrownBy(b::open)
                            .isInstanceOf(LinkException.class)
                            .hasMessageContaining("REFUSED: busy")
                            .hasMessageContaining("one migration at a time");
                }
                assertThat((System.nanoTime() - t0) / 1e9)
                        .as("refused after the 1 s wait")
                        .isBetween(0.8, 4.0);
                DestinationServer.Served busy =
                        d.awaitServed(1, Duration.ofSeconds(5)).getLast();
                assertThat(busy.outcome()).isEqualTo("busy");
                assertThat(busy.counters().pagesWritten()).isZero();
            }
            // a has gone: the slot is free
            try (Source c = Source.connect(d.address(), 3, pattern(3))) {
                assertThat(c.open()).isNotEmpty();
            }
        }
    }

    /** A retry of the migration that holds the slot (same session) replaces its stale connection at once. */
    @Test
    void shouldLetARetryOfTheSameMigrationReplaceItsStaleConnection() throws Exception {
        KvmTests.assumeKvm();
        try (DestinationServer d = dest(null, 4)) {
            try (Source stale = Source.connect(d.address(), 42, pattern(1))) {
                stale.open();
                stale.writer().sendPages(0, 0, 16);
                stale.writer().flush();
                long t0 = System.nanoTime();
                try (Source retry = Source.connect(d.address(), 42, pattern(1))) {
                    assertThat(missing(retry.open(), 0, 0)).isTrue();
                }
                assertThat((System.nanoTime() - t0) / 1e9)
                        .as("not after a deadline")
                        .isLessThan(0.9);
            }
            List<DestinationServer.Served> served = d.awaitServed(2, Duration.ofSeconds(5));
            assertThat(served.getFirst().outcome()).isEqualTo("lost");
            assertThat(served.getFirst().reason()).contains("replaced by a retry of the same migration");
            assertThat(served.get(1).counters().guestsCreated())
                    .as("the retry resumed the stale one's VM")
                    .isZero();
        }
    }

    /** Past the connection limit, a connection is answered REFUSED at once and closed; memory for connections is bounded. */
    @Test
    void shouldRefuseAConnectionPastTheLimit() throws Exception {
        KvmTests.assumeKvm();
        try (DestinationServer d = dest(null, 2);
                Socket idle1 = new Socket(d.address().getAddress(), d.address().getPort());
                Socket idle2 = new Socket(d.address().getAddress(), d.address().getPort())) {
            Thread.sleep(200);
            try (Source third = Source.connect(d.address(), 5, pattern(5))) {
                assertThatThrownBy(third::open)
                        .isInstanceOf(LinkException.class)
                        .hasMessageContaining("busy: 2 connections already");
            }
            DestinationServer.Served s = d.awaitServed(1, Duration.ofSeconds(5)).getFirst();
            assertThat(s.outcome()).isEqualTo("busy");
            assertThat(idle1.isClosed() || idle2.isClosed()).isFalse();
        }
    }

    @Test
    void shouldRefuseAHandshakeDeadlineOfZero() {
        assertThatThrownBy(() -> new DestinationServer.Options(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        null,
                        0,
                        1L << 30,
                        0,
                        null,
                        null,
                        l -> {},
                        0,
                        4))
                .hasMessageContaining("handshake-timeout");
    }
}
