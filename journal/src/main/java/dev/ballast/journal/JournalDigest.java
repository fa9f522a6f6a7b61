package dev.ballast.journal;

/**
 * The running 64-bit digest of a journal's event stream: fast, deterministic, and independent of
 * how the records were split into documents, so identical streams give identical digests.
 *
 * <p>Definition (format version 1). Each record is taken as its five little-endian 64-bit words
 * {@code w0..w4} ({@link RecordDescriptor}: type id and flags, time, a, b, c). With the xxHash64
 * primes {@code P1..P5}:
 * <pre>
 *   state = P5
 *   for each record, for each word w:  state = rotl64(state + w * P2, 31) * P1
 *   digest(count) = avalanche(state ^ (count * P3))
 *   avalanche(h) = h ^= h &gt;&gt;&gt; 33; h *= P2; h ^= h &gt;&gt;&gt; 29; h *= P3; h ^= h &gt;&gt;&gt; 32
 * </pre>
 * This is not a cryptographic hash: it proves that a replay saw the same stream as the writer,
 * not that nobody forged it. Not thread-safe; each writer or reader owns one.
 */
public final class JournalDigest {
    static final long P1 = 0x9E3779B185EBCA87L;
    static final long P2 = 0xC2B2AE3D27D4EB4FL;
    static final long P3 = 0x165667B19E3779F9L;
    static final long P5 = 0x27D4EB2F165667C5L;

    private long state = P5;
    private long count;

    /** Adds one record given by its fields. */
    public void update(int typeId, long timeNs, long a, long b, long c) {
        long s = state;
        s = round(s, RecordDescriptor.headerWord(typeId));
        s = round(s, timeNs);
        s = round(s, a);
        s = round(s, b);
        s = round(s, c);
        state = s;
        count++;
    }

    /** Adds {@code records} records laid out from {@code offset} in {@code buffer}. */
    public void update(byte[] buffer, int offset, int records) {
        long s = state;
        int end = offset + records * RecordDescriptor.LENGTH;
        for (int p = offset; p < end; p += Long.BYTES) {
            s = round(s, RecordDescriptor.getLong(buffer, p));
        }
        state = s;
        count += records;
    }

    /** The digest of the records added so far. */
    public long value() {
        long h = state ^ (count * P3);
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        h ^= h >>> 32;
        return h;
    }

    /** Records added so far. */
    public long count() {
        return count;
    }

    public void reset() {
        state = P5;
        count = 0;
    }

    private static long round(long s, long w) {
        return Long.rotateLeft(s + w * P2, 31) * P1;
    }

    /** The digest as journals and reports print it: 16 hex digits. */
    public static String toHex(long digest) {
        return String.format("%016x", digest);
    }
}
