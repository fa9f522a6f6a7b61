package dev.ballast.kvm.net;

import dev.ballast.core.wire.ReadThreshold;
import dev.ballast.kvm.sys.Errno;
import dev.ballast.kvm.sys.LibC;
import dev.ballast.kvm.sys.NativeException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.Channel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.InterruptedByTimeoutException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.ServerSocketChannel;
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
 *
 * <p>Reads go through {@code poll} and a non-blocking {@code recv} on a duplicate of the socket's
 * descriptor, so that a reader can wait for many bytes at once ({@link ReadThreshold}, with
 * {@code SO_RCVLOWAT}): a blocking {@code read} that has copied part of what it waits for sleeps
 * until the threshold's worth of <em>new</em> bytes arrives, which may never come at the end of a
 * stream. Where the JDK hides the descriptor the reads are the channel's own, one wake-up a
 * segment.
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
    private volatile ScheduledFuture<?> deadline;
    private volatile long readSince;
    private volatile long writeSince;
    private volatile String stalled;
    /** A duplicate of the socket's descriptor for the reads, or -1; closed (under {@link #fdLock}) by {@link #close}. */
    private int readFd;

    private final Object fdLock = new Object();
    private final ReadableByteChannel in;
    private final WritableByteChannel out = new Out();

    /** @param timeoutNs 0 for no timeout */
    public StallGuard(SocketChannel channel, long timeoutNs) {
        this.channel = channel;
        this.timeoutNs = timeoutNs;
        this.readFd = SocketFd.duplicate(channel);
        this.in = readFd >= 0 ? new PolledIn() : new In();
        if (timeoutNs > 0) {
            long period = Math.max(10_000_000L, Math.min(timeoutNs / 4, 250_000_000L));
            this.check = TIMER.scheduleAtFixedRate(this::check, period, period, TimeUnit.NANOSECONDS);
        } else {
            this.check = null;
        }
    }

    /**
     * Loads and links this class's connection path (NIO sockets, the timer, the descriptor
     * lookup, poll and recv) with a few bytes over a loopback connection, so a migration does not
     * pay for it inside its setup: a fresh JVM spent 15 ms of a migration's first connect on it.
     * Best effort: without a loopback interface nothing happens.
     */
    public static void warmUp() {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (SocketChannel a = SocketChannel.open(server.getLocalAddress());
                    SocketChannel b = server.accept();
                    StallGuard ga = new StallGuard(a, TimeUnit.SECONDS.toNanos(5));
                    StallGuard gb = new StallGuard(b, TimeUnit.SECONDS.toNanos(5))) {
                a.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ByteBuffer hello = ByteBuffer.allocateDirect(64);
                while (hello.hasRemaining()) ga.out().write(hello);
                ByteBuffer got = ByteBuffer.allocateDirect(64);
                while (got.hasRemaining()) {
                    int n = gb.in() instanceof ReadThreshold t
                            ? t.read(got, got.remaining())
                            : gb.in().read(got);
                    if (n < 0) break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // only a warm-up
        }
    }

    public ReadableByteChannel in() {
        return in;
    }

    public WritableByteChannel out() {
        return out;
    }

    /** Why the connection was closed for a stall (or its {@link #deadline}), or null. */
    public String stalled() {
        return stalled;
    }

    /**
     * Closes the connection {@code ns} from now, as a stall, unless {@link #clearDeadline} comes
     * first: a peer that trickles a byte a second never stalls, but must still finish, say, its
     * handshake in time. {@code why} becomes {@link #stalled()}.
     */
    public void deadline(long ns, String why) {
        deadline = TIMER.schedule(() -> expire(why), ns, TimeUnit.NANOSECONDS);
    }

    /** Cancels the {@link #deadline}; returns false if it had expired (the connection is closed). */
    public boolean clearDeadline() {
        ScheduledFuture<?> d = deadline;
        if (d != null) d.cancel(false);
        return stalled == null;
    }

    private void expire(String why) {
        if (stalled != null) return;
        stalled = why;
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing is all we can do
        }
    }

    private void check() {
        long now = System.nanoTime();
        long r = readSince;
        long w = writeSince;
        String why = null;
        if (r != 0 && now - r > timeoutNs) why = "read";
        else if (w != 0 && now - w > timeoutNs) why = "write";
        if (why != null)
            expire("the peer stalled: a " + why + " moved no byte for " + TimeUnit.NANOSECONDS.toMillis(timeoutNs)
                    + " ms (--timeout)");
    }

    private IOException translate(IOException e) {
        String s = stalled;
        if (s != null
                && (e instanceof AsynchronousCloseException
                        || e instanceof ClosedChannelException
                        || !channel.isOpen())) {
            return new Stalled(s);
        }
        return e;
    }

    /** One direction of the connection: open while the socket is; closing it closes the guard. */
    private abstract class Side implements Channel {
        @Override
        public boolean isOpen() {
            return channel.isOpen();
        }

        @Override
        public void close() {
            StallGuard.this.close();
        }
    }

    private final class In extends Side implements ReadableByteChannel {
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
    }

    /**
     * Reads by poll and non-blocking recv, waking after a threshold of bytes. A read that waits
     * for more than a byte (the payload of a long record, which is on its way) first polls the
     * socket itself for {@link #SPIN_NS}: a reader put to sleep is woken by the sender's CPU, and
     * the scheduler then tends to run it on that CPU, beside the sender. Over loopback TCP on two
     * CPUs, a legacy migration moved 3.2 GB/s with the reader sleeping at once, 3.9 GB/s with it
     * polling first (medians of three runs each into a destination that had served one).
     */
    private final class PolledIn extends Side implements ReadableByteChannel, ReadThreshold {
        /** Longest wait in poll before the channel's state is looked at again. */
        private static final int POLL_MS = 50;
        /** How long a read that waits for a record's bytes keeps asking before it sleeps. */
        private static final long SPIN_NS = 300_000;
        /** The socket's SO_RCVLOWAT as last set. */
        private int lowWatermark = 1;

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return read(dst, 1);
        }

        @Override
        public int readNow(ByteBuffer dst) throws IOException {
            if (!dst.hasRemaining()) return 0;
            if (!dst.isDirect()) throw new IllegalArgumentException("reads into direct buffers only");
            if (stalled != null) throw new Stalled(stalled);
            try {
                synchronized (fdLock) {
                    if (readFd < 0 || !channel.isOpen()) throw translate(new ClosedChannelException());
                    long n = LibC.recvNow(readFd, MemorySegment.ofBuffer(dst));
                    if (n > 0) {
                        dst.position(dst.position() + (int) n);
                        return (int) n;
                    }
                    if (n == 0) return -1;
                    if (n == -Errno.EAGAIN || n == -Errno.EINTR) return 0;
                    if (n == -Errno.ECONNRESET) throw new SocketException("Connection reset");
                    throw translate(new IOException("recv: " + Errno.name((int) -n)));
                }
            } catch (NativeException e) {
                throw translate(new IOException(e.getMessage(), e));
            }
        }

        @Override
        public int read(ByteBuffer dst, int wakeAfter) throws IOException {
            if (!dst.hasRemaining()) return 0;
            if (!dst.isDirect()) throw new IllegalArgumentException("reads into direct buffers only");
            if (stalled != null) throw new Stalled(stalled);
            int want = Math.max(1, Math.min(wakeAfter, dst.remaining()));
            MemorySegment into = MemorySegment.ofBuffer(dst);
            readSince = System.nanoTime();
            long spinUntil = want > 1 ? readSince + SPIN_NS : 0;
            try {
                synchronized (fdLock) {
                    while (true) {
                        if (readFd < 0 || !channel.isOpen()) throw translate(new ClosedChannelException());
                        long n = LibC.recvNow(readFd, into);
                        if (n > 0) {
                            dst.position(dst.position() + (int) n);
                            return (int) n;
                        }
                        if (n == 0) return -1;
                        if (n == -Errno.ECONNRESET) throw new SocketException("Connection reset");
                        if (n != -Errno.EAGAIN && n != -Errno.EINTR)
                            throw translate(new IOException("recv: " + Errno.name((int) -n)));
                        if (spinUntil != 0 && System.nanoTime() < spinUntil) {
                            Thread.onSpinWait();
                            continue;
                        }
                        if (want != lowWatermark) {
                            SocketFd.setReceiveLowWatermark(readFd, want);
                            lowWatermark = want;
                        }
                        LibC.poll(readFd, LibC.POLLIN, POLL_MS);
                    }
                }
            } catch (NativeException e) {
                throw translate(new IOException(e.getMessage(), e));
            } finally {
                readSince = 0;
            }
        }
    }

    private final class Out extends Side implements WritableByteChannel {
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
    }

    @Override
    public void close() {
        if (check != null) check.cancel(false);
        ScheduledFuture<?> d = deadline;
        if (d != null) d.cancel(false);
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing more to do
        }
        synchronized (fdLock) {
            if (readFd >= 0) {
                LibC.close(readFd);
                readFd = -1;
            }
        }
    }
}
