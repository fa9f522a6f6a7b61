package dev.ballast.kvm.dest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.wire.Hello;
import dev.ballast.core.wire.HostileStreams;
import dev.ballast.core.wire.PageSink;
import dev.ballast.core.wire.PageStreamReader;
import dev.ballast.core.wire.PageStreamWriter;
import dev.ballast.core.wire.Verdict;
import dev.ballast.core.wire.WireException;
import dev.ballast.kvm.backend.KvmMigrationTest;
import dev.ballast.kvm.backend.RemoteMigrationTest;
import dev.ballast.kvm.guest.GuestState;
import dev.ballast.kvm.mem.GuestLayout;
import dev.ballast.kvm.net.MemoryPipe;
import dev.ballast.kvm.testing.KvmTests;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Generated hostile streams (valid streams of a KVM guest's layout, mutated by the core's
 * {@link HostileStreams}) sent over TCP to a live {@link DestinationServer}. For each one, a
 * reference reader in this test says what a correct destination applies before it rejects the
 * stream; the live destination must have applied exactly that (so nothing of the rejected record,
 * nor anything after it), must never start a guest, must answer with a rejection, and must still
 * serve a good migration afterwards.
 */
class HostileStreamsAgainstDestTest {
    static final long MEM = 64L << 20;
    static final long MAX = 1L << 30;
    static final int STREAMS = 60;
    static final int MUTANTS = 10;

    /** Counts what a destination applies; accepts layouts as {@link GuestSink} does. */
    static class CountingSink implements PageSink {
        long pages;
        long fills;
        long balloons;
        long state;

        @Override
        public void open(Hello h, PageRanges missing) throws WireException {
            RamLayout l = h.layout();
            long bytes = l.totalPages() * RamLayout.PAGE_SIZE;
            RamLayout pc = RamLayout.pcLike(bytes);
            boolean same = pc.blockCount() == l.blockCount()
                    && l.blocks().stream().allMatch(b -> {
                        var p = pc.blockNamed(b.name());
                        return p != null && p.firstPfn() == b.firstPfn() && p.pages() == b.pages();
                    });
            if (bytes % GuestLayout.HUGE_PAGE != 0 || !same || bytes > MAX)
                throw new WireException(WireException.Reason.REFUSED, "not a guest layout");
            for (var b : l.blocks()) missing.range(b.index(), 0, b.pages());
        }

        @Override
        public void writePages(int block, long offset, int count, ByteBuffer data) {
            pages += count;
        }

        @Override
        public void fill(int block, long offset, long count, int fillByte) {
            fills += count;
        }

        @Override
        public void balloon(int block, long offset, long count, boolean ballooned) {
            balloons++;
        }

        @Override
        public void state(int section, long total, long offset, ByteBuffer data) throws WireException {
            // as GuestSink: the system slot's size, the vCPU section's size, nothing else
            if (section == GuestState.SECTION_SYSTEM
                    && total != GuestLayout.forRam(MEM).systemBytes()) {
                throw new WireException(WireException.Reason.BAD_LENGTH, "size");
            }
            if (section == GuestState.SECTION_VCPU && total != GuestState.VCPU_BYTES)
                throw new WireException(WireException.Reason.BAD_LENGTH, "size");
            if (section != GuestState.SECTION_SYSTEM && section != GuestState.SECTION_VCPU)
                throw new WireException(WireException.Reason.REFUSED, "section");
            state += data.remaining();
        }

        @Override
        public Verdict complete() {
            return Verdict.of(0, 0, false, "no state");
        }
    }

    /** A valid stream of a 64 MiB guest: pages, fills, balloon ranges, two iterations, a state section. */
    static byte[] validStream(long seed) throws Exception {
        RamLayout layout = RamLayout.pcLike(MEM);
        SplittableRandom r = new SplittableRandom(seed);
        MemoryPipe toDest = new MemoryPipe(16 << 20);
        MemoryPipe toSource = new MemoryPipe(1 << 20);
        ByteArrayOutputStream copy = new ByteArrayOutputStream();
        WritableByteChannel tee = new WritableByteChannel() {
            @Override
            public int write(ByteBuffer src) throws IOException {
                ByteBuffer dup = src.duplicate();
                byte[] b = new byte[dup.remaining()];
                dup.get(b);
                copy.write(b);
                return toDest.sink().write(src);
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() throws IOException {
                toDest.sink().close();
            }
        };
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                new PageStreamReader(toDest.source(), toSource.sink(), layout, new CountingSink() {
                            @Override
                            public void state(int section, long total, long offset, ByteBuffer data) {}
                        })
                        .run();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        PageStreamWriter w = new PageStreamWriter(
                tee,
                toSource.source(),
                (block, offset, count, dst, at) -> {
                    for (long i = 0; i < (long) count * 4096; i += 8)
                        dst.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, at + i, seed * 31 + offset + i);
                },
                new PageStreamWriter.Options(seed, 1 + r.nextInt(8), 1 + r.nextInt(4), 0));
        w.open(layout, 0, (b, o, c) -> {});
        long pages = layout.totalPages();
        for (int it = 1; it <= 2; it++) {
            for (int k = 0; k < 4 + r.nextInt(4); k++) {
                long off = r.nextLong(pages - 16);
                switch (r.nextInt(3)) {
                    case 0 -> w.sendPages(0, off, 1 + r.nextInt(12));
                    case 1 -> w.sendFill(0, off, 1 + r.nextInt(12), r.nextInt(4) == 0 ? 0xAA : 0);
                    default -> w.sendBalloon(0, off, 1 + r.nextInt(12), r.nextBoolean());
                }
            }
            w.endIteration(it);
        }
        w.sendState(GuestState.SECTION_VCPU, MemorySegment.ofArray(new byte[(int) GuestState.VCPU_BYTES]));
        w.complete();
        reader.join();
        return copy.toByteArray();
    }

