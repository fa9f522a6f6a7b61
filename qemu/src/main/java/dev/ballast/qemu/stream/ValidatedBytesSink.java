package dev.ballast.qemu.stream;

import java.io.IOException;

/**
 * Receives the stream's raw bytes, unchanged and in order, once the records they belong to are validated: every
 * byte passed ends at or before the end of the last record that reached the visitor. The reader passes what it
 * has validated before it blocks for more input, so a relay forwards with no more delay than one read.
 * The array is the reader's own buffer: use it before returning, never keep it.
 */
@FunctionalInterface
public interface ValidatedBytesSink {
    void accept(byte[] buf, int off, int len) throws IOException;
}
