package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireTestSupport.layout;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.WireException.Reason;
import dev.ballast.core.wire.WireModel.Enc;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Pipe;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The source end of postcopy: the records it writes (judged by {@link WireModel}, written from the
 * document) and how it takes the destination's PAGE_REQUEST records on the return direction, every
 * field of one set to hostile values, the expected answer from the model: a valid request reaches the
 * engine as it was sent; a bad one fails the link with its reason and the stream offset of the
 * request, and the destination is told with ERROR of that reason.
 */
class PageStreamWriterPostcopyTest {
    static final RamLayout L = layout("low", 0, 16, "high", 32, 8);
    static final long[] PAGES = {16, 8};

    /** A writer after HELLO, HELLO_ACK (every page missing) and SWITCH_OVER, over pipes the test plays the destination of. */
    static final class Source implements AutoCloseable {
        final Pipe toDest = Pipe.open();
        final Pipe toSource = Pipe.open();
        final PageStreamWriter w;
        /** Bytes the destination sent before its first request: the HELLO_ACK and the SWITCH_OVER_ACK. */
        final int ackLength;

        Source() throws Exception {
            this(null);
        }

        /** With {@code switchAnswer} instead of a good SWITCH_OVER_ACK (null: the good one). */
        Source(ByteBuffer switchAnswer) throws Exception {
            w = new PageStreamWriter(
                            toDest.sink(),
                            toSource.source(),
                            new WireTestSupport.PatternSource(L),
                            PageStreamWriter.Options.defaults(5))
                    // version 6: 16 requests a step, 1.500001 ms a step (stated in whole µs, rounded up)
                    .faultPace(16, 1_500_001);
            ByteBuffer ack = Frames.acceptance(5, new long[] {0, 0, 16, 1, 0, 8}, 2)[0];
            // the destination's answers, ahead: HELLO_ACK, then (version 5) SWITCH_OVER_ACK, 16 bytes
            ByteBuffer switchAck = Frames.allocate(16);
            Frames.putHeader(switchAck, 0, RecordType.SWITCH_OVER_ACK, 0, 16);
            if (switchAnswer != null) switchAck = switchAnswer;
            ackLength = ack.remaining() + switchAck.remaining();
            Frames.writeFully(toSource.sink(), ack);
            Frames.writeFully(toSource.sink(), switchAck);
            w.open(L, 0, (b, o, n) -> {});
            PageBitmap balloon = new PageBitmap(L.totalPages());
            balloon.setRange(3, 9);
            w.sendBalloonBitmap(balloon);
            w.discard(0, 2, 3);
            w.discard(0, 7, 1);
            w.switchOver();
        }

        /** Polls until a request arrives or the link fails (at most 20 s: a hang guard). */
        Object poll() {
            List<long[]> got = new ArrayList<>();
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (System.nanoTime() < deadline) {
                try {
                    w.pollRequests((b, o, n) -> got.add(new long[] {b, o, n}));
                } catch (LinkException e) {
                    return e;
                }
                if (!got.isEmpty()) return got;
                Thread.onSpinWait();
            }
            throw new AssertionError("neither a request nor a failure in 20 s");
        }

        /** Everything the source wrote so far. */
        byte[] sent() throws IOException {
            toDest.source().configureBlocking(false);
            ByteBuffer b = ByteBuffer.allocate(1 << 20);
            while (toDest.source().read(b) > 0) {
                // drain
            }
            byte[] out = new byte[b.position()];
            b.flip().get(out);
            return out;
        }

        @Override
        public void close() throws IOException {
            toDest.sink().close();
            toDest.source().close();
            toSource.sink().close();
            toSource.source().close();
        }
    }

