package dev.ballast.core.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.WireException.Reason;
import dev.ballast.core.wire.WireModel.Enc;
import dev.ballast.core.wire.WireModelTest.Run;
import dev.ballast.core.wire.WireTestSupport.AnswerChannel;
import dev.ballast.core.wire.WireTestSupport.Collector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The protocol's limits, each at its edge and one past it (docs/wire-protocol.md's tables and
 * text), the reader judged against {@link WireModel} with {@link WireModelTest#agrees}; the
 * writer's records decoded as the document draws them; the source's checks of HELLO_ACK at their
 * edges.
 */
class WireBoundariesTest {
    static final RamLayout LAYOUT = WireTestSupport.layout("low", 0, 2048, "high", 4096, 16);

    static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    static Enc hello() {
        return new Enc().hello(WireModel.VERSION, 0, 1, LAYOUT);
    }

    static Run agrees(String what, byte[] s, RamLayout dest) {
        return WireModelTest.agrees(s, dest, what);
    }

    static void accepted(String what, byte[] s, RamLayout dest) {
        assertThat(agrees(what, s, dest).rejection()).as(what).isNull();
    }

    static void rejected(String what, byte[] s, RamLayout dest, Reason reason) {
        Run r = agrees(what, s, dest);
        assertThat(r.rejection()).as(what).isNotNull();
        assertThat(r.rejection().reason()).as(what).isEqualTo(reason);
    }

    @Test
    void pagesAFullRecordOf1024AndTheBlocksLastPage() {
        accepted(
                "1024 pages",
                hello().pages(0, 0, new byte[1024 * 4096]).complete().bytes(),
                LAYOUT);
        accepted(
                "the last page", hello().pages(1, 15, new byte[4096]).complete().bytes(), LAYOUT);
        rejected(
                "one past the end",
                hello().pages(1, 15, new byte[2 * 4096]).complete().bytes(),
                LAYOUT,
                Reason.OUT_OF_RANGE);
    }

    @Test
    void fillTheWholeBlockAndOnePast() {
        accepted("a whole block", hello().fill(0, 0, 2048, 7).complete().bytes(), LAYOUT);
        accepted("its last page", hello().fill(0, 2047, 1, 7).complete().bytes(), LAYOUT);
        rejected("one past", hello().fill(0, 2047, 2, 7).complete().bytes(), LAYOUT, Reason.OUT_OF_RANGE);
        rejected("count 0", hello().fill(0, 0, 0, 7).complete().bytes(), LAYOUT, Reason.BAD_COUNT);
    }

    @Test
    void countsUpTo2To52OnABlockThatLarge() {
        RamLayout huge = WireTestSupport.layout("huge", 0, 1L << 52);
        Enc e = new Enc().hello(WireModel.VERSION, 0, 1, huge);
        accepted("a fill of 2^52 pages", e.fill(0, 0, 1L << 52, 0).complete().bytes(), huge);
        accepted(
                "a balloon range of 2^52 pages",
                new Enc()
                        .hello(WireModel.VERSION, 0, 1, huge)
                        .balloon(0, true, 0, 1L << 52)
                        .complete()
                        .bytes(),
                huge);
        accepted(
                "a block ending at PFN 2^52",
                new Enc()
                        .hello(WireModel.VERSION, 0, 1, WireTestSupport.layout("top", (1L << 52) - 1, 1))
                        .complete()
                        .bytes(),
                WireTestSupport.layout("top", (1L << 52) - 1, 1));
    }

    @Test
    void balloonRangesThatTouchAreInOrderAndOneThatOverlapsByAPageIsNot() {
        accepted(
                "touching",
                hello().balloon(0, true, 0, 4, 4, 4, 100, 1).complete().bytes(),
                LAYOUT);
        rejected(
                "overlapping by one",
                hello().balloon(0, true, 0, 4, 3, 4).complete().bytes(),
                LAYOUT,
                Reason.UNORDERED_RANGES);
        long[] many = new long[2 * 65536];
        RamLayout wide = WireTestSupport.layout("wide", 0, 2 * 65536);
        for (int i = 0; i < 65536; i++) {
            many[2 * i] = 2L * i;
            many[2 * i + 1] = 1;
        }
        accepted(
                "65536 ranges",
                new Enc()
                        .hello(WireModel.VERSION, 0, 1, wide)
                        .balloon(0, false, many)
                        .complete()
                        .bytes(),
                wide);
    }

    @Test
    void iterationsUpTo2To31MinusOne() {
        accepted(
                "2^31 - 1",
                hello().iterationEnd(1)
                        .iterationEnd(Integer.MAX_VALUE)
                        .complete()
                        .bytes(),
                LAYOUT);
        rejected("2^31", hello().iterationEnd(Integer.MIN_VALUE).complete().bytes(), LAYOUT, Reason.BAD_ITERATION);
        rejected(
                "the same again",
                hello().iterationEnd(2).iterationEnd(2).complete().bytes(),
                LAYOUT,
                Reason.BAD_ITERATION);
    }

    @Test
    void stateSectionsOf1GiBAndChunksOf1MiB() {
        // A section of exactly 2^30 bytes is a length in range: its first chunk is accepted; it is incomplete at
        // COMPLETE.
        Run r = agrees(
                "2^30", hello().state(1, 0, 1L << 30, new byte[1]).complete().bytes(), LAYOUT);
        assertThat(r.rejection().reason()).isEqualTo(Reason.BAD_LENGTH);
        assertThat(r.log()).anyMatch(l -> l.startsWith("state 1/1073741824 @0 x1"));
        accepted(
                "a chunk of 1 MiB",
                hello().state(9, 0, 1 << 20, new byte[1 << 20]).complete().bytes(),
                LAYOUT);
        accepted(
                "the section's last byte",
                hello().state(2, 0, 2, new byte[1])
                        .state(2, 1, 2, new byte[1])
                        .complete()
                        .bytes(),
                LAYOUT);
        rejected(
                "past its last byte",
                hello().state(2, 0, 2, new byte[1])
                        .state(2, 1, 2, new byte[2])
                        .complete()
                        .bytes(),
                LAYOUT,
                Reason.OUT_OF_RANGE);
    }

    @Test
    void helloOf256BlocksWithNamesOf64Characters() {
        List<RamLayout.Spec> specs = new ArrayList<>();
        for (int i = 0; i < 256; i++) specs.add(new RamLayout.Spec(String.format("b%063d", i), 16L * i, 16));
        RamLayout many = RamLayout.of(specs);
        assertThat(many.block(0).name()).hasSize(64);
        accepted(
                "256 blocks, 64-character names",
                new Enc().hello(WireModel.VERSION, 0, 1, many).complete().bytes(),
                many);
        // A name of 64 three-byte characters is 192 bytes: characters count, not bytes.
        RamLayout wideName = WireTestSupport.layout("\u20ac".repeat(64), 0, 4);
        accepted(
                "64 euro signs",
                new Enc().hello(WireModel.VERSION, 0, 1, wideName).complete().bytes(),
                wideName);
    }

    @Test
    void aBlockNameOf65CharactersIsNoLayout() {
        byte[] name = "n".repeat(65).getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(24 + 17 + 65).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0xBA11).put((byte) 1).put((byte) 0).putInt(b.capacity() - 8);
        b.putShort((short) WireModel.VERSION)
                .put((byte) 0)
                .put((byte) 0)
                .putInt(1)
                .putLong(1);
        b.putLong(0).putLong(4).put((byte) 65).put(name);
        rejected("65 characters", b.array(), LAYOUT, Reason.BAD_LAYOUT);
    }

    // 18, SWITCH_OVER_ACK (version 5), is the last code: a source stream that carries it is UNEXPECTED_RECORD
    @Test
    void typeCodesPastTheLastAreUnknown() {
        for (int code : new int[] {0, 19, 255}) {
            byte[] s = hello().complete().bytes();
            byte[] bad = Arrays.copyOf(s, s.length + 16);
            le(bad).putShort(s.length, (short) 0xBA11)
                    .put(s.length + 2, (byte) code)
                    .putInt(s.length + 4, 8);
            // Put the stray record before COMPLETE: swap it in where COMPLETE was.
            byte[] body = Arrays.copyOf(s, s.length - 32);
            byte[] rec = Arrays.copyOfRange(bad, s.length, s.length + 16);
            byte[] stream = WireAuthenticationTest.concat(body, rec);
            rejected("type " + code, stream, LAYOUT, Reason.UNKNOWN_TYPE);
        }
    }

    @Test
    void aSourcesErrorMessageKeepsItsSpacesAndItsLength() {
        Run r = agrees("an ERROR", hello().error(19, "a b\tc").bytes(), LAYOUT);
        assertThat(r.rejection().getMessage()).contains("a b?c");
        Run full = agrees("1024 bytes", hello().error(19, "x".repeat(1024)).bytes(), LAYOUT);
        assertThat(full.rejection().getMessage()).contains("x".repeat(150));
    }

    // ------------------------------------------------------------------ the writer at its limits

    static byte[] encode(RamLayout layout, PageStreamWriter.Options o, WireTestSupport.Script script) {
        return WireTestSupport.encode(layout, new WireTestSupport.PatternSource(layout), o, 0, script);
    }

    /** (type, count) of each record: pages of PAGES, ranges of BALLOON, as drawn. */
    static List<String> shape(byte[] s) {
        List<String> out = new ArrayList<>();
        ByteBuffer b = le(s);
        for (int[] r : WireModel.frame(s)) {
            switch (r[2]) {
                case WireModel.PAGES -> out.add("P" + b.getInt(r[0] + 12));
                case WireModel.BALLOON -> out.add("B" + b.getInt(r[0] + 16));
                case WireModel.FILL -> out.add("F" + b.getLong(r[0] + 24));
                default -> {}
            }
        }
        return out;
    }

    @Test
    void theWriterFillsRecordsUpToItsLimitsAndNoFurther() {
        byte[] s = encode(LAYOUT, new PageStreamWriter.Options(2, 4, 3, 0), w -> {
            w.sendPages(0, 0, 10);
            for (int i = 0; i < 7; i++) w.sendBalloon(0, 100 + 2 * i, 1, true);
            w.sendFill(0, 500, 3, 0);
            w.sendFill(0, 503, 2, 0);
        });
        assertThat(shape(s)).containsExactly("P4", "P4", "P2", "B3", "B3", "B1", "F5");
        assertThat(WireModel.judge(s, LAYOUT).accepted()).isTrue();
    }

    @Test
    void aWriterAtTheProtocolsLimitsSends1024PagesAnd65536RangesARecord() {
        RamLayout wide = WireTestSupport.layout("wide", 0, 2 * 65536 + 1);
        byte[] s = encode(wide, new PageStreamWriter.Options(3, 1024, 65536, 0), w -> {
            w.sendPages(0, 0, 1025);
            for (int i = 0; i < 65537; i++) w.sendBalloon(0, 2L * i, 1, true);
        });
        assertThat(shape(s)).containsExactly("P1024", "P1", "B65536", "B1");
        assertThat(WireModel.judge(s, wide).accepted()).isTrue();
    }

    @Test
    void writerOptionsAreTheProtocolsLimits() {
        new PageStreamWriter.Options(1, 1, 1, 0);
        new PageStreamWriter.Options(1, 1024, 65536, 1 << 30);
        for (int[] bad :
                new int[][] {{0, 1, 0}, {1025, 1, 0}, {1, 0, 0}, {1, 65537, 0}, {1, 1, -1}, {1, 1, (1 << 30) + 1}}) {
            assertThatThrownBy(() -> new PageStreamWriter.Options(1, bad[0], bad[1], bad[2]))
                    .as(Arrays.toString(bad))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void aLongAbortMessageIsCutAtACharacterBoundaryWithin1024Bytes() {
        for (String why : List.of("y".repeat(1023) + "\u00e9", "z".repeat(1024), "w".repeat(1022) + "\u00e9")) {
            Collector out = new Collector();
            PageStreamWriter w = new PageStreamWriter(
                    out,
                    new AnswerChannel(),
                    new WireTestSupport.PatternSource(LAYOUT),
                    PageStreamWriter.Options.defaults(1));
            w.abort(why);
            byte[] o = out.toByteArray();
            int n = le(o).getShort(10) & 0xFFFF;
            assertThat(o.length).isEqualTo(16 + n);
            assertThat(o[2]).isEqualTo((byte) 9);
            assertThat(le(o).getShort(8) & 0xFFFF).isEqualTo(Reason.ABORTED.code());
            byte[] whole = why.getBytes(StandardCharsets.UTF_8);
            String got = new String(o, 16, n, StandardCharsets.UTF_8);
            if (whole.length <= 1024) assertThat(got).isEqualTo(why);
            else assertThat(got).isEqualTo(why.substring(0, why.length() - 1));
        }
    }

    // ------------------------------------------------------------------ the destination's missing ranges

    @Test
    void theMissingRangesASinkReportsTravelSortedMergedAndSplitAt65536ARecord() throws Exception {
        RamLayout wide = WireTestSupport.layout("a", 0, 4, "wide", 16, 2 * 65536 + 2);
        WireTestSupport.MemorySink sink = new WireTestSupport.MemorySink(wide);
        sink.missing = new ArrayList<>();
        for (int i = 65536; i >= 0; i--) sink.missing.add(new long[] {1, 2L * i, 1});
        sink.missing.add(new long[] {0, 2, 2});
        sink.missing.add(new long[] {0, 0, 2}); // touches the one before it
        sink.missing.add(new long[] {0, 1, 2}); // overlaps both
        List<long[]> got = new ArrayList<>();
        try (WireTestSupport.Loopback l = new WireTestSupport.Loopback(
                new WireTestSupport.PatternSource(wide), PageStreamWriter.Options.defaults(8), sink)) {
            l.writer.open(wide, 0, (b, o, n) -> got.add(new long[] {b, o, n}));
            l.writer.complete();
            l.destination();
        }
        assertThat(got).hasSize(65538);
        assertThat(got.get(0)).containsExactly(0, 0, 4);
        for (int i = 0; i <= 65536; i++) assertThat(got.get(1 + i)).containsExactly(1, 2L * i, 1);
    }

    @Test
    void aSinkThatReportsARangeOutsideItsLayoutIsABug() {
        for (long[] bad : new long[][] {{0, 2047, 2}, {0, 0, 0}, {0, -1, 1}, {2, 0, 1}, {-1, 0, 1}}) {
            WireTestSupport.MemorySink sink = new WireTestSupport.MemorySink(LAYOUT);
            sink.missing = List.<long[]>of(bad);
            assertThatThrownBy(() -> WireTestSupport.decode(hello().complete().bytes(), sink))
                    .as(Arrays.toString(bad))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        WireTestSupport.MemorySink edge = new WireTestSupport.MemorySink(LAYOUT);
        edge.missing = List.<long[]>of(new long[] {0, 2047, 1}, new long[] {1, 0, 16});
        assertThat(WireTestSupport.decode(hello().complete().bytes(), edge).accepted())
                .isTrue();
    }

    // ------------------------------------------------------------------ the source's checks of HELLO_ACK

    static ByteBuffer ack(int status, int flags, String message, long session, long... blockOffsetCount) {
        byte[] m = message.getBytes(StandardCharsets.UTF_8);
        int n = blockOffsetCount.length / 3;
        ByteBuffer b = ByteBuffer.allocate(24 + 24 * n + m.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0xBA11).put((byte) 2).put((byte) flags).putInt(b.capacity() - 8);
        b.putShort((short) status).putShort((short) m.length).putInt(n).putLong(session);
        for (int i = 0; i < n; i++) {
            b.putInt((int) blockOffsetCount[3 * i])
                    .putInt(0)
                    .putLong(blockOffsetCount[3 * i + 1])
                    .putLong(blockOffsetCount[3 * i + 2]);
        }
        b.put(m);
        return b.flip();
    }

    /** The source's open() against scripted answers: the ranges it reports, or its failure. */
    static Object open(ByteBuffer... answers) {
        AnswerChannel in = new AnswerChannel();
        for (ByteBuffer a : answers) in.then(() -> a);
        PageStreamWriter w = new PageStreamWriter(
                new Collector(), in, new WireTestSupport.PatternSource(LAYOUT), PageStreamWriter.Options.defaults(1));
        List<String> got = new ArrayList<>();
        try {
            w.open(LAYOUT, 0, (b, o, n) -> got.add(b + "/" + o + "/" + n));
            return got;
        } catch (LinkException e) {
            return e.getMessage();
        }
    }

    @Test
    void theSourceAcceptsAcksAtTheirEdgesAndRefusesOnePast() {
        assertThat(open(ack(0, 0, "", 1, 0, 0, 4, 0, 4, 4, 0, 2047, 1, 1, 0, 16)))
                .isEqualTo(List.of("0/0/4", "0/4/4", "0/2047/1", "1/0/16"));
        assertThat(open(ack(0, 0, "welcome", 1, 1, 15, 1)))
                .as("an accepting ack may carry a message")
                .isEqualTo(List.of("1/15/1"));
        assertThat(open(ack(0, 1, "", 1, 0, 0, 1), ack(0, 0, "", 1, 0, 1, 1))).isEqualTo(List.of("0/0/1", "0/1/1"));
        assertThat((String) open(ack(0, 0, "", 1, 0, 2047, 2))).contains("OUT_OF_RANGE");
        assertThat((String) open(ack(0, 0, "", 1, 0, 0, 4, 0, 3, 1))).contains("UNORDERED_RANGES");
        assertThat((String) open(ack(0, 0, "", 1, 1, 0, 1, 0, 5, 1))).contains("UNORDERED_RANGES");
        assertThat((String) open(ack(0, 0, "", 1, 0, 0, 0))).contains("BAD_COUNT");
        assertThat((String) open(ack(0, 0, "", 1, 2, 0, 1))).contains("UNKNOWN_BLOCK");
        assertThat((String) open(ack(0, 0, "", 2, 0, 0, 1))).contains("BAD_FIELD");
        assertThat((String) open(ack(17, 0, "busy now", 1, 0, 0, 1)))
                .contains("REFUSED")
                .contains("busy now");
        assertThat((String) open(ack(0, 0, "", 1, 0, 0, 1).limit(30))).contains("TRUNCATED");
        // A record that travels the other way is not an answer.
        byte[] pages = new Enc().pages(0, 0, new byte[4096]).bytes();
        assertThat((String) open(ByteBuffer.wrap(pages))).contains("UNEXPECTED_RECORD");
    }

    @Test
    void theSourceAcceptsAnAckOf65536RangesARecord() {
        RamLayout wide = WireTestSupport.layout("wide", 0, 2 * 65536);
        long[] r = new long[3 * 65536];
        for (int i = 0; i < 65536; i++) {
            r[3 * i + 1] = 2L * i;
            r[3 * i + 2] = 1;
        }
        AnswerChannel in = new AnswerChannel().then(() -> ack(0, 0, "", 1, r));
        PageStreamWriter w = new PageStreamWriter(
                new Collector(), in, new WireTestSupport.PatternSource(wide), PageStreamWriter.Options.defaults(1));
        int[] n = new int[1];
        try {
            w.open(wide, 0, (b, o, c) -> n[0]++);
        } catch (LinkException e) {
            throw new AssertionError(e);
        }
        assertThat(n[0]).isEqualTo(65536);
    }

    // ------------------------------------------------------------------ a channel that sometimes has nothing yet

    /** Returns 0 from every other read, as a non-blocking channel with nothing yet would. */
    static final class Stutter implements ReadableByteChannel {
        final ReadableByteChannel in;
        boolean idle;

        Stutter(ReadableByteChannel in) {
            this.in = in;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            idle = !idle;
            return idle ? 0 : in.read(dst);
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}
    }

    @Test
    void aReadThatReturnsNothingYetIsNotTheEndOfTheStream() throws Exception {
        byte[] s = hello().pages(0, 0, new byte[3 * 4096])
                .fill(1, 0, 16, 0)
                .complete()
                .bytes();
        WireModelTest.RecordingSink sink = new WireModelTest.RecordingSink(LAYOUT, Verdict.of(0, 0, true, ""));
        PageStreamReader r =
                new PageStreamReader(new Stutter(WireTestSupport.channelOf(s)), new Collector(), LAYOUT, sink);
        r.run();
        assertThat(sink.log).isEqualTo(WireModel.judge(s, LAYOUT).log());
        assertThat(r.streamOffset()).isEqualTo(s.length);
    }
}
