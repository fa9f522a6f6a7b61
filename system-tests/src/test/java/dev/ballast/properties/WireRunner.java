package dev.ballast.properties;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.hash.Xxh64;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.PageSink;
import dev.ballast.core.wire.PageSource;
import dev.ballast.core.wire.PageStreamReader;
import dev.ballast.core.wire.PageStreamWriter;
import dev.ballast.core.wire.StreamDigest;
import dev.ballast.core.wire.Verdict;
import dev.ballast.core.wire.WireException;
import dev.ballast.core.wire.WireFormat;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;

/**
 * Runs a {@link WireCase} through the real writer and reader, live over two pipes, and decodes
 * byte streams (valid or hostile) with a reader into a {@link GuardedSink}. A mutant may wrap the
 * reader's input and its sink: the seams a destination of one's own would use.
 */
final class WireRunner {
    private WireRunner() {}

    // ------------------------------------------------------------------ the source's pages

    /** The content of page (block name, offset) at a version: 4096 bytes derived from all three. */
    static void pattern(String name, long offset, int version, byte[] into) {
        long x = name.hashCode() * 0x9E3779B97F4A7C15L
                + offset * 0xC2B2AE3D27D4EB4FL
                + version * 0x165667B19E3779F9L
                + 1;
        for (int i = 0; i < 4096; i += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            for (int k = 0; k < 8; k++) into[i + k] = (byte) (x >>> (8 * k));
        }
    }

