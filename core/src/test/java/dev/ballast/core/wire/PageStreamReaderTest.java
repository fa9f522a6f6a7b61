package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireFormat.*;
import static dev.ballast.core.wire.WireTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.WireException.Reason;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Hand-made hostile records, one or more for every reason a reader rejects a stream. */
class PageStreamReaderTest {

    private static final RamLayout L = layout("ram-low", 0, 16, "ram-high", 0x100000, 8);

    /** A stream that starts with a valid HELLO for {@link #L}. */
    private static Forge afterHello() {
        return new Forge().hello(L);
    }

    /**
     * Decodes {@code stream}; it must be rejected for {@code reason} at the record at
     * {@code offset}, the source must be told (a refusing HELLO_ACK during the handshake, an
     * ERROR after), and nothing of the rejected record may have been applied.
     */
    private static Outcome rejects(byte[] stream, Reason reason, RecordType type, long offset, String detail) {
        MalformedStreams.add(stream);
        Outcome o = decode(stream, L);
        assertThat(o.rejection()).as("a rejection").isNotNull();
        WireException e = o.rejection();
        assertThat(e.reason()).as(e.getMessage()).isEqualTo(reason);
        assertThat(e.recordType()).as(e.getMessage()).isEqualTo(type);
        assertThat(e.streamOffset()).as(e.getMessage()).isEqualTo(offset);
        assertThat(e.getMessage()).contains(detail).doesNotContain("\n");
        if (type != null)
            assertThat(e.getMessage()).startsWith(reason + ": " + type + " record at stream offset " + offset + ": ");
        // The prefix before the rejected record gives the same calls: nothing of it was applied.
        Outcome prefix = decode(Arrays.copyOf(stream, (int) offset), L);
        if (o.sink().completed) assertThat(prefix.accepted()).isTrue(); // rejected after COMPLETE
        else assertThat(prefix.rejection().reason()).isEqualTo(Reason.TRUNCATED);
        assertThat(o.log()).isEqualTo(prefix.log());
        int[] answer = lastAnswer(o.answers());
        if (reason == Reason.PEER_ERROR) {
            assertThat(answer == null || answer[0] == RecordType.HELLO_ACK.code() && answer[1] == 0)
                    .as("no answer to an ERROR")
                    .isTrue();
        } else {
            assertThat(answer).as("an answer").isNotNull();
            assertThat(answer[0])
                    .isEqualTo(
                            o.sink().hello == null && reason != Reason.TRUNCATED
                                    ? RecordType.HELLO_ACK.code()
                                    : RecordType.ERROR.code());
            assertThat(answer[1]).isEqualTo(reason.code());
        }
        return o;
    }

    @AfterAll
    static void report() {
        MalformedStreams.report("PageStreamReaderTest");
    }

    // ------------------------------------------------------------------ framing

    @Test
    void shouldAcceptAMinimalStream() {
        Outcome o = decode(afterHello().complete().bytes(), L);
        assertThat(o.accepted()).isTrue();
        assertThat(o.log())
                .containsExactly("open ram-low@0x0+16p, ram-high@0x100000000+8p poison 0 session 99", "complete");
        assertThat(o.verdict().digest()).isNotZero();
    }

    @Test
    void shouldRejectAnEmptyStream() {
        rejects(new byte[0], Reason.TRUNCATED, null, 0, "the stream ends before HELLO");
    }

    @Test
    void shouldRejectBadMagic() {
        byte[] s = afterHello().complete().bytes();
        s[0] ^= 1;
        rejects(s, Reason.BAD_MAGIC, null, 0, "magic 0xba10, expected 0xba11");
    }

    @Test
    void shouldRejectUnknownTypes() {
        for (int t : new int[] {0, 19, 31, 32, 255}) { // 14..17 are postcopy's (version 4), 18 its ack (version 5)
            Forge f = afterHello();
            int at = f.offset();
            rejects(
                    f.record(t, 0, 16, b -> {}).complete().bytes(),
                    Reason.UNKNOWN_TYPE,
                    null,
                    at,
                    "type " + t + " is not a record type");
        }
    }

    @Test
    void shouldRejectFlagsTheTypeDoesNotDefine() {
        Forge f = afterHello();
        int at = f.offset();
        rejects(
                f.record(
                                RecordType.ITERATION_END.code(),
                                FLAG_MORE,
                                ITERATION_END_LENGTH,
                                b -> b.putInt(ITERATION_OFFSET, 1))
                        .complete()
                        .bytes(),
                Reason.BAD_FLAGS,
                RecordType.ITERATION_END,
                at,
                "flags 0x1");
    }

