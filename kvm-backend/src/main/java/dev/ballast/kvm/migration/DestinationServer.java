package dev.ballast.kvm.migration;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.SettingException;
import dev.ballast.core.run.Units;
import dev.ballast.core.wire.PageStreamReader;
import dev.ballast.core.wire.Verdict;
import dev.ballast.core.wire.WireException;
import dev.ballast.core.wire.WireSecret;
import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.mem.GuestLayout;
import dev.ballast.kvm.net.StallGuard;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongPredicate;

/**
 * {@code ballast dest}: receives KVM migrations over TCP, one connection at a time. For each it
 * authenticates the source where a secret is set, creates the destination VM from the HELLO's
 * layout (or resumes the one a failed migration of the same session left), installs what the
 * stream carries, starts the guest, lets it check itself and reports the verdict in COMPLETE_ACK;
 * then, with {@link Forward}, migrates the guest on to the next destination, else stops it, and
 * waits for the next migration until {@link #close()}.
 *
 * <p>A destination bound to an address other than loopback refuses to start without a secret. A
 * connection that fails authentication is dropped and logged before anything reaches a VM.
 */
public final class DestinationServer implements AutoCloseable {
    /** Where a verified guest goes next. */
    public record Forward(InetSocketAddress address, WireSecret secret, HopMigration.Settings settings) { }

    /**
     * @param timeoutNs     a peer that moves no byte this long while a read or write waits is stalled (0: never)
     * @param maxGuestBytes the largest guest accepted
     * @param preallocBytes 0, or the RAM size of the guests expected: the VM for one is made, with all of
     *                      its memory allocated, before the first migration and again after each one
     *                      that took it ({@link GuestSink#prepare}), as QEMU's {@code -mem-prealloc}
     * @param forward       where verified guests go next, or null
     * @param dropPage      page indexes whose data this destination loses on purpose (tests), or null
     * @param log           one line per event
     */
    public record Options(InetSocketAddress listen, WireSecret secret, long timeoutNs, long maxGuestBytes, long preallocBytes, Forward forward,
                          LongPredicate dropPage, Consumer<String> log) {
        public Options {
            if (listen.isUnresolved()) throw new SettingException("listen", listen.getHostString(), "cannot resolve the address");
            if (!listen.getAddress().isLoopbackAddress() && secret == null) {
                throw new SettingException("listen", listen.getAddress().getHostAddress(), "not a loopback address; a destination"
                        + " that other hosts can reach needs --secret-file");
            }
            if (timeoutNs < 0) throw new SettingException("timeout", Units.formatDuration(timeoutNs), "must be >= 0");
            if (maxGuestBytes < GuestLayout.HUGE_PAGE || maxGuestBytes % GuestLayout.HUGE_PAGE != 0 || maxGuestBytes > KvmRun.MAX_GUEST_BYTES) {
                throw new SettingException("max-mem", Units.formatBytes(maxGuestBytes), "must be a multiple of 2M in [2M, 256G]");
            }
            if (forward != null && isOwnAddress(listen, forward.address())) {
                throw new SettingException("forward", forward.address().getHostString() + ":" + forward.address().getPort(),
                        "is this destination's own --listen address; forward to another ballast dest");
            }
            if (preallocBytes < 0 || preallocBytes % GuestLayout.HUGE_PAGE != 0 || preallocBytes > maxGuestBytes) {
                throw new SettingException("prealloc", Long.toString(preallocBytes), "must be a multiple of 2M, at most the largest guest taken ("
                        + Units.formatBytes(maxGuestBytes) + ")");
            }
        }
    }

    /** Whether a connection to {@code to} would reach a server listening on {@code listen}: the same port on the same host. */
    static boolean isOwnAddress(InetSocketAddress listen, InetSocketAddress to) {
        if (to.isUnresolved() || listen.isUnresolved() || to.getPort() != listen.getPort()) return false;
        var a = listen.getAddress();
        var b = to.getAddress();
        if (a.equals(b) || a.isLoopbackAddress() && b.isLoopbackAddress()) return true;
        try {
            return a.isAnyLocalAddress() && (b.isLoopbackAddress() || java.net.NetworkInterface.getByInetAddress(b) != null);
        } catch (java.net.SocketException e) {
            return false;
        }
    }

