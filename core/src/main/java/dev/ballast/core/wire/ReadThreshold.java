package dev.ballast.core.wire;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A channel whose blocked reader can ask not to be woken before some bytes have arrived (a
 * socket's {@code SO_RCVLOWAT}). A PAGES record is a megabyte; TCP delivers it in segments of up
 * to 64 KiB, and a reader woken for each one costs the sending side a cross-CPU wake-up per
 * segment (an interrupt between processors, and a VM exit when the host is itself a VM). The
 * {@link PageStreamReader} asks for more than a byte only while it reads the payload of a long
 * record, and never for more than that record still lacks, so no read waits for bytes the peer is
 * not sending.
 */
public interface ReadThreshold {
    /**
     * Reads like {@link java.nio.channels.ReadableByteChannel#read}, but when nothing is readable
     * it waits until {@code min(wakeAfter, dst.remaining())} bytes are (or the stream ends) and
     * then reads what is there.
     */
    int read(ByteBuffer dst, int wakeAfter) throws IOException;

    /**
     * Reads what has arrived without waiting: the bytes read, 0 when none has arrived, -1 at the
     * end of the stream. The reader asks, after COMPLETE and before the guest starts, whether
     * anything followed it (nothing may). A channel that cannot tell returns 0.
     */
    default int readNow(ByteBuffer dst) throws IOException {
        return 0;
    }
}
