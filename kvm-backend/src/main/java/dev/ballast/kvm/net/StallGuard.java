package dev.ballast.kvm.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.InterruptedByTimeoutException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A blocking socket's two directions with a stall timeout: a read or a write that moves no byte
 * for {@code timeoutNs} closes the connection, and the blocked call (and every later one) throws
 * {@link Stalled}, an {@link InterruptedByTimeoutException}, which the page stream reports as
 * {@code TIMEOUT}. Waiting for nothing (no call under way) never times out: a source that is
 * throttled by its bandwidth limit is not a stalled peer.
 */
public final class StallGuard implements AutoCloseable {
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "ballast-stall-guard");
        t.setDaemon(true);
        return t;
    });

    /** The peer moved no byte for the timeout. */
    public static final class Stalled extends InterruptedByTimeoutException {
        private static final long serialVersionUID = 1L;
        private final String message;

        Stalled(String message) {
            this.message = message;
        }

        @Override
        public String getMessage() {
            return message;
        }
    }

    private final SocketChannel channel;
    private final long timeoutNs;
    private final ScheduledFuture<?> check;
    private volatile long readSince;
    private volatile long writeSince;
    private volatile String stalled;
    private final ReadableByteChannel in = new In();
    private final WritableByteChannel out = new Out();

    /** @param timeoutNs 0 for no timeout */
    public StallGuard(SocketChannel channel, long timeoutNs) {
        this.channel = channel;
        this.timeoutNs = timeoutNs;
        if (timeoutNs > 0) {
            long period = Math.max(10_000_000L, Math.min(timeoutNs / 4, 250_000_000L));
            this.check = TIMER.scheduleAtFixedRate(this::check, period, period, TimeUnit.NANOSECONDS);
        } else {
            this.check = null;
        }
    }

    public ReadableByteChannel in() { return in; }

    public WritableByteChannel out() { return out; }

    /** Why the connection was closed for a stall, or null. */
    public String stalled() { return stalled; }

    private void check() {
        long now = System.nanoTime();
        long r = readSince;
        long w = writeSince;
        String why = null;
        if (r != 0 && now - r > timeoutNs) why = "read";
        else if (w != 0 && now - w > timeoutNs) why = "write";
        if (why != null && stalled == null) {
            stalled = "the peer stalled: a " + why + " moved no byte for " + TimeUnit.NANOSECONDS.toMillis(timeoutNs) + " ms (--timeout)";
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing is all we can do
            }
        }
    }

    private IOException translate(IOException e) {
        String s = stalled;
        if (s != null && (e instanceof AsynchronousCloseException || e instanceof ClosedChannelException || !channel.isOpen())) {
            return new Stalled(s);
        }
        return e;
    }

    private final class In implements ReadableByteChannel {
        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (stalled != null) throw new Stalled(stalled);
            readSince = System.nanoTime();
            try {
                return channel.read(dst);
            } catch (IOException e) {
                throw translate(e);
            } finally {
                readSince = 0;
            }
        }

        @Override
        public boolean isOpen() { return channel.isOpen(); }

        @Override
        public void close() throws IOException { StallGuard.this.close(); }
    }

    private final class Out implements WritableByteChannel {
        @Override
        public int write(ByteBuffer src) throws IOException {
            if (stalled != null) throw new Stalled(stalled);
            writeSince = System.nanoTime();
            try {
                return channel.write(src);
            } catch (IOException e) {
                throw translate(e);
            } finally {
                writeSince = 0;
            }
        }

        @Override
        public boolean isOpen() { return channel.isOpen(); }

        @Override
        public void close() throws IOException { StallGuard.this.close(); }
    }

    @Override
    public void close() {
        if (check != null) check.cancel(false);
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing more to do
        }
    }
}
