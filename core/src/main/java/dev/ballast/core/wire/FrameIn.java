package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireException.Reason.*;
import static dev.ballast.core.wire.WireFormat.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;

/**
 * Reads one record at a time from a channel into a reusable buffer, checking its header (magic,
 * type, direction, flags, length) before it reads the payload, so a hostile length never makes it
 * read or allocate more than the longest record of the type. Single-threaded.
 *
 * <p>Its buffer is native memory that {@link #close} frees at once: a destination serving many
 * connections does not wait for a garbage collection to give back each one's buffer (up to 4 MiB;
 * the heap of a destination hardly allocates, so collections are rare, and a {@code ballast dest}
 * grew by 4 MiB of resident memory a connection). A reader that is never closed gives it back
 * when it is collected, as a direct buffer would.
 */
final class FrameIn implements AutoCloseable {
    private final ReadableByteChannel ch;
    /** The channel, if it can wait for more than a byte. */
    private final ReadThreshold threshold;

    private final boolean toDestination;
    private final int maxLength;
    /** Holds the current record from offset 0; replaced by a larger one when a record needs it. */
    ByteBuffer buf;
    /** Owns {@link #buf}'s memory: the arena of the buffer in use, closed by {@link #close} or, failing that, by the cleaner. */
    private final Owner owner = new Owner();

    private static final Cleaner CLEANER = Cleaner.create();

    /** What the cleaner closes: it must not reach the FrameIn. */
    private static final class Owner implements Runnable {
        private Arena arena;

        synchronized ByteBuffer allocate(long bytes) {
            Arena a = Arena.ofShared();
            arena = a;
            return a.allocate(bytes, 8).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }

        /** Frees the buffer in use; {@code next} owns the one that replaces it. */
        synchronized void replace(Arena next) {
            run();
            arena = next;
        }

        @Override
        public synchronized void run() {
            if (arena != null) {
                arena.close();
                arena = null;
            }
        }
    }

    private final Cleaner.Cleanable cleanable;

    /** Stream offset of the current record's first byte. */
    long recordOffset;
    /** Stream offset of the next byte to read. */
    long offset;

    RecordType type;
    int flags;
    /** The current record's length, header included. */
    int length;

    /** @param toDestination whether this end is the destination (reads what the source sends) */
    FrameIn(ReadableByteChannel ch, boolean toDestination) {
        this.ch = ch;
        this.threshold = ch instanceof ReadThreshold t ? t : null;
        this.toDestination = toDestination;
        int max = 0;
        for (RecordType t : RecordType.values()) {
            if (toDestination ? t.toDestination() : t.toSource()) max = Math.max(max, t.maxLength());
        }
        this.maxLength = max;
        this.buf = owner.allocate(Math.min(INITIAL_CAPACITY, max));
        this.cleanable = CLEANER.register(this, owner);
    }

    /** Frees the buffer; nothing may be read after. */
    @Override
    public void close() {
        buf = null;
        cleanable.clean();
    }

    private static final int INITIAL_CAPACITY = 64 << 10;
    /** Payloads at least this long are read with a raised wake-up threshold. */
    private static final int BATCHED_PAYLOAD = 128 << 10;
    /**
     * The highest threshold: one wake-up for a full PAGES record (1 MiB of pages). Over loopback
     * TCP here, a legacy migration moved 3.1 GB/s waking for every segment, 3.8 GB/s with this.
     */
    static final int MAX_WAKE_AFTER = 1 << 20;

    /**
     * Reads and checks the next header. Returns false at a clean end of stream (no byte of a
     * further record); a stream that ends inside the header is TRUNCATED.
     */
    boolean readHeader() throws IOException, WireException {
        recordOffset = offset;
        type = null;
        buf.clear().limit(HEADER_LENGTH);
        int n = fill(false);
        if (n == 0) return false;
        if (n < HEADER_LENGTH) throw reject(TRUNCATED, "the stream ends " + n + " bytes into a record header");
        int magic = Frames.u16(buf, MAGIC_OFFSET);
        if (magic != MAGIC) throw reject(BAD_MAGIC, "magic " + Frames.hex(magic) + ", expected " + Frames.hex(MAGIC));
        int code = Frames.u8(buf, TYPE_OFFSET);
        RecordType t = RecordType.byCode(code);
        if (t == null) throw reject(UNKNOWN_TYPE, "type " + code + " is not a record type");
        type = t;
        if (toDestination ? !t.toDestination() : !t.toSource()) {
            throw reject(UNEXPECTED_RECORD, "a " + t + " record travels the other way");
        }
        flags = Frames.u8(buf, FLAGS_OFFSET);
        if ((flags & ~t.allowedFlags()) != 0)
            throw reject(BAD_FLAGS, "flags " + Frames.hex(flags) + " not defined for this type");
        long len = Frames.u32(buf, LENGTH_OFFSET) + HEADER_LENGTH;
        if (!t.lengthFits(len)) {
            throw reject(
                    BAD_LENGTH,
                    "length " + len + " does not fit the type (" + t.minLength() + ".." + t.maxLength() + " bytes)");
        }
        length = (int) len;
        return true;
    }

    /** Reads the rest of the record whose header {@link #readHeader()} accepted. */
    void readPayload() throws IOException, WireException {
        if (length > buf.capacity()) {
            // Only after the header passed: never more than the longest record of an allowed type.
            ByteBuffer old = buf.flip();
            Arena a = Arena.ofShared();
            ByteBuffer bigger = a.allocate(Math.min(maxLength, Math.max(length, 2L * buf.capacity())), 8)
                    .asByteBuffer()
                    .order(ByteOrder.LITTLE_ENDIAN);
            bigger.put(old);
            owner.replace(a);
            buf = bigger;
        }
        buf.limit(length);
        int n = fill(threshold != null && length - HEADER_LENGTH >= BATCHED_PAYLOAD);
        if (n < length - HEADER_LENGTH) {
            throw reject(TRUNCATED, "the stream ends " + (HEADER_LENGTH + n) + " bytes into a record of " + length);
        }
        buf.clear();
    }

    /**
     * Reads until the buffer's limit or the end of the stream; returns the bytes read. Batched,
     * a read that waits waits for what the buffer lacks, up to {@link #MAX_WAKE_AFTER} bytes.
     */
    private int fill(boolean batched) throws IOException {
        int start = buf.position();
        while (buf.hasRemaining()) {
            int r = batched ? threshold.read(buf, Math.min(buf.remaining(), MAX_WAKE_AFTER)) : ch.read(buf);
            if (r < 0) break;
            if (r == 0) Thread.onSpinWait();
        }
        int n = buf.position() - start;
        offset += n;
        return n;
    }

    /**
     * Whether bytes have arrived after the current record, asked without waiting where the channel
     * can say ({@link ReadThreshold#readNow}); they are consumed (they are rejected anyway). The
     * current record's fields must have been read: this reuses the buffer. The end of the stream
     * is not a byte.
     */
    boolean bytesFollow() throws IOException {
        if (threshold == null) return false;
        buf.clear().limit(HEADER_LENGTH);
        int n = threshold.readNow(buf);
        buf.clear();
        if (n <= 0) return false;
        recordOffset = offset;
        offset += n;
        type = null;
        return true;
    }

    /** A rejection of the current record. */
    WireException reject(WireException.Reason reason, String detail) {
        return new WireException(reason, type, recordOffset, detail);
    }
}
