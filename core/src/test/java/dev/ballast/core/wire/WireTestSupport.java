package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireFormat.*;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.hash.Xxh64;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.Pipe;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Sources, sinks, channels and stream surgery shared by the wire tests. */
final class WireTestSupport {
    private WireTestSupport() {}

    static RamLayout layout(Object... nameFirstPfnPages) {
        List<RamLayout.Spec> specs = new ArrayList<>();
        for (int i = 0; i < nameFirstPfnPages.length; i += 3) {
            specs.add(new RamLayout.Spec(
                    (String) nameFirstPfnPages[i],
                    ((Number) nameFirstPfnPages[i + 1]).longValue(),
                    ((Number) nameFirstPfnPages[i + 2]).longValue()));
        }
        return RamLayout.of(specs);
    }

    // ------------------------------------------------------------------ page contents

    /** The content of page (block name, offset) at a version: 4096 bytes derived from all three. */
    static void pattern(String name, long offset, int version, byte[] into) {
        long x = name.hashCode() * 0x9E3779B97F4A7C15L + offset * 0xC2B2AE3D27D4EB4FL + version * 0x165667B19E3779F9L;
        for (int i = 0; i < PAGE_SIZE; i += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            for (int k = 0; k < 8; k++) into[i + k] = (byte) (x >>> (8 * k));
        }
    }

    static long hashOf(byte[] page) {
        ByteBuffer b = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
        return Xxh64.hash(b, 0, page.length, 7);
    }

    static long fillHash(int fill) {
        byte[] p = new byte[PAGE_SIZE];
        Arrays.fill(p, (byte) fill);
        return hashOf(p);
    }

    /** A source whose pages hold {@link #pattern} of their block's name, offset and current version. */
    static final class PatternSource implements PageSource {
        final RamLayout layout;
        final int[][] version;
        private final byte[] scratch = new byte[PAGE_SIZE];

        PatternSource(RamLayout layout) {
            this.layout = layout;
            this.version = new int[layout.blockCount()][];
            for (RamBlock b : layout.blocks()) version[b.index()] = new int[(int) b.pages()];
        }

        long hash(int block, long offset) {
            byte[] p = new byte[PAGE_SIZE];
            pattern(layout.block(block).name(), offset, version[block][(int) offset], p);
            return hashOf(p);
        }

        @Override
        public void copyPages(int block, long offset, int count, MemorySegment dst, long dstOffset) {
            for (int i = 0; i < count; i++) {
                pattern(layout.block(block).name(), offset + i, version[block][(int) offset + i], scratch);
                MemorySegment.copy(scratch, 0, dst, ValueLayout.JAVA_BYTE, dstOffset + (long) i * PAGE_SIZE, PAGE_SIZE);
            }
        }
    }

    // ------------------------------------------------------------------ the destination

    /**
     * A destination that keeps a hash of every page by (block name, offset), the balloon bitmap
     * and a log of every call, and fails the test (AssertionError) on any call outside its layout.
     */
    static final class MemorySink implements PageSink {
        static final long NEVER = 0x5EED_0000_0000_0001L;

        final RamLayout layout;
        final Map<String, long[]> pages = new HashMap<>();
        final Map<String, PageBitmap> balloon = new HashMap<>();
        final List<String> log = new ArrayList<>();
        final List<Integer> iterations = new ArrayList<>();
        Hello hello;
        boolean completed;
        Verdict answer = Verdict.of(0, 0, true, "ok");
        /** What open() reports missing; null: every page. */
        List<long[]> missing;

        WireException refuse;

        MemorySink(RamLayout layout) {
            this.layout = layout;
            for (RamBlock b : layout.blocks()) {
                long[] h = new long[(int) b.pages()];
                Arrays.fill(h, NEVER);
                pages.put(b.name(), h);
                balloon.put(b.name(), new PageBitmap(b.pages()));
            }
        }

