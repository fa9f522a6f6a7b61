package dev.ballast.kvm.dest;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.SettingException;
import dev.ballast.core.run.Units;
import dev.ballast.core.wire.Hello;
import dev.ballast.core.wire.PageSink;
import dev.ballast.core.wire.PageStreamReader;
import dev.ballast.core.wire.Verdict;
import dev.ballast.core.wire.WireException;
import dev.ballast.core.wire.WireSecret;
import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.KvmAvailability;
import dev.ballast.kvm.guest.KvmGuest;
import dev.ballast.kvm.mem.GuestLayout;
import dev.ballast.kvm.net.StallGuard;
import dev.ballast.kvm.source.HopMigration;
import dev.ballast.kvm.source.Target;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongPredicate;

/**
 * {@code ballast dest}: receives KVM migrations over TCP. For each it authenticates the source
 * where a secret is set, creates the destination VM from the HELLO's layout (or resumes the one a
 * failed migration of the same session left), installs what the stream carries, starts the guest,
 * lets it check itself and reports the verdict in COMPLETE_ACK; then, with {@link Forward},
 * migrates the guest on to the next destination, else stops it, and waits for the next migration
 * until {@link #close()}.
 *
 * <p><b>One guest at a time, many connections.</b> A guest's memory is the size of a machine's:
 * this destination holds one guest, so it receives one migration at a time. But no connection
 * makes the others wait: one thread accepts, and each connection (up to
 * {@link Options#maxConnections}) is served on a thread of its own, which must finish
 * authentication and HELLO within {@link Options#handshakeTimeoutNs} (a peer that trickles a byte
 * a second is dropped then, not after its stall timeout). Only then does it ask for the guest
 * slot: a source that finds it taken by another migration waits for it up to the same deadline,
 * then is refused with {@code REFUSED: busy ...} (its retries back off); a source whose HELLO
 * carries the session of the migration holding the slot is that migration's retry, so the stale
 * connection is closed and the retry resumes what arrived. Before the slot a connection holds at
 * most one handshake record (70 KiB), so the memory of connections is bounded too; a connection
 * past the limit is answered {@code REFUSED} and closed.
 *
 * <p>A destination bound to an address other than loopback refuses to start without a secret. A
 * connection that fails authentication is dropped and logged before anything reaches a VM.
 */
public final class DestinationServer implements AutoCloseable {
    /** Where a verified guest goes next. */
    public record Forward(InetSocketAddress address, WireSecret secret, HopMigration.Settings settings) {}

    /**
     * Where each migration served is journaled ({@code ballast dest --journal}): the destination's own events (its
     * postcopy faults and placements), one journal per migration. A postcopy migration whose link failed keeps its
     * journal open until its recovery completes it.
     */
    public interface Journals {
        /** Opens the journal of the migration this HELLO starts (its session, layout). */
        Journal open(Hello hello);
    }

    /** One migration's journal: events go in until it is closed. */
    public interface Journal extends EventSink, AutoCloseable {
        /** Closes it and says where it is and what it holds, for the log. */
        String closeAndDescribe();

        @Override
        default void close() {
            closeAndDescribe();
        }
    }

    /** How long a connection has for its authentication and HELLO, by default. */
    public static final long DEFAULT_HANDSHAKE_TIMEOUT_NS = 5_000_000_000L;
    /** Connections served at once, by default (one receives the guest; the others are in their handshakes or wait for it). */
    public static final int DEFAULT_MAX_CONNECTIONS = 8;

