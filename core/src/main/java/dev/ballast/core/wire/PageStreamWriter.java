package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireFormat.*;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.engine.PageLink;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.InterruptedByTimeoutException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The source end of a page stream: a {@link PageLink} that encodes what the engine sends into
 * records on {@code out} and reads the destination's answers (HELLO_ACK, COMPLETE_ACK, ERROR)
 * from {@code in}. Both channels must be blocking.
 *
 * <p>Records are built in place in one reusable direct buffer and written when it fills, at the
 * end of every iteration and at completion. Consecutive pages of one block go into one PAGES
 * record (up to {@link Options#maxPagesPerRecord()}), adjacent fills of one value into one FILL,
 * consecutive ascending balloon ranges of one block and operation into one BALLOON. Page
 * contents are copied from the {@link PageSource} when {@link #sendPages} is called. Nothing is
 * allocated per page or per record.
 *
 * <p>Single-threaded. After a {@link LinkException} the writer is dead: every further call throws.
 * When a write fails because the destination closed the connection, the writer reads the ERROR
 * the destination may have sent before closing, so the failure says why.
 *
 * <p>Postcopy (version 4): {@link #discard} and {@link #sendBalloonBitmap} before {@link #switchOver};
 * from the switch-over on, a thread of the writer's own reads the return direction (the
 * destination's PAGE_REQUEST records, validated as strictly as the destination validates the
 * stream) into a bounded queue that {@link #pollRequests} drains on the engine's thread, and pages
 * go out at every poll. A link that fails after the switch-over is recovered ({@link #recover}) on a
 * new connection from the {@link Reconnect} given to {@link #reconnectWith}: a HELLO flagged
 * RECOVER, and the destination reports the pages it lacks.
 */
public final class PageStreamWriter implements PageLink {

    /**
     * @param sessionId          the migration's id (a run id), echoed by the destination
     * @param maxPagesPerRecord  pages per PAGES record, 1..{@value WireFormat#MAX_PAGES_PER_RECORD}
     * @param maxRangesPerRecord ranges per BALLOON record, 1..{@value WireFormat#MAX_RANGES_PER_RECORD}
     * @param bufferBytes        the output buffer; at least one record of the largest kind, which it grows to
     */
    public record Options(long sessionId, int maxPagesPerRecord, int maxRangesPerRecord, int bufferBytes) {
        public Options {
            if (maxPagesPerRecord < 1 || maxPagesPerRecord > MAX_PAGES_PER_RECORD) {
                throw new IllegalArgumentException(
                        "maxPagesPerRecord=" + maxPagesPerRecord + " must be in 1.." + MAX_PAGES_PER_RECORD);
            }
            if (maxRangesPerRecord < 1 || maxRangesPerRecord > MAX_RANGES_PER_RECORD) {
                throw new IllegalArgumentException(
                        "maxRangesPerRecord=" + maxRangesPerRecord + " must be in 1.." + MAX_RANGES_PER_RECORD);
            }
            if (bufferBytes < 0 || bufferBytes > 1 << 30)
                throw new IllegalArgumentException("bufferBytes=" + bufferBytes + " must be in 0..1 GiB");
        }

        /** 256 pages (1 MiB) a record, 4096 ranges a record, a 1 MiB buffer (grown to hold one record of 256 pages). */
        public static Options defaults(long sessionId) {
            return new Options(sessionId, 256, 4096, 1 << 20);
        }
    }

    /** A new connection to the same destination, for postcopy recovery. */
    @FunctionalInterface
    public interface Reconnect {
        /** Connects again; the writer closes the failed connection's channels first. */
        Connection connect() throws IOException;
    }

    /** Both directions of a connection. */
    public record Connection(WritableByteChannel out, ReadableByteChannel in) {}

    private static final int NONE = 0, PAGES = 1, FILL = 2, BALLOON = 3, DISCARD = 4;

    private WritableByteChannel out;
    private ReadableByteChannel in;
    private final PageSource source;
    private final Options options;
    private final ByteBuffer buf;
    private final MemorySegment seg;
    private final int capacity;
    private StreamDigest digest = new StreamDigest();

    // postcopy
    private int poisonByte;
    private boolean switched;
    private long discardedPages;
    private ReturnPath returnPath;
    private Reconnect reconnect;
    /** Bytes read from the destination on this connection so far (stream offsets of its answers count from 0). */
    private long answerOffset;

    private RamLayout layout;
    private long[] blockPages;
    /** Bytes of complete or open records in {@link #buf}, from 0. */
    private int pos;

    private long bytesFlushed;

    // the record still open at the end of the buffer, if any
    private int open = NONE;
    private int openStart;
    private int openBlock;
    private long openNext;
    private long openCount;
    private int openValue;

    private boolean completed;
    private LinkException failure;
    private Verdict verdict;
    private WireSecret secret;
    /** What SWITCH_OVER states of this source's pace: requests an engine step serves, and a step's link time. */
    private int requestsPerStep = 1;

    private long stepMicros;

    public PageStreamWriter(WritableByteChannel out, ReadableByteChannel in, PageSource source, Options options) {
        this.out = out;
        this.in = in;
        this.source = source;
        this.options = options;
        int need = Math.max(
                PAGES_DATA_OFFSET + options.maxPagesPerRecord() * PAGE_SIZE,
                Math.max(
                        BALLOON_RANGES_OFFSET + options.maxRangesPerRecord() * BALLOON_RANGE_LENGTH,
                        RecordType.HELLO.maxLength()));
        this.capacity = Math.max(need, options.bufferBytes());
        this.buf = ByteBuffer.allocateDirect(capacity).order(ByteOrder.LITTLE_ENDIAN);
        this.seg = MemorySegment.ofBuffer(buf);
    }

    /**
     * Proves {@code secret} to the destination (and has the destination prove it back) before the
     * HELLO that {@link #open} sends. Call before {@code open}.
     */
    public PageStreamWriter authenticate(WireSecret secret) {
        if (layout != null) throw new IllegalStateException("authenticate() before open()");
        this.secret = secret;
        return this;
    }

    /**
     * States this source's pace in SWITCH_OVER (version 6), for invariant 8 at the destination: an engine step
     * serves up to {@code requestsPerStep} page requests, and the link takes {@code stepNs} for one step's pages
     * and requests (0: a link without a limit; a step over 2^32 µs is stated as 2^32 - 1 µs). Without it, a
     * source states 1 request a step and no limit.
     */
    public PageStreamWriter faultPace(int requestsPerStep, long stepNs) {
        if (requestsPerStep < 1 || stepNs < 0)
            throw new IllegalArgumentException(requestsPerStep + " requests a step, " + stepNs + " ns a step");
        this.requestsPerStep = requestsPerStep;
        this.stepMicros = Math.min(0xFFFF_FFFFL, (stepNs + 999) / 1000);
        return this;
    }

    // ------------------------------------------------------------------ PageLink

    @Override
    public void open(RamLayout layout, int poisonByte, PageRanges missing) throws LinkException {
        alive();
        if (this.layout != null) throw new IllegalStateException("open() called twice");
        if (secret != null) authenticateNow();
        if (poisonByte < 0 || poisonByte > 255)
            throw new IllegalArgumentException("poisonByte=" + poisonByte + " must be in 0..255");
        if (layout.blockCount() > MAX_BLOCKS)
            throw new IllegalArgumentException(
                    "layout has " + layout.blockCount() + " blocks; the wire carries at most " + MAX_BLOCKS);
        long[] pages = new long[layout.blockCount()];
        int len = HELLO_BLOCKS_OFFSET;
        byte[][] names = new byte[layout.blockCount()][];
        for (RamBlock b : layout.blocks()) {
            byte[] n = b.name().getBytes(StandardCharsets.UTF_8);
            if (n.length > MAX_NAME_BYTES)
                throw new IllegalArgumentException(
                        "block name " + b.name() + " is longer than " + MAX_NAME_BYTES + " bytes of UTF-8");
            if (b.endPfn() > MAX_PFN)
                throw new IllegalArgumentException("block " + b.name() + " ends at PFN " + Frames.hex(b.endPfn())
                        + ", past " + Frames.hex(MAX_PFN));
            names[b.index()] = n;
            pages[b.index()] = b.pages();
            len += BLOCK_ENTRY_FIXED_LENGTH + n.length;
        }
        this.layout = layout;
        this.blockPages = pages;
        this.poisonByte = poisonByte;
        sendHello(0, names, len);
        long[] ranges = readAcceptance(false);
        for (int i = 0; i < ranges.length; i += 3) missing.range((int) ranges[i], ranges[i + 1], ranges[i + 2]);
    }

    private void sendHello(int flags, byte[][] names, int len) throws LinkException {
        int at = pos;
        Frames.putHeader(buf, at, RecordType.HELLO, flags, len);
        buf.putShort(at + HELLO_VERSION_OFFSET, (short) VERSION);
        buf.put(at + HELLO_POISON_OFFSET, (byte) poisonByte);
        buf.put(at + HELLO_RESERVED_OFFSET, (byte) 0);
        buf.putInt(at + HELLO_BLOCK_COUNT_OFFSET, layout.blockCount());
        buf.putLong(at + HELLO_SESSION_OFFSET, options.sessionId());
        int e = at + HELLO_BLOCKS_OFFSET;
        for (RamBlock b : layout.blocks()) {
            buf.putLong(e + BLOCK_FIRST_PFN_OFFSET, b.firstPfn());
            buf.putLong(e + BLOCK_PAGES_OFFSET, b.pages());
            buf.put(e + BLOCK_NAME_LENGTH_OFFSET, (byte) names[b.index()].length);
            buf.put(e + BLOCK_NAME_OFFSET, names[b.index()]);
            e += BLOCK_ENTRY_FIXED_LENGTH + names[b.index()].length;
        }
        pos = at + len;
        digest.fold(buf, at, len);
        flushOrFail();
    }

    // ------------------------------------------------------------------ postcopy

    @Override
    public void discard(int block, long offset, long count) throws LinkException {
        streaming();
        if (switched) throw new IllegalStateException("discard() after the switch-over");
        checkRange(block, offset, count);
        discardedPages += count;
        if (open == DISCARD && openBlock == block && offset >= openNext) {
            if (offset == openNext) {
                buf.putLong(pos - 8, buf.getLong(pos - 8) + count);
                openNext += count;
                return;
            }
            if (openCount < options.maxRangesPerRecord() && capacity - pos >= DISCARD_RANGE_LENGTH) {
                buf.putLong(pos, offset);
                buf.putLong(pos + 8, count);
                pos += DISCARD_RANGE_LENGTH;
                openCount++;
                openNext = offset + count;
                return;
            }
        }
        try {
            closeOpen();
            ensure(DISCARD_RANGES_OFFSET + DISCARD_RANGE_LENGTH);
        } catch (IOException e) {
            throw fail(e);
        }
        openStart = pos;
        Frames.putHeader(buf, pos, RecordType.DISCARD, 0, DISCARD_RANGES_OFFSET);
        buf.putInt(pos + DISCARD_BLOCK_OFFSET, block);
        buf.putInt(pos + DISCARD_RESERVED_OFFSET, 0);
        buf.putLong(pos + DISCARD_RANGE_COUNT_OFFSET, 0); // count, patched at close, and a reserved zero
        buf.putLong(pos + DISCARD_RANGES_OFFSET, offset);
        buf.putLong(pos + DISCARD_RANGES_OFFSET + 8, count);
        pos += DISCARD_RANGES_OFFSET + DISCARD_RANGE_LENGTH;
        open = DISCARD;
        openBlock = block;
        openCount = 1;
        openNext = offset + count;
    }

    /**
     * The balloon bitmap, a bit a page, block by block, in BALLOON_BITMAP records of at most
     * {@value WireFormat#MAX_BITMAP_BYTES} bytes of bits. Returns the bytes of those records.
     */
    @Override
    public long sendBalloonBitmap(PageBitmap balloon) throws LinkException {
        streaming();
        if (switched) throw new IllegalStateException("sendBalloonBitmap() after the switch-over");
        if (balloon.size() != layout.totalPages())
            throw new IllegalArgumentException(
                    "a balloon bitmap of " + balloon.size() + " pages for a layout of " + layout.totalPages());
        long chunk = Math.min(MAX_BITMAP_PAGES, 8L * (capacity - BITMAP_BITS_OFFSET));
        long bytes = 0;
        try {
            closeOpen();
            for (RamBlock b : layout.blocks()) {
                for (long off = 0; off < b.pages(); off += chunk) {
                    long n = Math.min(chunk, b.pages() - off);
                    int len = BITMAP_BITS_OFFSET + (int) ((n + 7) / 8);
                    ensure(len);
                    Frames.putHeader(buf, pos, RecordType.BALLOON_BITMAP, 0, len);
                    buf.putInt(pos + BITMAP_BLOCK_OFFSET, b.index());
                    buf.putInt(pos + BITMAP_RESERVED_OFFSET, 0);
                    buf.putLong(pos + BITMAP_PAGE_OFFSET, off);
                    buf.putLong(pos + BITMAP_COUNT_OFFSET, n);
                    long g = b.firstIndex() + off;
                    for (int j = 0; j < len - BITMAP_BITS_OFFSET; j++) {
                        int v = 0;
                        for (int k = 0; k < 8 && 8L * j + k < n; k++) if (balloon.get(g + 8L * j + k)) v |= 1 << k;
                        buf.put(pos + BITMAP_BITS_OFFSET + j, (byte) v);
                    }
                    digest.fold(buf, pos, len);
                    pos += len;
                    bytes += len;
                }
            }
        } catch (IOException e) {
            throw fail(e);
        }
        return bytes;
    }

    /**
     * The switch-over: SWITCH_OVER (after the device state, if the backend sends any with
     * {@link #sendState}) goes out with everything before it, and the return direction opens.
     */
    @Override
    public void switchOver() throws LinkException {
        streaming();
        if (switched) throw new IllegalStateException("switchOver() twice");
        try {
            closeOpen();
            ensure(SWITCH_OVER_LENGTH);
            Frames.putHeader(buf, pos, RecordType.SWITCH_OVER, 0, SWITCH_OVER_LENGTH);
            buf.putLong(pos + SWITCH_DISCARDED_OFFSET, discardedPages);
            buf.putInt(pos + SWITCH_REQUESTS_PER_STEP_OFFSET, requestsPerStep);
            buf.putInt(pos + SWITCH_STEP_MICROS_OFFSET, (int) stepMicros);
            digest.fold(buf, pos, SWITCH_OVER_LENGTH);
            pos += SWITCH_OVER_LENGTH;
            drain();
        } catch (IOException e) {
            throw fail(e);
        }
        switched = true;
        startReturnPath(true);
        // Version 5: the guest runs on the destination only once it says so (SWITCH_OVER_ACK); a link that fails
        // before is a failure of the switch-over, not of postcopy: the source's guest may run on.
        ReturnPath rp = returnPath;
        try {
            rp.awaitAck();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw fail(FailureCause.IO, "interrupted while waiting for SWITCH_OVER_ACK");
        }
        if (!rp.acked) throw returnPathEnded(rp);
    }

    /**
     * Hands the destination's page requests that have arrived to {@code requests}, oldest first (the
     * engine sends their pages from within), then writes out every record built so far: in postcopy a
     * page waits for no full buffer. Before the switch-over it does nothing.
     */
    @Override
    public void pollRequests(PageRanges requests) throws LinkException {
        alive();
        if (!switched || completed) return;
        ReturnPath rp = returnPath;
        long[] r = rp.requests;
        while (true) {
            int block;
            long offset, count;
            synchronized (rp) {
                if (rp.count == 0) break;
                int at = 3 * rp.head;
                block = (int) r[at];
                offset = r[at + 1];
                count = r[at + 2];
                rp.head = (rp.head + 1) % ReturnPath.CAPACITY;
                rp.count--;
                rp.notifyAll();
            }
            requests.range(block, offset, count);
        }
        if (rp.done) throw returnPathEnded(rp);
        flushOrFail();
    }

    /** Where a postcopy link gets a new connection when it fails ({@link #recover}). */
    public PageStreamWriter reconnectWith(Reconnect reconnect) {
        this.reconnect = reconnect;
        return this;
    }

    /**
     * Postcopy recovery, as QEMU's {@code migrate-recover}: closes the failed connection, connects
     * again, proves the secret if there is one, and sends a HELLO flagged RECOVER of the same
     * session; the destination, whose guest runs, answers with the pages it lacks ({@code missing}).
     * The stream goes on in postcopy, with a digest of its own from that HELLO.
     */
    @Override
    public void recover(PageRanges missing) throws LinkException {
        if (layout == null || !switched)
            throw new LinkException(FailureCause.PROTOCOL, "recovery of a page stream that did not switch over");
        if (verdict != null) throw new IllegalStateException("the migration is complete");
        // COMPLETE may have gone out with no COMPLETE_ACK back: the destination says what it still lacks, and the
        // recovered stream completes again
        completed = false;
        if (reconnect == null)
            throw new LinkException(FailureCause.PROTOCOL, "this page stream has no way to connect again");
        ReturnPath old = returnPath;
        returnPath = null;
        closeQuietly(out);
        closeQuietly(in);
        if (old != null) old.stop();
        Connection c;
        try {
            c = reconnect.connect();
        } catch (IOException e) {
            throw failure = new LinkException(causeOf(e), "postcopy recovery could not connect: " + e.getMessage());
        }
        out = c.out();
        in = c.in();
        failure = null;
        pos = 0;
        open = NONE;
        digest = new StreamDigest();
        discardedPages = 0;
        answerOffset = 0;
        buf.clear();
        if (secret != null) authenticateNow();
        byte[][] names = new byte[layout.blockCount()][];
        int len = HELLO_BLOCKS_OFFSET;
        for (RamBlock b : layout.blocks()) {
            names[b.index()] = b.name().getBytes(StandardCharsets.UTF_8);
            len += BLOCK_ENTRY_FIXED_LENGTH + names[b.index()].length;
        }
        sendHello(FLAG_RECOVER, names, len);
        long[] ranges = readAcceptance(true);
        if (ranges == null) {
            // The destination had completed the migration, its COMPLETE_ACK lost: it sent that verdict again
            completed = true;
            completedAtRecovery = true;
            return;
        }
        for (int i = 0; i < ranges.length; i += 3) missing.range((int) ranges[i], ranges[i + 1], ranges[i + 2]);
        startReturnPath(false);
    }

    /** A recovery found the migration complete: the last pass's end and COMPLETE have nothing left to do. */
    private boolean completedAtRecovery;

    private static void closeQuietly(java.nio.channels.Channel c) {
        try {
            if (c != null) c.close();
        } catch (IOException | RuntimeException ignored) {
            // the connection failed already
        }
    }

    private void startReturnPath(boolean expectAck) {
        FrameIn f = new FrameIn(in, false);
        f.offset = answerOffset;
        ReturnPath rp = new ReturnPath(f, blockPages, expectAck);
        returnPath = rp;
        Thread t = new Thread(rp, "ballast-return-path");
        t.setDaemon(true);
        t.start();
    }

    /** What stopped the return path, as the engine's failure. */
    private LinkException returnPathEnded(ReturnPath rp) {
        if (rp.ioFailure != null) return fail(rp.ioFailure);
        if (rp.rejection != null) return reject(rp.rejection);
        if (!rp.stoppedAtAnswer) return fail(FailureCause.PEER_CLOSED, "the destination closed the return direction");
        FrameIn f = rp.frame;
        if (f.type == RecordType.ERROR) {
            try {
                f.readPayload();
            } catch (IOException e) {
                return fail(e);
            } catch (WireException e) {
                return reject(e);
            }
            return fail(FailureCause.PROTOCOL, "the destination rejected the stream: " + describeError(f));
        }
        return reject(f.reject(WireException.Reason.UNEXPECTED_RECORD, "a " + f.type + " before COMPLETE"));
    }

    /**
     * The return direction after the switch-over: reads PAGE_REQUEST records, checks each whole (block
     * id in the handshake, reserved zero, 1..{@value WireFormat#MAX_PAGES_PER_RECORD} pages inside the
     * block) and queues it; stops at the first record of another type (COMPLETE_ACK or ERROR, which the
     * engine's thread then reads), at the end of the stream, or at a bad request. Queued requests wait
     * for room (at most {@link #CAPACITY}), except once COMPLETE is sent, when they are dropped.
     */
    private static final class ReturnPath implements Runnable {
        static final int CAPACITY = 4096;
        final long[] requests = new long[3 * CAPACITY];
        final FrameIn frame;
        final long[] blockPages;
        int head;
        int count;
        boolean dropping;
        volatile boolean done;
        volatile boolean stoppedAtAnswer;
        volatile IOException ioFailure;
        volatile WireException rejection;
        private volatile boolean stopped;

        /** A SWITCH_OVER_ACK is due (after SWITCH_OVER; not in a recovered stream). */
        final boolean expectAck;

        volatile boolean acked;

        ReturnPath(FrameIn frame, long[] blockPages, boolean expectAck) {
            this.frame = frame;
            this.blockPages = blockPages;
            this.expectAck = expectAck;
        }

        /** Waits until the destination acknowledged the switch-over, or the return path stopped. */
        synchronized void awaitAck() throws InterruptedException {
            while (!acked && !done) wait();
        }

        @Override
        public void run() {
            try {
                while (!stopped) {
                    if (!frame.readHeader()) break;
                    if (frame.type == RecordType.SWITCH_OVER_ACK) {
                        frame.readPayload();
                        if (!expectAck || acked)
                            throw frame.reject(
                                    WireException.Reason.UNEXPECTED_RECORD,
                                    expectAck ? "a second SWITCH_OVER_ACK" : "a SWITCH_OVER_ACK in a recovered stream");
                        if (frame.buf.getLong(SWITCH_ACK_RESERVED_OFFSET) != 0)
                            throw frame.reject(WireException.Reason.BAD_FIELD, "reserved field not zero");
                        synchronized (this) {
                            acked = true;
                            notifyAll();
                        }
                        continue;
                    }
                    if (frame.type != RecordType.PAGE_REQUEST) {
                        stoppedAtAnswer = true;
                        break;
                    }
                    frame.readPayload();
                    ByteBuffer b = frame.buf;
                    long block = Frames.u32(b, REQUEST_BLOCK_OFFSET);
                    long offset = b.getLong(REQUEST_PAGE_OFFSET);
                    long n = b.getLong(REQUEST_COUNT_OFFSET);
                    if (b.getInt(REQUEST_RESERVED_OFFSET) != 0)
                        throw frame.reject(WireException.Reason.BAD_FIELD, "reserved field not zero");
                    if (block >= blockPages.length)
                        throw frame.reject(
                                WireException.Reason.UNKNOWN_BLOCK,
                                "block id " + block + " at offset " + Long.toUnsignedString(offset)
                                        + ", the handshake has " + blockPages.length + " blocks");
                    if (n <= 0 || n > MAX_PAGES_PER_RECORD)
                        throw frame.reject(
                                WireException.Reason.BAD_COUNT,
                                "count " + Long.toUnsignedString(n) + " pages, expected 1.." + MAX_PAGES_PER_RECORD);
                    long pages = blockPages[(int) block];
                    if (offset < 0 || offset >= pages || n > pages - offset)
                        throw frame.reject(
                                WireException.Reason.OUT_OF_RANGE,
                                "pages [" + Long.toUnsignedString(offset) + ", +" + n + ") of block " + block
                                        + " run past its end (" + pages + " pages)");
                    offer((int) block, offset, n);
                }
            } catch (IOException e) {
                if (!stopped) ioFailure = e;
            } catch (WireException e) {
                rejection = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                done = true;
                synchronized (this) {
                    notifyAll();
                }
            }
        }

        private synchronized void offer(int block, long offset, long n) throws InterruptedException {
            while (count == CAPACITY && !dropping && !stopped) wait();
            if (dropping || stopped) return;
            int at = 3 * ((head + count) % CAPACITY);
            requests[at] = block;
            requests[at + 1] = offset;
            requests[at + 2] = n;
            count++;
        }

        /** COMPLETE is out: requests that still come are for pages on their way; drop them. */
        synchronized void completing() {
            dropping = true;
            notifyAll();
        }

        /** Waits until the return path has stopped (at an answer, at the end, or at a bad record). */
        synchronized void awaitDone() throws InterruptedException {
            while (!done) wait();
        }

        void stop() {
            stopped = true;
            synchronized (this) {
                notifyAll();
            }
        }
    }

    @Override
    public void sendPages(int block, long offset, long count) throws LinkException {
        streaming();
        checkRange(block, offset, count);
        try {
            while (count > 0) {
                if (open != PAGES
                        || openBlock != block
                        || openNext != offset
                        || openCount == options.maxPagesPerRecord()
                        || capacity - pos < PAGE_SIZE) {
                    closeOpen();
                    ensure(PAGES_DATA_OFFSET + PAGE_SIZE);
                    openStart = pos;
                    Frames.putHeader(buf, pos, RecordType.PAGES, 0, PAGES_DATA_OFFSET);
                    buf.putInt(pos + PAGES_BLOCK_OFFSET, block);
                    buf.putLong(pos + PAGES_PAGE_OFFSET, offset);
                    pos += PAGES_DATA_OFFSET;
                    open = PAGES;
                    openBlock = block;
                    openNext = offset;
                    openCount = 0;
                }
                long room = Math.min(options.maxPagesPerRecord() - openCount, (capacity - pos) / PAGE_SIZE);
                int n = (int) Math.min(count, room);
                source.copyPages(block, offset, n, seg, pos);
                pos += n * PAGE_SIZE;
                openCount += n;
                openNext += n;
                offset += n;
                count -= n;
            }
        } catch (IOException e) {
            throw fail(e);
        }
    }

    @Override
    public void sendFill(int block, long offset, long count, int fillByte) throws LinkException {
        streaming();
        checkRange(block, offset, count);
        if (fillByte < 0 || fillByte > 255)
            throw new IllegalArgumentException("fillByte=" + fillByte + " must be in 0..255");
        if (open == FILL && openBlock == block && openValue == fillByte && openNext == offset) {
            openCount += count;
            openNext += count;
            return;
        }
        try {
            closeOpen();
            ensure(FILL_LENGTH);
        } catch (IOException e) {
            throw fail(e);
        }
        openStart = pos;
        Frames.putHeader(buf, pos, RecordType.FILL, 0, FILL_LENGTH);
        buf.putInt(pos + FILL_BLOCK_OFFSET, block);
        buf.putInt(pos + FILL_BYTE_OFFSET, fillByte); // the fill byte and three reserved zero bytes
        buf.putLong(pos + FILL_PAGE_OFFSET, offset);
        pos += FILL_LENGTH;
        open = FILL;
        openBlock = block;
        openValue = fillByte;
        openNext = offset + count;
        openCount = count;
    }

    @Override
    public void sendBalloon(int block, long offset, long count, boolean ballooned) throws LinkException {
        streaming();
        checkRange(block, offset, count);
        int op = ballooned ? BALLOON_SET : BALLOON_CLEAR;
        if (open == BALLOON && openBlock == block && openValue == op && offset >= openNext) {
            if (offset == openNext) {
                // Touches the last range: grow it.
                buf.putLong(pos - 8, buf.getLong(pos - 8) + count);
                openNext += count;
                return;
            }
            if (openCount < options.maxRangesPerRecord() && capacity - pos >= BALLOON_RANGE_LENGTH) {
                buf.putLong(pos, offset);
                buf.putLong(pos + 8, count);
                pos += BALLOON_RANGE_LENGTH;
                openCount++;
                openNext = offset + count;
                return;
            }
        }
        try {
            closeOpen();
            ensure(BALLOON_RANGES_OFFSET + BALLOON_RANGE_LENGTH);
        } catch (IOException e) {
            throw fail(e);
        }
        openStart = pos;
        Frames.putHeader(buf, pos, RecordType.BALLOON, 0, BALLOON_RANGES_OFFSET);
        buf.putInt(pos + BALLOON_BLOCK_OFFSET, block);
        buf.putInt(pos + BALLOON_OP_OFFSET, op); // the op byte and three reserved zero bytes
        buf.putLong(pos + BALLOON_RANGE_COUNT_OFFSET, 0); // count, patched at close, and a reserved zero
        buf.putLong(pos + BALLOON_RANGES_OFFSET, offset);
        buf.putLong(pos + BALLOON_RANGES_OFFSET + 8, count);
        pos += BALLOON_RANGES_OFFSET + BALLOON_RANGE_LENGTH;
        open = BALLOON;
        openBlock = block;
        openValue = op;
        openCount = 1;
        openNext = offset + count;
    }

    @Override
    public void endIteration(int iteration) throws LinkException {
        if (completedAtRecovery) return;
        streaming();
        if (iteration < 1) throw new IllegalArgumentException("iteration=" + iteration + " must be >= 1");
        try {
            closeOpen();
            ensure(ITERATION_END_LENGTH);
            Frames.putHeader(buf, pos, RecordType.ITERATION_END, 0, ITERATION_END_LENGTH);
            buf.putInt(pos + ITERATION_OFFSET, iteration);
            buf.putInt(pos + ITERATION_RESERVED_OFFSET, 0);
            digest.fold(buf, pos, ITERATION_END_LENGTH);
            pos += ITERATION_END_LENGTH;
            drain();
        } catch (IOException e) {
            throw fail(e);
        }
    }

    @Override
    public void complete() throws LinkException {
        if (completedAtRecovery) return; // the verdict came as the answer to the recovery's HELLO
        streaming();
        try {
            closeOpen();
            ensure(COMPLETE_LENGTH);
            Frames.putHeader(buf, pos, RecordType.COMPLETE, 0, COMPLETE_LENGTH);
            buf.putLong(pos + COMPLETE_DIGEST_OFFSET, digest.digest());
            buf.putLong(pos + COMPLETE_RECORDS_OFFSET, digest.records());
            buf.putLong(pos + COMPLETE_BYTES_OFFSET, digest.bytes());
            pos += COMPLETE_LENGTH;
            drain();
        } catch (IOException e) {
            throw fail(e);
        }
        completed = true;
        ReturnPath rp = returnPath;
        if (rp == null) {
            verdict = readVerdict(new FrameIn(in, false), false);
            return;
        }
        rp.completing();
        try {
            rp.awaitDone();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw fail(FailureCause.IO, "interrupted while waiting for COMPLETE_ACK");
        }
        if (!rp.stoppedAtAnswer || rp.frame.type != RecordType.COMPLETE_ACK) throw returnPathEnded(rp);
        verdict = readVerdict(rp.frame, true);
    }

    /**
     * Sends {@code data} as state section {@code section} (1..{@value WireFormat#MAX_STATE_SECTION}),
     * in STATE records of at most {@value WireFormat#MAX_STATE_CHUNK} bytes: the guest's device and
     * vCPU state at stop-and-copy. Each section at most once per stream, before {@link #complete}.
     */
    public void sendState(int section, MemorySegment data) throws LinkException {
        streaming();
        if (section < 1 || section > MAX_STATE_SECTION)
            throw new IllegalArgumentException("section=" + section + " must be in 1.." + MAX_STATE_SECTION);
        long total = data.byteSize();
        if (total < 1 || total > MAX_STATE_BYTES)
            throw new IllegalArgumentException("state of " + total + " bytes; a section holds 1.." + MAX_STATE_BYTES);
        int chunk = Math.min(MAX_STATE_CHUNK, capacity - STATE_DATA_OFFSET);
        try {
            closeOpen();
            for (long off = 0; off < total; ) {
                int n = (int) Math.min(chunk, total - off);
                ensure(STATE_DATA_OFFSET + n);
                Frames.putHeader(buf, pos, RecordType.STATE, 0, STATE_DATA_OFFSET + n);
                buf.putInt(pos + STATE_SECTION_OFFSET, section);
                buf.putInt(pos + STATE_RESERVED_OFFSET, 0);
                buf.putLong(pos + STATE_OFFSET_OFFSET, off);
                buf.putLong(pos + STATE_TOTAL_OFFSET, total);
                MemorySegment.copy(data, off, seg, pos + STATE_DATA_OFFSET, n);
                digest.fold(buf, pos, STATE_DATA_OFFSET + n);
                pos += STATE_DATA_OFFSET + n;
                off += n;
            }
        } catch (IOException e) {
            throw fail(e);
        }
    }

    // ------------------------------------------------------------------ more

    /** Writes every record built so far. */
    public void flush() throws LinkException {
        alive();
        flushOrFail();
    }

    /**
     * Tells the destination that the source gives the migration up (an ERROR record, reason
     * ABORTED), as far as the channel still takes it; never throws. The writer is dead afterwards.
     */
    public void abort(String why) {
        if (failure != null) return;
        failure = new LinkException(FailureCause.PROTOCOL, "the source aborted the migration: " + why);
        try {
            ByteBuffer e = Frames.error(WireException.Reason.ABORTED, why);
            if (open != NONE) closeOpen();
            flushBuffer();
            Frames.writeFully(out, e);
        } catch (IOException | RuntimeException ignored) {
            // best effort: the link may be gone already
        }
    }

    /** What the destination answered to COMPLETE, or null before. */
    public Verdict verdict() {
        return verdict;
    }

    /** The running digest of the records built so far. */
    public long digest() {
        return digest.digest();
    }

    /** Stream bytes written to the channel so far. */
    public long bytesWritten() {
        return bytesFlushed;
    }

    // ------------------------------------------------------------------ internals

    private void alive() throws LinkException {
        if (failure != null)
            throw new LinkException(failure.failureCause(), "the link failed earlier: " + failure.getMessage());
    }

    private void streaming() throws LinkException {
        alive();
        if (layout == null) throw new IllegalStateException("open() first");
        if (completed) throw new IllegalStateException("the migration is complete");
    }

    private void checkRange(int block, long offset, long count) {
        if (block < 0 || block >= blockPages.length || offset < 0 || count <= 0 || count > blockPages[block] - offset) {
            throw new IllegalArgumentException("range (block " + block + ", offset " + offset + ", count " + count
                    + ") is outside the layout " + layout);
        }
    }

    /** Closes the open record: its counts and length into the header, its bytes into the digest. */
    private void closeOpen() {
        switch (open) {
            case NONE -> {
                return;
            }
            case PAGES -> buf.putInt(openStart + PAGES_COUNT_OFFSET, (int) openCount);
            case FILL -> buf.putLong(openStart + FILL_COUNT_OFFSET, openCount);
            case BALLOON -> buf.putInt(openStart + BALLOON_RANGE_COUNT_OFFSET, (int) openCount);
            case DISCARD -> buf.putInt(openStart + DISCARD_RANGE_COUNT_OFFSET, (int) openCount);
            default -> throw new IllegalStateException();
        }
        int len = pos - openStart;
        buf.putInt(openStart + LENGTH_OFFSET, len - HEADER_LENGTH);
        digest.fold(buf, openStart, len);
        open = NONE;
    }

    /** Makes room for {@code bytes} more, writing out what the buffer holds if it must. */
    private void ensure(int bytes) throws IOException {
        if (capacity - pos < bytes) drain();
    }

    private void drain() throws IOException {
        closeOpen();
        flushBuffer();
    }

    private void flushBuffer() throws IOException {
        if (pos == 0) return;
        buf.limit(pos).position(0);
        try {
            Frames.writeFully(out, buf);
        } finally {
            bytesFlushed += buf.position();
            buf.clear();
            pos = 0;
        }
    }

    private void flushOrFail() throws LinkException {
        try {
            drain();
        } catch (IOException e) {
            throw fail(e);
        }
    }

    private LinkException fail(IOException e) {
        FailureCause cause = causeOf(e);
        String msg = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
        if (cause == FailureCause.PEER_CLOSED && !(e instanceof ClosedChannelException) && returnPath == null) {
            // The destination closed: it may have said why before it did.
            String why = peerError();
            if (why != null) {
                return failure =
                        new LinkException(FailureCause.PROTOCOL, "the destination rejected the stream: " + why);
            }
        }
        return failure = new LinkException(cause, "page stream: " + msg);
    }

    private LinkException fail(FailureCause cause, String msg) {
        return failure = new LinkException(cause, msg);
    }

    private static FailureCause causeOf(IOException e) {
        if (e instanceof SocketTimeoutException || e instanceof InterruptedByTimeoutException)
            return FailureCause.TIMEOUT;
        if (e instanceof ClosedChannelException) return FailureCause.PEER_CLOSED;
        String m = String.valueOf(e.getMessage());
        if (m.contains("Broken pipe") || m.contains("Connection reset") || m.contains("closed"))
            return FailureCause.PEER_CLOSED;
        return FailureCause.IO;
    }

    /** After the destination closed on us: the ERROR it sent before, if any. Never throws. */
    private String peerError() {
        try {
            FrameIn f = new FrameIn(in, false);
            if (!f.readHeader() || f.type != RecordType.ERROR) return null;
            f.readPayload();
            return describeError(f);
        } catch (IOException | WireException | RuntimeException e) {
            return null;
        }
    }

    private static String describeError(FrameIn f) {
        ByteBuffer b = f.buf;
        int code = Frames.u16(b, ERROR_CODE_OFFSET);
        int n = Frames.u16(b, ERROR_MESSAGE_LENGTH_OFFSET);
        WireException.Reason r = WireException.Reason.byCode(code);
        String text = n == f.length - ERROR_MESSAGE_OFFSET ? Frames.utf8(b, ERROR_MESSAGE_OFFSET, n) : null;
        return (r == null ? "code " + code : r.name()) + ": "
                + (text == null ? "(unreadable message)" : Frames.printable(text));
    }

    /** Tells the destination why its answer was rejected (best effort) and fails. */
    private LinkException reject(WireException e) {
        try {
            Frames.writeFully(out, Frames.error(e.reason(), e.messageWithoutReason()));
        } catch (IOException | RuntimeException ignored) {
            // best effort
        }
        return fail(FailureCause.PROTOCOL, "bad answer from the destination: " + e.getMessage());
    }

    /** AUTH_INIT, the destination's AUTH_CHALLENGE checked, AUTH_RESPONSE. */
    private void authenticateNow() throws LinkException {
        byte[] sourceNonce = WireAuth.nonce();
        ByteBuffer init = Frames.auth(RecordType.AUTH_INIT);
        init.put(AUTH_INIT_NONCE_OFFSET, sourceNonce);
        FrameIn f = new FrameIn(in, false);
        try {
            Frames.writeFully(out, init);
            bytesFlushed += init.capacity();
            if (!f.readHeader())
                throw fail(FailureCause.PEER_CLOSED, "the destination closed before it answered AUTH_INIT");
            f.readPayload();
            ByteBuffer b = f.buf;
            if (f.type == RecordType.ERROR)
                throw fail(FailureCause.PROTOCOL, "the destination refused authentication: " + describeError(f));
            if (f.type != RecordType.AUTH_CHALLENGE)
                throw f.reject(WireException.Reason.UNEXPECTED_RECORD, "expected AUTH_CHALLENGE");
            int mechanism = Frames.u16(b, AUTH_MECHANISM_OFFSET);
            if (mechanism != AUTH_HMAC_SHA256) {
                throw f.reject(
                        WireException.Reason.AUTH_FAILED,
                        "mechanism " + mechanism + ", this end knows " + AUTH_HMAC_SHA256 + " (HMAC-SHA256)");
            }
            if (b.getShort(AUTH_RESERVED_OFFSET) != 0 || b.getInt(AUTH_RESERVED_OFFSET + 2) != 0)
                throw f.reject(WireException.Reason.BAD_FIELD, "reserved field not zero");
            byte[] destNonce = new byte[AUTH_NONCE_LENGTH];
            byte[] proof = new byte[AUTH_MAC_LENGTH];
            b.get(AUTH_CHALLENGE_NONCE_OFFSET, destNonce);
            b.get(AUTH_CHALLENGE_MAC_OFFSET, proof);
            if (!WireAuth.same(proof, WireAuth.destinationProof(secret.bytes(), sourceNonce, destNonce))) {
                throw f.reject(
                        WireException.Reason.AUTH_FAILED,
                        "the destination's proof does not match this source's secret");
            }
            ByteBuffer response = Frames.auth(RecordType.AUTH_RESPONSE);
            response.put(AUTH_RESPONSE_MAC_OFFSET, WireAuth.sourceProof(secret.bytes(), sourceNonce, destNonce));
            Frames.writeFully(out, response);
            bytesFlushed += response.capacity();
            answerOffset += f.offset;
        } catch (IOException e) {
            throw fail(e);
        } catch (WireException e) {
            throw reject(e);
        }
    }

    /**
     * Reads HELLO_ACK records up to the last; returns the missing ranges as (block, offset, count) triples. To a
     * HELLO flagged RECOVER ({@code recovering}) the destination may answer COMPLETE_ACK instead, the verdict of the
     * migration it completed already: then it sets {@link #verdict} and returns null.
     */
    private long[] readAcceptance(boolean recovering) throws LinkException {
        FrameIn f = new FrameIn(in, false);
        long[] ranges = new long[48];
        int n = 0;
        int lastBlock = -1;
        long lastEnd = 0;
        try {
            while (true) {
                if (!f.readHeader())
                    throw f.reject(WireException.Reason.TRUNCATED, "the destination closed before it answered HELLO");
                if (f.type == RecordType.ERROR) {
                    f.readPayload();
                    throw fail(FailureCause.PROTOCOL, "the destination rejected HELLO: " + describeError(f));
                }
                if (recovering && f.recordOffset == 0 && f.type == RecordType.COMPLETE_ACK) {
                    verdict = readVerdict(f, true);
                    return null;
                }
                if (f.type != RecordType.HELLO_ACK)
                    throw f.reject(WireException.Reason.UNEXPECTED_RECORD, "expected HELLO_ACK");
                f.readPayload();
                ByteBuffer b = f.buf;
                int status = Frames.u16(b, ACK_STATUS_OFFSET);
                int msgLen = Frames.u16(b, ACK_MESSAGE_LENGTH_OFFSET);
                long count = Frames.u32(b, ACK_RANGE_COUNT_OFFSET);
                if (count > MAX_RANGES_PER_RECORD) throw f.reject(WireException.Reason.BAD_COUNT, count + " ranges");
                if (msgLen > MAX_MESSAGE_BYTES
                        || ACK_RANGES_OFFSET + count * MISSING_RANGE_LENGTH + msgLen != f.length) {
                    throw f.reject(
                            WireException.Reason.BAD_LENGTH,
                            "length " + f.length + " does not match " + count + " ranges and a message of " + msgLen
                                    + " bytes");
                }
                int msgAt = ACK_RANGES_OFFSET + (int) count * MISSING_RANGE_LENGTH;
                String msg = Frames.utf8(b, msgAt, msgLen);
                if (msg == null) throw f.reject(WireException.Reason.BAD_FIELD, "the message is not UTF-8");
                if (status != 0) {
                    WireException.Reason r = WireException.Reason.byCode(status);
                    throw fail(
                            FailureCause.PROTOCOL,
                            "the destination refused the migration: " + (r == null ? "code " + status : r.name()) + ": "
                                    + Frames.printable(msg));
                }
                long session = b.getLong(ACK_SESSION_OFFSET);
                if (session != options.sessionId()) {
                    throw f.reject(
                            WireException.Reason.BAD_FIELD,
                            "session " + Frames.hex(session) + ", expected " + Frames.hex(options.sessionId()));
                }
                for (int i = 0; i < count; i++) {
                    int at = ACK_RANGES_OFFSET + i * MISSING_RANGE_LENGTH;
                    long block = Frames.u32(b, at + MISSING_BLOCK_OFFSET);
                    long off = b.getLong(at + MISSING_OFFSET_OFFSET);
                    long cnt = b.getLong(at + MISSING_COUNT_OFFSET);
                    String where =
                            "missing range " + i + " (block " + block + ", offset " + off + ", count " + cnt + ")";
                    if (b.getInt(at + MISSING_RESERVED_OFFSET) != 0)
                        throw f.reject(WireException.Reason.BAD_FIELD, where + ": reserved field not zero");
                    if (block >= blockPages.length)
                        throw f.reject(
                                WireException.Reason.UNKNOWN_BLOCK,
                                where + ": the handshake has " + blockPages.length + " blocks");
                    if (cnt <= 0 || cnt > MAX_PFN) throw f.reject(WireException.Reason.BAD_COUNT, where);
                    long pages = blockPages[(int) block];
                    if (off < 0 || off >= pages || cnt > pages - off)
                        throw f.reject(
                                WireException.Reason.OUT_OF_RANGE, where + ": the block has " + pages + " pages");
                    if (block < lastBlock || (block == lastBlock && off < lastEnd)) {
                        throw f.reject(
                                WireException.Reason.UNORDERED_RANGES,
                                where + " overlaps or precedes the range before it");
                    }
                    lastBlock = (int) block;
                    lastEnd = off + cnt;
                    if (n + 3 > ranges.length) ranges = Arrays.copyOf(ranges, ranges.length * 2);
                    ranges[n++] = block;
                    ranges[n++] = off;
                    ranges[n++] = cnt;
                }
                if ((f.flags & FLAG_MORE) == 0) {
                    answerOffset += f.offset;
                    return Arrays.copyOf(ranges, n);
                }
            }
        } catch (IOException e) {
            throw fail(e);
        } catch (WireException e) {
            throw reject(e);
        }
    }

    /** COMPLETE_ACK from {@code f}, whose header was read already where {@code headerRead}. */
    private Verdict readVerdict(FrameIn f, boolean headerRead) throws LinkException {
        try {
            if (!headerRead && !f.readHeader())
                throw f.reject(WireException.Reason.TRUNCATED, "the destination closed before it answered COMPLETE");
            f.readPayload();
            ByteBuffer b = f.buf;
            if (f.type == RecordType.ERROR)
                throw fail(FailureCause.PROTOCOL, "the destination rejected the stream: " + describeError(f));
            if (f.type != RecordType.COMPLETE_ACK)
                throw f.reject(WireException.Reason.UNEXPECTED_RECORD, "expected COMPLETE_ACK");
            long d = b.getLong(VERDICT_DIGEST_OFFSET);
            long checked = b.getLong(VERDICT_CHECKED_OFFSET);
            long bad = b.getLong(VERDICT_BAD_OFFSET);
            int ok = Frames.u8(b, VERDICT_OK_OFFSET);
            int msgLen = Frames.u16(b, VERDICT_MESSAGE_LENGTH_OFFSET);
            if (msgLen != f.length - VERDICT_MESSAGE_OFFSET)
                throw f.reject(
                        WireException.Reason.BAD_LENGTH, "message length " + msgLen + " in a record of " + f.length);
            if (ok > 1 || b.get(VERDICT_RESERVED_OFFSET) != 0) {
                throw f.reject(WireException.Reason.BAD_FIELD, "ok=" + ok + " or a reserved field not zero");
            }
            if (checked < 0 || bad < 0 || bad > checked)
                throw f.reject(WireException.Reason.BAD_COUNT, "checked " + checked + " pages, bad " + bad);
            String msg = Frames.utf8(b, VERDICT_MESSAGE_OFFSET, msgLen);
            if (msg == null) throw f.reject(WireException.Reason.BAD_FIELD, "the message is not UTF-8");
            if (d != digest.digest()) {
                throw fail(
                        FailureCause.PROTOCOL,
                        "the destination's stream digest " + Frames.hex(d) + " differs from the source's "
                                + Frames.hex(digest.digest()));
            }
            return new Verdict(
                    d, checked, bad, ok == 1, Frames.printable(msg), Frames.u32(b, VERDICT_CHECK_MICROS_OFFSET));
        } catch (IOException e) {
            throw fail(e);
        } catch (WireException e) {
            throw reject(e);
        }
    }
}
