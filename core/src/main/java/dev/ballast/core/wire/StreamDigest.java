package dev.ballast.core.wire;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The running digest of a page stream: each record's bytes (header included) are checksummed with
 * CRC32C, and the checksum and the record's length are mixed into the digest of everything before
 * it, starting from {@link WireFormat#DIGEST_SEED}:
 * {@code d = avalanche(d ^ (length << 32 | crc32c(record)))}, with XXH64's final avalanche. Both
 * ends fold every record the source sends, HELLO first, COMPLETE excluded (it carries the result).
 * CRC32C runs on the CPU's own instruction (about 3× the speed of XXH64 in Java here), and every
 * byte of a migration passes through it twice. A fold allocates nothing (one view of the buffer is
 * kept) and leaves the buffer's position alone.
 *
 * <p>{@link #xxh64} stays as a general 64-bit hash of buffer ranges (tests hash page contents with it).
 */
public final class StreamDigest {
    private static final long P1 = 0x9E3779B185EBCA87L;
    private static final long P2 = 0xC2B2AE3D27D4EB4FL;
    private static final long P3 = 0x165667B19E3779F9L;
    private static final long P4 = 0x85EBCA77C2B2AE63L;
    private static final long P5 = 0x27D4EB2F165667C5L;

    private long digest = WireFormat.DIGEST_SEED;
    private long records;
    private long bytes;
    private final CRC32C crc = new CRC32C();
    private ByteBuffer viewOf;
    private ByteBuffer view;

    /** Folds the record at {@code [from, from + length)} of {@code buf} into the digest. */
    public void fold(ByteBuffer buf, int from, int length) {
        if (buf != viewOf) {
            view = buf.duplicate();
            viewOf = buf;
        }
        view.limit(from + length).position(from);
        crc.reset();
        crc.update(view);
        digest = mix(digest, length, (int) crc.getValue());
        records++;
        bytes += length;
    }

    /** The digest after a record of {@code length} bytes whose CRC32C is {@code crc32c}, from {@code digest}. */
    private static long mix(long digest, int length, int crc32c) {
        return avalanche(digest ^ ((long) length << 32 | (crc32c & 0xFFFFFFFFL)));
    }

    /** XXH64's final mix. */
    private static long avalanche(long h) {
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        h ^= h >>> 32;
        return h;
    }

    public long digest() { return digest; }

    /** Records folded so far. */
    public long records() { return records; }

    /** Bytes folded so far. */
    public long bytes() { return bytes; }

    /** XXH64 of {@code [from, from + length)} of a little-endian buffer. */
    public static long xxh64(ByteBuffer buf, int from, int length, long seed) {
        if (buf.order() != ByteOrder.LITTLE_ENDIAN) throw new IllegalArgumentException("the digest reads little-endian buffers");
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

    private static long round(long acc, long input) {
        acc += input * P2;
        acc = Long.rotateLeft(acc, 31);
        return acc * P1;
    }

    private static long merge(long acc, long v) {
        acc ^= round(0, v);
        return acc * P1 + P4;
    }
}