    static long hash(byte[] page) {
        return Xxh64.hash(ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN), 0, 4096, 7);
    }

    /** The source's memory: every page's current version, by source block index. */
    static final class Source implements PageSource {
        final RamLayout layout;
        final int[][] version;
        private final byte[] scratch = new byte[4096];

        Source(RamLayout layout) {
            this.layout = layout;
            this.version = new int[layout.blockCount()][];
            for (RamBlock b : layout.blocks()) version[b.index()] = new int[(int) b.pages()];
        }

        @Override
        public void copyPages(int block, long offset, int count, MemorySegment dst, long dstOffset) {
            for (int i = 0; i < count; i++) {
                pattern(layout.block(block).name(), offset + i, version[block][(int) offset + i], scratch);
                MemorySegment.copy(scratch, 0, dst, ValueLayout.JAVA_BYTE, dstOffset + (long) i * 4096, 4096);
            }
        }
    }

    /** What the destination must hold afterwards, by block name. */
    record Expected(Map<String, long[]> pages, Map<String, boolean[]> balloon, List<Integer> iterations) {}

    static Expected expected(WireCase c) {
        Map<String, long[]> pages = new HashMap<>();
        Map<String, boolean[]> balloon = new HashMap<>();
        Map<String, int[]> version = new HashMap<>();
        for (RamLayout.Spec s : c.blocks()) {
            long[] h = new long[(int) s.pages()];
            Arrays.fill(h, GuardedSink.NEVER);
            pages.put(s.name(), h);
            balloon.put(s.name(), new boolean[(int) s.pages()]);
            version.put(s.name(), new int[(int) s.pages()]);
        }
        List<Integer> iterations = new ArrayList<>();
        byte[] page = new byte[4096];
        int iteration = 0;
        for (WireCase.Op op : c.ops()) {
            String name = op.kind() == WireCase.ITERATION ? null : c.name(op.block());
            switch (op.kind()) {
                case WireCase.PAGES -> {
                    for (long p = op.offset(); p < op.offset() + op.count(); p++) {
                        int v = version.get(name)[(int) p] += op.arg();
                        pattern(name, p, v, page);
                        pages.get(name)[(int) p] = hash(page);
                    }
                }
                case WireCase.FILL ->
                    Arrays.fill(
                            pages.get(name),
                            (int) op.offset(),
                            (int) (op.offset() + op.count()),
                            GuardedSink.fillHash(op.arg()));
                case WireCase.BALLOON ->
                    Arrays.fill(balloon.get(name), (int) op.offset(), (int) (op.offset() + op.count()), op.arg() == 1);
                default -> iterations.add(++iteration);
            }
        }
        return new Expected(pages, balloon, iterations);
    }

    /** Plays the case's calls on a link (a writer), in the source's block numbering. */
    static void play(WireCase c, PageStreamWriter w, Source src) throws LinkException {
        RamLayout s = src.layout;
        int iteration = 0;
        for (WireCase.Op op : c.ops()) {
            int block = op.kind() == WireCase.ITERATION
                    ? -1
                    : s.blockNamed(c.name(op.block())).index();
            switch (op.kind()) {
                case WireCase.PAGES -> {
                    for (long p = op.offset(); p < op.offset() + op.count(); p++)
                        src.version[block][(int) p] += op.arg();
                    w.sendPages(block, op.offset(), op.count());
                }
                case WireCase.FILL -> w.sendFill(block, op.offset(), op.count(), op.arg());
                case WireCase.BALLOON -> w.sendBalloon(block, op.offset(), op.count(), op.arg() == 1);
                default -> w.endIteration(++iteration);
            }
        }
    }

    // ------------------------------------------------------------------ live round trip

    /**
     * @param stream    every byte the source sent
     * @param sink      the destination
     * @param verdict   the destination's answer, or null
     * @param rejection why the destination rejected the stream, or null
     * @param sourceError what the writer threw, or null
     */
    record RoundTrip(
            byte[] stream, GuardedSink sink, Verdict verdict, WireException rejection, Throwable sourceError) {}

    /** Sends the case from a writer to a reader over pipes, the reader on its own thread. */
    static RoundTrip roundTrip(WireCase c, Mutant m) {
        RamLayout dst = c.destination();
        GuardedSink guarded = new GuardedSink(dst);
        try {
            Pipe toDest = Pipe.open();
            Pipe toSource = Pipe.open();
            PageSink sink = m.wireSink(guarded);
            ReadableByteChannel in = m.wireInput(toDest.source(), guarded);
            FutureTask<Verdict> reader = new FutureTask<>(() -> {
                try (var out = toSource.sink();
                        var _ = toDest.source()) { // closes the pipe's end the reader reads through
                    return new PageStreamReader(in, out, dst, sink).run();
                }
            });
            Thread t = Thread.ofPlatform().daemon().name("wire-reader").start(reader);
            Tee tee = new Tee(toDest.sink());
            Source src = new Source(c.source());
            Throwable sourceError = null;
            PageStreamWriter w = new PageStreamWriter(
                    tee,
                    toSource.source(),
                    src,
                    new PageStreamWriter.Options(0x5E55_1011L, c.maxPages(), c.maxRanges(), 0));
            try {
                w.open(src.layout, c.poison(), (b, o, n) -> {});
                play(c, w, src);
                w.complete();
            } catch (LinkException | RuntimeException e) {
                sourceError = e;
            } finally {
                tee.close();
                toSource.source().close();
            }
            Verdict v = null;
            WireException rejection = null;
            try {
                v = reader.get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof WireException we) rejection = we;
                else throw new AssertionError("the reader threw " + e.getCause(), e.getCause());
            }
            t.join();
            return new RoundTrip(tee.bytes.toByteArray(), guarded, v, rejection, sourceError);
        } catch (IOException | InterruptedException | java.util.concurrent.TimeoutException e) {
            throw new AssertionError(e);
        }
    }

    /** A channel that keeps a copy of everything written through it. */
    static final class Tee implements WritableByteChannel {
        final WritableByteChannel next;
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        Tee(WritableByteChannel next) {
            this.next = next;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            ByteBuffer copy = src.duplicate();
            int n = next.write(src);
            byte[] b = new byte[n];
            copy.get(b);
            bytes.write(b, 0, n);
            return n;
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

    // ------------------------------------------------------------------ decoding a byte stream

    /** How a stream fared at a destination. */
    record Decoded(GuardedSink sink, Verdict verdict, WireException rejection) {
        boolean accepted() {
            return rejection == null;
        }
    }

    /** Feeds {@code stream} to a reader; anything but a {@link WireException} propagates (and fails the property). */
    static Decoded decode(byte[] stream, RamLayout dst, Mutant m) {
        GuardedSink guarded = new GuardedSink(dst);
        ReadableByteChannel in = m.wireInput(Channels.newChannel(new ByteArrayInputStream(stream)), guarded);
        PageStreamReader r =
                new PageStreamReader(in, Channels.newChannel(OutputStreamNull.INSTANCE), dst, m.wireSink(guarded));
        try {
            Verdict v = r.run();
            return new Decoded(guarded, v, null);
        } catch (WireException e) {
            return new Decoded(guarded, null, e);
        } catch (IOException e) {
            throw new AssertionError("an in-memory stream threw " + e, e);
        }
    }

    private static final class OutputStreamNull extends java.io.OutputStream {
        static final OutputStreamNull INSTANCE = new OutputStreamNull();

        @Override
        public void write(int b) {}

        @Override
        public void write(byte[] b, int off, int len) {}
    }

    // ------------------------------------------------------------------ stream surgery

    /** A record of a stream: where it starts, its length and its type code. */
    record Rec(int start, int length, int type) {
        int end() {
            return start + length;
        }
    }

    static List<Rec> records(byte[] s) {
        List<Rec> out = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(s).order(ByteOrder.LITTLE_ENDIAN);
        int p = 0;
        while (p + WireFormat.HEADER_LENGTH <= s.length) {
            long len = (b.getInt(p + WireFormat.LENGTH_OFFSET) & 0xFFFFFFFFL) + WireFormat.HEADER_LENGTH;
            if (p + len > s.length) break;
            out.add(new Rec(p, (int) len, b.get(p + WireFormat.TYPE_OFFSET) & 0xFF));
            p += (int) len;
        }
        return out;
    }

    /** The stream with its final COMPLETE recomputed, so only the per-record checks stand in a mutation's way. */
    static byte[] resealed(byte[] s) {
        List<Rec> recs = records(s);
        if (recs.isEmpty()) return s;
        Rec last = recs.getLast();
        if (last.end() != s.length || last.length() != WireFormat.COMPLETE_LENGTH || last.type() != 7) return s;
        byte[] c = s.clone();
        ByteBuffer b = ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN);
        StreamDigest d = new StreamDigest();
        for (Rec r : recs) if (r != last) d.fold(b, r.start(), r.length());
        b.putLong(last.start() + WireFormat.COMPLETE_DIGEST_OFFSET, d.digest());
        b.putLong(last.start() + WireFormat.COMPLETE_RECORDS_OFFSET, d.records());
        b.putLong(last.start() + WireFormat.COMPLETE_BYTES_OFFSET, d.bytes());
        return c;
    }
}
