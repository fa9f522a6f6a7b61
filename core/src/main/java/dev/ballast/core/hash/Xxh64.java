package dev.ballast.core.hash;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * XXH64 (xxHash, 64 bits) and its pieces, for the digests that are built from them: the page
 * stream's ({@code StreamDigest}: the final avalanche) and the journal's ({@code JournalDigest}:
 * rounds, merges and the avalanche over one lane per record word). {@link #hash} is the whole
 * function over a range of a little-endian buffer.
 */
public final class Xxh64 {
    public static final long P1 = 0x9E3779B185EBCA87L;
    public static final long P2 = 0xC2B2AE3D27D4EB4FL;
    public static final long P3 = 0x165667B19E3779F9L;
    public static final long P4 = 0x85EBCA77C2B2AE63L;
    public static final long P5 = 0x27D4EB2F165667C5L;

    private Xxh64() {}

    /** One lane's round: {@code rotl64(acc + input * P2, 31) * P1}. */
    public static long round(long acc, long input) {
        return Long.rotateLeft(acc + input * P2, 31) * P1;
    }

    /** Folds a lane into the converged hash: {@code (acc ^ round(0, lane)) * P1 + P4}. */
    public static long merge(long acc, long lane) {
        return (acc ^ round(0, lane)) * P1 + P4;
    }

    /** The final mix. */
    public static long avalanche(long h) {
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        h ^= h >>> 32;
        return h;
    }

    /** XXH64 of {@code [from, from + length)} of a little-endian buffer. */
    public static long hash(ByteBuffer buf, int from, int length, long seed) {
        if (buf.order() != ByteOrder.LITTLE_ENDIAN)
            throw new IllegalArgumentException("XXH64 reads little-endian buffers");
        int p = from;
        int end = from + length;
        long h;
        if (length >= 32) {
            long v1 = seed + P1 + P2;
            long v2 = seed + P2;
            long v3 = seed;
            long v4 = seed - P1;
            int limit = end - 32;
            do {
                v1 = round(v1, buf.getLong(p));
                v2 = round(v2, buf.getLong(p + 8));
                v3 = round(v3, buf.getLong(p + 16));
                v4 = round(v4, buf.getLong(p + 24));
                p += 32;
            } while (p <= limit);
            h = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
            h = merge(h, v1);
            h = merge(h, v2);
            h = merge(h, v3);
            h = merge(h, v4);
        } else {
            h = seed + P5;
        }
        h += length;
        while (p + 8 <= end) {
            h ^= round(0, buf.getLong(p));
            h = Long.rotateLeft(h, 27) * P1 + P4;
            p += 8;
        }
        if (p + 4 <= end) {
            h ^= (buf.getInt(p) & 0xFFFFFFFFL) * P1;
            h = Long.rotateLeft(h, 23) * P2 + P3;
            p += 4;
        }
        while (p < end) {
            h ^= (buf.get(p) & 0xFFL) * P5;
            h = Long.rotateLeft(h, 11) * P1;
            p++;
        }
        return avalanche(h);
    }
}