    @Test
    void shouldRejectLengthsThatDoNotFitTheType() {
        Forge f = afterHello();
        int at = f.offset();
        rejects(
                f.record(RecordType.FILL.code(), 0, FILL_LENGTH + 8, b -> {})
                        .complete()
                        .bytes(),
                Reason.BAD_LENGTH,
                RecordType.FILL,
                at,
                "length 40");
        f = afterHello();
        rejects(
                f.record(RecordType.PAGES.code(), 0, PAGES_DATA_OFFSET + PAGE_SIZE + 1, b -> {})
                        .complete()
                        .bytes(),
                Reason.BAD_LENGTH,
                RecordType.PAGES,
                at,
                "length 4121");
        f = afterHello();
        rejects(
                f.record(RecordType.BALLOON.code(), 0, BALLOON_RANGES_OFFSET, b -> {})
                        .complete()
                        .bytes(),
                Reason.BAD_LENGTH,
                RecordType.BALLOON,
                at,
                "length 24");
    }

    /** A header claiming 4 GiB is rejected from the header alone, before any payload is read. */
    @Test
    void shouldRejectAHugeLengthWithoutReadingIt() {
        Forge f = afterHello();
        int at = f.offset();
        byte[] s = f.record(RecordType.PAGES.code(), 0, PAGES_DATA_OFFSET + PAGE_SIZE, b -> b.putInt(LENGTH_OFFSET, -1))
                .bytes();
        rejects(s, Reason.BAD_LENGTH, RecordType.PAGES, at, "length 4294967303 does not fit");
    }

    @Test
    void shouldRejectPageCountsThatDisagreeWithTheLength() {
        Forge f = afterHello();
        int at = f.offset();
        rejects(
                f.pagesClaiming(0, 0, 3, 2).complete().bytes(),
                Reason.BAD_LENGTH,
                RecordType.PAGES,
                at,
                "does not hold 3 pages");
        rejects(
                afterHello().pagesClaiming(0, 0, 0, 1).complete().bytes(),
                Reason.BAD_COUNT,
                RecordType.PAGES,
                at,
                "count 0 pages");
        rejects(
                afterHello().pagesClaiming(0, 0, 0xFFFFFFFFL, 1).complete().bytes(),
                Reason.BAD_COUNT,
                RecordType.PAGES,
                at,
                "count 4294967295 pages");
    }

    @Test
    void shouldRejectATruncatedRecord() {
        byte[] whole = afterHello().pages(0, 0, 2).complete().bytes();
        int helloEnd = records(whole).getFirst().end();
        rejects(
                Arrays.copyOf(whole, helloEnd + 4),
                Reason.TRUNCATED,
                null,
                helloEnd,
                "the stream ends 4 bytes into a record header");
        rejects(
                Arrays.copyOf(whole, helloEnd + 5000),
                Reason.TRUNCATED,
                RecordType.PAGES,
                helloEnd,
                "the stream ends 5000 bytes into a record of 8216");
        rejects(
                Arrays.copyOf(whole, helloEnd + 8216),
                Reason.TRUNCATED,
                null,
                helloEnd + 8216,
                "the stream ends before COMPLETE");
    }

    // ------------------------------------------------------------------ protocol order

    @Test
    void shouldRejectRecordsBeforeHello() {
        rejects(
                new Forge().fill(0, 0, 1, 0).hello(L).complete().bytes(),
                Reason.UNEXPECTED_RECORD,
                RecordType.FILL,
                0,
                "a FILL record before HELLO");
        rejects(new Forge().complete().bytes(), Reason.UNEXPECTED_RECORD, RecordType.COMPLETE, 0, "before HELLO");
    }

    @Test
    void shouldRejectASecondHello() {
        Forge f = afterHello().fill(0, 0, 1, 0);
        int at = f.offset();
        rejects(f.hello(L).complete().bytes(), Reason.UNEXPECTED_RECORD, RecordType.HELLO, at, "a second HELLO");
    }

