package dev.ballast.kvm.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A one-way byte pipe between two threads of this process: a ring of direct memory, blocking on
 * both ends, with the semantics of a socket's half: the reader sees end of stream once the writer
 * closed and everything was read; the writer gets "Broken pipe" once the reader closed. Used for
 * an in-process migration, so the page stream takes the same bytes it takes over TCP.
 */
public final class MemoryPipe {
    private final ByteBuffer ring;
    private final int capacity;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private final Condition writable = lock.newCondition();
    private long written;
    private long read;
    private boolean writerClosed;
    private boolean readerClosed;
    private final Sink sink = new Sink();
    private final Source source = new Source();

    public MemoryPipe(int capacityBytes) {
        if (capacityBytes < 4096)
            throw new IllegalArgumentException("capacityBytes=" + capacityBytes + " must be >= 4096");
        this.capacity = capacityBytes;
        this.ring = ByteBuffer.allocateDirect(capacityBytes);
    }

    public WritableByteChannel sink() {
        return sink;
    }

    public ReadableByteChannel source() {
        return source;
    }

    private final class Sink implements WritableByteChannel {
        @Override
        public int write(ByteBuffer src) throws IOException {
            int total = 0;
            lock.lock();
            try {
                while (src.hasRemaining()) {
                    if (writerClosed) throw new ClosedChannelException();
                    if (readerClosed) throw new IOException("Broken pipe");
                    long free = capacity - (written - read);
                    if (free == 0) {
                        if (total > 0) break; // a partial write, as a socket does
                        writable.awaitUninterruptibly();
                        continue;
                    }
                    int at = (int) (written % capacity);
                    int n = (int) Math.min(Math.min(free, src.remaining()), capacity - at);
                    ring.put(at, src, src.position(), n);
                    src.position(src.position() + n);
                    written += n;
                    total += n;
                    readable.signal();
                }
                return total;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public boolean isOpen() {
            lock.lock();
            try {
                return !writerClosed;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void close() {
            lock.lock();
            try {
                writerClosed = true;
                readable.signalAll();
                writable.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private final class Source implements ReadableByteChannel {
        @Override
        public int read(ByteBuffer dst) throws IOException {
            lock.lock();
            try {
                while (written == read) {
                    if (readerClosed) throw new AsynchronousCloseException();
                    if (writerClosed) return -1;
                    if (!dst.hasRemaining()) return 0;
                    readable.awaitUninterruptibly();
                }
                if (readerClosed) throw new AsynchronousCloseException();
                int total = 0;
                while (dst.hasRemaining() && written > read) {
                    int at = (int) (read % capacity);
                    int n = (int) Math.min(Math.min(written - read, dst.remaining()), capacity - at);
                    dst.put(dst.position(), ring, at, n);
                    dst.position(dst.position() + n);
                    read += n;
                    total += n;
                }
                writable.signal();
                return total;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public boolean isOpen() {
            lock.lock();
            try {
                return !readerClosed;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void close() {
            lock.lock();
            try {
                readerClosed = true;
                readable.signalAll();
                writable.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }
}
