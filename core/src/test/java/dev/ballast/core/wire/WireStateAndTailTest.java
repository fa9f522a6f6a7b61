package dev.ballast.core.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.WireException.Reason;
import dev.ballast.core.wire.WireModel.Enc;
import dev.ballast.core.wire.WireModel.Expect;
import dev.ballast.core.wire.WireModel.Log;
import dev.ballast.core.wire.WireTestSupport.AnswerChannel;
import dev.ballast.core.wire.WireTestSupport.Collector;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * STATE as the writer sends it, and what may follow COMPLETE, held to docs/wire-protocol.md: the
 * STATE records are decoded here as the document draws them and judged by {@link WireModel}; a
 * reader whose channel can tell that bytes arrived after COMPLETE refuses them before the guest
 * starts (an ERROR, no COMPLETE_ACK).
 */
class WireStateAndTailTest {
    static final RamLayout LAYOUT = WireTestSupport.layout("low", 0, 16, "high", 256, 4);

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    /** The STATE records of {@code s}: (section, offset, total, data) as drawn. */
    record Chunk(int at, int section, long offset, long total, byte[] data) {}

    static List<Chunk> chunks(byte[] s) {
        List<Chunk> out = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(s).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] r : WireModel.frame(s)) {
            if (r[2] != WireModel.STATE) continue;
            int p = r[0];
            assertThat(b.getInt(p + 12)).as("reserved").isZero();
            byte[] d = new byte[r[1] - 32];
            System.arraycopy(s, p + 32, d, 0, d.length);
            out.add(new Chunk(p, b.getInt(p + 8), b.getLong(p + 16), b.getLong(p + 24), d));
        }
        return out;
    }

    static byte[] section(List<Chunk> cs, int section) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        long next = 0;
        for (Chunk c : cs) {
            if (c.section() != section) continue;
            assertThat(c.offset())
                    .as("section %d continues where its last chunk ended", section)
                    .isEqualTo(next);
            assertThat(c.data().length).as("a chunk holds 1 .. 1 MiB").isBetween(1, 1 << 20);
            o.writeBytes(c.data());
            next += c.data().length;
        }
        return o.toByteArray();
    }

    static byte[] encode(PageStreamWriter.Options options, WireTestSupport.Script script) {
        return WireTestSupport.encode(LAYOUT, new WireTestSupport.PatternSource(LAYOUT), options, 0, script);
    }

    @Test
    void theWriterSendsEachSectionWholeInOrderedChunksAfterThePagesAndBeforeComplete() {
        byte[] big = random((2 << 20) + 100, 1); // more than two chunks
        byte[] vcpu = random(472, 2);
        byte[] s = encode(PageStreamWriter.Options.defaults(3), w -> {
            w.sendPages(0, 0, 3); // still an open record when the state starts
            w.sendState(1, MemorySegment.ofArray(big));
            w.sendState(2, MemorySegment.ofArray(vcpu));
        });
        List<Chunk> cs = chunks(s);
        assertThat(cs.size()).isGreaterThanOrEqualTo(4);
        assertThat(cs).extracting(Chunk::section).startsWith(1).endsWith(2);
        assertThat(cs)
                .filteredOn(c -> c.section() == 1)
                .allSatisfy(c -> assertThat(c.total()).isEqualTo(big.length));
        assertThat(cs)
                .filteredOn(c -> c.section() == 2)
                .allSatisfy(c -> assertThat(c.total()).isEqualTo(472));
        assertThat(section(cs, 1)).isEqualTo(big);
        assertThat(section(cs, 2)).isEqualTo(vcpu);
        List<int[]> recs = WireModel.frame(s);
        assertThat(recs.get(1)[2]).as("the pages first").isEqualTo(WireModel.PAGES);
        assertThat(recs.getLast()[2]).isEqualTo(WireModel.COMPLETE);
        assertThat(recs.getLast()[0] + recs.getLast()[1]).isEqualTo(s.length);

        Expect want = WireModel.judge(s, LAYOUT);
        assertThat(want.accepted()).as(want.toString()).isTrue();
        assertThat(want.log()).filteredOn(l -> l.startsWith("state ")).hasSize(cs.size());
        // And the reader agrees with the model, call for call.
        WireModelTest.agrees(s, LAYOUT, "the writer's STATE");
    }

    @Test
    void aSmallBufferSendsSmallerChunksOfTheSameSection() {
        byte[] data = random(300_000, 3);
        byte[] s = encode(new PageStreamWriter.Options(9, 1, 1, 0), w -> w.sendState(7, MemorySegment.ofArray(data)));
        List<Chunk> cs = chunks(s);
        assertThat(cs.size()).isGreaterThan(1);
        assertThat(section(cs, 7)).isEqualTo(data);
        assertThat(WireModel.judge(s, LAYOUT).accepted()).isTrue();
    }

    @Test
    void aOneByteSectionAndTheLastSectionIdTravel() {
        byte[] s = encode(PageStreamWriter.Options.defaults(4), w -> {
            w.sendState(255, MemorySegment.ofArray(new byte[] {42}));
            w.sendState(1, MemorySegment.ofArray(new byte[] {1, 2}));
        });
        List<Chunk> cs = chunks(s);
        assertThat(cs)
                .extracting(c -> c.section() + "@" + c.offset() + "/" + c.total())
                .containsExactly("255@0/1", "1@0/2");
        Expect want = WireModel.judge(s, LAYOUT);
        assertThat(want.log()).contains(Log.state(255, 1, 0, 1, Log.crc(new byte[] {42}, 0, 1)));
    }

    @Test
    void theWriterRefusesASectionOutsideTheProtocol() throws Exception {
        Collector out = new Collector();
        AnswerChannel in = new AnswerChannel().then(() -> WireAuthenticationTest.helloAck(5, LAYOUT));
        PageStreamWriter w = new PageStreamWriter(
                out, in, new WireTestSupport.PatternSource(LAYOUT), PageStreamWriter.Options.defaults(5));
        MemorySegment one = MemorySegment.ofArray(new byte[1]);
        assertThatThrownBy(() -> w.sendState(1, one)).as("before open").isInstanceOf(IllegalStateException.class);
        w.open(LAYOUT, 0, (b, o, n) -> {});
        for (int bad : new int[] {0, 256, -1}) {
            assertThatThrownBy(() -> w.sendState(bad, one))
                    .as("section %d", bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> w.sendState(1, MemorySegment.ofArray(new byte[0])))
                .isInstanceOf(IllegalArgumentException.class);
        w.sendState(1, one);
        w.sendState(255, one);
    }

    @Test
    void stateAfterCompleteIsRefused() {
        PageStreamWriter[] kept = new PageStreamWriter[1];
        encode(PageStreamWriter.Options.defaults(6), w -> kept[0] = w);
        assertThatThrownBy(() -> kept[0].sendState(1, MemorySegment.ofArray(new byte[1])))
                .isInstanceOf(IllegalStateException.class);
    }

    // ------------------------------------------------------------------ nothing after COMPLETE

    /** A channel over bytes that can say, without waiting, that bytes have arrived; it records the wake-up sizes asked for. */
    static final class Arrived implements ReadableByteChannel, ReadThreshold {
        final byte[] s;
        int p;
        final List<int[]> asked = new ArrayList<>();

        Arrived(byte[] s) {
            this.s = s;
        }

        @Override
        public int read(ByteBuffer dst) {
            if (p == s.length) return -1;
            int n = Math.min(dst.remaining(), Math.min(s.length - p, 1500));
            dst.put(s, p, n);
            p += n;
            return n;
        }

        @Override
        public int read(ByteBuffer dst, int wakeAfter) {
            asked.add(new int[] {wakeAfter, dst.remaining()});
            return read(dst);
        }

        @Override
        public int readNow(ByteBuffer dst) {
            return read(dst);
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}
    }

    static byte[] validStream() {
        byte[] pages = random(256 * 4096, 9);
        return new Enc()
                .hello(WireModel.VERSION, 0, 11, LAYOUT)
                .pages(0, 0, java.util.Arrays.copyOf(pages, 16 * 4096))
                .pages(1, 0, java.util.Arrays.copyOf(pages, 4 * 4096))
                .iterationEnd(1)
                .complete()
                .bytes();
    }

    static Object run(byte[] s, WireModelTest.RecordingSink sink, Collector answers, Arrived ch) throws IOException {
        PageStreamReader r = new PageStreamReader(ch, answers, LAYOUT, sink);
        try {
            return r.run();
        } catch (WireException e) {
            return e;
        }
    }

    @Test
    void bytesThatArrivedWithCompleteAreRefusedBeforeTheGuestStarts() throws IOException {
        byte[] s = validStream();
        byte[] tail = new byte[s.length + 5];
        System.arraycopy(s, 0, tail, 0, s.length);
        tail[s.length] = 0x11;
        WireModelTest.RecordingSink sink = new WireModelTest.RecordingSink(LAYOUT, Verdict.of(1, 0, true, ""));
        Collector answers = new Collector();
        Object got = run(tail, sink, answers, new Arrived(tail));
        assertThat(got).isInstanceOf(WireException.class);
        WireException e = (WireException) got;
        assertThat(e.reason()).isEqualTo(Reason.UNEXPECTED_RECORD);
        assertThat(e.streamOffset()).as("the first byte after COMPLETE").isEqualTo(s.length);
        assertThat(sink.log).doesNotContain(Log.complete());
        byte[] a = answers.toByteArray();
        List<int[]> recs = WireModel.frame(a);
        assertThat(recs).extracting(r -> r[2]).containsExactly(WireModel.HELLO_ACK, WireModel.ERROR);
        assertThat(ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN).getShort(recs.getLast()[0] + 8))
                .isEqualTo((short) Reason.UNEXPECTED_RECORD.code());
    }

    @Test
    void aStreamThatEndsAtCompleteStartsTheGuest() throws IOException {
        byte[] s = validStream();
        WireModelTest.RecordingSink sink = new WireModelTest.RecordingSink(LAYOUT, Verdict.of(1, 0, true, ""));
        Collector answers = new Collector();
        Arrived ch = new Arrived(s);
        Object got = run(s, sink, answers, ch);
        assertThat(got).isInstanceOf(Verdict.class);
        assertThat(sink.log).isEqualTo(WireModel.judge(s, LAYOUT).log());
        assertThat(WireModel.frame(answers.toByteArray()))
                .extracting(r -> r[2])
                .containsExactly(WireModel.HELLO_ACK, WireModel.COMPLETE_ACK);
        // Waiting reads never ask for more than the record still lacks.
        assertThat(ch.asked).allSatisfy(x -> assertThat(x[0]).isBetween(1, x[1]));
    }
}
