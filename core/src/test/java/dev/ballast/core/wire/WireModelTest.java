package dev.ballast.core.wire;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.WireException.Reason;
import dev.ballast.core.wire.WireModel.Enc;
import dev.ballast.core.wire.WireModel.Expect;
import dev.ballast.core.wire.WireModel.Log;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The reader and the writer against {@link WireModel}, a model of {@code docs/wire-protocol.md}
 * written from the document. Valid streams the model encodes (every source record type, STATE
 * included) are accepted with exactly the calls the model predicts, and the destination's answers
 * (HELLO_ACK, COMPLETE_ACK, ERROR) decode under the model; streams the writer makes are valid
 * under the model; hostile streams (random mutations, every field of every record set to hostile
 * values, each resealed with the model's digest or not) get the model's answer: accepted or not,
 * rejected at the record the model names, for a reason the model finds in that record, after the
 * same calls.
 */
class WireModelTest {

    /** A destination that logs, in {@link Log}'s words, every call and accepts any state section. */
    static final class RecordingSink implements PageSink {
        final RamLayout layout;
        final List<String> log = new ArrayList<>();
        final Verdict verdict;

        RecordingSink(RamLayout layout, Verdict verdict) {
            this.layout = layout;
            this.verdict = verdict;
        }

        @Override
        public void open(Hello h, PageRanges missing) {
            log.add(Log.open(h.poisonByte(), h.sessionId()));
            for (RamBlock b : layout.blocks()) missing.range(b.index(), 0, b.pages());
        }

        @Override
        public void writePages(int block, long offset, int count, ByteBuffer data) {
            log.add(Log.pages(layout.block(block).name(), offset, count, Log.crc(data)));
        }

        @Override
        public void fill(int block, long offset, long count, int fillByte) {
            log.add(Log.fill(layout.block(block).name(), offset, count, fillByte));
        }

        @Override
        public void balloon(int block, long offset, long count, boolean ballooned) {
            log.add(Log.balloon(layout.block(block).name(), offset, count, ballooned));
        }

        @Override
        public void state(int section, long total, long offset, ByteBuffer data) {
            log.add(Log.state(section, total, offset, data.remaining(), Log.crc(data)));
        }

        @Override
        public void iterationEnd(int iteration) {
            log.add(Log.iteration(iteration));
        }

        /** Whether it has a postcopy migration to recover (its guest runs here, lacking every page). */
        boolean recoverable;

        @Override
        public void recover(Hello h, PageRanges lacking) throws WireException {
            if (!recoverable) PageSink.super.recover(h, lacking);
            log.add(Log.recover(h.sessionId()));
            for (RamBlock b : layout.blocks()) lacking.range(b.index(), 0, b.pages());
        }

        @Override
        public void discard(int block, long offset, long count) {
            log.add(Log.discard(layout.block(block).name(), offset, count));
        }

        @Override
        public void balloonBitmap(int block, long offset, long count, boolean ballooned) {
            log.add(Log.bitmap(layout.block(block).name(), offset, count, ballooned));
        }

        @Override
        public void faultPace(int requestsPerStep, long stepNs) {
            log.add(Log.pace(requestsPerStep, stepNs));
        }

        @Override
        public void switchOver() {
            log.add(Log.switchOver());
        }

        @Override
        public Verdict complete() {
            log.add(Log.complete());
            return verdict;
        }
    }

    record Run(Verdict verdict, WireException rejection, List<String> log, byte[] answers) {}

    static Run read(byte[] stream, RamLayout dest) {
        return read(stream, dest, false);
    }

    static Run read(byte[] stream, RamLayout dest, boolean recoverable) {
        RecordingSink sink = new RecordingSink(dest, Verdict.of(12, 0, true, "fine"));
        sink.recoverable = recoverable;
        WireTestSupport.Collector answers = new WireTestSupport.Collector();
        PageStreamReader r = new PageStreamReader(WireTestSupport.channelOf(stream), answers, dest, sink);
        try {
            Verdict v = r.run();
            try {
                // Bytes after COMPLETE that a reader did not see before COMPLETE_ACK reject the migration when it reads
                // on.
                if (r.step()) throw new AssertionError("step() after COMPLETE returned true");
            } catch (WireException e) {
                return new Run(v, e, sink.log, answers.toByteArray());
            }
            return new Run(v, null, sink.log, answers.toByteArray());
        } catch (WireException e) {
            return new Run(null, e, sink.log, answers.toByteArray());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** The reader does what the model says it must. */
    static Run agrees(byte[] stream, RamLayout dest, String what) {
        return agrees(stream, dest, what, false);
    }

    /** As {@link #agrees(byte[], RamLayout, String)}, for a destination with a postcopy migration to recover where {@code recoverable}. */
    static Run agrees(byte[] stream, RamLayout dest, String what, boolean recoverable) {
        Expect want = WireModel.judge(stream, dest, recoverable);
        Run got = read(stream, dest, recoverable);
        String said = got.rejection() == null ? "accepted" : got.rejection().getMessage();
        assertThat(got.rejection() == null)
                .as("%s: the model says %s; the reader: %s", what, want, said)
                .isEqualTo(want.accepted());
        if (!want.accepted()) {
            assertThat(got.rejection().streamOffset())
                    .as("%s: the model says %s; the reader: %s", what, want, said)
                    .isEqualTo(want.offset());
            assertThat(want.reasons())
                    .as("%s: the reader: %s", what, said)
                    .contains(got.rejection().reason());
        }
        List<String> calls = got.log();
        if (got.verdict() != null && got.rejection() != null) {
            // Rejected after the guest started: only bytes after COMPLETE do that.
            assertThat(got.rejection().reason()).as(what).isEqualTo(Reason.UNEXPECTED_RECORD);
            assertThat(calls.getLast()).isEqualTo(Log.complete());
            calls = calls.subList(0, calls.size() - 1);
        }
        assertThat(calls)
                .as("%s: calls (the model says %s; the reader: %s)", what, want, said)
                .isEqualTo(want.log());
        checkAnswers(got, stream, dest, what);
        return got;
    }

    /** The destination's answers, decoded by the model: a HELLO_ACK, then COMPLETE_ACK or ERROR. */
    static void checkAnswers(Run got, byte[] stream, RamLayout dest, String what) {
        byte[] a = got.answers();
        ByteBuffer b = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
        List<int[]> recs = WireModel.frame(a);
        int total = recs.stream().mapToInt(r -> r[1]).sum();
        assertThat(total).as("%s: answers are whole records", what).isEqualTo(a.length);
        for (int[] r : recs) {
            assertThat(b.getShort(r[0]) & 0xFFFF).isEqualTo(WireModel.MAGIC);
            assertThat(WireModel.lengthFits(r[2], r[1]))
                    .as("%s: answer type %d of %d bytes", what, r[2], r[1])
                    .isTrue();
            assertThat(r[2] == WireModel.HELLO_ACK
                            || r[2] == WireModel.COMPLETE_ACK
                            || r[2] == WireModel.ERROR
                            || r[2] == WireModel.SWITCH_OVER_ACK)
                    .as(what)
                    .isTrue();
            int flags = a[r[0] + 3];
            assertThat(flags & ~(r[2] == WireModel.HELLO_ACK ? 1 : 0)).isZero();
            if (r[2] == WireModel.SWITCH_OVER_ACK)
                assertThat(b.getLong(r[0] + 8)).as("reserved").isZero();
        }
        // Version 5: a SWITCH_OVER the destination accepted is acknowledged, once; a recovered stream has none.
        boolean switched = got.log().contains(WireModel.Log.switchOver())
                && got.log().stream().noneMatch(l -> l.startsWith("recover session"));
        assertThat(recs.stream().filter(r -> r[2] == WireModel.SWITCH_OVER_ACK))
                .as("%s: SWITCH_OVER_ACK records", what)
                .hasSize(switched ? 1 : 0);
        if (got.verdict() != null) {
            assertThat(recs).hasSizeGreaterThanOrEqualTo(2);
            int[] ack = recs.getFirst();
            assertThat(ack[2]).isEqualTo(WireModel.HELLO_ACK);
            assertThat(b.getShort(ack[0] + 8)).as("status").isZero();
            int ml = b.getShort(ack[0] + 10) & 0xFFFF;
            long n = Integer.toUnsignedLong(b.getInt(ack[0] + 12));
            assertThat(ack[1]).isEqualTo(24 + 24 * n + ml);
            // The session echoed; every page of every block missing, in source block ids, sorted.
            ByteBuffer s = ByteBuffer.wrap(stream).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(b.getLong(ack[0] + 16)).as("session echo").isEqualTo(s.getLong(16));
            List<String> ranges = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int at = ack[0] + 24 + 24 * i;
                assertThat(b.getInt(at + 4)).as("reserved").isZero();
                ranges.add(b.getInt(at) + ":" + b.getLong(at + 8) + "+" + b.getLong(at + 16));
            }
            List<String> want = new ArrayList<>();
            int blocks = s.getInt(12);
            for (int i = 0, q = 24; i < blocks; i++) {
                long pages = s.getLong(q + 8);
                want.add(i + ":0+" + pages);
                q += 17 + (stream[q + 16] & 0xFF);
            }
            assertThat(ranges).as("%s: missing ranges", what).isEqualTo(want);
            int[] done = recs.get(recs.size() - (got.rejection() == null ? 1 : 2));
            assertThat(done[2]).isEqualTo(WireModel.COMPLETE_ACK);
            List<int[]> sent = WireModel.frame(stream);
            WireModel.Digest d = new WireModel.Digest();
            for (int[] r : sent) {
                if (r[2] == WireModel.COMPLETE) break;
                if (r[2] != WireModel.AUTH_INIT && r[2] != WireModel.AUTH_RESPONSE) d.fold(stream, r[0], r[1]);
            }
            assertThat(b.getLong(done[0] + 8)).as("the destination's digest").isEqualTo(d.d);
            assertThat(b.getLong(done[0] + 16)).as("checked").isEqualTo(12);
            assertThat(b.getLong(done[0] + 24)).as("bad").isZero();
            assertThat(a[done[0] + 32]).as("ok").isEqualTo((byte) 1);
            assertThat(a[done[0] + 33]).as("reserved").isZero();
            int vl = b.getShort(done[0] + 34) & 0xFFFF;
            assertThat(done[1]).isEqualTo(40 + vl);
            assertThat(new String(a, done[0] + 40, vl, java.nio.charset.StandardCharsets.UTF_8))
                    .isEqualTo("fine");
        }
        if (got.rejection() != null && got.rejection().reason() != Reason.PEER_ERROR) {
            assertThat(recs).as("%s: the source is told", what).isNotEmpty();
            int[] last = recs.getLast();
            int code = b.getShort(last[0] + 8) & 0xFFFF;
            assertThat(last[2]).isIn(WireModel.HELLO_ACK, WireModel.ERROR);
            assertThat(code)
                    .as("%s: the answer's reason", what)
                    .isEqualTo(got.rejection().reason().code());
            if (last[2] == WireModel.ERROR) {
                int ml = b.getShort(last[0] + 10) & 0xFFFF;
                assertThat(last[1]).isEqualTo(16 + ml);
                assertThat(b.getInt(last[0] + 12)).isZero();
            } else {
                assertThat(b.getInt(last[0] + 12))
                        .as("a refusal carries no ranges")
                        .isZero();
            }
        }
    }

    // ------------------------------------------------------------------ streams the model makes

    static RamLayout sourceLayout(SplittableRandom r) {
        int blocks = 1 + r.nextInt(3);
        List<RamLayout.Spec> specs = new ArrayList<>();
        long pfn = r.nextInt(4);
        for (int i = 0; i < blocks; i++) {
            long pages = 1 + r.nextInt(40);
            specs.add(new RamLayout.Spec(i == 1 ? "ram-\u00e9t\u00e9" : "blk" + i, pfn, pages));
            pfn += pages + r.nextInt(3);
        }
        return RamLayout.of(specs);
    }

    static RamLayout reversed(RamLayout l) {
        List<RamLayout.Spec> specs = new ArrayList<>();
        for (RamBlock b : l.blocks()) specs.addFirst(new RamLayout.Spec(b.name(), b.firstPfn(), b.pages()));
        return RamLayout.of(specs);
    }

    /**
     * A random valid stream of every source record type (no authentication: the destination has no secret);
     * half of them switch to postcopy after their state sections (BALLOON_BITMAP, DISCARD, SWITCH_OVER, then
     * pages only for pages the destination does not hold).
     */
    static byte[] validStream(long seed, RamLayout src) {
        SplittableRandom r = new SplittableRandom(seed);
        Enc e = new Enc();
        e.hello(WireModel.VERSION, r.nextBoolean() ? 0 : 1 + r.nextInt(255), r.nextLong(), src);
        boolean[][] held = new boolean[src.blockCount()][];
        for (RamBlock b : src.blocks()) held[b.index()] = new boolean[(int) b.pages()];
        int iteration = 0;
        int records = 1 + r.nextInt(8);
        for (int i = 0; i < records; i++) {
            int bi = r.nextInt(src.blockCount());
            long pages = src.block(bi).pages();
            long off = r.nextLong(pages);
            long max = pages - off;
            switch (r.nextInt(4)) {
                case 0 -> {
                    int n = (int) Math.min(max, 1 + r.nextInt(3));
                    byte[] data = new byte[n * WireModel.PAGE];
                    for (int k = 0; k < 6; k++) data[r.nextInt(data.length)] = (byte) r.nextInt(256);
                    e.pages(bi, off, data);
                    Arrays.fill(held[bi], (int) off, (int) off + n, true);
                }
                case 1 -> {
                    long n = 1 + r.nextLong(max);
                    e.fill(bi, off, n, r.nextInt(256));
                    Arrays.fill(held[bi], (int) off, (int) (off + n), true);
                }
                case 2 -> {
                    List<Long> v = new ArrayList<>();
                    long at = r.nextLong(pages);
                    for (int k = 0; k < 1 + r.nextInt(3) && at < pages; k++) {
                        long c = 1 + r.nextLong(pages - at);
                        v.add(at);
                        v.add(c);
                        at += c + (r.nextBoolean() ? 0 : r.nextInt(3));
                    }
                    e.balloon(
                            bi,
                            r.nextBoolean(),
                            v.stream().mapToLong(Long::longValue).toArray());
                }
                default -> e.iterationEnd(iteration += 1 + r.nextInt(2));
            }
        }
        int sections = r.nextInt(3);
        for (int sec = 1; sec <= sections; sec++) {
            int id = sec == 1 ? 1 + r.nextInt(100) : 101 + r.nextInt(155);
            long total = 1 + r.nextInt(300);
            long at = 0;
            while (at < total) {
                int n = (int) Math.min(total - at, 1 + r.nextInt(120));
                byte[] chunk = new byte[n];
                for (int k = 0; k < n; k++) chunk[k] = (byte) r.nextInt(256);
                e.state(id, at, total, chunk);
                at += n;
            }
        }
        if (r.nextBoolean()) postcopyTail(r, e, src, held, iteration);
        return e.complete().bytes();
    }

    /** The switch-over and the pages after it, each for a page the destination does not hold. */
    static void postcopyTail(SplittableRandom r, Enc e, RamLayout src, boolean[][] held, int iteration) {
        for (int k = r.nextInt(3); k > 0; k--) {
            int bi = r.nextInt(src.blockCount());
            long pages = src.block(bi).pages();
            long off = r.nextLong(pages);
            boolean[] bits = new boolean[1 + r.nextInt((int) (pages - off))];
            for (int i = 0; i < bits.length; i++) bits[i] = r.nextInt(3) == 0;
            e.bitmap(bi, off, bits);
        }
        long discarded = 0;
        for (int k = r.nextInt(3); k > 0; k--) {
            int bi = r.nextInt(src.blockCount());
            long pages = src.block(bi).pages();
            List<Long> v = new ArrayList<>();
            long at = r.nextLong(pages);
            for (int q = 0; q < 1 + r.nextInt(3) && at < pages; q++) {
                long c = 1 + r.nextLong(Math.min(4, pages - at));
                v.add(at);
                v.add(c);
                Arrays.fill(held[bi], (int) at, (int) (at + c), false);
                discarded += c;
                at += c + (r.nextBoolean() ? 0 : r.nextInt(3));
            }
            e.discard(bi, v.stream().mapToLong(Long::longValue).toArray());
        }
        e.switchOver(discarded);
        for (int k = 1 + r.nextInt(4); k > 0; k--) {
            int bi = r.nextInt(src.blockCount());
            boolean[] h = held[bi];
            int from = r.nextInt(h.length);
            while (from < h.length && h[from]) from++;
            if (from == h.length) continue;
            int to = from;
            while (to < h.length && !h[to] && to - from < 3) to++;
            if (r.nextBoolean()) {
                byte[] data = new byte[(to - from) * WireModel.PAGE];
                data[r.nextInt(data.length)] = (byte) (1 + r.nextInt(255));
                e.pages(bi, from, data);
            } else {
                e.fill(bi, from, to - from, r.nextInt(256));
            }
            Arrays.fill(h, from, to, true);
            if (r.nextInt(3) == 0) e.iterationEnd(iteration += 1);
        }
    }

    @Property(tries = 300)
    void aValidStreamIsAcceptedWithTheCallsTheModelPredicts(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        RamLayout src = sourceLayout(r);
        byte[] s = validStream(seed, src);
        Expect want = WireModel.judge(s, reversed(src));
        assertThat(want.accepted())
                .as("the model accepts its own stream: %s", want)
                .isTrue();
        Run got = agrees(s, reversed(src), "valid stream " + seed);
        assertThat(got.verdict().ok()).isTrue();
    }

    /** What the writer sends is a valid stream under the model, and the reader does with it what the model says. */
    @Property(tries = 200)
    void theWritersStreamsAreValidUnderTheModel(@ForAll long seed) {
        Scenario sc = Scenario.random(seed, 3, 24, 10, 3);
        byte[] s = sc.encode();
        Expect want = WireModel.judge(s, sc.dest());
        assertThat(want.accepted()).as("%s: %s", sc, want).isTrue();
        agrees(s, sc.dest(), sc.toString());
    }

    // ------------------------------------------------------------------ hostile streams

    /** Fields of each record type, from the document's diagrams: (name, offset, size). */
    static List<int[]> fields(byte[] s, int[] rec) {
        List<int[]> f =
                new ArrayList<>(List.of(new int[] {0, 2}, new int[] {2, 1}, new int[] {3, 1}, new int[] {4, 4}));
        ByteBuffer b = ByteBuffer.wrap(s).order(ByteOrder.LITTLE_ENDIAN);
        switch (rec[2]) {
            case WireModel.HELLO -> {
                f.addAll(List.of(
                        new int[] {8, 2}, new int[] {10, 1}, new int[] {11, 1}, new int[] {12, 4}, new int[] {16, 8}));
                for (int at = 24; at + 17 <= rec[1]; ) {
                    int n = b.get(rec[0] + at + 16) & 0xFF;
                    f.addAll(List.of(new int[] {at, 8}, new int[] {at + 8, 8}, new int[] {at + 16, 1}));
                    if (n > 0 && at + 17 + n <= rec[1]) f.add(new int[] {at + 17 + n - 1, 1});
                    at += 17 + n;
                }
            }
            case WireModel.PAGES ->
                f.addAll(List.of(new int[] {8, 4}, new int[] {12, 4}, new int[] {16, 8}, new int[] {24, 1}, new int[] {
                    rec[1] - 1, 1
                }));
            case WireModel.FILL ->
                f.addAll(List.of(
                        new int[] {8, 4},
                        new int[] {12, 1},
                        new int[] {13, 1},
                        new int[] {15, 1},
                        new int[] {16, 8},
                        new int[] {24, 8}));
            case WireModel.BALLOON -> {
                f.addAll(List.of(
                        new int[] {8, 4}, new int[] {12, 1}, new int[] {14, 1}, new int[] {16, 4}, new int[] {20, 4}));
                for (int at = 24; at + 16 <= rec[1]; at += 16)
                    f.addAll(List.of(new int[] {at, 8}, new int[] {at + 8, 8}));
            }
            case WireModel.ITERATION_END -> f.addAll(List.of(new int[] {8, 4}, new int[] {12, 4}));
            case WireModel.COMPLETE -> f.addAll(List.of(new int[] {8, 8}, new int[] {16, 8}, new int[] {24, 8}));
            case WireModel.STATE ->
                f.addAll(List.of(
                        new int[] {8, 4}, new int[] {12, 4}, new int[] {16, 8}, new int[] {24, 8}, new int[] {32, 1}));
            case WireModel.ERROR -> f.addAll(List.of(new int[] {8, 2}, new int[] {10, 2}, new int[] {12, 4}));
            case WireModel.DISCARD -> {
                f.addAll(List.of(new int[] {8, 4}, new int[] {12, 4}, new int[] {16, 4}, new int[] {20, 4}));
                for (int at = 24; at + 16 <= rec[1]; at += 16)
                    f.addAll(List.of(new int[] {at, 8}, new int[] {at + 8, 8}));
            }
            case WireModel.BALLOON_BITMAP ->
                f.addAll(List.of(
                        new int[] {8, 4},
                        new int[] {12, 4},
                        new int[] {16, 8},
                        new int[] {24, 8},
                        new int[] {32, 1},
                        new int[] {rec[1] - 1, 1}));
            case WireModel.SWITCH_OVER -> f.addAll(List.of(new int[] {8, 8}, new int[] {16, 4}, new int[] {20, 4}));
            case WireModel.AUTH_INIT, WireModel.AUTH_RESPONSE ->
                f.addAll(List.of(new int[] {8, 2}, new int[] {10, 2}, new int[] {12, 4}));
            default -> {}
        }
        return f;
    }

    static long get(byte[] s, int at, int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) v = v << 8 | (s[at + i] & 0xFF);
        return v;
    }

    static byte[] with(byte[] s, int at, int size, long v) {
        byte[] c = s.clone();
        for (int i = 0; i < size; i++) c[at + i] = (byte) (v >>> (8 * i));
        return c;
    }

    static long[] hostile(int size, long now) {
        return new long[] {
            0,
            1,
            2,
            -1,
            now + 1,
            now - 1,
            1L << (8 * size - 1),
            0xFF,
            0x100,
            255,
            256,
            0xFFFF,
            0xFFFFFFFFL,
            1L << 32,
            1L << 30,
            (1L << 30) + 1,
            1L << 52,
            (1L << 52) + 1,
            Long.MAX_VALUE,
            Long.MIN_VALUE,
            1024,
            1025,
            65536,
            65537
        };
    }

    /** Every field of every record of model streams (STATE, ERROR and authentication records included) set to each hostile value, sealed and not. */
    @Example
    void everyHostileValueInEveryFieldGetsTheModelsAnswer() {
        for (long seed = 40; seed < 44; seed++) {
            SplittableRandom r = new SplittableRandom(seed);
            RamLayout src = sourceLayout(r);
            RamLayout dest = reversed(src);
            byte[] valid = validStream(seed, src);
            // a variant with an ERROR from the source, and one that starts with AUTH_INIT
            byte[] withError = new Enc()
                    .hello(WireModel.VERSION, 0, 5, src)
                    .error(19, "given up")
                    .bytes();
            byte[] withAuth = new Enc()
                    .authInit(new byte[32])
                    .hello(WireModel.VERSION, 0, 5, src)
                    .complete()
                    .bytes();
            for (byte[] base : List.of(valid, withError, withAuth, postcopyStream(src), recoveringStream(src))) {
                for (int[] rec : WireModel.frame(base)) {
                    for (int[] f : fields(base, rec)) {
                        if (f[0] + f[1] > rec[1]) continue;
                        int at = rec[0] + f[0];
                        int size = Math.min(f[1], 8);
                        for (long v : hostile(size, get(base, at, size))) {
                            byte[] h = with(base, at, size, v);
                            String what = "seed " + seed + " record type " + rec[2] + " @" + rec[0] + " field +" + f[0]
                                    + " = 0x" + Long.toHexString(v);
                            agrees(h, dest, what);
                            agrees(WireModel.resealed(h), dest, what + " (resealed)");
                            agrees(WireModel.resealed(h), dest, what + " (resealed, recoverable)", true);
                        }
                    }
                }
            }
        }
    }

    /** Random mutations (the suite's {@link Mutator}) of model streams with state sections, and of the writer's streams. */
    @Property(tries = 600)
    void aMutatedStreamGetsTheModelsAnswer(
            @ForAll long seed, @ForAll long mutationSeed, @ForAll @IntRange(min = 1, max = 3) int mutations) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] valid;
        RamLayout dest;
        if (r.nextBoolean()) {
            RamLayout src = sourceLayout(r);
            dest = reversed(src);
            valid = validStream(seed, src);
        } else {
            Scenario sc = Scenario.random(seed, 3, 24, 10, 3);
            dest = sc.dest();
            valid = sc.encode();
        }
        SplittableRandom mr = new SplittableRandom(mutationSeed);
        Mutator m = new Mutator(dest);
        byte[] h = valid;
        for (int i = 0; i < mutations && h.length > 0; i++) h = m.mutate(h, mr).stream();
        agrees(h, dest, "seed " + seed + " mutations " + mutationSeed + " x" + mutations);
        agrees(
                WireModel.resealed(h),
                dest,
                "seed " + seed + " mutations " + mutationSeed + " x" + mutations + " (resealed)");
    }

    /** Every postcopy record of the document, and pages before and after the switch-over. */
    static byte[] postcopyStream(RamLayout src) {
        byte[] page = new byte[WireModel.PAGE];
        page[100] = 7;
        long last = src.block(src.blockCount() - 1).pages();
        boolean[] bits = new boolean[(int) Math.min(11, src.block(0).pages())];
        bits[0] = bits[bits.length - 1] = true;
        // With two blocks or more, the last block too: filled whole, one page discarded and sent again.
        int lb = src.blockCount() - 1;
        boolean two = lb > 0;
        Enc e = new Enc().hello(WireModel.VERSION, 0, 9, src).pages(0, 0, page);
        if (two) e.fill(lb, 0, last, 0);
        e.bitmap(0, 0, bits).state(1, 0, 3, new byte[] {1, 2, 3});
        if (two) e.discard(lb, last - 1, 1);
        e.discard(0, 0, 1).switchOver(two ? 2 : 1).pages(0, 0, page);
        if (two) e.fill(lb, last - 1, 1, 9);
        return e.iterationEnd(1).complete().bytes();
    }

    /** A stream that recovers a postcopy migration: HELLO flagged RECOVER, then pages. */
    static byte[] recoveringStream(RamLayout src) {
        byte[] page = new byte[WireModel.PAGE];
        page[5] = 1;
        Enc e = new Enc().hello(WireModel.RECOVER, WireModel.VERSION, 0, 9, src).pages(0, 0, page);
        if (src.block(0).pages() > 1) e.fill(0, src.block(0).pages() - 1, 1, 0);
        return e.iterationEnd(3).complete().bytes();
    }

    @Property(tries = 100)
    void aValidPostcopyStreamIsAcceptedWithTheCallsTheModelPredicts(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        RamLayout src = sourceLayout(r);
        byte[] s = postcopyStream(src);
        assertThat(WireModel.judge(s, reversed(src)).accepted()).isTrue();
        Run got = agrees(s, reversed(src), "postcopy stream " + seed);
        assertThat(got.log()).contains(Log.switchOver());
        byte[] rec = recoveringStream(src);
        assertThat(WireModel.judge(rec, reversed(src), true).accepted()).isTrue();
        assertThat(agrees(rec, reversed(src), "recovering stream", true).log())
                .startsWith(Log.recover(9), Log.switchOver());
        assertThat(agrees(rec, reversed(src), "recovering stream, nothing to recover")
                        .rejection()
                        .reason())
                .isEqualTo(Reason.REFUSED);
    }

    /** Postcopy's faults, one a rule of the document, with the one reason it gives for each. */
    @Example
    void eachPostcopyFaultHasTheDocumentsReason() {
        RamLayout src = RamLayout.of(List.of(new RamLayout.Spec("low", 0, 16), new RamLayout.Spec("high", 32, 8)));
        RamLayout dest = reversed(src);
        int v = WireModel.VERSION;
        byte[] page = new byte[WireModel.PAGE];
        record Case(String what, Enc stream, Reason reason, boolean recoverable) {}
        List<Case> cases = List.of(
                new Case(
                        "PAGES twice after the switch-over",
                        new Enc()
                                .hello(v, 0, 1, src)
                                .switchOver(0)
                                .pages(0, 3, page)
                                .pages(0, 3, page),
                        Reason.PLACED_TWICE,
                        false),
                new Case(
                        "PAGES after the switch-over for a page sent before and not discarded",
                        new Enc()
                                .hello(v, 0, 1, src)
                                .pages(0, 3, page)
                                .switchOver(0)
                                .pages(0, 3, page),
                        Reason.PLACED_TWICE,
                        false),
                new Case(
                        "FILL after the switch-over over a page placed by PAGES",
                        new Enc()
                                .hello(v, 0, 1, src)
                                .switchOver(0)
                                .pages(1, 7, page)
                                .fill(1, 0, 8, 0),
                        Reason.PLACED_TWICE,
                        false),
                new Case(
                        "PAGES twice in a recovering stream",
                        new Enc()
                                .hello(WireModel.RECOVER, v, 0, 1, src)
                                .pages(0, 1, page)
                                .pages(0, 1, page),
                        Reason.PLACED_TWICE,
                        true),
                new Case(
                        "DISCARD after the switch-over",
                        new Enc().hello(v, 0, 1, src).switchOver(0).discard(0, 0, 1),
                        Reason.UNEXPECTED_RECORD,
                        false),
                new Case(
                        "BALLOON_BITMAP after the switch-over",
                        new Enc().hello(v, 0, 1, src).switchOver(0).bitmap(0, 0, new boolean[3]),
                        Reason.UNEXPECTED_RECORD,
                        false),
                new Case(
                        "STATE after the switch-over",
                        new Enc().hello(v, 0, 1, src).switchOver(0).state(1, 0, 1, new byte[1]),
                        Reason.UNEXPECTED_RECORD,
                        false),
                new Case(
                        "a second SWITCH_OVER",
                        new Enc().hello(v, 0, 1, src).switchOver(0).switchOver(0),
                        Reason.UNEXPECTED_RECORD,
                        false),
                new Case(
                        "SWITCH_OVER in a recovering stream",
                        new Enc().hello(WireModel.RECOVER, v, 0, 1, src).switchOver(0),
                        Reason.UNEXPECTED_RECORD,
                        true),
                new Case(
                        "DISCARD in a recovering stream",
                        new Enc().hello(WireModel.RECOVER, v, 0, 1, src).discard(0, 0, 1),
                        Reason.UNEXPECTED_RECORD,
                        true),
                new Case(
                        "HELLO flagged RECOVER with nothing to recover",
                        new Enc().hello(WireModel.RECOVER, v, 0, 1, src),
                        Reason.REFUSED,
                        false),
                new Case("HELLO with flag bit 1", new Enc().hello(2, v, 0, 1, src), Reason.BAD_FLAGS, false),
                new Case(
                        "SWITCH_OVER counting other discards",
                        new Enc().hello(v, 0, 1, src).discard(0, 0, 2).switchOver(1),
                        Reason.BAD_COUNT,
                        false),
                new Case(
                        "SWITCH_OVER stating 0 requests a step",
                        new Enc().hello(v, 0, 1, src).switchOver(0, 0, 100),
                        Reason.BAD_FIELD,
                        false),
                new Case(
                        "SWITCH_OVER stating 2^31 requests a step",
                        new Enc().hello(v, 0, 1, src).switchOver(0, Integer.MIN_VALUE, 100),
                        Reason.BAD_FIELD,
                        false),
                new Case(
                        "SWITCH_OVER with a state section incomplete",
                        new Enc()
                                .hello(v, 0, 1, src)
                                .state(1, 0, 4, new byte[2])
                                .switchOver(0),
                        Reason.BAD_LENGTH,
                        false),
                new Case(
                        "DISCARD of block 2",
                        new Enc().hello(v, 0, 1, src).discard(2, 0, 1),
                        Reason.UNKNOWN_BLOCK,
                        false),
                new Case(
                        "DISCARD past the block",
                        new Enc().hello(v, 0, 1, src).discard(1, 4, 5),
                        Reason.OUT_OF_RANGE,
                        false),
                new Case("DISCARD of 0 pages", new Enc().hello(v, 0, 1, src).discard(0, 4, 0), Reason.BAD_COUNT, false),
                new Case(
                        "DISCARD ranges overlapping",
                        new Enc().hello(v, 0, 1, src).discard(0, 0, 4, 3, 2),
                        Reason.UNORDERED_RANGES,
                        false),
                new Case(
                        "BALLOON_BITMAP past the block",
                        new Enc().hello(v, 0, 1, src).bitmap(1, 4, new boolean[5]),
                        Reason.OUT_OF_RANGE,
                        false),
                new Case(
                        "BALLOON_BITMAP of block 7",
                        new Enc().hello(v, 0, 1, src).bitmap(7, 0, new boolean[5]),
                        Reason.UNKNOWN_BLOCK,
                        false),
                new Case(
                        "PAGE_REQUEST sent to the destination",
                        new Enc().hello(v, 0, 1, src).pageRequest(0, 0, 1),
                        Reason.UNEXPECTED_RECORD,
                        false));
        for (Case c : cases) {
            byte[] s = c.stream().bytes();
            Expect want = WireModel.judge(s, dest, c.recoverable());
            assertThat(want.reasons()).as(c.what()).isEqualTo(Set.of(c.reason()));
            Run got = agrees(s, dest, c.what(), c.recoverable());
            assertThat(got.rejection().reason()).as(c.what()).isEqualTo(c.reason());
        }
        // bits past the last page not zero: the record is otherwise whole
        byte[] s = new Enc().hello(v, 0, 1, src).bitmap(0, 0, new boolean[5]).bytes();
        s[s.length - 1] = (byte) 0x20;
        assertThat(WireModel.judge(s, dest).reasons()).isEqualTo(Set.of(Reason.BAD_FIELD));
        assertThat(agrees(s, dest, "bitmap bits past its pages").rejection().reason())
                .isEqualTo(Reason.BAD_FIELD);
        // a discarded page may come again after the switch-over, once
        byte[] ok = new Enc()
                .hello(v, 0, 1, src)
                .pages(0, 3, page)
                .discard(0, 3, 1)
                .switchOver(1)
                .pages(0, 3, page)
                .complete()
                .bytes();
        assertThat(agrees(ok, dest, "a discarded page sent again").rejection()).isNull();
    }

    /** A cut at every offset of a stream with state sections. */
    @Example
    void aCutAtEveryOffsetGetsTheModelsAnswer() {
        RamLayout src = sourceLayout(new SplittableRandom(3));
        byte[] valid = validStream(3, src);
        for (int p = 0; p <= valid.length; p++) agrees(Arrays.copyOf(valid, p), reversed(src), "cut at " + p);
    }

    /** Single faults, one a record type, with the one reason the document gives for each. */
    @Example
    void eachRecordTypesOwnFaultHasTheDocumentsReason() {
        RamLayout src = RamLayout.of(List.of(new RamLayout.Spec("low", 0, 16), new RamLayout.Spec("high", 32, 8)));
        RamLayout dest = reversed(src);
        record Case(String what, Enc stream, Reason reason) {}
        byte[] page = new byte[WireModel.PAGE];
        List<Case> cases = List.of(
                new Case("HELLO of version 2", new Enc().hello(2, 0, 1, src), Reason.UNSUPPORTED_VERSION),
                new Case(
                        "HELLO of other blocks",
                        new Enc()
                                .hello(
                                        WireModel.VERSION,
                                        0,
                                        1,
                                        RamLayout.of(List.of(new RamLayout.Spec("low", 0, 16)))),
                        Reason.LAYOUT_MISMATCH),
                new Case("PAGES before HELLO", new Enc().pages(0, 0, page), Reason.UNEXPECTED_RECORD),
                new Case(
                        "a second HELLO",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).hello(WireModel.VERSION, 0, 1, src),
                        Reason.UNEXPECTED_RECORD),
                new Case(
                        "PAGES past the block",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).pages(1, 8, page),
                        Reason.OUT_OF_RANGE),
                new Case(
                        "PAGES of block 2",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).pages(2, 0, page),
                        Reason.UNKNOWN_BLOCK),
                new Case(
                        "FILL of 0 pages",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).fill(0, 0, 0, 0),
                        Reason.BAD_COUNT),
                new Case(
                        "FILL past the block",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).fill(0, 10, 7, 0),
                        Reason.OUT_OF_RANGE),
                new Case(
                        "BALLOON ranges overlapping",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).balloon(0, true, 0, 4, 3, 2),
                        Reason.UNORDERED_RANGES),
                new Case(
                        "BALLOON op 2",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).balloon(0, true, 0, 4),
                        Reason.BAD_FIELD),
                new Case(
                        "ITERATION_END 0",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).iterationEnd(0),
                        Reason.BAD_ITERATION),
                new Case(
                        "ITERATION_END repeated",
                        new Enc()
                                .hello(WireModel.VERSION, 0, 1, src)
                                .iterationEnd(1)
                                .iterationEnd(1),
                        Reason.BAD_ITERATION),
                new Case(
                        "STATE section 0",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).state(0, 0, 4, new byte[4]),
                        Reason.BAD_FIELD),
                new Case(
                        "STATE not from 0",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).state(1, 1, 4, new byte[3]),
                        Reason.UNORDERED_RANGES),
                new Case(
                        "STATE past its length",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).state(1, 0, 4, new byte[5]),
                        Reason.OUT_OF_RANGE),
                new Case(
                        "STATE of length 0",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).state(1, 0, 0, new byte[1]),
                        Reason.BAD_COUNT),
                new Case(
                        "STATE of 2^30 + 1 bytes",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).state(1, 0, (1L << 30) + 1, new byte[1]),
                        Reason.BAD_COUNT),
                new Case(
                        "STATE whose length changes",
                        new Enc()
                                .hello(WireModel.VERSION, 0, 1, src)
                                .state(1, 0, 4, new byte[2])
                                .state(1, 2, 5, new byte[2]),
                        Reason.BAD_FIELD),
                new Case(
                        "STATE with a gap",
                        new Enc()
                                .hello(WireModel.VERSION, 0, 1, src)
                                .state(1, 0, 4, new byte[1])
                                .state(1, 2, 4, new byte[2]),
                        Reason.UNORDERED_RANGES),
                new Case(
                        "STATE interleaved",
                        new Enc()
                                .hello(WireModel.VERSION, 0, 1, src)
                                .state(1, 0, 4, new byte[1])
                                .state(2, 0, 1, new byte[1]),
                        Reason.UNORDERED_RANGES),
                new Case(
                        "STATE twice",
                        new Enc()
                                .hello(WireModel.VERSION, 0, 1, src)
                                .state(1, 0, 1, new byte[1])
                                .state(1, 0, 1, new byte[1]),
                        Reason.UNEXPECTED_RECORD),
                new Case(
                        "STATE cut at COMPLETE",
                        new Enc()
                                .hello(WireModel.VERSION, 0, 1, src)
                                .state(1, 0, 4, new byte[1])
                                .complete(),
                        Reason.BAD_LENGTH),
                new Case(
                        "ERROR from the source",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).error(19, "bye"),
                        Reason.PEER_ERROR),
                new Case("AUTH_INIT without a secret", new Enc().authInit(new byte[32]), Reason.AUTH_FAILED),
                new Case(
                        "AUTH_RESPONSE without a secret",
                        new Enc().hello(WireModel.VERSION, 0, 1, src).authResponse(new byte[32]),
                        Reason.AUTH_FAILED));
        for (Case c : cases) {
            byte[] s = c.stream().bytes();
            if (c.what().equals("BALLOON op 2")) s[s.length - 16 - 12] = 2;
            if (c.what().equals("AUTH_RESPONSE without a secret")) {
                // AUTH_RESPONSE after HELLO is out of place too: either reason names the fault.
                Run got = agrees(s, dest, c.what());
                assertThat(got.rejection().reason()).isIn(Reason.AUTH_FAILED, Reason.UNEXPECTED_RECORD);
                continue;
            }
            Expect want = WireModel.judge(s, dest);
            assertThat(want.reasons()).as(c.what()).isEqualTo(Set.of(c.reason()));
            Run got = agrees(s, dest, c.what());
            assertThat(got.rejection().reason()).as(c.what()).isEqualTo(c.reason());
        }
    }
}
