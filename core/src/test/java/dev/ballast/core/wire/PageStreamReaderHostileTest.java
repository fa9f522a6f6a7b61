package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.Mutator.Field;
import dev.ballast.core.wire.Mutator.Mutation;
import dev.ballast.core.wire.WireException.Reason;
import dev.ballast.core.wire.WireTestSupport.Outcome;
import dev.ballast.core.wire.WireTestSupport.Rec;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Hostile streams made from valid ones. Every stream must be either accepted as valid or rejected
 * with a {@link WireException}: never another exception, never a call outside the destination's
 * blocks (the {@link WireTestSupport.MemorySink} fails the test on one), nothing applied of the
 * rejected record (the calls equal those of the stream cut before it), and the source told why.
 */
class PageStreamReaderHostileTest {

    private static final Map<Reason, AtomicLong> REASONS = new EnumMap<>(Reason.class);
    private static final AtomicLong ACCEPTED_MUTANTS = new AtomicLong();
    private static final AtomicLong RUNS = new AtomicLong();

    /** Small scenarios: up to three blocks of up to 24 pages, runs of up to 3 pages. */
    private static Scenario small(long seed) {
        return Scenario.random(seed, 3, 24, 10, 3);
    }

    /**
     * Checks one hostile stream against the rules above; returns the outcome. A stream equal to
     * the original must be accepted and is not counted as malformed.
     */
    static Outcome check(byte[] original, byte[] hostile, RamLayout dest, String what) {
        RUNS.incrementAndGet();
        Outcome o = decode(hostile, dest);
        if (Arrays.equals(original, hostile)) {
            assertThat(o.accepted()).as("the unmutated stream (%s)", what).isTrue();
            return o;
        }
        if (o.accepted()) {
            ACCEPTED_MUTANTS.incrementAndGet();
            return o;
        }
        MalformedStreams.add(hostile);
        WireException e = o.rejection();
        synchronized (REASONS) {
            REASONS.computeIfAbsent(e.reason(), r -> new AtomicLong()).incrementAndGet();
        }
        assertThat(e.streamOffset()).as("%s: %s", what, e.getMessage()).isBetween(0L, (long) hostile.length);
        assertThat(e.getMessage()).as(what).doesNotContain("\n");
        Outcome prefix = decode(Arrays.copyOf(hostile, (int) e.streamOffset()), dest);
        if (o.sink().completed) {
            assertThat(prefix.accepted())
                    .as("%s: rejected after COMPLETE, so the prefix is whole: %s", what, e.getMessage())
                    .isTrue();
        } else {
            assertThat(prefix.rejection()).as("%s: %s", what, e.getMessage()).isNotNull();
            assertThat(prefix.rejection().reason()).as(what).isEqualTo(Reason.TRUNCATED);
        }
        assertThat(o.log())
                .as("%s: calls applied before the rejection (%s)", what, e.getMessage())
                .isEqualTo(prefix.log());
        if (e.reason() != Reason.PEER_ERROR) {
            int[] answer = lastAnswer(o.answers());
            assertThat(answer)
                    .as("%s: the source is told (%s)", what, e.getMessage())
                    .isNotNull();
            assertThat(answer[1])
                    .as("%s: the answer carries the reason", what)
                    .isEqualTo(e.reason().code());
        }
        return o;
    }

