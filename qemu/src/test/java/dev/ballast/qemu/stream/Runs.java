package dev.ballast.qemu.stream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.List;

/** Runs the reader over bytes, with reads of at most {@code chunk} bytes, and keeps everything it produced. */
record Runs(
        List<String> events,
        List<Long> ends,
        byte[] forwarded,
        QemuStreamException error,
        long ramEnd,
        QemuStreamReader reader) {

    static Runs read(byte[] stream, int chunk, boolean checkData) {
        return read(stream, chunk, checkData, QemuStreamReader.BUFFER_BYTES);
    }

    static Runs read(byte[] stream, int chunk, boolean checkData, int bufferBytes) {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        QemuStreamReader reader = new QemuStreamReader(
                new ChunkedChannel(stream, chunk), (b, off, len) -> sink.write(b, off, len), bufferBytes);
        RecordingVisitor v = new RecordingVisitor(reader, checkData);
        try {
            long end = reader.readRam(v);
            return new Runs(v.events, v.ends, sink.toByteArray(), null, end, reader);
        } catch (QemuStreamException e) {
            return new Runs(v.events, v.ends, sink.toByteArray(), e, -1, reader);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** A channel over an array that returns at most {@code chunk} bytes per read. */
    static final class ChunkedChannel implements ReadableByteChannel {
        private final byte[] data;
        private final int chunk;
        private int pos;

        ChunkedChannel(byte[] data, int chunk) {
            this.data = data;
            this.chunk = chunk;
        }

        @Override
        public int read(ByteBuffer dst) {
            if (pos == data.length) {
                return -1;
            }
            int n = Math.min(Math.min(chunk, dst.remaining()), data.length - pos);
            dst.put(data, pos, n);
            pos += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}
    }
}