    @Test
    void shouldRejectRecordsAfterComplete() {
        Forge f = afterHello().complete();
        int at = f.offset();
        Outcome o = rejects(
                f.fill(0, 0, 1, 0).bytes(), Reason.UNEXPECTED_RECORD, RecordType.FILL, at, "a record after COMPLETE");
        assertThat(o.sink().completed).isTrue();
        f = afterHello().complete();
        rejects(f.raw(new byte[] {1, 2, 3}).bytes(), Reason.UNEXPECTED_RECORD, null, at, "after COMPLETE");
    }

    @Test
    void shouldRejectAnswersSentTheWrongWay() {
        Forge f = afterHello();
        int at = f.offset();
        rejects(
                f.raw(Frames.verdict(Verdict.of(1, 0, true, "")).array())
                        .complete()
                        .bytes(),
                Reason.UNEXPECTED_RECORD,
                RecordType.COMPLETE_ACK,
                at,
                "travels the other way");
        rejects(
                new Forge().raw(Frames.refusal(1, Reason.REFUSED, "x").array()).bytes(),
                Reason.UNEXPECTED_RECORD,
                RecordType.HELLO_ACK,
                0,
                "travels the other way");
    }

    @Test
    void shouldReportAnErrorFromTheSource() {
        Forge f = afterHello().fill(0, 0, 2, 0);
        int at = f.offset();
        Outcome o = rejects(
                f.error(Reason.ABORTED, "operator cancelled").bytes(),
                Reason.PEER_ERROR,
                RecordType.ERROR,
                at,
                "the source sent ABORTED: operator cancelled");
        assertThat(o.log()).contains("fill ram-low+0 x2 =0");
    }

    // ------------------------------------------------------------------ handshake

    @Test
    void shouldRefuseAnotherVersion() {
        rejects(
                new Forge().hello(L, VERSION + 1, 0, 5).complete().bytes(),
                Reason.UNSUPPORTED_VERSION,
                RecordType.HELLO,
                0,
                "version " + (VERSION + 1) + ", this end speaks " + VERSION);
    }

    @Test
    void shouldRefuseLayoutsThatCannotBe() {
        rejects(
                new Forge()
                        .hello(VERSION, 0, 1, "ram-low", 0, 16, "ram-low", 0x100000, 8)
                        .bytes(),
                Reason.BAD_LAYOUT,
                RecordType.HELLO,
                0,
                "the name appears twice");
        rejects(
                new Forge()
                        .hello(VERSION, 0, 1, "ram-low", 0, 16, "ram-high", 15, 8)
                        .bytes(),
                Reason.BAD_LAYOUT,
                RecordType.HELLO,
                0,
                "overlaps block 0 (ram-low)");
        rejects(
                new Forge().hello(VERSION, 0, 1, "ram-low", 0, 0).bytes(),
                Reason.BAD_LAYOUT,
                RecordType.HELLO,
                0,
                "no pages");
        rejects(
                new Forge().hello(VERSION, 0, 1, "ram-low", -1, 16).bytes(),
                Reason.BAD_LAYOUT,
                RecordType.HELLO,
                0,
                "first PFN past");
        rejects(
                new Forge().hello(VERSION, 0, 1, "ram-low", MAX_PFN - 8, 16).bytes(),
                Reason.BAD_LAYOUT,
                RecordType.HELLO,
                0,
                "runs past PFN");
        rejects(
                new Forge().hello(VERSION, 0, 1, "ram-low", 0, Long.MAX_VALUE).bytes(),
                Reason.BAD_LAYOUT,
                RecordType.HELLO,
                0,
                "runs past PFN");
        rejects(
                new Forge().hello(VERSION, 0, 1, "x".repeat(65), 0, 16).bytes(),
                Reason.BAD_LAYOUT,
                RecordType.HELLO,
                0,
                "has 65 characters");
        rejects(
                new Forge()
                        .hello(VERSION, 0, 1, "ram-low", 0, 16, "", 0x100000, 8)
                        .bytes(),
                Reason.BAD_LAYOUT,
                RecordType.HELLO,
                0,
                "block 1 has an empty name");
        rejects(
                new Forge().hello(VERSION, 0, 1, "", 0, 16).bytes(),
                Reason.BAD_LENGTH,
                RecordType.HELLO,
                0,
                "length 41 does not fit");
        rejects(
                new Forge()
                        .hello(VERSION, 0, 1, new byte[] {'r', (byte) 0xC3}, 0, 16)
                        .bytes(),
                Reason.BAD_FIELD,
                RecordType.HELLO,
                0,
                "not UTF-8");
        rejects(new Forge().hello(1, 0, 1).bytes(), Reason.BAD_LENGTH, RecordType.HELLO, 0, "length 24");
    }

