package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireException.Reason.*;
import static dev.ballast.core.wire.WireFormat.*;

import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The destination end of a page stream. Reads records from {@code in}, validates each one
 * completely (header, every field, every range, its place in the protocol) before anything of it
 * reaches the {@link PageSink}, maps the wire's block ids to local blocks by name, and answers on
 * {@code out}: HELLO_ACK to the handshake, COMPLETE_ACK to COMPLETE, ERROR to anything it
 * rejects (a rejected handshake is answered with a refusing HELLO_ACK instead).
 *
 * <p>A rejection throws a {@link WireException} and leaves the reader failed; the owner closes
 * the connection. Both channels must be blocking. Single-threaded, but for {@link #requestPages}
 * (postcopy), which any thread may call; validating and applying a record allocates nothing.
 * {@link #close} frees its buffer.
 *
 * <p>Postcopy (version 4): DISCARD and BALLOON_BITMAP before SWITCH_OVER, none after; from
 * SWITCH_OVER on (or from a HELLO flagged RECOVER) the destination's guest runs here, its faults go
 * back as PAGE_REQUEST records, and a page record for a page this end holds already is refused
 * ({@code PLACED_TWICE}). The reader keeps a bit a page of what the destination holds (pages it did
 * not report missing, pages received, less pages discarded) for that check. A HELLO flagged RECOVER of a
 * migration the sink completed already ({@link PageSink#completedBefore}) is answered with its COMPLETE_ACK
 * again, and the stream ends there.
 */
public final class PageStreamReader implements AutoCloseable {
    private enum State {
        AUTH,
        HANDSHAKE,
        STREAMING,
        COMPLETED,
        FAILED
    }

    private final WritableByteChannel out;
    /** The destination's layout; null until HELLO for a reader that adopts the source's. */
    private RamLayout local;

    private final boolean adoptLayout;
    private final PageSink sink;
    private final FrameIn frame;
    private ByteBuffer buf;
    private final StreamDigest digest = new StreamDigest();

    private State state = State.HANDSHAKE;
    private Hello hello;
    private int[] wireToLocal;
    private long[] wirePages;
    private String[] wireNames;
    private int lastIteration;
    private Verdict verdict;
    private boolean closed;
    /**
     * The session id of the HELLO read, echoed in a refusing HELLO_ACK; 0 when the HELLO was refused from its header
     * alone (the buffer then holds the record before it, or nothing).
     */
    private long helloSession;

    /** Every answer and page request goes out under this lock: {@link #requestPages} comes from other threads. */
    private final Object outLock = new Object();
    /** The destination's local block index to the wire's block id, once the handshake is accepted. */
    private int[] localToWire;
    /** The first bit of each wire block in {@link #held}. */
    private long[] wireBase;
    /**
     * Pages this destination holds, a bit a page in wire block order (from HELLO); null for a layout of more than
     * {@link #MAX_TRACKED_PAGES}, which pre-copy may stream but postcopy refuses.
     */
    private PageBitmap held;
    /** The largest layout whose pages the reader tracks for postcopy: 2^30 pages (4 TiB), a 128 MiB bitmap. */
    static final long MAX_TRACKED_PAGES = 1L << 30;
    /** Pages the DISCARD records of this stream named, in all. */
    private long discardedPages;
    /** The guest runs here: after SWITCH_OVER, or in a stream that recovers a postcopy migration. */
    private volatile boolean postcopy;

    private final ByteBuffer request =
            ByteBuffer.allocateDirect(PAGE_REQUEST_LENGTH).order(java.nio.ByteOrder.LITTLE_ENDIAN);

    private WireSecret secret;
    private byte[] sourceNonce;
    private byte[] destNonce;
    private boolean authenticated;

    /** The STATE section being received (0: none), its length and the next offset expected. */
    private int stateSection;

    private long stateTotal;
    private long stateNext;
    private final boolean[] sectionsDone = new boolean[MAX_STATE_SECTION + 1];

    /** A destination with a layout of its own: the HELLO's must have the same blocks, in any order. */
    public PageStreamReader(ReadableByteChannel in, WritableByteChannel out, RamLayout local, PageSink sink) {
        this(in, out, local, sink, false);
        if (local == null) throw new IllegalArgumentException("local layout is null; use adoptingLayout()");
    }

    private PageStreamReader(
            ReadableByteChannel in, WritableByteChannel out, RamLayout local, PageSink sink, boolean adopt) {
        this.out = out;
        this.local = local;
        this.adoptLayout = adopt;
        this.sink = sink;
        this.frame = new FrameIn(in, true);
    }

    /**
     * A destination that has no layout before the migration (it creates its guest from the
     * handshake): the HELLO's layout, once validated, becomes the local one, in the source's block
     * order. The sink's {@link PageSink#open} sees it and may refuse it.
     */
    public static PageStreamReader adoptingLayout(ReadableByteChannel in, WritableByteChannel out, PageSink sink) {
        return new PageStreamReader(in, out, null, sink, true);
    }

    /**
     * Requires the source to prove it holds {@code secret} (AUTH_INIT, AUTH_CHALLENGE,
     * AUTH_RESPONSE) before its HELLO. Call before the first {@link #step()}. A source that does
     * not authenticate, or proves a different secret, is rejected ({@code AUTH_FAILED}) before
     * anything reaches the sink.
     */
    public PageStreamReader requireSecret(WireSecret secret) {
        if (state != State.HANDSHAKE || frame.offset != 0)
            throw new IllegalStateException("requireSecret() before the first step");
        this.secret = secret;
        this.state = State.AUTH;
        return this;
    }

    /** Whether the source has proven the secret (false when none is required). */
    public boolean authenticated() {
        return authenticated;
    }

    /** Reads the whole migration, from HELLO to COMPLETE, and returns the verdict sent to the source. */
    public Verdict run() throws IOException, WireException {
        while (step()) {
            // one record a step
        }
        return verdict;
    }

    /**
     * Reads, validates and applies one record. Returns true while more records are expected,
     * false once COMPLETE has been answered, and false again at a clean end of stream after
     * that; a record after COMPLETE is rejected.
     */
    public boolean step() throws IOException, WireException {
        if (state == State.FAILED) throw new IllegalStateException("the reader rejected the stream already");
        if (closed) throw new IllegalStateException("the reader is closed");
        try {
            return readRecord();
        } catch (WireException e) {
            State was = state;
            state = State.FAILED;
            answerRejection(was, e);
            throw e;
        }
    }

    /**
     * Answers a connection this destination will not serve with ERROR ({@code REFUSED}, the
     * message), best effort, without reading anything from it.
     */
    public static void tryRefuse(WritableByteChannel out, String message) {
        Frames.tryWrite(out, Frames.error(REFUSED, message));
    }

    /** Frees the read buffer (its memory goes back at once, not at a garbage collection). The reader reads nothing after. */
    @Override
    public void close() {
        closed = true;
        frame.close();
    }

    /** The handshake, once it has been accepted; else null. */
    public Hello hello() {
        return hello;
    }

    /** The verdict sent to the source, once COMPLETE has been answered; else null. */
    public Verdict verdict() {
        return verdict;
    }

    /** Stream bytes read so far. */
    public long streamOffset() {
        return frame.offset;
    }

    /** Records accepted so far. */
    public long records() {
        return digest.records() + (verdict != null ? 1 : 0);
    }

    /** The running digest of the records accepted so far (COMPLETE excluded). */
    public long digest() {
        return digest.digest();
    }

    // ------------------------------------------------------------------ records

    private boolean readRecord() throws IOException, WireException {
        if (state == State.COMPLETED) {
            // Whatever follows COMPLETE, whole record or stray bytes, should not be there.
            try {
                if (!frame.readHeader()) return false;
            } catch (WireException malformed) {
                // reported as what it is: something after COMPLETE
            }
            throw frame.reject(UNEXPECTED_RECORD, "a record after COMPLETE");
        }
        if (!frame.readHeader()) {
            throw frame.reject(
                    TRUNCATED,
                    switch (state) {
                        case AUTH -> "the stream ends before authentication";
                        case HANDSHAKE -> "the stream ends before HELLO";
                        default -> "the stream ends before COMPLETE";
                    });
        }
        RecordType t = frame.type;
        switch (state) {
            case AUTH -> {
                if (t == RecordType.HELLO)
                    throw frame.reject(AUTH_FAILED, "this destination requires authentication before HELLO");
                // Anything but the exchange (or the peer's ERROR) before a good AUTH_RESPONSE fails authentication.
                if (t == RecordType.AUTH_RESPONSE && sourceNonce == null)
                    throw frame.reject(AUTH_FAILED, "AUTH_RESPONSE before AUTH_INIT");
                if (t == RecordType.AUTH_INIT && sourceNonce != null)
                    throw frame.reject(AUTH_FAILED, "a second AUTH_INIT");
                if (t != RecordType.AUTH_INIT && t != RecordType.AUTH_RESPONSE && t != RecordType.ERROR) {
                    throw frame.reject(AUTH_FAILED, "a " + t + " record before authentication");
                }
            }
            case HANDSHAKE -> {
                if (t == RecordType.AUTH_INIT && secret == null)
                    throw frame.reject(AUTH_FAILED, "this destination has no secret to authenticate with");
                if (t != RecordType.HELLO && t != RecordType.ERROR)
                    throw frame.reject(UNEXPECTED_RECORD, "a " + t + " record before HELLO");
            }
            case STREAMING -> {
                if (t == RecordType.HELLO) throw frame.reject(UNEXPECTED_RECORD, "a second HELLO");
                if (t == RecordType.AUTH_INIT || t == RecordType.AUTH_RESPONSE)
                    throw frame.reject(UNEXPECTED_RECORD, "a " + t + " record after HELLO");
                if (postcopy
                        && (t == RecordType.DISCARD
                                || t == RecordType.BALLOON_BITMAP
                                || t == RecordType.SWITCH_OVER
                                || t == RecordType.STATE)) {
                    throw frame.reject(
                            UNEXPECTED_RECORD,
                            "a " + t + " record after "
                                    + (hello.recover() ? "a HELLO that recovers a postcopy migration" : "SWITCH_OVER"));
                }
            }
            default -> throw new IllegalStateException(state.name());
        }
        frame.readPayload();
        buf = frame.buf;
        if (t == RecordType.HELLO) helloSession = buf.getLong(HELLO_SESSION_OFFSET);
        switch (t) {
            case AUTH_INIT -> onAuthInit();
            case AUTH_RESPONSE -> onAuthResponse();
            case STATE -> onState();
            case HELLO -> {
                onHello();
                if (state == State.COMPLETED) return false; // a recovery answered with the verdict
            }
            case PAGES -> onPages();
            case FILL -> onFill();
            case BALLOON -> onBalloon();
            case ITERATION_END -> onIterationEnd();
            case DISCARD -> onDiscard();
            case BALLOON_BITMAP -> onBalloonBitmap();
            case SWITCH_OVER -> onSwitchOver();
            case COMPLETE -> {
                onComplete();
                return false;
            }
            case ERROR -> onError();
            default ->
                throw new IllegalStateException(t.name()); // FrameIn let only source-to-destination types through
        }
        return true;
    }

    private void onPages() throws WireException {
        int block = wireBlock(PAGES_BLOCK_OFFSET);
        long count = Frames.u32(buf, PAGES_COUNT_OFFSET);
        long offset = buf.getLong(PAGES_PAGE_OFFSET);
        if (count == 0 || count > MAX_PAGES_PER_RECORD)
            throw frame.reject(BAD_COUNT, "count " + count + " pages, expected 1.." + MAX_PAGES_PER_RECORD);
        if (PAGES_DATA_OFFSET + count * PAGE_SIZE != frame.length) {
            throw frame.reject(BAD_LENGTH, "length " + frame.length + " does not hold " + count + " pages");
        }
        checkRange(block, offset, count);
        place(block, offset, count);
        digest.fold(buf, 0, frame.length);
        buf.limit(frame.length).position(PAGES_DATA_OFFSET);
        sink.writePages(wireToLocal[block], offset, (int) count, buf);
        buf.clear();
    }

    private void onFill() throws WireException {
        int block = wireBlock(FILL_BLOCK_OFFSET);
        int fill = Frames.u8(buf, FILL_BYTE_OFFSET);
        if ((buf.getInt(FILL_BYTE_OFFSET) & 0xFFFFFF00) != 0) throw frame.reject(BAD_FIELD, "reserved bytes not zero");
        long offset = buf.getLong(FILL_PAGE_OFFSET);
        long count = buf.getLong(FILL_COUNT_OFFSET);
        checkCount(count);
        checkRange(block, offset, count);
        place(block, offset, count);
        digest.fold(buf, 0, frame.length);
        sink.fill(wireToLocal[block], offset, count, fill);
    }

    private void onBalloon() throws WireException {
        int block = wireBlock(BALLOON_BLOCK_OFFSET);
        int op = buf.getInt(BALLOON_OP_OFFSET);
        if (op != BALLOON_SET && op != BALLOON_CLEAR)
            throw frame.reject(BAD_FIELD, "operation " + Frames.hex(op & 0xFF) + " or reserved bytes not zero");
        long n = Frames.u32(buf, BALLOON_RANGE_COUNT_OFFSET);
        if (buf.getInt(BALLOON_RESERVED2_OFFSET) != 0) throw frame.reject(BAD_FIELD, "reserved field not zero");
        if (n == 0 || n > MAX_RANGES_PER_RECORD)
            throw frame.reject(BAD_COUNT, n + " ranges, expected 1.." + MAX_RANGES_PER_RECORD);
        if (BALLOON_RANGES_OFFSET + n * BALLOON_RANGE_LENGTH != frame.length) {
            throw frame.reject(BAD_LENGTH, "length " + frame.length + " does not hold " + n + " ranges");
        }
        checkRanges(block, BALLOON_RANGES_OFFSET, BALLOON_RANGE_LENGTH, n);
        digest.fold(buf, 0, frame.length);
        int localBlock = wireToLocal[block];
        boolean set = op == BALLOON_SET;
        for (int i = 0; i < n; i++) {
            int at = BALLOON_RANGES_OFFSET + i * BALLOON_RANGE_LENGTH;
            sink.balloon(localBlock, buf.getLong(at), buf.getLong(at + 8), set);
        }
    }

    /**
     * The {@code n} ranges of a BALLOON or DISCARD record, from {@code rangesOffset}, each {@code rangeLength} bytes
     * (offset, count): each count valid, each range in its block, in order and apart. Returns their pages.
     */
    private long checkRanges(int block, int rangesOffset, int rangeLength, long n) throws WireException {
        long end = 0;
        long pages = 0;
        for (int i = 0; i < n; i++) {
            int at = rangesOffset + i * rangeLength;
            long offset = buf.getLong(at);
            long count = buf.getLong(at + 8);
            checkCount(count);
            checkRange(block, offset, count);
            if (offset < end) {
                throw frame.reject(
                        UNORDERED_RANGES,
                        "range " + i + " [" + offset + ", " + (offset + count) + ") starts before the end " + end
                                + " of the range before it");
            }
            end = offset + count;
            pages += count;
        }
        return pages;
    }

    /**
     * Pages arrive: after the switch-over none may be here already (invariant 3: the second copy is
     * what {@code UFFDIO_COPY} refuses with {@code EEXIST}). Checked before anything is applied.
     */
    private void place(int block, long offset, long count) throws WireException {
        if (held == null) return; // pre-copy of a layout too large to track: nothing is checked here
        long g = wireBase[block] + offset;
        if (postcopy) {
            long twice = held.nextSetBit(g, g + count);
            if (twice < g + count) {
                throw frame.reject(
                        PLACED_TWICE,
                        "page " + (twice - wireBase[block]) + " of block " + wireNames[block]
                                + " is here already; after the switch-over a page is placed once (invariant 3)");
            }
        }
        held.setRange(g, g + count);
    }

    private void onDiscard() throws WireException {
        int block = wireBlock(DISCARD_BLOCK_OFFSET);
        if (buf.getInt(DISCARD_RESERVED_OFFSET) != 0 || buf.getInt(DISCARD_RESERVED2_OFFSET) != 0)
            throw frame.reject(BAD_FIELD, "reserved field not zero");
        long n = Frames.u32(buf, DISCARD_RANGE_COUNT_OFFSET);
        if (n == 0 || n > MAX_RANGES_PER_RECORD)
            throw frame.reject(BAD_COUNT, n + " ranges, expected 1.." + MAX_RANGES_PER_RECORD);
        if (DISCARD_RANGES_OFFSET + n * DISCARD_RANGE_LENGTH != frame.length)
            throw frame.reject(BAD_LENGTH, "length " + frame.length + " does not hold " + n + " ranges");
        long pages = checkRanges(block, DISCARD_RANGES_OFFSET, DISCARD_RANGE_LENGTH, n);
        int localBlock = wireToLocal[block];
        for (int i = 0; i < n; i++) {
            int at = DISCARD_RANGES_OFFSET + i * DISCARD_RANGE_LENGTH;
            long offset = buf.getLong(at);
            long count = buf.getLong(at + 8);
            try {
                sink.discard(localBlock, offset, count);
            } catch (WireException e) {
                throw frame.reject(e.reason(), e.detail());
            }
            if (held != null) held.clearRange(wireBase[block] + offset, wireBase[block] + offset + count);
        }
        discardedPages += pages;
        digest.fold(buf, 0, frame.length);
    }

    private void onBalloonBitmap() throws WireException {
        int block = wireBlock(BITMAP_BLOCK_OFFSET);
        if (buf.getInt(BITMAP_RESERVED_OFFSET) != 0) throw frame.reject(BAD_FIELD, "reserved field not zero");
        long offset = buf.getLong(BITMAP_PAGE_OFFSET);
        long count = buf.getLong(BITMAP_COUNT_OFFSET);
        if (count <= 0 || count > MAX_BITMAP_PAGES)
            throw frame.reject(
                    BAD_COUNT, "count " + Long.toUnsignedString(count) + " pages, expected 1.." + MAX_BITMAP_PAGES);
        if (BITMAP_BITS_OFFSET + (count + 7) / 8 != frame.length)
            throw frame.reject(BAD_LENGTH, "length " + frame.length + " does not hold a bitmap of " + count + " pages");
        checkRange(block, offset, count);
        int tail = (int) (count & 7);
        if (tail != 0 && (Frames.u8(buf, frame.length - 1) >>> tail) != 0)
            throw frame.reject(BAD_FIELD, "bits past the last of " + count + " pages not zero");
        digest.fold(buf, 0, frame.length);
        int localBlock = wireToLocal[block];
        // A run at a time: pages of one value, then the next.
        long i = 0;
        try {
            while (i < count) {
                boolean in = bit(i);
                long j = i + 1;
                while (j < count && bit(j) == in) j++;
                sink.balloonBitmap(localBlock, offset + i, j - i, in);
                i = j;
            }
        } catch (WireException e) {
            throw frame.reject(e.reason(), e.detail());
        }
    }

    private boolean bit(long i) {
        return (buf.get(BITMAP_BITS_OFFSET + (int) (i >>> 3)) >>> (i & 7) & 1) != 0;
    }

    private void onSwitchOver() throws WireException, IOException {
        if (held == null)
            throw frame.reject(
                    REFUSED, "a layout of more than " + MAX_TRACKED_PAGES + " pages: postcopy is tracked up to that");
        long discarded = buf.getLong(SWITCH_DISCARDED_OFFSET);
        int requestsPerStep = buf.getInt(SWITCH_REQUESTS_PER_STEP_OFFSET);
        long stepMicros = Integer.toUnsignedLong(buf.getInt(SWITCH_STEP_MICROS_OFFSET));
        if (requestsPerStep < 1)
            throw frame.reject(
                    BAD_FIELD,
                    "requests a step " + Integer.toUnsignedString(requestsPerStep) + ": must be in 1..2^31-1");
        if (discarded != discardedPages)
            throw frame.reject(
                    BAD_COUNT,
                    "the source counts " + Long.toUnsignedString(discarded) + " pages discarded, this end read "
                            + discardedPages);
        if (stateSection != 0)
            throw frame.reject(
                    BAD_LENGTH,
                    "state section " + stateSection + " ends after " + stateNext + " of its " + stateTotal
                            + " bytes at the switch-over");
        digest.fold(buf, 0, frame.length);
        postcopy = true;
        try {
            sink.faultPace(requestsPerStep, stepMicros * 1000);
            sink.switchOver();
        } catch (WireException e) {
            throw frame.reject(e.reason(), e.detail());
        }
        // Version 5: the guest runs here; the source learns it (its page requests may have gone before this).
        ByteBuffer ack = Frames.allocate(SWITCH_OVER_ACK_LENGTH);
        Frames.putHeader(ack, 0, RecordType.SWITCH_OVER_ACK, 0, SWITCH_OVER_ACK_LENGTH);
        ack.putLong(SWITCH_ACK_RESERVED_OFFSET, 0);
        synchronized (outLock) {
            Frames.writeFully(out, ack);
        }
    }

    /**
     * Postcopy: asks the source for pages the destination's guest faulted on ({@code block} in local
     * numbering), as PAGE_REQUEST records of at most {@value WireFormat#MAX_PAGES_PER_RECORD} pages.
     * Any thread may call it, after the switch-over (from within {@link PageSink#switchOver} on).
     * Allocates nothing.
     *
     * @throws IllegalStateException    before the switch-over
     * @throws IllegalArgumentException a range outside the local layout
     * @throws IOException              the connection is gone (the owner may recover on a new one)
     */
    public void requestPages(int block, long offset, long count) throws IOException {
        if (!postcopy) throw new IllegalStateException("page requests come after the switch-over");
        if (block < 0
                || block >= localToWire.length
                || offset < 0
                || count <= 0
                || count > local.block(block).pages() - offset) {
            throw new IllegalArgumentException(
                    "page request (block " + block + ", offset " + offset + ", count " + count + ") outside " + local);
        }
        int wire = localToWire[block];
        synchronized (outLock) {
            while (count > 0) {
                int n = (int) Math.min(count, MAX_PAGES_PER_RECORD);
                request.clear();
                Frames.putHeader(request, 0, RecordType.PAGE_REQUEST, 0, PAGE_REQUEST_LENGTH);
                request.putInt(REQUEST_BLOCK_OFFSET, wire);
                request.putInt(REQUEST_RESERVED_OFFSET, 0);
                request.putLong(REQUEST_PAGE_OFFSET, offset);
                request.putLong(REQUEST_COUNT_OFFSET, n);
                Frames.writeFully(out, request);
                offset += n;
                count -= n;
            }
        }
    }

    /** Whether the destination's guest runs here (after SWITCH_OVER, or in a recovered postcopy stream). */
    public boolean postcopy() {
        return postcopy;
    }

    private void onIterationEnd() throws WireException {
        int it = buf.getInt(ITERATION_OFFSET);
        if (buf.getInt(ITERATION_RESERVED_OFFSET) != 0) throw frame.reject(BAD_FIELD, "reserved field not zero");
        if (it <= lastIteration) {
            throw frame.reject(
                    BAD_ITERATION, "iteration " + Integer.toUnsignedString(it) + " after iteration " + lastIteration);
        }
        lastIteration = it;
        digest.fold(buf, 0, frame.length);
        sink.iterationEnd(it);
    }

    private void onState() throws WireException {
        long section = Frames.u32(buf, STATE_SECTION_OFFSET);
        if (section == 0 || section > MAX_STATE_SECTION)
            throw frame.reject(BAD_FIELD, "section " + section + ", expected 1.." + MAX_STATE_SECTION);
        if (buf.getInt(STATE_RESERVED_OFFSET) != 0) throw frame.reject(BAD_FIELD, "reserved field not zero");
        long offset = buf.getLong(STATE_OFFSET_OFFSET);
        long total = buf.getLong(STATE_TOTAL_OFFSET);
        int n = frame.length - STATE_DATA_OFFSET;
        String what = "section " + section + " bytes [" + Long.toUnsignedString(offset) + ", +" + n + ") of "
                + Long.toUnsignedString(total);
        if (total <= 0 || total > MAX_STATE_BYTES)
            throw frame.reject(BAD_COUNT, what + ": a section holds 1.." + MAX_STATE_BYTES + " bytes");
        if (offset < 0 || offset >= total || n > total - offset)
            throw frame.reject(OUT_OF_RANGE, what + ": past the section's end");
        if (stateSection == 0) {
            if (sectionsDone[(int) section])
                throw frame.reject(UNEXPECTED_RECORD, what + ": the section was sent whole already");
            if (offset != 0) throw frame.reject(UNORDERED_RANGES, what + ": a section starts at offset 0");
        } else {
            if (section != stateSection)
                throw frame.reject(
                        UNORDERED_RANGES,
                        what + ": section " + stateSection + " is not complete (" + stateNext + " of " + stateTotal
                                + " bytes)");
            if (total != stateTotal) throw frame.reject(BAD_FIELD, what + ": the section's length was " + stateTotal);
            if (offset != stateNext) throw frame.reject(UNORDERED_RANGES, what + ": expected offset " + stateNext);
        }
        buf.limit(frame.length).position(STATE_DATA_OFFSET);
        try {
            sink.state((int) section, total, offset, buf);
        } catch (WireException e) {
            throw frame.reject(e.reason(), e.detail());
        } finally {
            buf.clear();
        }
        digest.fold(buf, 0, frame.length);
        stateSection = (int) section;
        stateTotal = total;
        stateNext = offset + n;
        if (stateNext == total) {
            sectionsDone[stateSection] = true;
            stateSection = 0;
        }
    }

    private void onComplete() throws IOException, WireException {
        if (stateSection != 0) {
            throw frame.reject(
                    BAD_LENGTH,
                    "state section " + stateSection + " ends after " + stateNext + " of its " + stateTotal + " bytes");
        }
        long d = buf.getLong(COMPLETE_DIGEST_OFFSET);
        long records = buf.getLong(COMPLETE_RECORDS_OFFSET);
        long bytes = buf.getLong(COMPLETE_BYTES_OFFSET);
        if (records != digest.records() || bytes != digest.bytes() || d != digest.digest()) {
            throw frame.reject(
                    DIGEST_MISMATCH,
                    "the source sent " + records + " records, " + bytes + " bytes, digest " + Frames.hex(d)
                            + "; this end read " + digest.records() + " records, " + digest.bytes() + " bytes, digest "
                            + Frames.hex(digest.digest()));
        }
        // Nothing may follow COMPLETE: what has arrived already is refused before the guest starts.
        if (frame.bytesFollow())
            throw frame.reject(UNEXPECTED_RECORD, "bytes after COMPLETE; the guest was not started");
        sink.verified();
        state = State.COMPLETED;
        Verdict v = sink.complete();
        verdict = v.withDigest(digest.digest());
        synchronized (outLock) {
            Frames.writeFully(out, Frames.verdict(verdict));
        }
    }

    private void onError() throws WireException {
        int code = Frames.u16(buf, ERROR_CODE_OFFSET);
        int n = Frames.u16(buf, ERROR_MESSAGE_LENGTH_OFFSET);
        WireException.Reason r = WireException.Reason.byCode(code);
        String text = n == frame.length - ERROR_MESSAGE_OFFSET ? Frames.utf8(buf, ERROR_MESSAGE_OFFSET, n) : null;
        throw frame.reject(
                PEER_ERROR,
                "the source sent " + (r == null ? "code " + code : r.name()) + ": "
                        + (text == null ? "(unreadable message)" : Frames.printable(text)));
    }

    // ------------------------------------------------------------------ authentication

    private void checkAuthHeader() throws WireException {
        int mechanism = Frames.u16(buf, AUTH_MECHANISM_OFFSET);
        if (mechanism != AUTH_HMAC_SHA256)
            throw frame.reject(
                    AUTH_FAILED, "mechanism " + mechanism + ", this end knows " + AUTH_HMAC_SHA256 + " (HMAC-SHA256)");
        if (buf.getShort(AUTH_RESERVED_OFFSET) != 0 || buf.getInt(AUTH_RESERVED_OFFSET + 2) != 0)
            throw frame.reject(BAD_FIELD, "reserved field not zero");
    }

    private void onAuthInit() throws IOException, WireException {
        checkAuthHeader();
        byte[] n = new byte[AUTH_NONCE_LENGTH];
        buf.get(AUTH_INIT_NONCE_OFFSET, n);
        sourceNonce = n;
        destNonce = WireAuth.nonce();
        ByteBuffer c = Frames.auth(RecordType.AUTH_CHALLENGE);
        c.put(AUTH_CHALLENGE_NONCE_OFFSET, destNonce);
        c.put(AUTH_CHALLENGE_MAC_OFFSET, WireAuth.destinationProof(secret.bytes(), sourceNonce, destNonce));
        synchronized (outLock) {
            Frames.writeFully(out, c);
        }
    }

    private void onAuthResponse() throws WireException {
        checkAuthHeader();
        byte[] proof = new byte[AUTH_MAC_LENGTH];
        buf.get(AUTH_RESPONSE_MAC_OFFSET, proof);
        if (!WireAuth.same(proof, WireAuth.sourceProof(secret.bytes(), sourceNonce, destNonce))) {
            throw frame.reject(AUTH_FAILED, "the source's proof does not match this destination's secret");
        }
        authenticated = true;
        state = State.HANDSHAKE;
    }

    // ------------------------------------------------------------------ handshake

    private void onHello() throws IOException, WireException {
        int version = Frames.u16(buf, HELLO_VERSION_OFFSET);
        if (version != VERSION)
            throw frame.reject(UNSUPPORTED_VERSION, "version " + version + ", this end speaks " + VERSION);
        int poison = Frames.u8(buf, HELLO_POISON_OFFSET);
        if (buf.get(HELLO_RESERVED_OFFSET) != 0) throw frame.reject(BAD_FIELD, "reserved byte not zero");
        long n = Frames.u32(buf, HELLO_BLOCK_COUNT_OFFSET);
        long session = buf.getLong(HELLO_SESSION_OFFSET);
        if (n == 0 || n > MAX_BLOCKS) throw frame.reject(BAD_COUNT, n + " blocks, expected 1.." + MAX_BLOCKS);
        String[] names = new String[(int) n];
        long[] firstPfn = new long[(int) n];
        long[] pages = new long[(int) n];
        int at = HELLO_BLOCKS_OFFSET;
        for (int i = 0; i < n; i++) {
            if (at + BLOCK_ENTRY_FIXED_LENGTH > frame.length)
                throw frame.reject(BAD_LENGTH, "the record ends inside block entry " + i);
            firstPfn[i] = buf.getLong(at + BLOCK_FIRST_PFN_OFFSET);
            pages[i] = buf.getLong(at + BLOCK_PAGES_OFFSET);
            int nameLen = Frames.u8(buf, at + BLOCK_NAME_LENGTH_OFFSET);
            if (nameLen == 0) throw frame.reject(BAD_LAYOUT, "block " + i + " has an empty name");
            if (at + BLOCK_ENTRY_FIXED_LENGTH + nameLen > frame.length)
                throw frame.reject(BAD_LENGTH, "the record ends inside the name of block " + i);
            String name = Frames.utf8(buf, at + BLOCK_NAME_OFFSET, nameLen);
            if (name == null) throw frame.reject(BAD_FIELD, "the name of block " + i + " is not UTF-8");
            if (!Frames.nameFits(name))
                throw frame.reject(
                        BAD_LAYOUT,
                        "the name of block " + i + " has " + name.length() + " characters, expected 1.."
                                + MAX_NAME_CHARS);
            names[i] = name;
            String what = "block " + i + " (" + Frames.printable(name) + ", first PFN " + Frames.hex(firstPfn[i]) + ", "
                    + pages[i] + " pages)";
            if (firstPfn[i] < 0 || firstPfn[i] >= MAX_PFN)
                throw frame.reject(BAD_LAYOUT, what + ": first PFN past " + Frames.hex(MAX_PFN));
            if (pages[i] <= 0 || pages[i] > MAX_PFN - firstPfn[i])
                throw frame.reject(BAD_LAYOUT, what + ": no pages, or runs past PFN " + Frames.hex(MAX_PFN));
            for (int j = 0; j < i; j++) {
                if (names[j].equals(name)) throw frame.reject(BAD_LAYOUT, what + ": the name appears twice");
                if (firstPfn[i] < firstPfn[j] + pages[j] && firstPfn[j] < firstPfn[i] + pages[i]) {
                    throw frame.reject(
                            BAD_LAYOUT, what + " overlaps block " + j + " (" + Frames.printable(names[j]) + ")");
                }
            }
            at += BLOCK_ENTRY_FIXED_LENGTH + nameLen;
        }
        if (at != frame.length)
            throw frame.reject(BAD_LENGTH, "length " + frame.length + ", but the blocks end at " + at);

        if (adoptLayout) {
            List<RamLayout.Spec> adopted = new ArrayList<>();
            for (int i = 0; i < n; i++) adopted.add(new RamLayout.Spec(names[i], firstPfn[i], pages[i]));
            local = RamLayout.of(adopted);
        }
        // Same blocks by name, first PFN and size; the order may differ.
        if (n != local.blockCount()) {
            throw frame.reject(
                    LAYOUT_MISMATCH,
                    "the source has " + n + " blocks " + Arrays.toString(names) + ", this end " + local.blockCount()
                            + " (" + local + ")");
        }
        int[] map = new int[(int) n];
        for (int i = 0; i < n; i++) {
            RamBlock b = local.blockNamed(names[i]);
            if (b == null)
                throw frame.reject(
                        LAYOUT_MISMATCH, "block " + Frames.printable(names[i]) + " is not RAM here (" + local + ")");
            if (b.firstPfn() != firstPfn[i] || b.pages() != pages[i]) {
                throw frame.reject(
                        LAYOUT_MISMATCH,
                        "block " + b.name() + ": the source has first PFN " + Frames.hex(firstPfn[i]) + ", " + pages[i]
                                + " pages; this end " + Frames.hex(b.firstPfn()) + ", " + b.pages() + " pages");
            }
            map[i] = b.index();
        }
        List<RamLayout.Spec> specs = new ArrayList<>();
        for (int i = 0; i < n; i++) specs.add(new RamLayout.Spec(names[i], firstPfn[i], pages[i]));
        this.wireToLocal = map;
        this.wirePages = pages;
        this.wireNames = names;
        boolean recover = (frame.flags & FLAG_RECOVER) != 0;
        Hello h = new Hello(version, session, poison, RamLayout.of(specs), recover);
        digest.fold(buf, 0, frame.length);
        int[] back = new int[(int) n];
        long[] base = new long[(int) n];
        long total = 0;
        for (int i = 0; i < n; i++) {
            back[map[i]] = i;
            base[i] = total;
            total += pages[i];
        }
        this.localToWire = back;
        this.wireBase = base;

        if (recover) {
            Verdict done;
            try {
                done = sink.completedBefore(h);
            } catch (WireException e) {
                throw frame.reject(e.reason(), e.detail());
            }
            if (done != null) {
                // The migration completed here and its COMPLETE_ACK was lost: the verdict again, over this stream's
                // digest (its HELLO), and the stream ends.
                this.hello = h;
                state = State.COMPLETED;
                verdict = done.withDigest(digest.digest());
                synchronized (outLock) {
                    Frames.writeFully(out, Frames.verdict(verdict));
                }
                return;
            }
        }
        Missing missing = new Missing();
        if (recover) {
            try {
                sink.recover(h, missing::add);
            } catch (WireException e) {
                throw frame.reject(e.reason(), e.detail());
            }
        } else {
            sink.open(h, missing::add);
        }
        this.hello = h;
        this.state = State.STREAMING;
        long[] ranges = missing.sorted();
        // What it holds: every page it did not report missing.
        held = total <= MAX_TRACKED_PAGES ? new PageBitmap(total) : null;
        if (held != null) {
            held.setAll();
            for (int i = 0; i < 3 * missing.count(); i += 3) {
                long g = base[(int) ranges[i]] + ranges[i + 1];
                held.clearRange(g, g + ranges[i + 2]);
            }
        } else if (recover) {
            throw frame.reject(REFUSED, total + " pages: postcopy is tracked up to " + MAX_TRACKED_PAGES);
        }
        synchronized (outLock) {
            for (ByteBuffer ack : Frames.acceptance(session, ranges, missing.count())) Frames.writeFully(out, ack);
        }
        if (recover) {
            // The guest runs here already; it asks again for the pages it waits for, after the HELLO_ACK.
            postcopy = true;
            sink.switchOver();
        }
    }

    /** The sink's missing ranges, in wire block ids, sorted and merged for HELLO_ACK. */
    private final class Missing {
        private final Map<Integer, List<long[]>> byWireBlock = new HashMap<>();
        private int count;

        void add(int localBlock, long offset, long count) {
            if (localBlock < 0
                    || localBlock >= local.blockCount()
                    || offset < 0
                    || count <= 0
                    || count > local.block(localBlock).pages() - offset) {
                throw new IllegalArgumentException("the sink reported a missing range (block " + localBlock
                        + ", offset " + offset + ", count " + count + ") outside " + local);
            }
            int wire = -1;
            for (int i = 0; i < wireToLocal.length; i++) if (wireToLocal[i] == localBlock) wire = i;
            byWireBlock.computeIfAbsent(wire, k -> new ArrayList<>()).add(new long[] {offset, count});
        }

        long[] sorted() {
            List<long[]> out = new ArrayList<>();
            for (int w = 0; w < wireToLocal.length; w++) {
                List<long[]> rs = byWireBlock.get(w);
                if (rs == null) continue;
                rs.sort((a, b) -> Long.compare(a[0], b[0]));
                long s = -1, e = -1;
                for (long[] r : rs) {
                    if (s >= 0 && r[0] <= e) {
                        e = Math.max(e, r[0] + r[1]);
                        continue;
                    }
                    if (s >= 0) out.add(new long[] {w, s, e - s});
                    s = r[0];
                    e = r[0] + r[1];
                }
                if (s >= 0) out.add(new long[] {w, s, e - s});
            }
            count = out.size();
            long[] flat = new long[3 * count];
            for (int i = 0; i < count; i++) System.arraycopy(out.get(i), 0, flat, 3 * i, 3);
            return flat;
        }

        int count() {
            return count;
        }
    }

    // ------------------------------------------------------------------ checks

    /** The wire block id at {@code at}, checked against the handshake. */
    private int wireBlock(int at) throws WireException {
        long b = Frames.u32(buf, at);
        if (b >= wirePages.length)
            throw frame.reject(UNKNOWN_BLOCK, "block id " + b + ", the handshake has " + wirePages.length + " blocks");
        return (int) b;
    }

    private void checkCount(long count) throws WireException {
        if (count <= 0 || count > MAX_PFN)
            throw frame.reject(BAD_COUNT, "count " + Long.toUnsignedString(count) + " pages");
    }

    /** {@code [offset, offset + count)} inside the block, without overflow. */
    private void checkRange(int block, long offset, long count) throws WireException {
        long pages = wirePages[block];
        if (offset < 0 || offset >= pages || count > pages - offset) {
            throw frame.reject(
                    OUT_OF_RANGE,
                    "pages [" + Long.toUnsignedString(offset) + ", +" + Long.toUnsignedString(count)
                            + ") run past the end of block " + wireNames[block] + " (" + pages + " pages)");
        }
    }

    /** Tells the source why (best effort: the connection may be gone). */
    private void answerRejection(State was, WireException e) {
        if (e.reason() == PEER_ERROR) return;
        boolean handshake = was == State.HANDSHAKE || (was == State.AUTH && frame.type == RecordType.HELLO);
        ByteBuffer answer = handshake && e.reason() != TRUNCATED
                ? Frames.refusal(helloSession, e.reason(), e.messageWithoutReason())
                : Frames.error(e.reason(), e.messageWithoutReason());
        synchronized (outLock) {
            Frames.tryWrite(out, answer);
        }
    }
}