    /** One to three random mutations of a random valid stream. */
    @Property(tries = 1500)
    void shouldRejectOrSafelyAcceptEveryMutatedStream(
            @ForAll long scenarioSeed, @ForAll long mutationSeed, @ForAll @IntRange(min = 1, max = 3) int mutations) {
        Scenario s = small(scenarioSeed);
        byte[] valid = s.encode();
        SplittableRandom r = new SplittableRandom(mutationSeed);
        Mutator m = new Mutator(s.dest());
        byte[] hostile = valid;
        StringBuilder what = new StringBuilder(s.toString());
        Mutation last = null;
        for (int i = 0; i < mutations && hostile.length > 0; i++) {
            last = m.mutate(hostile, r);
            hostile = last.stream();
            what.append("; ").append(last.kind()).append(' ').append(last.description());
        }
        Outcome o = check(valid, hostile, s.dest(), what.toString());
        if (mutations == 1 && last != null && !Arrays.equals(valid, hostile)) {
            switch (last.kind()) {
                case FLIP -> {
                    // The digest covers every byte: a flip is always caught, at its record or later.
                    assertThat(o.accepted()).as(what.toString()).isFalse();
                    assertThat(o.rejection().streamOffset())
                            .as(what.toString())
                            .isGreaterThanOrEqualTo(recordStartOf(records(valid), last.position()));
                }
                case TRUNCATE -> {
                    assertThat(o.rejection().reason()).as(what.toString()).isEqualTo(Reason.TRUNCATED);
                    int p = last.position();
                    boolean boundary = records(valid).stream().anyMatch(rec -> rec.start() == p);
                    assertThat(o.rejection().streamOffset())
                            .as(what.toString())
                            .isEqualTo(boundary ? p : recordStartOf(records(valid), p));
                }
                case INSERT_BYTES, APPEND_AFTER_COMPLETE, BALLOON_OVERLAP ->
                    assertThat(o.accepted()).as(what.toString()).isFalse();
                default -> {}
            }
        }
    }

    /** A valid stream cut at every offset is rejected as TRUNCATED at the record it cuts, with nothing of that record applied. */
    @Example
    void shouldRejectTruncationAtEveryOffset() {
        for (long seed : new long[] {11, 12, 13}) {
            Scenario s = small(seed);
            byte[] valid = s.encode();
            List<Rec> recs = records(valid);
            for (int p = 0; p < valid.length; p++) {
                Outcome o = check(valid, Arrays.copyOf(valid, p), s.dest(), s + " cut at " + p);
                assertThat(o.rejection().reason()).isEqualTo(Reason.TRUNCATED);
                int q = p;
                boolean boundary = recs.stream().anyMatch(rec -> rec.start() == q);
                assertThat(o.rejection().streamOffset()).isEqualTo(boundary ? p : recordStartOf(recs, p));
            }
        }
    }

    /** Every byte of a stream flipped, one at a time, two ways: every one is rejected, none before its record. */
    @Example
    void shouldRejectAFlipOfEveryByte() {
        for (long seed : new long[] {21, 22}) {
            Scenario s = small(seed);
            byte[] valid = s.encode();
            List<Rec> recs = records(valid);
            for (int p = 0; p < valid.length; p++) {
                for (int x : new int[] {0x01, 0x80}) {
                    byte[] m = valid.clone();
                    m[p] ^= (byte) x;
                    Outcome o = check(valid, m, s.dest(), s + " byte " + p + " ^= " + x);
                    assertThat(o.accepted()).as("byte %d ^= %d of %s", p, x, s).isFalse();
                    assertThat(o.rejection().streamOffset()).isGreaterThanOrEqualTo(recordStartOf(recs, p));
                }
            }
        }
    }

    /**
     * Every field of every record set to every hostile value, sealed with a correct digest and
     * not: whatever the field, accepted safely or rejected at that record or after.
     */
    @Example
    void shouldSurviveEveryHostileValueInEveryField() {
        for (long seed : new long[] {31, 32, 33, 34}) {
            Scenario s = small(seed);
            byte[] valid = s.encode();
            Mutator m = new Mutator(s.dest());
            List<Rec> recs = records(valid);
            for (Rec rec : recs) {
                for (Field f : Mutator.fields(valid, rec)) {
                    for (long v : m.hostileValues(f.size(), Mutator.get(valid, rec.start() + f.at(), f.size()))) {
                        byte[] h = Mutator.withField(valid, rec, f, v);
                        String what = s + " " + RecordType.byCode(rec.type()) + "@" + rec.start() + "." + f.name()
                                + " = " + Frames.hex(v);
                        Outcome raw = check(valid, h, s.dest(), what);
                        if (!Arrays.equals(h, valid)) {
                            assertThat(raw.accepted()).as(what).isFalse();
                            assertThat(raw.rejection().streamOffset()).as(what).isGreaterThanOrEqualTo(rec.start());
                        }
                        check(valid, resealed(h), s.dest(), what + " (resealed)");
                    }
                }
            }
        }
    }

