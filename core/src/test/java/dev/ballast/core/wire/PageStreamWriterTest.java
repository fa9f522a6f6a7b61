package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireFormat.*;
import static dev.ballast.core.wire.WireTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.WireTestSupport.AnswerChannel;
import dev.ballast.core.wire.WireTestSupport.Collector;
import dev.ballast.core.wire.WireTestSupport.Rec;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AfterContainer;

class PageStreamWriterTest {

    private static final RamLayout L = layout("ram-low", 0, 64, "ram-high", 0x100000, 32);
    private static final long SESSION = 0x5E55;

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer acceptAll(RamLayout l) {
        long[] r = new long[3 * l.blockCount()];
        for (var b : l.blocks()) {
            r[3 * b.index()] = b.index();
            r[3 * b.index() + 2] = b.pages();
        }
        return concat(Frames.acceptance(SESSION, r, l.blockCount()));
    }

    /** A writer whose destination accepts everything, for tests that read what it wrote. */
    private record Rig(PageStreamWriter w, Collector out, AnswerChannel in) {}

    private static Rig rig(int maxPages, int maxRanges) throws LinkException {
        Collector out = new Collector();
        AnswerChannel in = new AnswerChannel().then(() -> acceptAll(L));
        PageStreamWriter w = new PageStreamWriter(
                out, in, new PatternSource(L), new PageStreamWriter.Options(SESSION, maxPages, maxRanges, 0));
        w.open(L, 0x5A, (b, o, n) -> {});
        return new Rig(w, out, in);
    }

    // ------------------------------------------------------------------ layout on the wire

    @Example
    void shouldLayOutHelloAsDocumented() throws LinkException {
        Rig r = rig(4, 4);
        r.w().flush();
        byte[] s = r.out().toByteArray();
        ByteBuffer b = le(s);
        assertThat(b.getShort(MAGIC_OFFSET) & 0xFFFF).isEqualTo(0xBA11);
        assertThat(s[TYPE_OFFSET]).isEqualTo((byte) 1);
        assertThat(s[FLAGS_OFFSET]).isZero();
        assertThat(b.getInt(LENGTH_OFFSET)).isEqualTo(s.length - HEADER_LENGTH).isEqualTo(16 + 17 + 7 + 17 + 8);
        assertThat(b.getShort(HELLO_VERSION_OFFSET)).isEqualTo((short) VERSION);
        assertThat(s[HELLO_POISON_OFFSET]).isEqualTo((byte) 0x5A);
        assertThat(b.getInt(HELLO_BLOCK_COUNT_OFFSET)).isEqualTo(2);
        assertThat(b.getLong(HELLO_SESSION_OFFSET)).isEqualTo(SESSION);
        int e = HELLO_BLOCKS_OFFSET;
        assertThat(b.getLong(e + BLOCK_FIRST_PFN_OFFSET)).isZero();
        assertThat(b.getLong(e + BLOCK_PAGES_OFFSET)).isEqualTo(64);
        assertThat(s[e + BLOCK_NAME_LENGTH_OFFSET]).isEqualTo((byte) 7);
        assertThat(new String(s, e + BLOCK_NAME_OFFSET, 7)).isEqualTo("ram-low");
        e += 17 + 7;
        assertThat(b.getLong(e + BLOCK_FIRST_PFN_OFFSET)).isEqualTo(0x100000);
        assertThat(new String(s, e + BLOCK_NAME_OFFSET, 8)).isEqualTo("ram-high");
    }

