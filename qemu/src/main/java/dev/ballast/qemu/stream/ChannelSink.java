package dev.ballast.qemu.stream;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * A relay's {@link ValidatedBytesSink}: writes the validated bytes to a channel straight from the reader's direct
 * buffer (one write per read, no copy in Java), and counts them.
 */
public final class ChannelSink implements ValidatedBytesSink {
    private final WritableByteChannel channel;
    private long written;

    public ChannelSink(WritableByteChannel channel) {
        this.channel = channel;
    }

    @Override
    public void accept(ByteBuffer bytes) throws IOException {
        int n = bytes.remaining();
        while (bytes.hasRemaining()) {
            channel.write(bytes);
        }
        written += n;
    }

    @Override
    public void accept(byte[] buf, int off, int len) throws IOException {
        accept(ByteBuffer.wrap(buf, off, len));
    }

    /** Bytes written so far. */
    public long written() {
        return written;
    }
}