    /**
     * @param timeoutNs          a peer that moves no byte this long while a read or write waits is stalled (0: never)
     * @param maxGuestBytes      the largest guest accepted
     * @param preallocBytes      0, or the RAM size of the guests expected: the VM for one is made, with all of
     *                           its memory allocated, before the first migration and again after each one
     *                           that took it ({@link GuestSink#prepare}), as QEMU's {@code -mem-prealloc}
     * @param forward            where verified guests go next, or null
     * @param dropPage           page indexes whose data this destination loses on purpose (tests), or null
     * @param log                one line per event
     * @param handshakeTimeoutNs a connection must have authenticated and sent its HELLO this long after it was
     *                           accepted, else it is dropped; a source waits for the guest slot this long at most
     * @param maxConnections     connections served at once; one more is refused
     */
    public record Options(
            InetSocketAddress listen,
            WireSecret secret,
            long timeoutNs,
            long maxGuestBytes,
            long preallocBytes,
            Forward forward,
            LongPredicate dropPage,
            Consumer<String> log,
            long handshakeTimeoutNs,
            int maxConnections) {
        public Options {
            if (listen.isUnresolved())
                throw new SettingException("listen", listen.getHostString(), "cannot resolve the address");
            if (!listen.getAddress().isLoopbackAddress() && secret == null) {
                throw new SettingException(
                        "listen",
                        listen.getAddress().getHostAddress(),
                        "not a loopback address; a destination" + " that other hosts can reach needs --secret-file");
            }
            if (timeoutNs < 0) throw new SettingException("timeout", Units.formatDuration(timeoutNs), "must be >= 0");
            if (maxGuestBytes < GuestLayout.HUGE_PAGE
                    || maxGuestBytes % GuestLayout.HUGE_PAGE != 0
                    || maxGuestBytes > GuestLayout.MAX_GUEST_BYTES) {
                throw new SettingException(
                        "max-mem", Units.formatBytes(maxGuestBytes), "must be a multiple of 2M in [2M, 256G]");
            }
            if (handshakeTimeoutNs <= 0)
                throw new SettingException(
                        "handshake-timeout", Units.formatDuration(handshakeTimeoutNs), "must be > 0");
            if (maxConnections < 1)
                throw new SettingException("max-connections", Integer.toString(maxConnections), "must be >= 1");
            if (forward != null && isOwnAddress(listen, forward.address())) {
                throw new SettingException(
                        "forward",
                        forward.address().getHostString() + ":"
                                + forward.address().getPort(),
                        "is this destination's own --listen address; forward to another ballast dest");
            }
            if (preallocBytes < 0 || preallocBytes % GuestLayout.HUGE_PAGE != 0 || preallocBytes > maxGuestBytes) {
                throw new SettingException(
                        "prealloc",
                        Long.toString(preallocBytes),
                        "must be a multiple of 2M, at most the largest guest taken (" + Units.formatBytes(maxGuestBytes)
                                + ")");
            }
        }

        /** With the default handshake deadline and connection limit. */
        public Options(
                InetSocketAddress listen,
                WireSecret secret,
                long timeoutNs,
                long maxGuestBytes,
                long preallocBytes,
                Forward forward,
                LongPredicate dropPage,
                Consumer<String> log) {
            this(
                    listen,
                    secret,
                    timeoutNs,
                    maxGuestBytes,
                    preallocBytes,
                    forward,
                    dropPage,
                    log,
                    DEFAULT_HANDSHAKE_TIMEOUT_NS,
                    DEFAULT_MAX_CONNECTIONS);
        }
    }

    /** Whether a connection to {@code to} would reach a server listening on {@code listen}: the same port on the same host. */
    static boolean isOwnAddress(InetSocketAddress listen, InetSocketAddress to) {
        if (to.isUnresolved() || listen.isUnresolved() || to.getPort() != listen.getPort()) return false;
        var a = listen.getAddress();
        var b = to.getAddress();
        if (a.equals(b) || a.isLoopbackAddress() && b.isLoopbackAddress()) return true;
        try {
            return a.isAnyLocalAddress()
                    && (b.isLoopbackAddress() || java.net.NetworkInterface.getByInetAddress(b) != null);
        } catch (java.net.SocketException e) {
            return false;
        }
    }

    /**
     * What one connection came to.
     *
     * @param outcome  {@code completed}, {@code rejected} (the stream, with its reason), {@code unauthenticated},
     *                 {@code busy} (another migration held the guest, or too many connections), or {@code lost}
     * @param verdict  what was sent to the source, for a completed migration
     * @param forward  what the forward came to, or null
     */
    public record Served(
            String peer,
            String outcome,
            String reason,
            Verdict verdict,
            GuestSink.Counters counters,
            String forward,
            boolean guestStarted) {}

    private static final GuestSink.Counters NOTHING = new GuestSink.Counters(0, 0, 0, 0, 0);