    @Test
    void shouldRejectAHelloWhoseBlockCountDisagreesWithItsLength() {
        byte[] s = new Forge().hello(L).complete().bytes();
        s[HELLO_BLOCK_COUNT_OFFSET] = 3;
        rejects(s, Reason.BAD_LENGTH, RecordType.HELLO, 0, "the record ends inside block entry 2");
        s[HELLO_BLOCK_COUNT_OFFSET] = 1;
        rejects(s, Reason.BAD_LENGTH, RecordType.HELLO, 0, "but the blocks end at 48");
        s[HELLO_BLOCK_COUNT_OFFSET] = 0;
        rejects(s, Reason.BAD_COUNT, RecordType.HELLO, 0, "0 blocks");
    }

    @Test
    void shouldRefuseAMismatchedLayoutBeforeAnyPageMoves() {
        byte[] s = new Forge()
                .hello(layout("ram-low", 0, 16, "ram-high", 0x100000, 9))
                .pages(0, 0, 1)
                .complete()
                .bytes();
        Outcome o = rejects(
                s,
                Reason.LAYOUT_MISMATCH,
                RecordType.HELLO,
                0,
                "block ram-high: the source has first PFN 0x100000, 9 pages; this end 0x100000, 8 pages");
        assertThat(o.log()).isEmpty();
    }

    @Test
    void shouldAcceptTheSameBlocksInAnotherOrderAndMapThemByName() {
        RamLayout reversed = layout("ram-high", 0x100000, 8, "ram-low", 0, 16);
        Outcome o = decode(
                new Forge()
                        .hello(reversed)
                        .pages(0, 7, 1)
                        .fill(1, 15, 1, 0x11)
                        .complete()
                        .bytes(),
                L);
        assertThat(o.accepted()).isTrue();
        assertThat(o.log()).contains("fill ram-low+15 x1 =17").anyMatch(l -> l.startsWith("pages ram-high+7 x1"));
    }

    // ------------------------------------------------------------------ ranges

    @Test
    void shouldRejectUnknownBlockIds() {
        Forge f = afterHello();
        int at = f.offset();
        rejects(
                f.pages(2, 0, 1).complete().bytes(),
                Reason.UNKNOWN_BLOCK,
                RecordType.PAGES,
                at,
                "block id 2, the handshake has 2 blocks");
        rejects(
                afterHello().fill(0xFFFFFFFFL, 0, 1, 0).complete().bytes(),
                Reason.UNKNOWN_BLOCK,
                RecordType.FILL,
                at,
                "block id 4294967295");
        rejects(
                afterHello().balloon(7, 1, 0, 1).complete().bytes(),
                Reason.UNKNOWN_BLOCK,
                RecordType.BALLOON,
                at,
                "block id 7");
    }

    @Test
    void shouldRejectPagesPastTheEndOfTheirBlock() {
        Forge f = afterHello();
        int at = f.offset();
        rejects(
                f.pages(1, 8, 1).complete().bytes(),
                Reason.OUT_OF_RANGE,
                RecordType.PAGES,
                at,
                "run past the end of block ram-high (8 pages)");
        rejects(
                afterHello().pages(1, 6, 3).complete().bytes(),
                Reason.OUT_OF_RANGE,
                RecordType.PAGES,
                at,
                "pages [6, +3)");
        rejects(
                afterHello().pages(0, -1, 1).complete().bytes(),
                Reason.OUT_OF_RANGE,
                RecordType.PAGES,
                at,
                "pages [18446744073709551615, +1)");
        rejects(
                afterHello().pages(0, Long.MAX_VALUE, 1).complete().bytes(),
                Reason.OUT_OF_RANGE,
                RecordType.PAGES,
                at,
                "run past");
    }

    /** offset + count overflows a long: the check must not wrap round into the block. */
    @Test
    void shouldRejectRangesWhoseEndOverflows() {
        Forge f = afterHello();
        int at = f.offset();
        rejects(
                f.fill(0, 4, Long.MAX_VALUE - 2, 0).complete().bytes(),
                Reason.BAD_COUNT,
                RecordType.FILL,
                at,
                "count 9223372036854775805");
        rejects(
                afterHello().fill(0, 4, -8, 0).complete().bytes(),
                Reason.BAD_COUNT,
                RecordType.FILL,
                at,
                "count 18446744073709551608");
        rejects(
                afterHello().fill(0, 4, MAX_PFN, 0).complete().bytes(),
                Reason.OUT_OF_RANGE,
                RecordType.FILL,
                at,
                "run past");
        rejects(
                afterHello().fill(0, Long.MAX_VALUE, 2, 0).complete().bytes(),
                Reason.OUT_OF_RANGE,
                RecordType.FILL,
                at,
                "run past");
        rejects(
                afterHello().balloon(0, 1, Long.MAX_VALUE - 1, 4).complete().bytes(),
                Reason.OUT_OF_RANGE,
                RecordType.BALLOON,
                at,
                "run past");
    }