        private RamBlock check(String call, int block, long offset, long count) {
            if (block < 0 || block >= layout.blockCount())
                throw new AssertionError(call + ": block " + block + " outside " + layout);
            RamBlock b = layout.block(block);
            if (offset < 0 || count < 1 || offset + count > b.pages() || offset + count < 0) {
                throw new AssertionError(call + ": [" + offset + ", +" + count + ") outside block " + b);
            }
            if (completed) throw new AssertionError(call + " after complete");
            return b;
        }

        @Override
        public void open(Hello h, PageRanges out) throws WireException {
            if (hello != null) throw new AssertionError("open twice");
            hello = h;
            log.add("open " + h.layout() + " poison " + h.poisonByte() + " session " + h.sessionId());
            if (refuse != null) throw refuse;
            if (missing == null) {
                for (RamBlock b : layout.blocks()) out.range(b.index(), 0, b.pages());
            } else {
                for (long[] m : missing) out.range((int) m[0], m[1], m[2]);
            }
        }

        @Override
        public void writePages(int block, long offset, int count, ByteBuffer data) {
            RamBlock b = check("writePages", block, offset, count);
            if (hello == null) throw new AssertionError("writePages before open");
            if (data.remaining() != count * PAGE_SIZE)
                throw new AssertionError("writePages: " + data.remaining() + " bytes for " + count + " pages");
            long[] h = pages.get(b.name());
            for (int i = 0; i < count; i++) {
                h[(int) offset + i] = Xxh64.hash(data, data.position() + i * PAGE_SIZE, PAGE_SIZE, 7);
            }
            log.add("pages " + b.name() + "+" + offset + " x" + count + " "
                    + Long.toHexString(Xxh64.hash(data, data.position(), data.remaining(), 0)));
        }

        @Override
        public void fill(int block, long offset, long count, int fillByte) {
            RamBlock b = check("fill", block, offset, count);
            if (fillByte < 0 || fillByte > 255) throw new AssertionError("fill byte " + fillByte);
            Arrays.fill(pages.get(b.name()), (int) offset, (int) (offset + count), fillHash(fillByte));
            log.add("fill " + b.name() + "+" + offset + " x" + count + " =" + fillByte);
        }

        @Override
        public void balloon(int block, long offset, long count, boolean ballooned) {
            RamBlock b = check("balloon", block, offset, count);
            if (ballooned) balloon.get(b.name()).setRange(offset, offset + count);
            else balloon.get(b.name()).clearRange(offset, offset + count);
            log.add("balloon " + b.name() + "+" + offset + " x" + count + (ballooned ? " in" : " out"));
        }

        @Override
        public void iterationEnd(int iteration) {
            iterations.add(iteration);
            log.add("iteration " + iteration);
        }

        @Override
        public Verdict complete() {
            if (completed) throw new AssertionError("complete twice");
            completed = true;
            log.add("complete");
            return answer;
        }
    }

    // ------------------------------------------------------------------ channels

    /** A channel that answers reads from buffers that suppliers make when they are needed. */
    static final class AnswerChannel implements ReadableByteChannel {
        private final ArrayDeque<Supplier<ByteBuffer>> next = new ArrayDeque<>();
        private ByteBuffer current;

        AnswerChannel then(Supplier<ByteBuffer> s) {
            next.add(s);
            return this;
        }

        @Override
        public int read(ByteBuffer dst) {
            while (current == null || !current.hasRemaining()) {
                if (next.isEmpty()) return -1;
                current = next.poll().get();
            }
            int n = Math.min(dst.remaining(), current.remaining());
            ByteBuffer s = current.slice(current.position(), n);
            dst.put(s);
            current.position(current.position() + n);
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}
    }

    /** A channel into a growing byte array. */
    static final class Collector implements WritableByteChannel {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public int write(ByteBuffer src) {
            int n = src.remaining();
            byte[] b = new byte[n];
            src.get(b);
            bytes.write(b, 0, n);
            return n;
        }

        byte[] toByteArray() {
            return bytes.toByteArray();
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}
    }

    /** Passes bytes on, xor-ing the byte at one stream offset. */
    static final class Corrupting implements WritableByteChannel {
        private final WritableByteChannel next;
        private final long at;
        private final int xor;
        private long offset;