    @Example
    void shouldCoalesceConsecutivePagesUpToTheLimit() throws LinkException {
        Rig r = rig(4, 4);
        r.w().sendPages(0, 0, 3);
        r.w().sendPages(0, 3, 7); // continues: fills the first record to 4, then 4, then 2
        r.w().sendPages(0, 20, 1); // a gap: new record
        r.w().sendPages(1, 21, 1); // another block: new record
        r.w().flush();
        byte[] s = r.out().toByteArray();
        List<Rec> recs = records(s);
        assertThat(recs).extracting(Rec::type).containsExactly(1, 3, 3, 3, 3, 3);
        ByteBuffer b = le(s);
        long[][] expected = {{0, 4, 0}, {0, 4, 4}, {0, 2, 8}, {0, 1, 20}, {1, 1, 21}};
        for (int i = 0; i < expected.length; i++) {
            Rec rec = recs.get(i + 1);
            assertThat(new long[] {
                        b.getInt(rec.start() + PAGES_BLOCK_OFFSET),
                        b.getInt(rec.start() + PAGES_COUNT_OFFSET),
                        b.getLong(rec.start() + PAGES_PAGE_OFFSET)
                    })
                    .isEqualTo(expected[i]);
            assertThat(rec.length()).isEqualTo(PAGES_DATA_OFFSET + expected[i][1] * PAGE_SIZE);
        }
        // the contents are the source's, page by page
        byte[] page = new byte[PAGE_SIZE];
        pattern("ram-low", 5, 0, page);
        assertThat(java.util.Arrays.copyOfRange(
                        s,
                        recs.get(2).start() + PAGES_DATA_OFFSET + PAGE_SIZE,
                        recs.get(2).start() + PAGES_DATA_OFFSET + 2 * PAGE_SIZE))
                .isEqualTo(page);
    }

    @Example
    void shouldMergeAdjacentFillsOfOneValue() throws LinkException {
        Rig r = rig(4, 4);
        r.w().sendFill(0, 0, 10, 0);
        r.w().sendFill(0, 10, 5, 0); // merges
        r.w().sendFill(0, 15, 5, 0xAA); // another value
        r.w().sendFill(0, 30, 5, 0xAA); // a gap
        r.w().flush();
        byte[] s = r.out().toByteArray();
        List<Rec> recs = records(s).subList(1, 4);
        ByteBuffer b = le(s);
        assertThat(recs)
                .extracting(rec ->
                        b.getLong(rec.start() + FILL_PAGE_OFFSET) + "+" + b.getLong(rec.start() + FILL_COUNT_OFFSET)
                                + "=" + (b.get(rec.start() + FILL_BYTE_OFFSET) & 0xFF))
                .containsExactly("0+15=0", "15+5=170", "30+5=170");
    }

    @Example
    void shouldPackAscendingBalloonRangesIntoOneRecord() throws LinkException {
        Rig r = rig(4, 3);
        r.w().sendBalloon(0, 0, 2, true);
        r.w().sendBalloon(0, 2, 2, true); // touches: grows the range to [0, 4)
        r.w().sendBalloon(0, 10, 1, true);
        r.w().sendBalloon(0, 12, 1, true);
        r.w().sendBalloon(0, 14, 1, true); // a fourth range: new record (3 a record)
        r.w().sendBalloon(0, 1, 1, true); // goes backwards: new record
        r.w().sendBalloon(0, 5, 1, false); // another operation: new record
        r.w().flush();
        byte[] s = r.out().toByteArray();
        ByteBuffer b = le(s);
        List<String> got = new ArrayList<>();
        for (Rec rec : records(s).subList(1, records(s).size())) {
            StringBuilder sb = new StringBuilder(b.get(rec.start() + BALLOON_OP_OFFSET) == 1 ? "in" : "out");
            int n = b.getInt(rec.start() + BALLOON_RANGE_COUNT_OFFSET);
            assertThat(rec.length()).isEqualTo(BALLOON_RANGES_OFFSET + n * BALLOON_RANGE_LENGTH);
            for (int i = 0; i < n; i++) {
                int at = rec.start() + BALLOON_RANGES_OFFSET + i * BALLOON_RANGE_LENGTH;
                sb.append(' ').append(b.getLong(at)).append('+').append(b.getLong(at + 8));
            }
            got.add(sb.toString());
        }
        assertThat(got).containsExactly("in 0+4 10+1 12+1", "in 14+1", "in 1+1", "out 5+1");
    }