    @Test
    void shouldWriteTheSwitchOverAsTheDocumentDrawsIt() throws Exception {
        try (Source s = new Source()) {
            byte[] sent = s.sent();
            List<int[]> recs = WireModel.frame(sent);
            assertThat(recs.stream().map(r -> r[2]).toList())
                    .containsExactly(
                            WireModel.HELLO,
                            WireModel.BALLOON_BITMAP,
                            WireModel.BALLOON_BITMAP,
                            WireModel.DISCARD,
                            WireModel.SWITCH_OVER);
            // What the model encodes for the same calls, byte for byte: bits 3..8 of block low, none of high.
            boolean[] low = new boolean[16];
            for (int i = 3; i < 9; i++) low[i] = true;
            byte[] want = new Enc()
                    .hello(WireModel.VERSION, 0, 5, L)
                    .bitmap(0, 0, low)
                    .bitmap(1, 0, new boolean[8])
                    .discard(0, 2, 3, 7, 1)
                    .switchOver(4, 16, 1501)
                    .bytes();
            assertThat(sent).isEqualTo(want);
        }
    }

    @Test
    void shouldHandTheEngineAValidRequest() throws Exception {
        try (Source s = new Source()) {
            Frames.writeFully(
                    s.toSource.sink(),
                    ByteBuffer.wrap(new Enc().pageRequest(1, 7, 1).bytes()));
            Object got = s.poll();
            assertThat(got).isInstanceOf(List.class);
            assertThat((List<?>) got).singleElement().isEqualTo(new long[] {1, 7, 1});
        }
    }

    @Test
    void shouldNameTheOffsetOfARequestForAnUnknownBlock() throws Exception {
        try (Source s = new Source()) {
            Frames.writeFully(
                    s.toSource.sink(),
                    ByteBuffer.wrap(new Enc().pageRequest(0, 1, 1).bytes()));
            assertThat(s.poll()).isInstanceOf(List.class);
            Frames.writeFully(
                    s.toSource.sink(),
                    ByteBuffer.wrap(new Enc().pageRequest(2, 6, 1).bytes()));
            LinkException e = (LinkException) s.poll();
            assertThat(e.failureCause()).isEqualTo(FailureCause.PROTOCOL);
            assertThat(e.getMessage())
                    .contains("UNKNOWN_BLOCK: PAGE_REQUEST record at stream offset " + (s.ackLength + 32))
                    .contains("block id 2 at offset 6, the handshake has 2 blocks");
            assertThat(lastError(s.sent())).isEqualTo(Reason.UNKNOWN_BLOCK.code());
        }
    }