    private final Options options;
    private final Kvm kvm;
    private final ServerSocketChannel server;
    private final GuestSink sink;
    private final Thread thread;
    private final List<Served> served = new ArrayList<>();
    private final Set<Connection> active = ConcurrentHashMap.newKeySet();
    private final AtomicLong connections = new AtomicLong();
    private volatile boolean stopping;
    /** Guards {@link #holder}: the connection that owns the guest slot, the only one that uses the sink, {@link #kept} and preparation. */
    private final Object slot = new Object();

    private Connection holder;
    private KvmGuest kept;

    private final Journals journals;
    /** The journal of the migration holding (or last holding) the guest, and its session; touched by the holder. */
    private Journal journal;

    private long journalSession;
    /** Where the guest's events go: the current migration's journal, or nowhere. */
    private final SwitchedSink events = new SwitchedSink();

    private static final class SwitchedSink implements EventSink {
        volatile EventSink to = EventSink.NONE;

        @Override
        public void publish(dev.ballast.core.event.EventType type, long timeNs, long a, long b, long c) {
            to.publish(type, timeNs, a, b, c);
        }
    }

    private DestinationServer(Options options, Journals journals) throws IOException {
        this.options = options;
        this.journals = journals;
        KvmAvailability.require();
        this.kvm = Kvm.open();
        try {
            this.server = ServerSocketChannel.open();
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(options.listen(), 16);
        } catch (BindException e) {
            kvm.close();
            throw new BindException(hostPort(options.listen()) + ": " + e.getMessage());
        } catch (IOException | RuntimeException e) {
            kvm.close();
            throw e;
        }
        this.sink = new GuestSink(
                (l, poison) -> KvmGuest.incoming(kvm, l, new GuestFeatures(true, true, true, poison)),
                options.maxGuestBytes(),
                options.dropPage(),
                events);
        this.thread = Thread.ofPlatform().name("ballast-dest").start(this::serve);
    }

    /** Binds and starts serving on a thread of its own. */
    public static DestinationServer start(Options options) throws IOException {
        return new DestinationServer(options, null);
    }

    /** Binds and starts serving, journaling each migration into a journal of {@code journals} (null: none). */
    public static DestinationServer start(Options options, Journals journals) throws IOException {
        return new DestinationServer(options, journals);
    }

    /** The holder, before its HELLO reaches the sink: the journal of its migration, unless one is open for it already. */
    private void openJournal(Hello h) {
        if (journals == null) return;
        if (journal != null && journalSession == h.sessionId()) return; // a retry or recovery of the same migration
        closeJournal();
        journal = journals.open(h);
        journalSession = h.sessionId();
        events.to = journal;
    }

    private void closeJournal() {
        if (journal == null) return;
        events.to = EventSink.NONE;
        Journal j = journal;
        journal = null;
        log("journal: " + j.closeAndDescribe());
    }

    /** The address it listens on (with the port chosen, for port 0). */
    public InetSocketAddress address() {
        try {
            return (InetSocketAddress) server.getLocalAddress();
        } catch (IOException e) {
            throw new IllegalStateException("the destination's socket is closed", e);
        }
    }