        Corrupting(WritableByteChannel next, long at, int xor) {
            this.next = next;
            this.at = at;
            this.xor = xor;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int p = src.position();
            int n = src.remaining();
            if (at >= offset && at < offset + n) {
                int i = p + (int) (at - offset);
                src.put(i, (byte) (src.get(i) ^ xor));
            }
            int w = next.write(src);
            offset += w;
            if (w < n && at >= offset && at < offset + (n - w)) {
                int i = p + (int) (at - offset + w);
                src.put(i, (byte) (src.get(i) ^ xor)); // undo: it goes out with the next write
            }
            return w;
        }

        @Override
        public boolean isOpen() {
            return next.isOpen();
        }

        @Override
        public void close() throws IOException {
            next.close();
        }
    }

    static ReadableByteChannel channelOf(byte[] bytes) {
        return Channels.newChannel(new ByteArrayInputStream(bytes));
    }

    // ------------------------------------------------------------------ encode and decode offline

    /** What the source does to its writer between open() and complete(). */
    @FunctionalInterface
    interface Script {
        void run(PageStreamWriter w) throws LinkException;
    }

    /**
     * Encodes a stream offline: the destination's answers are scripted (accept, every page
     * missing; then a verdict carrying the writer's own digest).
     */
    static byte[] encode(
            RamLayout sender, PageSource source, PageStreamWriter.Options options, int poison, Script script) {
        Collector out = new Collector();
        AnswerChannel in = new AnswerChannel();
        PageStreamWriter w = new PageStreamWriter(out, in, source, options);
        in.then(() -> {
                    long[] all = new long[3 * sender.blockCount()];
                    for (RamBlock b : sender.blocks()) {
                        all[3 * b.index()] = b.index();
                        all[3 * b.index() + 2] = b.pages();
                    }
                    return concat(Frames.acceptance(options.sessionId(), all, sender.blockCount()));
                })
                .then(() -> Frames.verdict(new Verdict(w.digest(), 0, 0, true, "ok")));
        try {
            w.open(sender, poison, (b, o, n) -> {});
            script.run(w);
            w.complete();
        } catch (LinkException e) {
            throw new AssertionError(e);
        }
        return out.toByteArray();
    }

    static ByteBuffer concat(ByteBuffer... bs) {
        int n = 0;
        for (ByteBuffer b : bs) n += b.remaining();
        ByteBuffer all = ByteBuffer.allocate(n);
        for (ByteBuffer b : bs) all.put(b.duplicate());
        return all.flip();
    }

    /** How a stream fared at the destination. */
    record Outcome(Verdict verdict, WireException rejection, List<String> log, byte[] answers, MemorySink sink) {
        boolean accepted() {
            return rejection == null;
        }
    }

    /**
     * Feeds {@code stream} to a reader with a fresh {@link MemorySink}. Checked exceptions other
     * than {@link WireException} and every unchecked one propagate: a test fails on them.
     */
    static Outcome decode(byte[] stream, RamLayout dest) {
        MemorySink sink = new MemorySink(dest);
        return decode(stream, sink);
    }

    static Outcome decode(byte[] stream, MemorySink sink) {
        Collector answers = new Collector();
        PageStreamReader r = new PageStreamReader(channelOf(stream), answers, sink.layout, sink);
        try {
            Verdict v = r.run();
            if (r.step()) throw new AssertionError("step() after COMPLETE returned true");
            return new Outcome(v, null, sink.log, answers.toByteArray(), sink);
        } catch (WireException e) {
            return new Outcome(null, e, sink.log, answers.toByteArray(), sink);
        } catch (IOException e) {
            throw new AssertionError("an in-memory stream threw " + e, e);
        }
    }

    // ------------------------------------------------------------------ a live pair over pipes

    /** A writer and a reader on its own thread, joined by two pipes. */
    static final class Loopback implements AutoCloseable {
        final PageStreamWriter writer;
        final PageStreamReader reader;
        final MemorySink sink;
        private final FutureTask<Verdict> task;
        private final Pipe toDest;
        private final Pipe toSource;