    /** The named attacks, on every scenario that has what they need. */
    @Property(tries = 200)
    void shouldRejectTheNamedAttacks(@ForAll long seed) {
        Scenario s = small(seed);
        byte[] valid = s.encode();
        List<Rec> recs = records(valid);
        for (Rec rec : recs) {
            RecordType t = RecordType.byCode(rec.type());
            String at = s + " " + t + "@" + rec.start();
            switch (t) {
                case PAGES, FILL, BALLOON -> {
                    int blockAt = t == RecordType.PAGES
                            ? WireFormat.PAGES_BLOCK_OFFSET
                            : t == RecordType.FILL ? WireFormat.FILL_BLOCK_OFFSET : WireFormat.BALLOON_BLOCK_OFFSET;
                    int block = (int) Mutator.get(valid, rec.start() + blockAt, 4);
                    long pages = s.sender().block(block).pages();
                    int offAt = t == RecordType.PAGES
                            ? WireFormat.PAGES_PAGE_OFFSET
                            : t == RecordType.FILL ? WireFormat.FILL_PAGE_OFFSET : WireFormat.BALLOON_RANGES_OFFSET;
                    expect(
                            valid,
                            withField(valid, rec, blockAt, 4, s.sender().blockCount()),
                            s.dest(),
                            Reason.UNKNOWN_BLOCK,
                            rec.start(),
                            at + " unknown block id");
                    expect(
                            valid,
                            withField(valid, rec, offAt, 8, pages),
                            s.dest(),
                            Reason.OUT_OF_RANGE,
                            rec.start(),
                            at + " offset at the block's end");
                    expect(
                            valid,
                            withField(valid, rec, offAt, 8, -1),
                            s.dest(),
                            Reason.OUT_OF_RANGE,
                            rec.start(),
                            at + " negative offset");
                    if (t != RecordType.PAGES) {
                        int countAt = t == RecordType.FILL
                                ? WireFormat.FILL_COUNT_OFFSET
                                : WireFormat.BALLOON_RANGES_OFFSET + 8;
                        long off = Mutator.get(valid, rec.start() + offAt, 8);
                        expect(
                                valid,
                                withField(valid, rec, countAt, 8, pages - off + 1),
                                s.dest(),
                                Reason.OUT_OF_RANGE,
                                rec.start(),
                                at + " one page past the end");
                        expect(
                                valid,
                                withField(valid, rec, countAt, 8, Long.MAX_VALUE - off + 1),
                                s.dest(),
                                Reason.BAD_COUNT,
                                rec.start(),
                                at + " a count whose end overflows");
                        expect(
                                valid,
                                withField(valid, rec, countAt, 8, 0),
                                s.dest(),
                                Reason.BAD_COUNT,
                                rec.start(),
                                at + " count 0");
                    } else {
                        expect(
                                valid,
                                withField(valid, rec, WireFormat.PAGES_COUNT_OFFSET, 4, 0xFFFFFFFFL),
                                s.dest(),
                                Reason.BAD_COUNT,
                                rec.start(),
                                at + " huge count");
                    }
                }
                default -> {}
            }
            expect(
                    valid,
                    withField(valid, rec, WireFormat.TYPE_OFFSET, 1, 0x7F),
                    s.dest(),
                    Reason.UNKNOWN_TYPE,
                    rec.start(),
                    at + " unknown type");
        }
    }

    private static byte[] withField(byte[] s, Rec rec, int at, int size, long v) {
        return WireTestSupport.resealed(Mutator.withField(s, rec, new Field("f", at, size), v));
    }

    private static void expect(byte[] valid, byte[] hostile, RamLayout dest, Reason reason, long offset, String what) {
        Outcome o = check(valid, hostile, dest, what);
        assertThat(o.rejection()).as(what).isNotNull();
        assertThat(o.rejection().reason())
                .as("%s: %s", what, o.rejection().getMessage())
                .isEqualTo(reason);
        assertThat(o.rejection().streamOffset()).as(what).isEqualTo(offset);
    }

    @AfterContainer
    static void report() {
        Map<String, Long> reasons = new TreeMap<>();
        REASONS.forEach((r, n) -> reasons.put(r.name(), n.get()));
        System.out.println("[wire] hostile streams checked: " + RUNS.get() + " runs; mutants accepted as valid: "
                + ACCEPTED_MUTANTS.get() + "; rejections by reason: " + reasons);
        MalformedStreams.report("PageStreamReaderHostileTest");
        if (RUNS.get() == 0) fail("no hostile streams ran");
    }
}
