package dev.ballast.kvm.dest;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.PageStreamReader;
import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.guest.KvmGuest;
import dev.ballast.kvm.guest.SelfCheck;
import dev.ballast.kvm.net.MemoryPipe;
import dev.ballast.kvm.source.Target;
import dev.ballast.kvm.source.WireLink;
import java.io.IOException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;

/**
 * A destination VM in this process, behind a page stream reader on its own thread, reached through
 * in-memory pipes: the {@link Target} of an in-process KVM run.
 *
 * <p>With {@code prealloc} the VM is made and all of its memory allocated now, before the
 * migration starts ({@link GuestSink#prepare}); else it is made at the handshake and its pages are
 * allocated as they arrive.
 */
public final class LocalTarget implements Target {
    /** The source's stream buffer holds one record of 1 MiB; the pipe holds two of them. */
    static final int PIPE_BYTES = 2 * (1 << 20) + 8192;

    private final RamLayout layout;
    private final GuestSink sink;

    public LocalTarget(Kvm kvm, RamLayout layout, GuestFeatures features, LongPredicate drop, boolean prealloc) {
        this(kvm, layout, features, drop, prealloc, EventSink.NONE);
    }

    /**
     * @param events where the destination journals postcopy's faults and placements (the run's events: its
     *               clock, {@link System#nanoTime()}, is the engine's in this process)
     */
    public LocalTarget(
            Kvm kvm, RamLayout layout, GuestFeatures features, LongPredicate drop, boolean prealloc, EventSink events) {
        this.layout = layout;
        this.sink = new GuestSink((l, poison) -> KvmGuest.incoming(kvm, l, features), Long.MAX_VALUE, drop, events);
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
                    sink.attach(r);
                    r.run();
                } catch (Exception e) {
                    // the source learns of it through its link (the pipes close), which names the cause
                } finally {
                    close(toDest.source());
                    close(toSource.sink());
                }
            });
            return new WireLink.Connection() {
                @Override
                public ReadableByteChannel in() {
                    return toSource.source();
                }

                @Override
                public WritableByteChannel out() {
                    return toDest.sink();
                }

                @Override
                public void close() {
                    LocalTarget.close(toDest.sink());
                    LocalTarget.close(toSource.source());
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

    @Override
    public KvmGuest takeGuest() {
        return sink.completed() ? sink.takeGuest() : null;
    }

    @Override
    public SelfCheck lastCheck() {
        return sink.lastCheck();
    }

    @Override
    public PostcopyPlacer.Figures postcopyFigures() {
        return sink.postcopyFigures();
    }

    @Override
    public long postcopyBalloonZeroFaults() {
        return sink.balloonZeroFaults();
    }

    @Override
    public void close() {
        sink.close();
    }
}