    /** What a correct destination applies of this stream, and whether it rejects it. */
    record Expected(CountingSink applied, boolean rejected) {}

    static Expected reference(byte[] stream) throws IOException {
        CountingSink sink = new CountingSink();
        PageStreamReader r = PageStreamReader.adoptingLayout(
                Channels.newChannel(new java.io.ByteArrayInputStream(stream)),
                Channels.newChannel(OutputStream.nullOutputStream()),
                sink);
        try {
            r.run();
            return new Expected(sink, false);
        } catch (WireException e) {
            return new Expected(sink, true);
        }
    }

    /** Sends a stream, reads the answers to the end; returns the type of the last answer record and its status/code. */
    static int[] send(InetSocketAddress to, byte[] stream) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(to, 5000);
            s.setSoTimeout(20_000);
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    out.write(stream);
                    out.flush();
                    s.shutdownOutput();
                } catch (IOException ignored) {
                    // the destination may close first, having rejected the stream
                }
            });
            byte[] answers;
            try (InputStream in = s.getInputStream()) {
                answers = in.readAllBytes();
            } catch (IOException e) {
                answers = new byte[0];
            }
            try {
                writer.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ByteBuffer b = ByteBuffer.wrap(answers).order(ByteOrder.LITTLE_ENDIAN);
            int last = -1;
            int status = -1;
            for (int at = 0; at + 8 <= answers.length; ) {
                last = answers[at + 2] & 0xFF;
                status = at + 10 <= answers.length ? b.getShort(at + 8) & 0xFFFF : -1;
                at += 8 + b.getInt(at + 4);
            }
            return new int[] {last, status};
        }
    }

    @Test
    void shouldRejectEveryHostileStreamWithoutWritingAndServeAGoodMigrationAfter() throws Exception {
        KvmTests.assumeKvm();
        try (DestinationServer d = DestinationServer.start(new DestinationServer.Options(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                null,
                5_000_000_000L,
                MAX,
                0,
                null,
                null,
                line -> {}))) {
            Set<String> distinct = new HashSet<>();
            int sent = 0;
            int rejected = 0;
            for (long seed = 1; seed <= STREAMS; seed++) {
                byte[] valid = validStream(seed);
                for (int m = 0; m < MUTANTS; m++) {
                    long mseed = seed * 1000 + m;
                    byte[] hostile = HostileStreams.mutate(valid, RamLayout.pcLike(MEM), mseed, 1 + m % 3);
                    Expected e = reference(hostile);
                    int[] answer = send(d.address(), hostile);
                    List<DestinationServer.Served> served = d.awaitServed(++sent, Duration.ofSeconds(30));
                    DestinationServer.Served s = served.getLast();
                    String what = "stream " + seed + "/" + mseed + " (" + s.outcome() + ": " + s.reason() + ")";
                    assertThat(s.guestStarted()).as(what + ": no guest starts").isFalse();
                    assertThat(s.counters().pagesWritten())
                            .as(what + ": pages written")
                            .isEqualTo(e.applied().pages);
                    assertThat(s.counters().pagesFilled())
                            .as(what + ": pages filled")
                            .isEqualTo(e.applied().fills);
                    assertThat(s.counters().balloonRanges())
                            .as(what + ": balloon ranges")
                            .isEqualTo(e.applied().balloons);
                    assertThat(s.counters().stateBytes())
                            .as(what + ": state bytes")
                            .isEqualTo(e.applied().state);
                    if (e.rejected()) {
                        rejected++;
                        distinct.add(java.util.HexFormat.of()
                                .formatHex(java.security.MessageDigest.getInstance("SHA-256")
                                        .digest(hostile)));
                        assertThat(s.outcome()).as(what).isEqualTo("rejected");
                        boolean refusal = answer[0] == 2 && answer[1] != 0;
                        boolean error = answer[0] == 9;
                        assertThat(refusal || error || answer[0] == -1)
                                .as(what + ": answered with a rejection, got type " + answer[0])
                                .isTrue();
                    }
                }
            }
            System.out.println(
                    "[wire] distinct malformed streams sent to a live ballast dest, all rejected, none writing past its last valid record: "
                            + distinct.size() + " (of " + sent + " sent; " + rejected + " rejected)");
            assertThat(distinct.size()).isGreaterThan(STREAMS * MUTANTS / 2);

            RunReport ok = RemoteMigrationTest.run(
                    KvmMigrationTest.scenario(MEM, "compile", "hint"), d.address(), null, 5_000_000_000L);
            KvmMigrationTest.assertVerified(ok);
        }
    }
}
