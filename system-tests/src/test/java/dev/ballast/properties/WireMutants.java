package dev.ballast.properties;

import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.wire.Hello;
import dev.ballast.core.wire.PageSink;
import dev.ballast.core.wire.Verdict;
import dev.ballast.core.wire.WireException;
import dev.ballast.core.wire.WireFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;

/**
 * The wire's mutants, planted around the real {@link dev.ballast.core.wire.PageStreamReader}
 * through the seams a destination of one's own has: the channel the reader reads and the sink it
 * applies records to.
 */
final class WireMutants {
    private WireMutants() {}

    /** Passes every call on. */
    static class ForwardingSink implements PageSink {
        final PageSink next;

        ForwardingSink(PageSink next) {
            this.next = next;
        }

        @Override
        public void open(Hello hello, PageRanges missing) throws WireException {
            next.open(hello, missing);
        }

        @Override
        public void writePages(int block, long offset, int count, ByteBuffer data) {
            next.writePages(block, offset, count, data);
        }

        @Override
        public void fill(int block, long offset, long count, int fillByte) {
            next.fill(block, offset, count, fillByte);
        }

        @Override
        public void balloon(int block, long offset, long count, boolean ballooned) {
            next.balloon(block, offset, count, ballooned);
        }

        @Override
        public void iterationEnd(int iteration) {
            next.iterationEnd(iteration);
        }

        @Override
        public Verdict complete() {
            return next.complete();
        }
    }

    /**
     * Mutant 6. The balloon bitmap indexed by the source host's page index (its blocks
     * concatenated in its own order) instead of (block, offset): this destination sets the bits at
     * the same index of its own flat bitmap, which is another page when it lists its blocks in
     * another order.
     */
    static final class HostOrderBalloonSink extends ForwardingSink {
        private final GuardedSink sink;
        private Hello hello;

        HostOrderBalloonSink(GuardedSink sink) {
            super(sink);
            this.sink = sink;
        }

        @Override
        public void open(Hello h, PageRanges missing) throws WireException {
            hello = h;
            super.open(h, missing);
        }

        @Override
        public void balloon(int block, long offset, long count, boolean ballooned) {
            String name = sink.layout.block(block).name();
            long sourceIndex = hello.layout().blockNamed(name).firstIndex() + offset;
            sink.log.add("balloon @" + sourceIndex + "x" + count + (ballooned ? " in" : " out"));
            sink.balloonAtIndex(sourceIndex, count, ballooned);
        }
    }

    /** Drops the reader's balloon calls (mutant 5 loads the balloon bitmap itself). */
    static final class NoBalloonSink extends ForwardingSink {
        NoBalloonSink(PageSink next) {
            super(next);
        }

        @Override
        public void balloon(int block, long offset, long count, boolean ballooned) {}
    }

    /**
     * Mutant 5. The balloon bitmap loaded without bounds checks, as the seeds' {@code
     * qemu_balloon_bitmap_load} did: a channel in front of the reader that takes every BALLOON
     * record as its bytes go by and sets its ranges in the destination's bitmap at once, trusting
     * block ids, offsets and counts; the reader still validates the stream, but too late.
     */
    static final class EagerBalloonLoader implements ReadableByteChannel {
        private static final int MAX_BUFFERED = 8 << 20;
        private final ReadableByteChannel in;
        private final GuardedSink sink;
        private byte[] buf = new byte[64];
        private long seen;
        private long need = -1;
        private int[] wireToLocal = new int[0];

        EagerBalloonLoader(ReadableByteChannel in, GuardedSink sink) {
            this.in = in;
            this.sink = sink;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            int before = dst.position();
            int n = in.read(dst);
            if (n > 0) {
                ByteBuffer seen = dst.duplicate().position(before).limit(before + n);
                byte[] b = new byte[n];
                seen.get(b);
                take(b);
            }
            return n;
        }

        private void take(byte[] b) {
            int i = 0;
            while (i < b.length) {
                long want = (need < 0 ? WireFormat.HEADER_LENGTH : need) - seen;
                int k = (int) Math.min(b.length - i, want);
                if (seen + k <= MAX_BUFFERED) {
                    if (seen + k > buf.length)
                        buf = java.util.Arrays.copyOf(
                                buf, (int) Math.min(MAX_BUFFERED, Math.max(seen + k, 2L * buf.length)));
                    System.arraycopy(b, i, buf, (int) seen, k);
                }
                seen += k;
                i += k;
                if (need < 0 && seen == WireFormat.HEADER_LENGTH) {
                    need = (ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN).getInt(WireFormat.LENGTH_OFFSET)
                                    & 0xFFFFFFFFL)
                            + WireFormat.HEADER_LENGTH;
                }
                if (need >= 0 && seen == need) {
                    if (need <= MAX_BUFFERED)
                        onRecord(
                                ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN),
                                buf[WireFormat.TYPE_OFFSET] & 0xFF,
                                (int) need);
                    seen = 0;
                    need = -1;
                }
            }
        }

        private void onRecord(ByteBuffer r, int type, int len) {
            if (type == 1) { // HELLO: the block names, to find each wire block at this end
                int n = r.getInt(WireFormat.HELLO_BLOCK_COUNT_OFFSET);
                int at = WireFormat.HELLO_BLOCKS_OFFSET;
                wireToLocal = new int[Math.max(0, Math.min(n, 256))];
                for (int i = 0; i < wireToLocal.length && at + WireFormat.BLOCK_ENTRY_FIXED_LENGTH <= len; i++) {
                    int nameLen = r.get(at + WireFormat.BLOCK_NAME_LENGTH_OFFSET) & 0xFF;
                    String name = at + WireFormat.BLOCK_NAME_OFFSET + nameLen <= len
                            ? new String(r.array(), at + WireFormat.BLOCK_NAME_OFFSET, nameLen, StandardCharsets.UTF_8)
                            : "";
                    var b = sink.layout.blockNamed(name);
                    wireToLocal[i] = b == null ? i : b.index();
                    at += WireFormat.BLOCK_ENTRY_FIXED_LENGTH + nameLen;
                }
            } else if (type == 5) { // BALLOON: set its ranges now, as they come
                int block = r.getInt(WireFormat.BALLOON_BLOCK_OFFSET);
                int local = block >= 0 && block < wireToLocal.length ? wireToLocal[block] : block;
                boolean in = r.get(WireFormat.BALLOON_OP_OFFSET) == WireFormat.BALLOON_SET;
                long n = r.getInt(WireFormat.BALLOON_RANGE_COUNT_OFFSET) & 0xFFFFFFFFL;
                for (int i = 0; i < n; i++) {
                    int at = WireFormat.BALLOON_RANGES_OFFSET + i * WireFormat.BALLOON_RANGE_LENGTH;
                    if (at + WireFormat.BALLOON_RANGE_LENGTH > len) break;
                    sink.balloon(local, r.getLong(at), r.getLong(at + 8), in);
                }
            }
        }

        @Override
        public boolean isOpen() {
            return in.isOpen();
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
