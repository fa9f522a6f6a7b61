package dev.ballast.kvm.source;

import dev.ballast.kvm.guest.KvmGuest;
import dev.ballast.kvm.guest.SelfCheck;
import dev.ballast.kvm.net.StallGuard;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.TimeUnit;

/**
 * Where a KVM migration goes: a second VM in this process, reached through in-memory pipes, or a
 * {@code ballast dest} in another process, reached over TCP. Either way the bytes are the page
 * stream of {@code docs/wire-protocol.md}. The one in this process is
 * {@link dev.ballast.kvm.dest.LocalTarget}.
 */
public interface Target extends AutoCloseable {
    /** Opens one connection per attempt. */
    WireLink.Connector connector();

    /** The guest of a completed migration, if it runs in this process (the next source of a chain); else null. */
    KvmGuest takeGuest();

    /** The destination's self-check, if it ran in this process; else null. */
    SelfCheck lastCheck();

    /** The destination's postcopy figures (faults, their latency), if it ran in this process and switched over; else null. */
    default dev.ballast.kvm.dest.PostcopyPlacer.Figures postcopyFigures() {
        return null;
    }

    /** Faults of the last postcopy migration on ballooned pages, served as zero without a request (in this process). */
    default long postcopyBalloonZeroFaults() {
        return 0;
    }

    @Override
    void close();

    /** A {@code ballast dest} at {@code address}. */
    static Remote remote(InetSocketAddress address, long timeoutNs) {
        return new Remote(address, timeoutNs);
    }

    final class Remote implements Target {
        static final int CONNECT_TIMEOUT_MS = 10_000;
        private final InetSocketAddress address;
        private final long timeoutNs;

        Remote(InetSocketAddress address, long timeoutNs) {
            this.address = address;
            this.timeoutNs = timeoutNs;
            StallGuard.warmUp();
        }

        @Override
        public WireLink.Connector connector() {
            return () -> {
                SocketChannel ch = SocketChannel.open();
                try {
                    ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                    int connectMs = timeoutNs > 0
                            ? (int) Math.min(CONNECT_TIMEOUT_MS, TimeUnit.NANOSECONDS.toMillis(timeoutNs))
                            : CONNECT_TIMEOUT_MS;
                    ch.socket().connect(address, connectMs);
                } catch (IOException e) {
                    ch.close();
                    if (e instanceof java.net.SocketTimeoutException) throw e;
                    throw new IOException(address.getHostString() + ":" + address.getPort() + ": " + e.getMessage(), e);
                }
                StallGuard g = new StallGuard(ch, timeoutNs);
                return new WireLink.Connection() {
                    @Override
                    public ReadableByteChannel in() {
                        return g.in();
                    }

                    @Override
                    public WritableByteChannel out() {
                        return g.out();
                    }

                    @Override
                    public void close() {
                        g.close();
                    }
                };
            };
        }

        @Override
        public KvmGuest takeGuest() {
            return null;
        }

        @Override
        public SelfCheck lastCheck() {
            return null;
        }

        @Override
        public void close() {}
    }
}
