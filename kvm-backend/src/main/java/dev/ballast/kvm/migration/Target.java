package dev.ballast.kvm.migration;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.PageStreamReader;
import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.net.MemoryPipe;
import dev.ballast.kvm.net.StallGuard;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;

/**
 * Where a KVM migration goes: a second VM in this process, reached through in-memory pipes, or a
 * {@code ballast dest} in another process, reached over TCP. Either way the bytes are the page
 * stream of {@code docs/wire-protocol.md}.
 */
public sealed interface Target extends AutoCloseable {
    /** Opens one connection per attempt. */
    WireLink.Connector connector();

    /** The guest of a completed migration, if it runs in this process (the next source of a chain); else null. */
    KvmGuest takeGuest();

    /** The destination's self-check, if it ran in this process; else null. */
    SelfCheck lastCheck();

    @Override
    void close();

    /**
     * A destination VM in this process, behind a reader on its own thread.
     *
     * @param prealloc make the VM and allocate all of its memory now, before the migration starts
     *                 ({@link GuestSink#prepare}); else it is made at the handshake and its pages
     *                 are allocated as they arrive
     */
    static Local local(Kvm kvm, RamLayout layout, GuestFeatures features, LongPredicate drop, boolean prealloc) {
        return new Local(kvm, layout, features, drop, prealloc);
    }

    /** A {@code ballast dest} at {@code address}. */
    static Remote remote(InetSocketAddress address, long timeoutNs) {
        return new Remote(address, timeoutNs);
    }

    final class Local implements Target {
        /** The source's stream buffer holds one record of 1 MiB; the pipe holds two of them. */
        static final int PIPE_BYTES = 2 * (1 << 20) + 8192;
        private final RamLayout layout;
        private final GuestSink sink;
        private volatile Exception readerFailure;

        Local(Kvm kvm, RamLayout layout, GuestFeatures features, LongPredicate drop, boolean prealloc) {
            this.layout = layout;
            this.sink = new GuestSink((l, poison) -> KvmGuest.incoming(kvm, l, features), Long.MAX_VALUE, drop);
            if (prealloc) {
                try {
                    sink.prepare(layout);
                } catch (RuntimeException e) {
                    sink.close();
                    throw e;
                }
            }
        }

        @Override
        public WireLink.Connector connector() {
            return () -> {
                MemoryPipe toDest = new MemoryPipe(PIPE_BYTES);
                MemoryPipe toSource = new MemoryPipe(1 << 20);
                Thread reader = Thread.ofPlatform().name("kvm-dest-reader").daemon().start(() -> {
                    try (PageStreamReader r = new PageStreamReader(toDest.source(), toSource.sink(), layout, sink)) {
                        r.run();
                    } catch (Exception e) {
                        readerFailure = e;
                    } finally {
                        close(toDest.source());
                        close(toSource.sink());
                    }
                });
                return new WireLink.Connection() {
                    @Override
                    public ReadableByteChannel in() { return toSource.source(); }

                    @Override
                    public WritableByteChannel out() { return toDest.sink(); }

                    @Override
                    public void close() {
                        Local.close(toDest.sink());
                        Local.close(toSource.source());
                        try {
                            reader.join(TimeUnit.MINUTES.toMillis(10));
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                };
            };
        }

        private static void close(java.nio.channels.Channel c) {
            try {
                c.close();
            } catch (IOException ignored) {
                // an in-memory pipe does not fail to close
            }
        }

        /** Why the destination's reader stopped last, or null. */
        public Exception readerFailure() { return readerFailure; }

        public GuestSink sink() { return sink; }

        @Override
        public KvmGuest takeGuest() {
            return sink.completed() ? sink.takeGuest() : null;
        }

        @Override
        public SelfCheck lastCheck() { return sink.lastCheck(); }

        @Override
        public void close() { sink.close(); }
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
                    int connectMs = timeoutNs > 0 ? (int) Math.min(CONNECT_TIMEOUT_MS, TimeUnit.NANOSECONDS.toMillis(timeoutNs)) : CONNECT_TIMEOUT_MS;
                    ch.socket().connect(address, connectMs);
                } catch (IOException e) {
                    ch.close();
                    if (e instanceof java.net.SocketTimeoutException) throw e;
                    throw new IOException(address.getHostString() + ":" + address.getPort() + ": " + e.getMessage(), e);
                }
                StallGuard g = new StallGuard(ch, timeoutNs);
                return new WireLink.Connection() {
                    @Override
                    public ReadableByteChannel in() { return g.in(); }

                    @Override
                    public WritableByteChannel out() { return g.out(); }

                    @Override
                    public void close() { g.close(); }
                };
            };
        }

        @Override
        public KvmGuest takeGuest() { return null; }

        @Override
        public SelfCheck lastCheck() { return null; }

        @Override
        public void close() { }
    }
}