    /**
     * What one connection came to.
     *
     * @param outcome  {@code completed}, {@code rejected} (the stream, with its reason), {@code unauthenticated}, or {@code lost}
     * @param verdict  what was sent to the source, for a completed migration
     * @param forward  what the forward came to, or null
     */
    public record Served(String peer, String outcome, String reason, Verdict verdict, GuestSink.Counters counters, String forward,
                         boolean guestStarted) { }

    private final Options options;
    private final Kvm kvm;
    private final ServerSocketChannel server;
    private final GuestSink sink;
    private final Thread thread;
    private final List<Served> served = new ArrayList<>();
    private volatile boolean stopping;
    private volatile StallGuard current;
    private KvmGuest kept;

    private DestinationServer(Options options) throws IOException {
        this.options = options;
        KvmRun.requireKvm();
        this.kvm = Kvm.open();
        try {
            this.server = ServerSocketChannel.open();
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(options.listen(), 4);
        } catch (IOException | RuntimeException e) {
            kvm.close();
            throw e;
        }
        this.sink = new GuestSink((l, poison) -> KvmGuest.incoming(kvm, l, new GuestFeatures(true, true, true, poison)),
                options.maxGuestBytes(), options.dropPage());
        this.thread = Thread.ofPlatform().name("ballast-dest").start(this::serve);
    }

    /** Binds and starts serving on a thread of its own. */
    public static DestinationServer start(Options options) throws IOException {
        return new DestinationServer(options);
    }

    /** The address it listens on (with the port chosen, for port 0). */
    public InetSocketAddress address() {
        try {
            return (InetSocketAddress) server.getLocalAddress();
        } catch (IOException e) {
            throw new IllegalStateException("the destination's socket is closed", e);
        }
    }

    /** Every connection served so far. */
    public synchronized List<Served> served() {
        return List.copyOf(served);
    }

    /** Waits until {@code n} connections have been served; returns them. */
    public synchronized List<Served> awaitServed(int n, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (served.size() < n) {
            long left = end - System.nanoTime();
            if (left <= 0) throw new IllegalStateException("served " + served.size() + " connections, waited for " + n);
            wait(Math.max(1, left / 1_000_000));
        }
        return List.copyOf(served);
    }

    /** What the sink did so far (all connections). */
    public GuestSink.Counters counters() {
        return sink.counters();
    }

    private void log(String line) {
        options.log().accept(line);
    }

