package dev.ballast.core.wire;

import dev.ballast.core.hash.Xxh64;
import java.nio.ByteBuffer;
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
 */
public final class StreamDigest {
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
        return Xxh64.avalanche(digest ^ ((long) length << 32 | (crc32c & 0xFFFFFFFFL)));
    }

    public long digest() {
        return digest;
    }

    /** Records folded so far. */
    public long records() {
        return records;
    }

    /** Bytes folded so far. */
    public long bytes() {
        return bytes;
    }
}