    @Test
    void shouldRejectZeroCounts() {
        Forge f = afterHello();
        int at = f.offset();
        rejects(f.fill(0, 0, 0, 0).complete().bytes(), Reason.BAD_COUNT, RecordType.FILL, at, "count 0 pages");
        rejects(
                afterHello().balloon(0, 1, 3, 0).complete().bytes(),
                Reason.BAD_COUNT,
                RecordType.BALLOON,
                at,
                "count 0 pages");
    }

    @Test
    void shouldRejectReservedFieldsThatAreNotZero() {
        Forge f = afterHello();
        int at = f.offset();
        rejects(
                f.record(RecordType.FILL.code(), 0, FILL_LENGTH, b -> {
                            b.putInt(FILL_BYTE_OFFSET, 0x0100);
                            b.putLong(FILL_COUNT_OFFSET, 1);
                        })
                        .complete()
                        .bytes(),
                Reason.BAD_FIELD,
                RecordType.FILL,
                at,
                "reserved bytes not zero");
        rejects(
                afterHello()
                        .record(RecordType.ITERATION_END.code(), 0, ITERATION_END_LENGTH, b -> {
                            b.putInt(ITERATION_OFFSET, 1);
                            b.putInt(ITERATION_RESERVED_OFFSET, 1);
                        })
                        .complete()
                        .bytes(),
                Reason.BAD_FIELD,
                RecordType.ITERATION_END,
                at,
                "reserved field not zero");
        byte[] s = new Forge().hello(L).complete().bytes();
        s[HELLO_RESERVED_OFFSET] = 1;
        rejects(s, Reason.BAD_FIELD, RecordType.HELLO, 0, "reserved byte not zero");
    }

    // ------------------------------------------------------------------ balloon

    @Test
    void shouldRejectOverlappingBalloonRangesAndApplyNoneOfThem() {
        Forge f = afterHello();
        int at = f.offset();
        Outcome o = rejects(
                f.balloon(0, 1, 0, 4, 3, 2).complete().bytes(),
                Reason.UNORDERED_RANGES,
                RecordType.BALLOON,
                at,
                "range 1 [3, 5) starts before the end 4 of the range before it");
        assertThat(o.log()).noneMatch(l -> l.startsWith("balloon"));
    }

    @Test
    void shouldRejectUnorderedBalloonRanges() {
        Forge f = afterHello();
        int at = f.offset();
        rejects(
                f.balloon(0, 0, 8, 1, 2, 1).complete().bytes(),
                Reason.UNORDERED_RANGES,
                RecordType.BALLOON,
                at,
                "range 1 [2, 3)");
    }

    /** A bad range after good ones: the good ones are not applied either. */
    @Test
    void shouldApplyNothingOfABalloonRecordWithOneBadRange() {
        Forge f = afterHello();
        int at = f.offset();
        Outcome o = rejects(
                f.balloon(1, 1, 0, 1, 2, 1, 4, 5).complete().bytes(),
                Reason.OUT_OF_RANGE,
                RecordType.BALLOON,
                at,
                "pages [4, +5)");
        assertThat(o.sink().balloon.get("ram-high").count()).isZero();
    }

    @Test
    void shouldAcceptTouchingBalloonRanges() {
        Outcome o =
                decode(afterHello().balloon(0, 1, 0, 4, 4, 2, 10, 6).complete().bytes(), L);
        assertThat(o.accepted()).isTrue();
        assertThat(o.sink().balloon.get("ram-low").count()).isEqualTo(12);
    }

    @Test
    void shouldRejectAnUnknownBalloonOperation() {
        Forge f = afterHello();
        int at = f.offset();
        rejects(f.balloon(0, 2, 0, 1).complete().bytes(), Reason.BAD_FIELD, RecordType.BALLOON, at, "operation 0x2");
    }