    @Example
    void shouldWriteIterationEndAndFlushIt() throws LinkException {
        Rig r = rig(4, 4);
        r.w().sendPages(0, 0, 1);
        int before = r.out().toByteArray().length;
        r.w().endIteration(1);
        byte[] s = r.out().toByteArray();
        assertThat(s.length).isGreaterThan(before);
        Rec last = records(s).getLast();
        assertThat(last.type()).isEqualTo(RecordType.ITERATION_END.code());
        assertThat(le(s).getInt(last.start() + ITERATION_OFFSET)).isEqualTo(1);
        assertThat(r.w().bytesWritten()).isEqualTo(s.length);
    }

    @Example
    void shouldRefuseCallsOutsideTheLayout() throws LinkException {
        Rig r = rig(4, 4);
        assertThatThrownBy(() -> r.w().sendPages(0, 60, 5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outside the layout");
        assertThatThrownBy(() -> r.w().sendPages(2, 0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> r.w().sendFill(0, 0, 0, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> r.w().sendFill(0, 0, 1, 256)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> r.w().sendBalloon(1, -1, 1, true)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> r.w().open(L, 0, (b, o, n) -> {})).isInstanceOf(IllegalStateException.class);
        PageStreamWriter fresh = new PageStreamWriter(
                new Collector(), new AnswerChannel(), new PatternSource(L), PageStreamWriter.Options.defaults(1));
        assertThatThrownBy(() -> fresh.sendPages(0, 0, 1))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("open() first");
        assertThatThrownBy(() -> new PageStreamWriter.Options(1, 0, 1, 0)).hasMessageContaining("maxPagesPerRecord=0");
        assertThatThrownBy(() -> new PageStreamWriter.Options(1, 1, MAX_RANGES_PER_RECORD + 1, 0))
                .hasMessageContaining("maxRangesPerRecord=65537");
    }

    // ------------------------------------------------------------------ the destination's answers

    private static LinkException openWith(Supplier<ByteBuffer> answer, Collector out) {
        PageStreamWriter w = new PageStreamWriter(
                out,
                new AnswerChannel().then(answer),
                new PatternSource(L),
                PageStreamWriter.Options.defaults(SESSION));
        try {
            w.open(L, 0, (b, o, n) -> {
                throw new AssertionError("a missing range from a bad answer");
            });
        } catch (LinkException e) {
            return e;
        }
        throw new AssertionError("accepted");
    }

    private static ByteBuffer ack(long session, long... ranges) {
        return Frames.acceptance(session, ranges, ranges.length / 3)[0];
    }

    @Example
    void shouldRejectMissingRangesThatDoNotFitTheLayout() {
        assertRejectedAnswer(() -> ack(SESSION, 0, 60, 5), WireException.Reason.OUT_OF_RANGE, "the block has 64 pages");
        assertRejectedAnswer(
                () -> ack(SESSION, 2, 0, 1), WireException.Reason.UNKNOWN_BLOCK, "the handshake has 2 blocks");
        assertRejectedAnswer(() -> ack(SESSION, 0, 0, 0), WireException.Reason.BAD_COUNT, "count 0");
        assertRejectedAnswer(
                () -> ack(SESSION, 0, 4, Long.MAX_VALUE), WireException.Reason.BAD_COUNT, "missing range 0");
        assertRejectedAnswer(
                () -> ack(SESSION, 0, 10, 5, 0, 12, 1), WireException.Reason.UNORDERED_RANGES, "overlaps or precedes");
        assertRejectedAnswer(
                () -> ack(SESSION, 1, 0, 1, 0, 0, 1), WireException.Reason.UNORDERED_RANGES, "missing range 1");
        assertRejectedAnswer(() -> ack(SESSION + 1), WireException.Reason.BAD_FIELD, "session 0x5e56, expected 0x5e55");
        assertRejectedAnswer(
                () -> Frames.verdict(Verdict.of(0, 0, true, "")),
                WireException.Reason.UNEXPECTED_RECORD,
                "expected HELLO_ACK");
        assertRejectedAnswer(
                () -> ByteBuffer.wrap(new byte[] {0x11, (byte) 0xBA, 2}),
                WireException.Reason.TRUNCATED,
                "3 bytes into a record header");
        assertRejectedAnswer(
                () -> ByteBuffer.allocate(0), WireException.Reason.TRUNCATED, "closed before it answered HELLO");
        assertRejectedAnswer(
                () -> {
                    ByteBuffer b = ack(SESSION, 0, 0, 1);
                    b.putInt(ACK_RANGE_COUNT_OFFSET, 2);
                    return b;
                },
                WireException.Reason.BAD_LENGTH,
                "does not match 2 ranges");
    }

    /** A bad answer fails the link with PROTOCOL and tells the destination why, with an ERROR. */
    private static void assertRejectedAnswer(Supplier<ByteBuffer> answer, WireException.Reason reason, String detail) {
        Collector out = new Collector();
        LinkException e = openWith(answer, out);
        assertThat(e.failureCause()).isEqualTo(FailureCause.PROTOCOL);
        assertThat(e.getMessage()).contains("bad answer from the destination: " + reason, detail);
        byte[] s = out.toByteArray();
        int[] last = lastAnswer(s);
        assertThat(last).isEqualTo(new int[] {RecordType.ERROR.code(), reason.code()});
    }

    @Example
    void shouldReportARefusalWithItsReason() {
        LinkException e = openWith(
                () -> Frames.refusal(SESSION, WireException.Reason.LAYOUT_MISMATCH, "block ram-high differs"),
                new Collector());
        assertThat(e.failureCause()).isEqualTo(FailureCause.PROTOCOL);
        assertThat(e.getMessage())
                .isEqualTo("the destination refused the migration: LAYOUT_MISMATCH: block ram-high differs");
        e = openWith(() -> Frames.error(WireException.Reason.BAD_LAYOUT, "names twice"), new Collector());
        assertThat(e.getMessage()).isEqualTo("the destination rejected HELLO: BAD_LAYOUT: names twice");
    }

    @Example
    void shouldCheckTheDestinationsDigestAndVerdict() throws LinkException {
        for (var bad : List.<java.util.function.Function<PageStreamWriter, ByteBuffer>>of(
                w -> Frames.verdict(new Verdict(w.digest() ^ 1, 0, 0, true, "")),
                w -> {
                    ByteBuffer b = Frames.verdict(new Verdict(w.digest(), 0, 0, true, ""));
                    b.put(VERDICT_OK_OFFSET, (byte) 2);
                    return b;
                },
                w -> Frames.verdict(new Verdict(w.digest(), 1, 2, false, "")),
                w -> Frames.error(WireException.Reason.DIGEST_MISMATCH, "not the same stream"))) {
            Collector out = new Collector();
            AnswerChannel in = new AnswerChannel().then(() -> acceptAll(L));
            PageStreamWriter w =
                    new PageStreamWriter(out, in, new PatternSource(L), PageStreamWriter.Options.defaults(SESSION));
            in.then(() -> bad.apply(w));
            w.open(L, 0, (b, o, n) -> {});
            w.sendPages(0, 0, 1);
            assertThatThrownBy(w::complete)
                    .isInstanceOfSatisfying(
                            LinkException.class,
                            e -> assertThat(e.failureCause()).isEqualTo(FailureCause.PROTOCOL));
            assertThat(w.verdict()).isNull();
        }
    }

    /** Random damage to the destination's answers: the source fails with a LinkException, never anything else. */
    @Property(tries = 400)
    void shouldSurviveHostileAnswers(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] ranges = {0, 0, 10, 0, 20, 44, 1, 3, 29};
        byte[] good = concat(Frames.acceptance(SESSION, ranges, 3)).array();
        byte[] bad = good.clone();
        switch (r.nextInt(3)) {
            case 0 -> bad[r.nextInt(bad.length)] ^= (byte) (1 + r.nextInt(255));
            case 1 -> bad = java.util.Arrays.copyOf(bad, r.nextInt(bad.length));
            default -> Mutator.put(bad, r.nextInt(bad.length - 7), 8, r.nextBoolean() ? -1L : r.nextLong());
        }
        MalformedStreams.add(bad);
        byte[] answer = bad;
        PageStreamWriter w = new PageStreamWriter(
                new Collector(),
                new AnswerChannel().then(() -> ByteBuffer.wrap(answer)),
                new PatternSource(L),
                PageStreamWriter.Options.defaults(SESSION));
        List<long[]> got = new ArrayList<>();
        try {
            w.open(L, 0, (b, o, n) -> {
                assertThat(b).isBetween(0, 1);
                assertThat(o + n).isLessThanOrEqualTo(L.block(b).pages());
                got.add(new long[] {b, o, n});
            });
        } catch (LinkException e) {
            assertThat(got).as("nothing reported from a rejected answer").isEmpty();
            assertThat(e.failureCause()).isIn(FailureCause.PROTOCOL, FailureCause.PEER_CLOSED);
        }
    }

    // ------------------------------------------------------------------ I/O failures

    private static final class FailingChannel implements WritableByteChannel {
        final IOException e;

        FailingChannel(IOException e) {
            this.e = e;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            throw e;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}
    }

    @Example
    void shouldClassifyIoFailuresAndStayFailed() {
        Object[][] cases = {
            {new IOException("Connection reset by peer"), FailureCause.PEER_CLOSED},
            {new IOException("Broken pipe"), FailureCause.PEER_CLOSED},
            {new SocketTimeoutException("Read timed out"), FailureCause.TIMEOUT},
            {new IOException("No space left on device"), FailureCause.IO},
        };
        for (Object[] c : cases) {
            PageStreamWriter w = new PageStreamWriter(
                    new FailingChannel((IOException) c[0]),
                    new AnswerChannel(),
                    new PatternSource(L),
                    PageStreamWriter.Options.defaults(1));
            assertThatThrownBy(() -> w.open(L, 0, (b, o, n) -> {}))
                    .isInstanceOfSatisfying(
                            LinkException.class,
                            e -> assertThat(e.failureCause()).isEqualTo(c[1]));
            assertThatThrownBy(w::flush).isInstanceOfSatisfying(LinkException.class, e -> {
                assertThat(e.failureCause()).isEqualTo(c[1]);
                assertThat(e.getMessage()).startsWith("the link failed earlier");
            });
        }
    }

    // ------------------------------------------------------------------ the hot path allocates nothing

    private static final class NullChannel implements WritableByteChannel {
        long bytes;

        @Override
        public int write(ByteBuffer src) {
            int n = src.remaining();
            src.position(src.limit());
            bytes += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    /** What asking costs: the bytes one allocatedBytes() reading allocates itself. */
    private static long probeCost() {
        long a = allocatedBytes();
        long b = allocatedBytes();
        return b - a;
    }

    /**
     * 100,000 pages (plus fills, balloon ranges and iteration ends) encoded from a native
     * "guest memory" segment, as the KVM backend will: the thread allocates at most a small
     * constant, whatever the page count.
     */
    @Example
    void shouldEncodeWithoutAllocatingPerPageOrPerRecord() throws LinkException {
        RamLayout big = layout("ram-low", 0, 1 << 20, "ram-high", 1L << 21, 1 << 16);
        try (Arena arena = Arena.ofConfined()) {
            int guestPages = 1024;
            MemorySegment guest = arena.allocate((long) guestPages * PAGE_SIZE, PAGE_SIZE);
            for (long i = 0; i < guest.byteSize(); i += 8)
                guest.set(ValueLayout.JAVA_LONG_UNALIGNED, i, i * 0x9E3779B97F4A7C15L);
            PageSource src = (block, offset, count, dst, at) -> {
                for (int i = 0; i < count; i++) {
                    MemorySegment.copy(
                            guest, ((offset + i) % guestPages) * PAGE_SIZE, dst, at + (long) i * PAGE_SIZE, PAGE_SIZE);
                }
            };
            NullChannel out = new NullChannel();
            AnswerChannel in = new AnswerChannel().then(() -> acceptAll(big));
            PageStreamWriter w = new PageStreamWriter(out, in, src, PageStreamWriter.Options.defaults(SESSION));
            w.open(big, 0, (b, o, n) -> {});
            encode(w, 0, 150_000, 1); // warm up (the JIT's first compilations allocate)
            // The least of three windows: a JIT compilation that lands in one window allocates a few KB once.
            long allocated = Long.MAX_VALUE;
            long bestNs = Long.MAX_VALUE;
            for (int window = 0; window < 3; window++) {
                long t0 = System.nanoTime();
                long probe = probeCost();
                long before = allocatedBytes();
                long pages = encode(w, 300_000 + window * 120_000L, 100_000, 2 + window * 10_000);
                allocated = Math.min(allocated, allocatedBytes() - before - probe);
                bestNs = Math.min(bestNs, System.nanoTime() - t0);
                assertThat(pages).isEqualTo(100_000);
            }
            System.out.printf(
                    "[wire] encoding 100000 pages allocated %d bytes; best window %.0f MB/s of pages (copy + digest)%n",
                    allocated, 100_000.0 * PAGE_SIZE / bestNs * 1e3);
            // Per record it would be tens of KB, per page megabytes.
            assertThat(allocated)
                    .as("bytes allocated while encoding 100k pages")
                    .isLessThan(4096);
        }
    }

    /** Sends pages [from, from + n) of ram-low in runs of 1..64, with fills, balloon ranges and iteration ends between. */
    private static long encode(PageStreamWriter w, long from, long n, int iteration) throws LinkException {
        long sent = 0;
        long p = from;
        int run = 1;
        while (sent < n) {
            int k = (int) Math.min(run, n - sent);
            w.sendPages(0, p, k);
            sent += k;
            p += k;
            if ((run & 7) == 0) w.sendFill(1, p % 60_000, 3, 0);
            if ((run & 15) == 0) w.sendBalloon(1, 60_000 + (p % 5_000), 2, true);
            if (run == 64) {
                w.endIteration(iteration++);
                run = 0;
            }
            run++;
            p++; // a gap: every run starts a record
        }
        w.flush();
        return sent;
    }

    /** The reader validates and applies page records without allocating either. */
    @Example
    void shouldDecodeWithoutAllocatingPerRecord() throws IOException, WireException {
        RamLayout l = layout("ram", 0, 4096);
        byte[] hello = new Forge().hello(l).bytes();
        byte[] pages = new Forge().pages(0, 100, 16).bytes();
        ByteBuffer stream = ByteBuffer.allocateDirect(hello.length).put(hello).flip();
        ByteBuffer record = ByteBuffer.allocateDirect(pages.length).put(pages).flip();
        ReadableByteChannel in = new ReadableByteChannel() {
            @Override
            public int read(ByteBuffer dst) {
                ByteBuffer from = stream.hasRemaining() ? stream : record.hasRemaining() ? record : record.rewind();
                int n = Math.min(dst.remaining(), from.remaining());
                int limit = from.limit();
                from.limit(from.position() + n);
                dst.put(from);
                from.limit(limit);
                return n;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {}
        };
        long[] applied = new long[1];
        PageSink sink = new PageSink() {
            @Override
            public void open(Hello h, dev.ballast.core.engine.PageRanges missing) {}

            @Override
            public void writePages(int block, long offset, int count, ByteBuffer data) {
                applied[0] += count;
            }

            @Override
            public void fill(int block, long offset, long count, int fillByte) {}

            @Override
            public void balloon(int block, long offset, long count, boolean ballooned) {}

            @Override
            public Verdict complete() {
                return Verdict.of(0, 0, true, "");
            }
        };
        PageStreamReader r = new PageStreamReader(in, new NullChannel(), l, sink);
        for (int i = 0; i < 30_000; i++) r.step(); // handshake and warm-up
        long allocated = Long.MAX_VALUE;
        for (int window = 0; window < 3; window++) {
            long probe = probeCost();
            long before = allocatedBytes();
            for (int i = 0; i < 6250; i++) r.step(); // 100,000 pages
            allocated = Math.min(allocated, allocatedBytes() - before - probe);
        }
        System.out.println("[wire] decoding 100000 pages allocated " + allocated + " bytes");
        assertThat(applied[0]).isEqualTo((30_000 - 1 + 3 * 6250) * 16L);
        assertThat(allocated).as("bytes allocated while decoding 100k pages").isLessThan(4096);
    }

    @AfterContainer
    static void report() {
        MalformedStreams.report("PageStreamWriterTest");
    }
}
