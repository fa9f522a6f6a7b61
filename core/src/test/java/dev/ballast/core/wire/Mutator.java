package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireFormat.*;

import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.WireTestSupport.Rec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Turns a valid stream into a hostile one: flipped bytes, truncation, inserted bytes, records
 * duplicated, dropped, swapped or appended after COMPLETE, fields of any record set to values
 * chosen to hurt (zero, all ones, one past a block's end, sums that overflow, unknown block ids and
 * types), balloon ranges made to overlap or run backwards. Structural mutations are often
 * <em>resealed</em> (COMPLETE recomputed) so that only per-record validation can catch them.
 */
final class Mutator {
    enum Kind {
        FLIP,
        TRUNCATE,
        INSERT_BYTES,
        FIELD,
        HEADER,
        DUPLICATE,
        DROP,
        SWAP,
        APPEND_AFTER_COMPLETE,
        BALLOON_OVERLAP,
        BALLOON_SWAP
    }

    /** A field of a record: its offset from the record's start and its size in bytes. */
    record Field(String name, int at, int size) {}

    record Mutation(Kind kind, byte[] stream, String description, int position) {}

    private final RamLayout dest;

    Mutator(RamLayout dest) {
        this.dest = dest;
    }

    static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Every field of the record {@code r} of stream {@code s}, header included. */
    static List<Field> fields(byte[] s, Rec r) {
        List<Field> f = new ArrayList<>(List.of(
                new Field("magic", MAGIC_OFFSET, 2),
                new Field("type", TYPE_OFFSET, 1),
                new Field("flags", FLAGS_OFFSET, 1),
                new Field("length", LENGTH_OFFSET, 4)));
        RecordType t = RecordType.byCode(r.type());
        if (t == null) return f;
        ByteBuffer b = le(s);
        switch (t) {
            case HELLO -> {
                f.addAll(List.of(
                        new Field("version", HELLO_VERSION_OFFSET, 2),
                        new Field("poison", HELLO_POISON_OFFSET, 1),
                        new Field("reserved", HELLO_RESERVED_OFFSET, 1),
                        new Field("blockCount", HELLO_BLOCK_COUNT_OFFSET, 4),
                        new Field("session", HELLO_SESSION_OFFSET, 8)));
                int at = HELLO_BLOCKS_OFFSET;
                for (int i = 0; at + BLOCK_ENTRY_FIXED_LENGTH <= r.length(); i++) {
                    int n = b.get(r.start() + at + BLOCK_NAME_LENGTH_OFFSET) & 0xFF;
                    f.add(new Field("block[" + i + "].firstPfn", at + BLOCK_FIRST_PFN_OFFSET, 8));
                    f.add(new Field("block[" + i + "].pages", at + BLOCK_PAGES_OFFSET, 8));
                    f.add(new Field("block[" + i + "].nameLength", at + BLOCK_NAME_LENGTH_OFFSET, 1));
                    if (n > 0 && at + BLOCK_NAME_OFFSET + n <= r.length())
                        f.add(new Field("block[" + i + "].name[0]", at + BLOCK_NAME_OFFSET, 1));
                    at += BLOCK_ENTRY_FIXED_LENGTH + n;
                }
            }
            case PAGES ->
                f.addAll(List.of(
                        new Field("block", PAGES_BLOCK_OFFSET, 4),
                        new Field("count", PAGES_COUNT_OFFSET, 4),
                        new Field("offset", PAGES_PAGE_OFFSET, 8)));
            case FILL ->
                f.addAll(List.of(
                        new Field("block", FILL_BLOCK_OFFSET, 4),
                        new Field("fill", FILL_BYTE_OFFSET, 1),
                        new Field("reserved", FILL_RESERVED_OFFSET, 1),
                        new Field("offset", FILL_PAGE_OFFSET, 8),
                        new Field("count", FILL_COUNT_OFFSET, 8)));
            case BALLOON -> {
                f.addAll(List.of(
                        new Field("block", BALLOON_BLOCK_OFFSET, 4),
                        new Field("op", BALLOON_OP_OFFSET, 1),
                        new Field("reserved", BALLOON_RESERVED_OFFSET + 1, 1),
                        new Field("rangeCount", BALLOON_RANGE_COUNT_OFFSET, 4),
                        new Field("reserved2", BALLOON_RESERVED2_OFFSET, 4)));
                for (int at = BALLOON_RANGES_OFFSET, i = 0;
                        at + BALLOON_RANGE_LENGTH <= r.length();
                        at += BALLOON_RANGE_LENGTH, i++) {
                    f.add(new Field("range[" + i + "].offset", at, 8));
                    f.add(new Field("range[" + i + "].count", at + 8, 8));
                }
            }
            case ITERATION_END ->
                f.addAll(List.of(
                        new Field("iteration", ITERATION_OFFSET, 4),
                        new Field("reserved", ITERATION_RESERVED_OFFSET, 4)));
            case COMPLETE ->
                f.addAll(List.of(
                        new Field("digest", COMPLETE_DIGEST_OFFSET, 8),
                        new Field("records", COMPLETE_RECORDS_OFFSET, 8),
                        new Field("bytes", COMPLETE_BYTES_OFFSET, 8)));
            default -> {}
        }
        return f;
    }

