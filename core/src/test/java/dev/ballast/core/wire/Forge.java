package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireFormat.*;

import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * Builds streams by hand, byte by byte, without the writer: for records the writer would never
 * make. {@link #complete()} computes a correct COMPLETE for what came before, so a test rejects
 * a record for what it is, not for the digest.
 */
final class Forge {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** Where the next record starts. */
    int offset() {
        return out.size();
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    Forge raw(byte[] b) {
        out.write(b, 0, b.length);
        return this;
    }

    /** A record of {@code type} with a {@code length}-byte record (header included) that {@code body} fills. */
    Forge record(int type, int flags, int length, Consumer<ByteBuffer> body) {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(MAGIC_OFFSET, (short) MAGIC);
        b.put(TYPE_OFFSET, (byte) type);
        b.put(FLAGS_OFFSET, (byte) flags);
        b.putInt(LENGTH_OFFSET, length - HEADER_LENGTH);
        body.accept(b);
        return raw(b.array());
    }

    Forge hello(RamLayout l) {
        return hello(l, VERSION, 0, 99);
    }

    Forge hello(RamLayout l, int version, int poison, long session) {
        Object[] blocks = new Object[3 * l.blockCount()];
        for (RamBlock b : l.blocks()) {
            blocks[3 * b.index()] = b.name();
            blocks[3 * b.index() + 1] = b.firstPfn();
            blocks[3 * b.index() + 2] = b.pages();
        }
        return hello(version, poison, session, blocks);
    }

    /** A HELLO with any blocks at all: (name, first PFN, pages) triples; a name may be a byte[]. */
    Forge hello(int version, int poison, long session, Object... blocks) {
        int len = HELLO_BLOCKS_OFFSET;
        for (int i = 0; i < blocks.length; i += 3) len += BLOCK_ENTRY_FIXED_LENGTH + name(blocks[i]).length;
        return record(RecordType.HELLO.code(), 0, len, b -> {
            b.putShort(HELLO_VERSION_OFFSET, (short) version);
            b.put(HELLO_POISON_OFFSET, (byte) poison);
            b.putInt(HELLO_BLOCK_COUNT_OFFSET, blocks.length / 3);
            b.putLong(HELLO_SESSION_OFFSET, session);
            int at = HELLO_BLOCKS_OFFSET;
            for (int i = 0; i < blocks.length; i += 3) {
                byte[] n = name(blocks[i]);
                b.putLong(at + BLOCK_FIRST_PFN_OFFSET, ((Number) blocks[i + 1]).longValue());
                b.putLong(at + BLOCK_PAGES_OFFSET, ((Number) blocks[i + 2]).longValue());
                b.put(at + BLOCK_NAME_LENGTH_OFFSET, (byte) n.length);
                b.put(at + BLOCK_NAME_OFFSET, n);
                at += BLOCK_ENTRY_FIXED_LENGTH + n.length;
            }
        });
    }

    private static byte[] name(Object o) {
        return o instanceof byte[] b ? b : ((String) o).getBytes(StandardCharsets.UTF_8);
    }

    /** PAGES whose contents are the byte {@code (page index + 1)} repeated. */
    Forge pages(long block, long offset, int count) {
        return pagesClaiming(block, offset, count, count);
    }

    /** PAGES that say they hold {@code count} pages and hold {@code n}. */
    Forge pagesClaiming(long block, long offset, long count, int n) {
        return record(RecordType.PAGES.code(), 0, PAGES_DATA_OFFSET + n * PAGE_SIZE, b -> {
            b.putInt(PAGES_BLOCK_OFFSET, (int) block);
            b.putInt(PAGES_COUNT_OFFSET, (int) count);
            b.putLong(PAGES_PAGE_OFFSET, offset);
            for (int i = 0; i < n * PAGE_SIZE; i++) b.put(PAGES_DATA_OFFSET + i, (byte) (i / PAGE_SIZE + 1));
        });
    }

    Forge fill(long block, long offset, long count, int fill) {
        return record(RecordType.FILL.code(), 0, FILL_LENGTH, b -> {
            b.putInt(FILL_BLOCK_OFFSET, (int) block);
            b.put(FILL_BYTE_OFFSET, (byte) fill);
            b.putLong(FILL_PAGE_OFFSET, offset);
            b.putLong(FILL_COUNT_OFFSET, count);
        });
    }

    /** BALLOON with (offset, count) pairs. */
    Forge balloon(long block, int op, long... ranges) {
        return record(RecordType.BALLOON.code(), 0, BALLOON_RANGES_OFFSET + ranges.length * 8, b -> {
            b.putInt(BALLOON_BLOCK_OFFSET, (int) block);
            b.put(BALLOON_OP_OFFSET, (byte) op);
            b.putInt(BALLOON_RANGE_COUNT_OFFSET, ranges.length / 2);
            for (int i = 0; i < ranges.length; i++) b.putLong(BALLOON_RANGES_OFFSET + 8 * i, ranges[i]);
        });
    }

    Forge iteration(int it) {
        return record(RecordType.ITERATION_END.code(), 0, ITERATION_END_LENGTH, b -> b.putInt(ITERATION_OFFSET, it));
    }

    Forge error(WireException.Reason r, String msg) {
        return raw(Frames.error(r, msg).array());
    }

    /** A COMPLETE that matches everything before it. */
    Forge complete() {
        byte[] before = bytes();
        ByteBuffer b = ByteBuffer.wrap(before).order(ByteOrder.LITTLE_ENDIAN);
        StreamDigest d = new StreamDigest();
        for (WireTestSupport.Rec r : WireTestSupport.records(before)) d.fold(b, r.start(), r.length());
        return complete(d.digest(), d.records(), d.bytes());
    }

    Forge complete(long digest, long records, long bytes) {
        return record(RecordType.COMPLETE.code(), 0, COMPLETE_LENGTH, b -> {
            b.putLong(COMPLETE_DIGEST_OFFSET, digest);
            b.putLong(COMPLETE_RECORDS_OFFSET, records);
            b.putLong(COMPLETE_BYTES_OFFSET, bytes);
        });
    }
}