    private void serve() {
        StallGuard.warmUp();
        prepare();
        log("listening on " + address().getHostString() + ":" + address().getPort()
                + (options.secret() != null ? ", sources must prove the shared secret" : "")
                + (options.forward() != null ? ", verified guests go on to " + hostPort(options.forward().address()) : ""));
        while (!stopping) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (ClosedChannelException e) {
                break;
            } catch (IOException e) {
                log("accept failed: " + e.getMessage());
                continue;
            }
            serveOne(ch);
        }
    }

    private void serveOne(SocketChannel ch) {
        String peer;
        try {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            peer = hostPort((InetSocketAddress) ch.getRemoteAddress());
        } catch (IOException e) {
            peer = "?";
        }
        long t0 = System.nanoTime();
        String outcome;
        String reason = null;
        Verdict verdict = null;
        GuestSink.Counters before = sink.counters();
        StallGuard g = new StallGuard(ch, options.timeoutNs());
        current = g;
        PageStreamReader r = PageStreamReader.adoptingLayout(g.in(), g.out(), sink);
        if (options.secret() != null) r.requireSecret(options.secret());
        try {
            verdict = r.run();
            outcome = "completed";
            log(String.format(Locale.ROOT, "migration 0x%x from %s: %s; %s stream bytes in %.0f ms; resident memory of this process %d MiB",
                    r.hello().sessionId(), peer,
                    verdict.ok() ? "verify ok (" + verdict.checkedPages() + " pages checked)" : "verify FAILED: " + verdict.message(),
                    r.streamOffset(), (System.nanoTime() - t0) / 1e6, residentMiB()));
        } catch (WireException e) {
            reason = e.getMessage();
            if (e.reason() == WireException.Reason.AUTH_FAILED || (options.secret() != null && !r.authenticated())) {
                outcome = "unauthenticated";
                log("connection from " + peer + " dropped: authentication failed: " + e.getMessage());
            } else {
                outcome = "rejected";
                log("migration from " + peer + " rejected: " + e.getMessage());
            }
        } catch (IOException e) {
            outcome = "lost";
            reason = g.stalled() != null ? g.stalled() : e.getClass().getSimpleName() + ": " + e.getMessage();
            log("connection from " + peer + " lost: " + reason + (sink.guest() != null && !sink.completed() ? "; what arrived is kept for a resume" : ""));
        } catch (RuntimeException e) {
            outcome = "lost";
            reason = "destination error: " + e;
            log("connection from " + peer + " failed here: " + e);
        } finally {
            g.close();
            current = null;
        }
        boolean started = sink.completed();
        KvmGuest guest = started ? sink.takeGuest() : null;
        String forward = null;
        if (guest != null) {
            if (kept != null) {
                kept.close();
                kept = null;
            }
            if (options.forward() != null && verdict != null && verdict.ok() && !stopping) {
                forward = forward(guest);
            } else {
                guest.close();
            }
        }
        GuestSink.Counters after = sink.counters();
        GuestSink.Counters delta = new GuestSink.Counters(after.pagesWritten() - before.pagesWritten(), after.pagesFilled() - before.pagesFilled(),
                after.balloonRanges() - before.balloonRanges(), after.stateBytes() - before.stateBytes(), after.guestsCreated() - before.guestsCreated());
        if (!stopping) prepare();
        synchronized (this) {
            served.add(new Served(peer, outcome, reason, verdict, delta, forward, started));
            notifyAll();
        }
    }

    /** With {@code --prealloc}: makes the next guest's VM and allocates its memory, unless a migration left one waiting. */
    private void prepare() {
        if (options.preallocBytes() == 0 || sink.prepared() || (sink.guest() != null && !sink.completed())) return;
        long t0 = System.nanoTime();
        try {
            sink.prepare(RamLayout.pcLike(options.preallocBytes()));
            log(String.format(Locale.ROOT, "prepared the VM of a %d MiB guest, all of its memory allocated, in %.0f ms",
                    options.preallocBytes() >> 20, (System.nanoTime() - t0) / 1e6));
        } catch (RuntimeException e) {
            log("could not prepare the VM of a " + (options.preallocBytes() >> 20) + " MiB guest (" + e.getMessage()
                    + "); the next one is made when its migration starts");
        }
    }

    /** Migrates a verified guest on; returns what became of it (and keeps it running here if it could not go). */
    private String forward(KvmGuest guest) {
        Forward f = options.forward();
        HopMigration.Result h;
        try (Target t = Target.remote(f.address(), options.timeoutNs())) {
            h = HopMigration.migrate(f.settings(), guest, t, EventSink.NONE, Backend.Progress.NONE, " (forward)", null);
        } catch (RuntimeException e) {
            guest.close();
            String s = "forward to " + hostPort(f.address()) + " failed: " + e.getMessage();
            log(s);
            return s;
        }
        String s;
        if (h.completed()) {
            Verdict v = h.verdict();
            s = String.format(Locale.ROOT, "forward to %s: completed in %.0f ms (downtime %.1f ms), %d bytes, %d attempt(s), %s",
                    hostPort(f.address()), h.hopNs() / 1e6, h.last().downtimeNs() / 1e6, h.sum().transferredBytes(), h.attempts().size(),
                    v.ok() ? "verify ok (" + v.checkedPages() + " pages checked)" : "verify FAILED: " + v.message());
            guest.close();
        } else {
            s = "forward to " + hostPort(f.address()) + " failed after " + h.attempts().size() + " attempts ("
                    + h.attempts().getLast().cause() + "); the guest keeps running here";
            kept = guest;
        }
        log(s);
        return s;
    }

    /** VmRSS of this process, in MiB (-1 where /proc says nothing). */
    static long residentMiB() {
        try {
            for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024;
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    static String hostPort(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }

    /** Stops serving: the connection under way is closed, the guests are stopped. */
    @Override
    public void close() {
        stopping = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing
        }
        StallGuard g = current;
        if (g != null) g.close();
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sink.close();
        if (kept != null) kept.close();
        kvm.close();
    }
}