    /** Values chosen to hurt a field of {@code size} bytes whose current value is {@code now}. */
    long[] hostileValues(int size, long now) {
        List<Long> v = new ArrayList<>(List.of(
                0L,
                1L,
                2L,
                -1L,
                now + 1,
                now - 1,
                1L << (8 * Math.min(size, 8) - 1),
                (long) dest.blockCount(),
                0xFFFFFFFFL,
                1L << 32,
                MAX_PFN,
                MAX_PFN - 1,
                Long.MAX_VALUE,
                Long.MIN_VALUE,
                (long) MAX_PAGES_PER_RECORD + 1,
                (long) MAX_RANGES_PER_RECORD + 1,
                (long) RecordType.values().length + 1));
        for (var b : dest.blocks()) {
            v.add(b.pages());
            v.add(b.pages() - 1);
            v.add(b.pages() + 1);
            v.add(Long.MAX_VALUE - b.pages() + 2);
            v.add(-b.pages());
        }
        long[] out = new long[v.size()];
        for (int i = 0; i < out.length; i++) out[i] = v.get(i);
        return out;
    }

    static long get(byte[] s, int at, int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) v = (v << 8) | (s[at + i] & 0xFF);
        return v;
    }

    static void put(byte[] s, int at, int size, long v) {
        for (int i = 0; i < size; i++) s[at + i] = (byte) (v >>> (8 * i));
    }

    /** A copy of {@code s} with {@code field} of record {@code r} set to {@code value}. */
    static byte[] withField(byte[] s, Rec r, Field field, long value) {
        byte[] m = s.clone();
        put(m, r.start() + field.at(), field.size(), value);
        return m;
    }

    /** One random mutation of {@code s}. */
    Mutation mutate(byte[] s, SplittableRandom r) {
        List<Rec> recs = WireTestSupport.records(s);
        Kind k = Kind.values()[r.nextInt(Kind.values().length)];
        if (recs.isEmpty() && k.ordinal() >= Kind.FIELD.ordinal()) k = Kind.FLIP;
        if (recs.size() < 2 && k == Kind.SWAP) k = Kind.DUPLICATE;
        switch (k) {
            case FLIP -> {
                int p = pickByte(s, recs, r);
                int x = 1 + r.nextInt(255);
                byte[] m = s.clone();
                m[p] ^= (byte) x;
                return new Mutation(k, m, "byte " + p + " ^= " + Frames.hex(x), p);
            }
            case TRUNCATE -> {
                int p = r.nextInt(s.length);
                return new Mutation(k, Arrays.copyOf(s, p), "cut at " + p, p);
            }
            case INSERT_BYTES -> {
                int p = r.nextInt(s.length + 1);
                byte[] junk = new byte[1 + r.nextInt(r.nextBoolean() ? 8 : 64)];
                for (int i = 0; i < junk.length; i++) junk[i] = (byte) r.nextInt(256);
                return new Mutation(k, splice(s, p, p, junk), junk.length + " random bytes inserted at " + p, p);
            }
            case FIELD, HEADER -> {
                Rec rec = recs.get(r.nextInt(recs.size()));
                List<Field> fs = fields(s, rec);
                Field f = k == Kind.HEADER ? fs.get(r.nextInt(4)) : fs.get(r.nextInt(fs.size()));
                long[] values = hostileValues(f.size(), get(s, rec.start() + f.at(), f.size()));
                long v = r.nextInt(4) == 0 ? r.nextLong() : values[r.nextInt(values.length)];
                byte[] m = withField(s, rec, f, v);
                return new Mutation(
                        k,
                        maybeReseal(m, r),
                        RecordType.byCode(rec.type()) + "@" + rec.start() + "." + f.name() + " = " + Frames.hex(v),
                        rec.start() + f.at());
            }
            case DUPLICATE -> {
                Rec rec = recs.get(r.nextInt(recs.size()));
                byte[] copy = Arrays.copyOfRange(s, rec.start(), rec.end());
                return new Mutation(
                        k,
                        maybeReseal(splice(s, rec.end(), rec.end(), copy), r),
                        "record @" + rec.start() + " duplicated",
                        rec.end());
            }
            case DROP -> {
                Rec rec = recs.get(r.nextInt(recs.size()));
                return new Mutation(
                        k,
                        maybeReseal(splice(s, rec.start(), rec.end(), new byte[0]), r),
                        "record @" + rec.start() + " dropped",
                        rec.start());
            }
            case SWAP -> {
                int i = r.nextInt(recs.size() - 1);
                Rec a = recs.get(i), b = recs.get(i + 1);
                byte[] m = new byte[s.length];
                System.arraycopy(s, 0, m, 0, a.start());
                System.arraycopy(s, b.start(), m, a.start(), b.length());
                System.arraycopy(s, a.start(), m, a.start() + b.length(), a.length());
                System.arraycopy(s, b.end(), m, b.end(), s.length - b.end());
                return new Mutation(
                        k, maybeReseal(m, r), "records @" + a.start() + " and @" + b.start() + " swapped", a.start());
            }
            case APPEND_AFTER_COMPLETE -> {
                Rec rec = recs.get(r.nextInt(recs.size()));
                return new Mutation(
                        k,
                        splice(s, s.length, s.length, Arrays.copyOfRange(s, rec.start(), rec.end())),
                        "record @" + rec.start() + " appended after COMPLETE",
                        s.length);
            }
            case BALLOON_OVERLAP, BALLOON_SWAP -> {
                List<Rec> multi = new ArrayList<>();
                for (Rec rec : recs)
                    if (rec.type() == RecordType.BALLOON.code()
                            && rec.length() >= BALLOON_RANGES_OFFSET + 2 * BALLOON_RANGE_LENGTH) multi.add(rec);
                if (multi.isEmpty()) return mutate(s, r);
                Rec rec = multi.get(r.nextInt(multi.size()));
                int n = (rec.length() - BALLOON_RANGES_OFFSET) / BALLOON_RANGE_LENGTH;
                int i = 1 + r.nextInt(n - 1);
                int prev = rec.start() + BALLOON_RANGES_OFFSET + (i - 1) * BALLOON_RANGE_LENGTH;
                int cur = prev + BALLOON_RANGE_LENGTH;
                byte[] m = s.clone();
                if (k == Kind.BALLOON_OVERLAP) {
                    // starts inside the range before it, and stays inside the block
                    long end = get(s, prev, 8) + get(s, prev + 8, 8);
                    put(m, cur, 8, end - 1);
                    put(m, cur + 8, 8, 1);
                } else {
                    System.arraycopy(s, cur, m, prev, BALLOON_RANGE_LENGTH);
                    System.arraycopy(s, prev, m, cur, BALLOON_RANGE_LENGTH);
                }
                return new Mutation(
                        k,
                        maybeReseal(m, r),
                        "BALLOON@" + rec.start() + " range " + i
                                + (k == Kind.BALLOON_OVERLAP ? " overlaps" : " swapped with") + " range " + (i - 1),
                        cur);
            }
            default -> throw new IllegalStateException(k.name());
        }
    }

    /** Half of the flips hit a header or field, not page contents, where most bytes are. */
    private static int pickByte(byte[] s, List<Rec> recs, SplittableRandom r) {
        if (r.nextBoolean() || recs.isEmpty()) return r.nextInt(s.length);
        Rec rec = recs.get(r.nextInt(recs.size()));
        int meta = rec.type() == RecordType.PAGES.code() ? PAGES_DATA_OFFSET : rec.length();
        return rec.start() + r.nextInt(Math.min(meta, rec.length()));
    }

    private static byte[] maybeReseal(byte[] m, SplittableRandom r) {
        return r.nextBoolean() ? WireTestSupport.resealed(m) : m;
    }

    static byte[] splice(byte[] s, int from, int to, byte[] with) {
        byte[] m = new byte[s.length - (to - from) + with.length];
        System.arraycopy(s, 0, m, 0, from);
        System.arraycopy(with, 0, m, from, with.length);
        System.arraycopy(s, to, m, from + with.length, s.length - to);
        return m;
    }
}