        Loopback(PageSource source, PageStreamWriter.Options options, MemorySink sink) throws IOException {
            this(source, options, sink, c -> c);
        }

        /** @param wire what the source's bytes pass through on their way (to corrupt them, say) */
        Loopback(
                PageSource source,
                PageStreamWriter.Options options,
                MemorySink sink,
                java.util.function.UnaryOperator<WritableByteChannel> wire)
                throws IOException {
            this.toDest = Pipe.open();
            this.toSource = Pipe.open();
            this.sink = sink;
            this.writer = new PageStreamWriter(wire.apply(toDest.sink()), toSource.source(), source, options);
            this.reader = new PageStreamReader(toDest.source(), toSource.sink(), sink.layout, sink);
            this.task = new FutureTask<>(() -> {
                try {
                    return reader.run();
                } finally {
                    // As a destination's owner does: close the connection once the reader is done.
                    toDest.source().close();
                    toSource.sink().close();
                }
            });
            Thread t = new Thread(task, "wire-dest");
            t.setDaemon(true);
            t.start();
        }

        /** The reader's result: its verdict, or the exception it threw. */
        Verdict destination() throws Exception {
            try {
                return task.get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Exception x) throw x;
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            toDest.sink().close();
            toSource.source().close();
        }
    }

    // ------------------------------------------------------------------ stream surgery

    /** A record's place in a stream. */
    record Rec(int start, int length, int type) {
        int end() {
            return start + length;
        }
    }

    /** The records of a well-framed stream, as far as its headers frame it. */
    static List<Rec> records(byte[] s) {
        List<Rec> out = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(s).order(ByteOrder.LITTLE_ENDIAN);
        int p = 0;
        while (p + HEADER_LENGTH <= s.length) {
            long len = (b.getInt(p + LENGTH_OFFSET) & 0xFFFFFFFFL) + HEADER_LENGTH;
            if (p + len > s.length) break;
            out.add(new Rec(p, (int) len, b.get(p + TYPE_OFFSET) & 0xFF));
            p += (int) len;
        }
        return out;
    }

    /** The start of the record that holds byte {@code pos}. */
    static int recordStartOf(List<Rec> recs, int pos) {
        for (Rec r : recs) if (pos >= r.start() && pos < r.end()) return r.start();
        throw new IllegalArgumentException("no record holds byte " + pos);
    }

    /**
     * The stream with its COMPLETE record (if it ends with one) carrying the digest, record count
     * and byte count of the records before it: a mutation that leaves every record well-formed
     * then passes the digest check, so only per-record validation stands in its way.
     */
    static byte[] resealed(byte[] s) {
        List<Rec> recs = records(s);
        if (recs.isEmpty()) return s;
        Rec last = recs.getLast();
        if (last.end() != s.length || last.type() != RecordType.COMPLETE.code() || last.length() != COMPLETE_LENGTH)
            return s;
        byte[] c = s.clone();
        ByteBuffer b = ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN);
        StreamDigest d = new StreamDigest();
        for (Rec r : recs) if (r != last) d.fold(b, r.start(), r.length());
        b.putLong(last.start() + COMPLETE_DIGEST_OFFSET, d.digest());
        b.putLong(last.start() + COMPLETE_RECORDS_OFFSET, d.records());
        b.putLong(last.start() + COMPLETE_BYTES_OFFSET, d.bytes());
        return c;
    }

    /** The last answer the destination sent: its type and the status or error code it carries. */
    static int[] lastAnswer(byte[] answers) {
        List<Rec> recs = records(answers);
        if (recs.isEmpty()) return null;
        Rec r = recs.getLast();
        ByteBuffer b = ByteBuffer.wrap(answers).order(ByteOrder.LITTLE_ENDIAN);
        int code = r.type() == RecordType.HELLO_ACK.code()
                ? b.getShort(r.start() + ACK_STATUS_OFFSET) & 0xFFFF
                : r.type() == RecordType.ERROR.code() ? b.getShort(r.start() + ERROR_CODE_OFFSET) & 0xFFFF : -1;
        return new int[] {r.type(), code};
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
