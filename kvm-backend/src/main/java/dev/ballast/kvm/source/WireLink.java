package dev.ballast.kvm.source;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.engine.PageLink;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.invariant.FaultBound;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.PageStreamWriter;
import dev.ballast.core.wire.Verdict;
import dev.ballast.core.wire.WireSecret;
import dev.ballast.kvm.guest.GuestState;
import dev.ballast.kvm.guest.KvmGuest;
import dev.ballast.kvm.guestabi.GuestAbi;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.SocketTimeoutException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * The engine's link for a KVM migration: the page stream of {@code docs/wire-protocol.md}
 * ({@link PageStreamWriter}) over a connection, to a destination in this process (a
 * {@link dev.ballast.kvm.net.MemoryPipe}) or in another (TCP). Page contents are copied from the
 * source guest's memory when they are sent; at completion the guest's state sections follow the
 * last pages (the system slot, then the vCPU), and the destination's verdict comes back.
 *
 * <p>It fails where it is told to (an injected failure after a number of pages or at a time, once), and
 * once failed it aborts the stream (ERROR, ABORTED, as far as the connection still takes it; in
 * postcopy it only cuts the connection), closes the connection and stays down, except that in
 * postcopy the engine {@link #recover recovers} it on a new connection from the {@link Connector}.
 */
public final class WireLink implements PageLink, AutoCloseable {
    /** Both directions of one connection. */
    public interface Connection extends AutoCloseable {
        ReadableByteChannel in();

        WritableByteChannel out();

        @Override
        void close();
    }

    /** Opens a connection to the destination, one per attempt. */
    @FunctionalInterface
    public interface Connector {
        Connection connect() throws IOException;
    }

    private final KvmGuest source;
    private final Connector connector;
    private final long session;
    private final WireSecret secret;
    private final FaultBound pace;
    private long failAfterPages;
    private long failAtNs;
    private Connection connection;
    private PageStreamWriter writer;
    private long pagesSent;
    private LinkException dead;
    private RamLayout layout;
    /** Pages the destination said it lacked when this attempt opened. */
    private PageBitmap missingAtOpen;
    /** Pages sent (with data or as a fill) by this attempt. */
    private PageBitmap sent;
    /** Pages whose send by this attempt may have been lost while the destination holds an older copy. */
    private PageBitmap atRisk;

    /**
     * @param secret         proven to the destination before the handshake, or null
     * @param failAfterPages fail once this many pages were sent (-1: never)
     * @param failAtNs       fail at the first call at or after this {@link System#nanoTime()} (-1: never)
     * @param pace           the engine's pace on this link, which SWITCH_OVER states for invariant 8's bound at the
     *                       destination (its step time and requests a step; the fixed part is the destination's)
     */
    public WireLink(
            KvmGuest source,
            Connector connector,
            long session,
            WireSecret secret,
            long failAfterPages,
            long failAtNs,
            FaultBound pace) {
        this.source = source;
        this.connector = connector;
        this.session = session;
        this.secret = secret;
        this.failAfterPages = failAfterPages;
        this.failAtNs = failAtNs;
        this.pace = pace;
    }

    private void copyPages(int block, long offset, int count, MemorySegment dst, long dstOffset) {
        MemorySegment.copy(
                source.blockMemory(block),
                offset * GuestAbi.PAGE_SIZE,
                dst,
                dstOffset,
                (long) count * GuestAbi.PAGE_SIZE);
    }

    private void check() throws LinkException {
        if (dead != null) throw new LinkException(dead.failureCause(), "the link is down: " + dead.getMessage());
        if ((failAfterPages >= 0 && pagesSent >= failAfterPages) || (failAtNs >= 0 && System.nanoTime() >= failAtNs)) {
            failAfterPages = -1; // once: a recovered postcopy link goes on
            failAtNs = -1;
            LinkException e = new LinkException(
                    FailureCause.INJECTED,
                    "link failure injected after " + pagesSent + " pages" + (switchedOver ? ", in postcopy" : ""));
            // In postcopy the connection is cut (the destination's guest runs on and waits for the recovery); before,
            // the source gives the migration up and says so.
            if (writer != null && !switchedOver) writer.abort("link failure injected");
            throw down(e);
        }
    }

    /** The injected failure happened (it happens once: a recovered postcopy link does not fail again). */
    private boolean injected;

    private LinkException down(LinkException e) {
        // After the switch-over nothing goes back to the source's dirty log: the destination reports what it lacks.
        if (dead == null && !switchedOver) giveBackAtRisk();
        if (switchedOver && postcopyFailure == null) postcopyFailure = e.getMessage();
        dead = e;
        close();
        return e;
    }

    /**
     * Records a send. Nothing on the wire says what the destination applied before a failure:
     * what was sent but lost in flight is, for a page sent for the first time to a destination
     * that lacked it, still missing there (the resume asks for it again); but for a page the
     * destination already held (from an earlier pass or attempt), it is neither missing nor dirty,
     * and would be lost. Those are marked.
     */
    private void sending(int block, long offset, long count) {
        long g = layout.block(block).firstIndex() + offset;
        long[] s = sent.words();
        long[] m = missingAtOpen.words();
        long[] r = atRisk.words();
        long end = g + count;
        for (long i = g; i < end; ) {
            int w = (int) (i >>> 6);
            int lo = (int) (i & 63);
            int hi = (int) Math.min(64, end - ((long) w << 6));
            long mask = (hi == 64 ? -1L : (1L << hi) - 1) & (-1L << lo);
            r[w] |= (s[w] | ~m[w]) & mask;
            s[w] |= mask;
            i = ((long) w + 1) << 6;
        }
    }

    /** After a failure: the pages at risk go back into the source's dirty log, so the next attempt sends them. */
    private void giveBackAtRisk() {
        if (atRisk == null) return;
        for (var b : layout.blocks()) {
            atRisk.forEachRun(b.firstIndex(), b.endIndex(), (s, e) -> {
                source.restoreDirty(b.index(), s - b.firstIndex(), e - s);
                pagesGivenBack += e - s;
            });
        }
    }

    private long pagesGivenBack;

    /** Pages this link put back into the dirty log when it failed (sent, maybe lost, older copy at the destination). */
    public long pagesGivenBack() {
        return pagesGivenBack;
    }

    @Override
    public void open(RamLayout layout, int poisonByte, PageRanges missing) throws LinkException {
        check();
        try {
            connection = connector.connect();
        } catch (IOException e) {
            FailureCause c = e instanceof SocketTimeoutException ? FailureCause.TIMEOUT : FailureCause.IO;
            throw down(new LinkException(
                    c,
                    "cannot reach the destination: "
                            + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())));
        }
        writer = new PageStreamWriter(
                        connection.out(), connection.in(), this::copyPages, PageStreamWriter.Options.defaults(session))
                .faultPace(pace.requestsPerStep(), pace.stepNs());
        if (secret != null) writer.authenticate(secret);
        this.layout = layout;
        this.missingAtOpen = new PageBitmap(layout.totalPages());
        this.sent = new PageBitmap(layout.totalPages());
        this.atRisk = new PageBitmap(layout.totalPages());
        try {
            writer.open(layout, poisonByte, (block, offset, count) -> {
                long g = layout.block(block).firstIndex() + offset;
                missingAtOpen.setRange(g, g + count);
                missing.range(block, offset, count);
            });
        } catch (LinkException e) {
            throw down(e);
        }
    }

    @Override
    public void sendPages(int block, long offset, long count) throws LinkException {
        check();
        sending(block, offset, count);
        try {
            writer.sendPages(block, offset, count);
        } catch (LinkException e) {
            throw down(e);
        }
        pagesSent += count;
    }

    @Override
    public void sendFill(int block, long offset, long count, int fillByte) throws LinkException {
        check();
        sending(block, offset, count);
        try {
            writer.sendFill(block, offset, count, fillByte);
        } catch (LinkException e) {
            throw down(e);
        }
        pagesSent += count;
    }

    @Override
    public void sendBalloon(int block, long offset, long count, boolean ballooned) throws LinkException {
        check();
        try {
            writer.sendBalloon(block, offset, count, ballooned);
        } catch (LinkException e) {
            throw down(e);
        }
    }

    @Override
    public void endIteration(int iteration) throws LinkException {
        check();
        try {
            writer.endIteration(iteration);
        } catch (LinkException e) {
            throw down(e);
        }
    }

    @Override
    public void complete() throws LinkException {
        check();
        try {
            // In postcopy the state went at the switch-over and the guest runs on the destination.
            if (!switchedOver) sendState();
            writer.complete();
        } catch (LinkException e) {
            throw down(e);
        }
    }

    /** The engine paused the source (stop-and-copy, or the switch-over); its devices finished what the guest asked. */
    private void sendState() throws LinkException {
        writer.sendState(
                GuestState.SECTION_SYSTEM, source.machine().memory().system().host());
        writer.sendState(
                GuestState.SECTION_VCPU, GuestState.encodeVcpu(source.machine().saveState(), source.features()));
    }

    // ------------------------------------------------------------------ postcopy: the writer's records

    private boolean switchedOver;

    @Override
    public void discard(int block, long offset, long count) throws LinkException {
        check();
        try {
            writer.discard(block, offset, count);
        } catch (LinkException e) {
            throw down(e);
        }
    }

    @Override
    public long sendBalloonBitmap(PageBitmap balloon) throws LinkException {
        check();
        try {
            return writer.sendBalloonBitmap(balloon);
        } catch (LinkException e) {
            throw down(e);
        }
    }

    /** The guest's state sections, then SWITCH_OVER: the guest resumes on the destination. */
    @Override
    public void switchOver() throws LinkException {
        check();
        try {
            sendState();
            writer.switchOver();
        } catch (LinkException e) {
            throw down(e);
        }
        switchedOver = true;
    }

    @Override
    public void pollRequests(PageRanges requests) throws LinkException {
        check();
        try {
            writer.pollRequests(requests);
        } catch (LinkException e) {
            throw down(e);
        }
    }

    /**
     * Postcopy recovery (QEMU's {@code migrate-recover}): a new connection from the {@link Connector}, a HELLO of the
     * same session flagged RECOVER, and the destination, whose guest runs on, reports the pages it lacks
     * ({@code missing}); the pages its guest waits for it asks for again. A recovery that fails is tried again by the
     * engine, after a wait that doubles each time ({@link #recoveryDelayNs}).
     */
    @Override
    public void recover(PageRanges missing) throws LinkException {
        if (!switchedOver || writer == null)
            throw new LinkException(FailureCause.PROTOCOL, "recovery of a link that did not switch over");
        if (recoveryAttempts > 0) sleepNs(recoveryDelayNs(recoveryAttempts));
        recoveryAttempts++;
        dead = null;
        writer.reconnectWith(() -> {
            if (connection != null) connection.close();
            connection = null;
            Connection c = connector.connect();
            connection = c;
            return new PageStreamWriter.Connection(c.out(), c.in());
        });
        try {
            writer.recover(missing);
        } catch (LinkException e) {
            // what broke the link comes first: a recovery that fails for ever must still say it
            throw down(new LinkException(
                    e.failureCause(),
                    "postcopy link failed (" + postcopyFailure + "); recovery failed: " + e.getMessage()));
        }
        recoveryAttempts = 0;
        recoveries++;
        postcopyFailure = null;
    }

    /** What broke the link in postcopy, until a recovery succeeds. */
    private String postcopyFailure;

    private int recoveryAttempts;
    private int recoveries;

    /** Postcopy recoveries that succeeded. */
    public int recoveries() {
        return recoveries;
    }

    /** The wait before the {@code n}-th retry of a recovery that failed: 50 ms, 100 ms, ... at most 2 s. */
    static long recoveryDelayNs(int n) {
        return Math.min(2_000_000_000L, 50_000_000L << Math.min(n - 1, 10));
    }

    private static void sleepNs(long ns) {
        long end = System.nanoTime() + ns;
        for (long left = ns; left > 0; left = end - System.nanoTime())
            java.util.concurrent.locks.LockSupport.parkNanos(left);
    }

    /** The destination's answer to COMPLETE, or null. */
    public Verdict verdict() {
        return writer == null ? null : writer.verdict();
    }

    /** Stream bytes written so far. */
    public long bytesWritten() {
        return writer == null ? 0 : writer.bytesWritten();
    }

    @Override
    public void close() {
        Connection c = connection;
        if (c != null) {
            connection = null;
            c.close();
        }
    }
}