    @Test
    void everyHostileValueInEveryFieldOfARequestGetsTheModelsAnswer() throws Exception {
        byte[] valid = new Enc().pageRequest(1, 2, 3).bytes();
        int[][] fields = {{3, 1}, {4, 4}, {8, 4}, {12, 4}, {16, 8}, {24, 8}};
        int cases = 0;
        for (int[] f : fields) {
            for (long v : WireModelTest.hostile(f[1], WireModelTest.get(valid, f[0], f[1]))) {
                byte[] r = WireModelTest.with(valid, f[0], f[1], v);
                Set<Reason> want = WireModel.judgeRequest(r, PAGES);
                String what = "field +" + f[0] + " = 0x" + Long.toHexString(v) + ", the model says " + want;
                try (Source s = new Source()) {
                    Frames.writeFully(s.toSource.sink(), ByteBuffer.wrap(r));
                    if (want.isEmpty()) {
                        // a valid request, then a second one: both reach the engine
                        Object got = s.poll();
                        assertThat(got).as(what).isInstanceOf(List.class);
                        ByteBuffer b = ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN);
                        assertThat((List<?>) got).as(what).singleElement().isEqualTo(new long[] {
                            b.getInt(8), b.getLong(16), b.getLong(24)
                        });
                        continue;
                    }
                    s.toSource.sink().close(); // a length that claims more than was sent ends at the stream's end
                    Object got = s.poll();
                    assertThat(got).as(what).isInstanceOf(LinkException.class);
                    LinkException e = (LinkException) got;
                    String reason = e.getMessage().replaceFirst("^bad answer from the destination: ", "");
                    assertThat(want.stream().map(Enum::name).toList())
                            .as(what + "; the writer: " + e.getMessage())
                            .contains(reason.substring(0, reason.indexOf(':')));
                    assertThat(e.getMessage()).as(what).contains("at stream offset " + s.ackLength);
                    assertThat(lastError(s.sent()))
                            .as(what)
                            .isEqualTo(Reason.valueOf(reason.substring(0, reason.indexOf(':')))
                                    .code());
                    cases++;
                }
            }
        }
        assertThat(cases).isGreaterThan(50);
    }

    /** The reason code of the last ERROR the source sent. */
    static int lastError(byte[] sent) {
        List<int[]> recs = WireModel.frame(sent);
        int[] last = recs.getLast();
        assertThat(last[2]).isEqualTo(WireModel.ERROR);
        return ByteBuffer.wrap(sent).order(ByteOrder.LITTLE_ENDIAN).getShort(last[0] + 8) & 0xFFFF;
    }

    @Test
    void shouldRefuseDiscardsAfterTheSwitchOver() throws Exception {
        try (Source s = new Source()) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.w.discard(0, 0, 1))
                    .isInstanceOf(IllegalStateException.class);
            for (RamBlock b : L.blocks()) assertThat(b.pages()).isEqualTo(PAGES[b.index()]);
        }
    }

    /**
     * The switch-over waits for the destination's SWITCH_OVER_ACK (version 5): what comes instead, or a bad ack, fails
     * the switch-over itself (the guest did not resume there), with the reason and the answer's offset.
     */
    @Test
    void shouldFailTheSwitchOverUnlessTheDestinationAcknowledgesIt() throws Exception {
        ByteBuffer badReserved = Frames.allocate(16);
        Frames.putHeader(badReserved, 0, RecordType.SWITCH_OVER_ACK, 0, 16);
        badReserved.putLong(8, 1);
        ByteBuffer twice = Frames.allocate(32);
        Frames.putHeader(twice, 0, RecordType.SWITCH_OVER_ACK, 0, 16);
        Frames.putHeader(twice, 16, RecordType.SWITCH_OVER_ACK, 0, 16);
        ByteBuffer longer = Frames.allocate(24);
        Frames.putHeader(longer, 0, RecordType.SWITCH_OVER_ACK, 0, 24);
        ByteBuffer refused = Frames.error(Reason.REFUSED, "the guest did not resume on the destination");
        // the ack's offset: after the HELLO_ACK of 24 + 2 * 24 bytes
        int at = 72;
        assertThat(switchOverAnswered(badReserved, true))
                .contains("BAD_FIELD: SWITCH_OVER_ACK record at stream offset " + at);
        assertThat(switchOverAnswered(longer, true)).contains("BAD_LENGTH").contains("stream offset " + at);
        assertThat(switchOverAnswered(refused, true))
                .contains("the destination rejected the stream")
                .contains("the guest did not resume on the destination");
        assertThat(switchOverAnswered(ByteBuffer.allocate(0), false)).contains("closed the return direction");
        // a second ack: the switch-over went through, the next poll fails
        try (Source s = new Source(twice.duplicate())) {
            Object polled = s.poll();
            assertThat(polled).isInstanceOf(LinkException.class);
            assertThat(((LinkException) polled).getMessage())
                    .contains("UNEXPECTED_RECORD: SWITCH_OVER_ACK record at stream offset " + (at + 16))
                    .contains("a second SWITCH_OVER_ACK");
        }
    }

    /** What the writer's switchOver() threw with {@code answer} on the return direction (then closed, if asked). */
    private static String switchOverAnswered(ByteBuffer answer, boolean keepOpen) throws Exception {
        Pipe toDest = Pipe.open();
        Pipe toSource = Pipe.open();
        PageStreamWriter w = new PageStreamWriter(
                toDest.sink(),
                toSource.source(),
                new WireTestSupport.PatternSource(L),
                PageStreamWriter.Options.defaults(5));
        Frames.writeFully(toSource.sink(), Frames.acceptance(5, new long[] {0, 0, 16, 1, 0, 8}, 2)[0]);
        Frames.writeFully(toSource.sink(), answer);
        if (!keepOpen || answer.capacity() > 0) toSource.sink().close();
        Thread drain = Thread.ofPlatform().daemon().start(() -> {
            ByteBuffer b = ByteBuffer.allocate(1 << 16);
            try {
                while (toDest.source().read(b) >= 0) b.clear();
            } catch (IOException ignored) {
                // closed
            }
        });
        try {
            w.open(L, 0, (b, o, n) -> {});
            w.switchOver();
            return "no failure";
        } catch (LinkException e) {
            return e.getMessage();
        } finally {
            toDest.sink().close();
            drain.join(5000);
            toDest.source().close();
            toSource.source().close();
        }
    }

    /**
     * A recovery answered with COMPLETE_ACK (the destination had completed the migration, its first COMPLETE_ACK
     * lost): taken as the verdict when its digest is the new stream's (its HELLO), and nothing more is sent; a
     * COMPLETE_ACK that carries another digest (the old stream's, say) fails the recovery, as any verdict whose digest
     * differs.
     */
    @Test
    void shouldEndARecoveryAnsweredWithTheVerdictOfTheCompletedMigration() throws Exception {
        Verdict v = Verdict.of(24, 0, true, "verified: 24 pages checked");
        // the right digest: the destination folds the HELLO it read
        Object good = recoveryAnswered(hello -> {
            StreamDigest d = new StreamDigest();
            d.fold(hello, 0, hello.limit());
            return Frames.verdict(v.withDigest(d.digest()));
        });
        assertThat(good).isInstanceOf(Verdict.class);
        assertThat(((Verdict) good).message()).isEqualTo(v.message());
        assertThat(((Verdict) good).ok()).isTrue();
        Object stale = recoveryAnswered(hello -> Frames.verdict(v.withDigest(0x1234)));
        assertThat(stale).isInstanceOf(String.class);
        assertThat((String) stale).contains("digest 0x1234 differs from the source's");
    }

    /**
     * Switches a writer over, cuts it, recovers on a new connection whose destination reads the HELLO (whole) and
     * answers what {@code answer} makes of it; returns the verdict the writer took, or the recovery's failure.
     */
    private static Object recoveryAnswered(java.util.function.Function<ByteBuffer, ByteBuffer> answer)
            throws Exception {
        try (Source s = new Source()) {
            Pipe toDest = Pipe.open();
            Pipe toSource = Pipe.open();
            Thread dest = Thread.ofPlatform().daemon().start(() -> {
                try {
                    ByteBuffer head =
                            ByteBuffer.allocate(WireFormat.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
                    while (head.hasRemaining()) if (toDest.source().read(head) < 0) return;
                    int len = head.getInt(WireFormat.LENGTH_OFFSET);
                    ByteBuffer hello =
                            ByteBuffer.allocate(WireFormat.HEADER_LENGTH + len).order(ByteOrder.LITTLE_ENDIAN);
                    hello.put(head.flip());
                    while (hello.hasRemaining()) if (toDest.source().read(hello) < 0) return;
                    hello.flip();
                    Frames.writeFully(toSource.sink(), answer.apply(hello));
                } catch (IOException ignored) {
                    // the test is over
                }
            });
            s.w.reconnectWith(() -> new PageStreamWriter.Connection(toDest.sink(), toSource.source()));
            List<long[]> missing = new ArrayList<>();
            try {
                s.w.recover((b, o, n) -> missing.add(new long[] {b, o, n}));
                dest.join(5000);
                assertThat(missing).isEmpty();
                s.w.endIteration(1);
                s.w.complete();
                toDest.sink().close();
                toDest.source().configureBlocking(false);
                assertThat(toDest.source().read(ByteBuffer.allocate(64)))
                        .as("nothing sent after the recovering HELLO")
                        .isLessThanOrEqualTo(0);
                return s.w.verdict();
            } catch (LinkException e) {
                return e.getMessage();
            } finally {
                dest.join(5000);
                toDest.source().close();
                toSource.sink().close();
                toSource.source().close();
            }
        }
    }
}
