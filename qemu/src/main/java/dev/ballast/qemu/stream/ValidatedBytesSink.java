package dev.ballast.qemu.stream;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Receives the stream's raw bytes, unchanged and in order, once the records they belong to are validated: every
 * byte passed ends at or before the end of the last record that reached the visitor. The reader passes what it
 * has validated before it blocks for more input, so a relay forwards with no more delay than one read.
 * The bytes are the reader's own buffer: use them before returning, never keep them.
 */
@FunctionalInterface
public interface ValidatedBytesSink {
    void accept(byte[] buf, int off, int len) throws IOException;

    /**
     * The same bytes as the reader calls it: {@code bytes}' position to its limit, a view of the reader's direct
     * buffer (the sink may move the view's position). The default copies them into a new array for {@link
     * #accept(byte[], int, int)}, once per call (a read's worth of records, not per record); a relay overrides this
     * to write the view out as it is ({@link ChannelSink}).
     */
    default void accept(ByteBuffer bytes) throws IOException {
        byte[] a = new byte[bytes.remaining()];
        bytes.get(a);
        accept(a, 0, a.length);
    }
}
