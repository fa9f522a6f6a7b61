package dev.ballast.journal;

import static dev.ballast.core.hash.Xxh64.P1;
import static dev.ballast.core.hash.Xxh64.P5;
import static dev.ballast.core.hash.Xxh64.avalanche;
import static dev.ballast.core.hash.Xxh64.merge;
import static dev.ballast.core.hash.Xxh64.round;

/**
 * The running 64-bit digest of a journal's event stream: fast, deterministic, and independent of
 * how the records were split into documents, so identical streams give identical digests.
 *
 * <p>Definition (format version 1), in the style of xxHash64 with one lane per record word, so the
 * five multiply chains run in parallel. Each record is its five little-endian 64-bit words
 * {@code w0..w4} ({@link RecordDescriptor}: type id and flags, time, a, b, c). With the xxHash64
 * primes {@code P1..P5} and its pieces ({@link dev.ballast.core.hash.Xxh64}):
 * <pre>
 *   round(v, w)  = rotl64(v + w * P2, 31) * P1
 *   lane k       = P5 + k * P1, then for each record: lane k = round(lane k, w_k)
 *   h            = rotl(lane0, 1) + rotl(lane1, 7) + rotl(lane2, 12) + rotl(lane3, 18) + rotl(lane4, 23)
 *   for each k:  h = (h ^ round(0, lane k)) * P1 + P4
 *   h           += count * 40
 *   digest       = avalanche(h):  h ^= h &gt;&gt;&gt; 33; h *= P2; h ^= h &gt;&gt;&gt; 29; h *= P3; h ^= h &gt;&gt;&gt; 32
 * </pre>
 * Every round is a bijection of its lane for a given word, so changing any bit of any record
 * changes that lane for good; rounds do not commute, so order matters. This is not a
 * cryptographic hash: it proves that a replay saw the same stream as the writer, not that nobody
 * forged it. Not thread-safe; each writer or reader owns one.
 */
public final class JournalDigest {
    private long v0;
    private long v1;
    private long v2;
    private long v3;
    private long v4;
    private long count;

    public JournalDigest() {
        reset();
    }

    /** Adds one record given by its fields. */
    public void update(int typeId, long timeNs, long a, long b, long c) {
        v0 = round(v0, RecordDescriptor.headerWord(typeId));
        v1 = round(v1, timeNs);
        v2 = round(v2, a);
        v3 = round(v3, b);
        v4 = round(v4, c);
        count++;
    }

    /** Adds {@code records} records laid out from {@code offset} in {@code buffer}. */
    public void update(byte[] buffer, int offset, int records) {
        long s0 = v0;
        long s1 = v1;
        long s2 = v2;
        long s3 = v3;
        long s4 = v4;
        int end = offset + records * RecordDescriptor.LENGTH;
        for (int p = offset; p < end; p += RecordDescriptor.LENGTH) {
            s0 = round(s0, RecordDescriptor.getLong(buffer, p));
            s1 = round(s1, RecordDescriptor.getLong(buffer, p + 8));
            s2 = round(s2, RecordDescriptor.getLong(buffer, p + 16));
            s3 = round(s3, RecordDescriptor.getLong(buffer, p + 24));
            s4 = round(s4, RecordDescriptor.getLong(buffer, p + 32));
        }
        v0 = s0;
        v1 = s1;
        v2 = s2;
        v3 = s3;
        v4 = s4;
        count += records;
    }

    /** The digest of the records added so far. */
    public long value() {
        long h = Long.rotateLeft(v0, 1)
                + Long.rotateLeft(v1, 7)
                + Long.rotateLeft(v2, 12)
                + Long.rotateLeft(v3, 18)
                + Long.rotateLeft(v4, 23);
        h = merge(h, v0);
        h = merge(h, v1);
        h = merge(h, v2);
        h = merge(h, v3);
        h = merge(h, v4);
        h += count * RecordDescriptor.LENGTH;
        return avalanche(h);
    }

    /** Records added so far. */
    public long count() {
        return count;
    }

    public void reset() {
        v0 = P5;
        v1 = P5 + P1;
        v2 = P5 + 2 * P1;
        v3 = P5 + 3 * P1;
        v4 = P5 + 4 * P1;
        count = 0;
    }

    /** The digest as journals and reports print it: 16 hex digits. */
    public static String toHex(long digest) {
        return String.format("%016x", digest);
    }
}