    @Test
    void shouldRejectABalloonRangeCountThatDisagreesWithTheLength() {
        Forge f = afterHello();
        int at = f.offset();
        byte[] s = f.balloon(0, 1, 0, 1, 4, 1).complete().bytes();
        s[at + BALLOON_RANGE_COUNT_OFFSET] = 3;
        rejects(s, Reason.BAD_LENGTH, RecordType.BALLOON, at, "does not hold 3 ranges");
        s[at + BALLOON_RANGE_COUNT_OFFSET] = 0;
        rejects(s, Reason.BAD_COUNT, RecordType.BALLOON, at, "0 ranges");
    }

    // ------------------------------------------------------------------ iterations, completion

    @Test
    void shouldRejectIterationsThatDoNotIncrease() {
        Forge f = afterHello().iteration(1).iteration(2);
        int at = f.offset();
        rejects(
                f.iteration(2).complete().bytes(),
                Reason.BAD_ITERATION,
                RecordType.ITERATION_END,
                at,
                "iteration 2 after iteration 2");
        Forge g = afterHello();
        int at0 = g.offset();
        rejects(
                g.iteration(0).complete().bytes(),
                Reason.BAD_ITERATION,
                RecordType.ITERATION_END,
                at0,
                "iteration 0 after iteration 0");
        rejects(
                afterHello().iteration(-1).complete().bytes(),
                Reason.BAD_ITERATION,
                RecordType.ITERATION_END,
                at0,
                "iteration 4294967295");
    }

    @Test
    void shouldDetectADigestMismatch() {
        Forge f = afterHello().pages(0, 0, 1).fill(0, 1, 3, 0);
        int at = f.offset();
        byte[] good = f.complete().bytes();
        byte[] s = good.clone();
        s[at + COMPLETE_DIGEST_OFFSET] ^= 1;
        Outcome o = rejects(s, Reason.DIGEST_MISMATCH, RecordType.COMPLETE, at, "the source sent 3 records");
        assertThat(o.sink().completed).isFalse();
        s = good.clone();
        s[at + COMPLETE_RECORDS_OFFSET] ^= 1;
        rejects(s, Reason.DIGEST_MISMATCH, RecordType.COMPLETE, at, "the source sent 2 records");
        s = good.clone();
        s[at + COMPLETE_BYTES_OFFSET] ^= 1;
        rejects(s, Reason.DIGEST_MISMATCH, RecordType.COMPLETE, at, "records, " + (at ^ 1) + " bytes");
    }

    /** One page byte flipped in flight: every record is well-formed, only the digest tells. */
    @Test
    void shouldDetectAFlippedPageByteByTheDigest() {
        Forge f = afterHello().pages(0, 0, 2);
        int at = f.offset();
        byte[] s = f.complete().bytes();
        s[records(s).get(1).start() + PAGES_DATA_OFFSET + 5000] ^= 0x20;
        rejects(s, Reason.DIGEST_MISMATCH, RecordType.COMPLETE, at, "digest");
    }

    @Test
    void shouldAnswerCompleteWithTheSinksVerdict() {
        MemorySink sink = new MemorySink(L);
        sink.answer = Verdict.of(16, 1, false, "page ram-low+3 lost: \u00e9");
        Outcome o = decode(afterHello().fill(0, 0, 16, 0).complete().bytes(), sink);
        assertThat(o.accepted()).isTrue();
        assertThat(lastAnswer(o.answers())[0]).isEqualTo(RecordType.COMPLETE_ACK.code());
        assertThat(o.verdict().checkedPages()).isEqualTo(16);
        assertThat(o.verdict().badPages()).isEqualTo(1);
        assertThat(o.verdict().ok()).isFalse();
        assertThat(utf8(o.answers())).contains("page ram-low+3 lost: \u00e9");
    }

    @Test
    void shouldCutALongMessageAtACharacterBoundary() {
        byte[] m = Frames.utf8("\u00e9".repeat(600), MAX_MESSAGE_BYTES);
        assertThat(m.length).isEqualTo(MAX_MESSAGE_BYTES);
        m = Frames.utf8("a" + "\u00e9".repeat(600), MAX_MESSAGE_BYTES);
        assertThat(m.length).isEqualTo(MAX_MESSAGE_BYTES - 1);
        assertThat(new String(m, StandardCharsets.UTF_8)).startsWith("a\u00e9").doesNotContain("\ufffd");
    }
}