    /** Every connection served so far, in the order they ended. */
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
        prepare(); // before the first connection is accepted
        log("listening on " + address().getHostString() + ":" + address().getPort()
                + (options.secret() != null ? ", sources must prove the shared secret" : "")
                + (options.forward() != null
                        ? ", verified guests go on to "
                                + hostPort(options.forward().address())
                        : "")
                + String.format(
                        Locale.ROOT,
                        "; one migration at a time, handshakes within %.1f s",
                        options.handshakeTimeoutNs() / 1e9));
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
            String peer = peer(ch);
            if (active.size() >= options.maxConnections()) {
                String why =
                        "busy: " + active.size() + " connections already (the most this destination serves at once)";
                PageStreamReader.tryRefuse(ch, why);
                close(ch);
                log("connection from " + peer + " refused: " + why);
                record(new Served(peer, "busy", why, null, NOTHING, null, false));
                continue;
            }
            Connection c = new Connection(ch, peer);
            active.add(c);
            c.thread = Thread.ofPlatform()
                    .name("ballast-dest-" + connections.incrementAndGet())
                    .start(() -> {
                        try {
                            serveOne(c);
                        } finally {
                            active.remove(c);
                        }
                    });
        }
    }

    private static String peer(SocketChannel ch) {
        try {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            return hostPort((InetSocketAddress) ch.getRemoteAddress());
        } catch (IOException e) {
            return "?";
        }
    }

    private static void close(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    private synchronized void record(Served s) {
        served.add(s);
        notifyAll();
    }

    /**
     * One connection: its own thread and stall guard. It is a {@link PageSink} that hands the
     * records on to the shared {@link GuestSink} once its HELLO has won the guest slot.
     */
    private final class Connection implements PageSink {
        final SocketChannel channel;
        final String peer;
        final StallGuard guard;
        Thread thread;
        volatile long session;
        /** Owns the guest slot (set and cleared under {@link #slot}). */
        boolean holds;
        /** Its stream reached COMPLETE: no longer a stale connection that a retry may replace. */
        volatile boolean pastComplete;

        volatile String supersededBy;
        /** Refused for the slot: the outcome is {@code busy}. */
        boolean busy;

        GuestSink.Counters before = NOTHING;
        /** This connection's reader: in postcopy the guest's page requests go back through it. */
        PageStreamReader reader;

        Connection(SocketChannel channel, String peer) {
            this.channel = channel;
            this.peer = peer;
            this.guard = new StallGuard(channel, options.timeoutNs());
        }

        /** A retry of the same migration arrived on another connection: this one is stale. */
        void supersede(String by) {
            if (supersededBy == null) {
                supersededBy = by;
                guard.close();
            }
        }

        @Override
        public void open(Hello h, PageRanges missing) throws WireException {
            if (!guard.clearDeadline())
                throw new WireException(WireException.Reason.REFUSED, "the handshake came too late");
            session = h.sessionId();
            acquire(this);
            openJournal(h);
            sink.attach(reader);
            sink.open(h, missing);
        }

        /** Postcopy recovery: the source of the migration whose guest runs here connects again (HELLO flagged RECOVER). */
        @Override
        public void recover(Hello h, PageRanges lacking) throws WireException {
            if (!guard.clearDeadline())
                throw new WireException(WireException.Reason.REFUSED, "the handshake came too late");
            session = h.sessionId();
            acquire(this);
            openJournal(h);
            recovering = true;
            sink.attach(reader);
            sink.recover(h, lacking);
        }

        /** Its HELLO recovered a postcopy migration. */
        volatile boolean recovering;

        /**
         * A HELLO flagged RECOVER of a postcopy migration completed here, whose COMPLETE_ACK the source did not get: its
         * verdict, sent again. No guest slot: the guest was forwarded or stopped already.
         */
        @Override
        public Verdict completedBefore(Hello h) throws WireException {
            Verdict v = sink.completedBefore(h);
            if (v == null) return null;
            if (!guard.clearDeadline())
                throw new WireException(WireException.Reason.REFUSED, "the handshake came too late");
            session = h.sessionId();
            answeredAgain = true;
            pastComplete = true;
            return v;
        }

        /** Its HELLO recovered a migration that had completed here: the verdict was sent again. */
        volatile boolean answeredAgain;

        @Override
        public void discard(int block, long offset, long count) throws WireException {
            sink.discard(block, offset, count);
        }

        @Override
        public void balloonBitmap(int block, long offset, long count, boolean ballooned) throws WireException {
            sink.balloonBitmap(block, offset, count, ballooned);
        }

        @Override
        public void faultPace(int requestsPerStep, long stepNs) {
            sink.faultPace(requestsPerStep, stepNs);
        }

        @Override
        public void switchOver() throws WireException {
            sink.switchOver();
        }

        @Override
        public void writePages(int block, long offset, int count, ByteBuffer data) {
            sink.writePages(block, offset, count, data);
        }

        @Override
        public void fill(int block, long offset, long count, int fillByte) {
            sink.fill(block, offset, count, fillByte);
        }

        @Override
        public void balloon(int block, long offset, long count, boolean ballooned) {
            sink.balloon(block, offset, count, ballooned);
        }

        @Override
        public void state(int section, long total, long offset, ByteBuffer data) throws WireException {
            sink.state(section, total, offset, data);
        }

        @Override
        public void iterationEnd(int iteration) {
            sink.iterationEnd(iteration);
        }

        @Override
        public void verified() {
            sink.verified();
        }

        @Override
        public Verdict complete() {
            pastComplete = true;
            return sink.complete();
        }
    }

    /** Takes the guest slot for {@code c}, waiting for it up to the handshake deadline. */
    private void acquire(Connection c) throws WireException {
        long end = System.nanoTime() + options.handshakeTimeoutNs();
        synchronized (slot) {
            while (holder != null) {
                if (stopping) throw new WireException(WireException.Reason.REFUSED, "the destination is stopping");
                Connection h = holder;
                if (h.session == c.session && !h.pastComplete) h.supersede(c.peer);
                long left = end - System.nanoTime();
                if (left <= 0) {
                    c.busy = true;
                    throw new WireException(
                            WireException.Reason.REFUSED,
                            String.format(
                                    Locale.ROOT,
                                    "busy: this destination receives one migration at a time, and migration 0x%x from %s holds it; retry later",
                                    h.session,
                                    h.peer));
                }
                try {
                    slot.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new WireException(WireException.Reason.REFUSED, "the destination is stopping");
                }
            }
            holder = c;
            c.holds = true;
            c.before = sink.counters();
        }
    }

    private void serveOne(Connection c) {
        String peer = c.peer;
        StallGuard g = c.guard;
        long t0 = System.nanoTime();
        g.deadline(
                options.handshakeTimeoutNs(),
                String.format(
                        Locale.ROOT,
                        "no authentication and HELLO within %d ms of connecting (--handshake-timeout)",
                        TimeUnit.NANOSECONDS.toMillis(options.handshakeTimeoutNs())));
        String outcome;
        String reason = null;
        Verdict verdict = null;
        PageStreamReader r = PageStreamReader.adoptingLayout(g.in(), g.out(), c);
        c.reader = r;
        if (options.secret() != null) r.requireSecret(options.secret());
        try {
            verdict = r.run();
            outcome = "completed";
            PostcopySummary pc = PostcopySummary.parse(verdict.message());
            log(String.format(
                    Locale.ROOT,
                    "migration 0x%x from %s%s: %s%s; %s stream bytes in %.0f ms; resident memory of this process %d MiB",
                    r.hello().sessionId(),
                    peer,
                    c.recovering
                            ? " (recovered postcopy)"
                            : c.answeredAgain
                                    ? " (recovered postcopy, completed here already: its verdict sent again)"
                                    : "",
                    verdict.ok()
                            ? "verify ok (" + verdict.checkedPages() + " pages checked)"
                            : "verify FAILED: " + verdict.message(),
                    pc == null
                            ? ""
                            : String.format(
                                    Locale.ROOT,
                                    "; postcopy: %d faults asked for (+%d placed as zero here), latency median %.2f ms,"
                                            + " p99 %.2f ms, max %.2f ms",
                                    pc.requests(),
                                    pc.heldZero() + pc.balloonZero(),
                                    pc.medianNs() / 1e6,
                                    pc.p99Ns() / 1e6,
                                    pc.maxNs() / 1e6),
                    r.streamOffset(),
                    (System.nanoTime() - t0) / 1e6,
                    residentMiB()));
            String after = awaitClose(r, g);
            if (after != null) {
                outcome = "rejected";
                reason = after;
                log("migration from " + peer + " rejected after its COMPLETE_ACK: " + after);
            }
        } catch (WireException e) {
            reason = e.getMessage();
            if (c.busy) {
                outcome = "busy";
                log("migration from " + peer + " refused: " + e.getMessage());
            } else if (e.reason() == WireException.Reason.AUTH_FAILED
                    || (options.secret() != null && !r.authenticated())) {
                outcome = "unauthenticated";
                log("connection from " + peer + " dropped: authentication failed: " + e.getMessage());
            } else {
                outcome = "rejected";
                log("migration from " + peer + " rejected: " + e.getMessage() + afterLoss(c, r));
            }
        } catch (IOException e) {
            outcome = "lost";
            reason = c.supersededBy != null
                    ? "replaced by a retry of the same migration from " + c.supersededBy
                    : g.stalled() != null ? g.stalled() : e.getClass().getSimpleName() + ": " + e.getMessage();
            log("connection from " + peer + " lost: " + reason + afterLoss(c, r));
        } catch (RuntimeException e) {
            outcome = "lost";
            reason = "destination error: " + e;
            log("connection from " + peer + " failed here: " + e);
        } finally {
            r.close();
            g.close();
        }
        boolean started = false;
        String forward = null;
        GuestSink.Counters delta = NOTHING;
        if (c.holds) {
            // The holder alone touches the sink, the kept guest and the prepared VM: no lock while it forwards.
            started = sink.completed();
            KvmGuest guest = started ? sink.takeGuest() : null;
            if (guest != null) {
                if (kept != null) {
                    kept.close();
                    kept = null;
                }
                if (options.forward() != null
                        && verdict != null
                        && verdict.ok()
                        && "completed".equals(outcome)
                        && !stopping) {
                    forward = forward(guest);
                } else {
                    guest.close();
                }
            }
            GuestSink.Counters after = sink.counters();
            GuestSink.Counters before = c.before;
            delta = new GuestSink.Counters(
                    after.pagesWritten() - before.pagesWritten(),
                    after.pagesFilled() - before.pagesFilled(),
                    after.balloonRanges() - before.balloonRanges(),
                    after.stateBytes() - before.stateBytes(),
                    after.guestsCreated() - before.guestsCreated());
            // the migration is over unless a failed one left its guest here for a retry or a postcopy recovery
            if (started || sink.guest() == null || stopping) closeJournal();
            if (!stopping) prepare();
            synchronized (slot) {
                holder = null;
                c.holds = false;
                slot.notifyAll();
            }
        }
        record(new Served(peer, outcome, reason, verdict, delta, forward, started));
    }

    /** What a connection that ended before COMPLETE leaves here, for its log line. */
    private String afterLoss(Connection c, PageStreamReader r) {
        if (!c.holds || sink.guest() == null || sink.completed()) return "";
        if (r.postcopy())
            return "; the guest runs here in postcopy and waits for the source to recover the link (HELLO flagged"
                    + " RECOVER)";
        return "; what arrived is kept for a resume";
    }

    /**
     * After COMPLETE_ACK: waits, up to the handshake deadline, for the source to close. Returns
     * why the stream is rejected if it sent anything more (nothing may follow COMPLETE), else null.
     */
    private String awaitClose(PageStreamReader r, StallGuard g) {
        g.deadline(options.handshakeTimeoutNs(), "the source did not close after COMPLETE_ACK");
        try {
            r.step();
            return null;
        } catch (WireException e) {
            return e.getMessage();
        } catch (IOException e) {
            return null; // it did not close in time, or reset: nothing followed COMPLETE
        }
    }

    /** With {@code --prealloc}: makes the next guest's VM and allocates its memory, unless a migration left one waiting. */
    private void prepare() {
        if (options.preallocBytes() == 0 || sink.prepared() || (sink.guest() != null && !sink.completed())) return;
        long t0 = System.nanoTime();
        try {
            sink.prepare(RamLayout.pcLike(options.preallocBytes()));
            log(String.format(
                    Locale.ROOT,
                    "prepared the VM of a %d MiB guest, all of its memory allocated, in %.0f ms",
                    options.preallocBytes() >> 20,
                    (System.nanoTime() - t0) / 1e6));
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
            s = String.format(
                    Locale.ROOT,
                    "forward to %s: completed in %.0f ms (downtime %.1f ms), %d bytes, %d attempt(s), %s",
                    hostPort(f.address()),
                    h.hopNs() / 1e6,
                    h.last().downtimeNs() / 1e6,
                    h.sum().transferredBytes(),
                    h.attempts().size(),
                    v.ok() ? "verify ok (" + v.checkedPages() + " pages checked)" : "verify FAILED: " + v.message());
            // what broke here, while the guest ran on this host and went on from it (a failed attempt's loss, or a
            // discard of this host): the first hop's source has had its COMPLETE_ACK already, so this log says it
            String discard =
                    h.violation() != null ? h.violation() : guest.devices().discardViolation();
            if (discard != null) s += "; here: " + discard;
            guest.close();
        } else {
            s = "forward to " + hostPort(f.address()) + " failed after "
                    + h.attempts().size() + " attempts ("
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

    /** Stops serving: the connections under way are closed, the guests are stopped. */
    @Override
    public void close() {
        stopping = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing
        }
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (slot) {
            slot.notifyAll();
        }
        for (Connection c : active) c.guard.close();
        for (Connection c : active) {
            try {
                if (c.thread != null) c.thread.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        sink.close();
        closeJournal();
        if (kept != null) kept.close();
        kvm.close();
    }
}
