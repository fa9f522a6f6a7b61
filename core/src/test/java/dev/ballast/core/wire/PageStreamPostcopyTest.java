package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireFormat.PAGE_SIZE;
import static dev.ballast.core.wire.WireTestSupport.fillHash;
import static dev.ballast.core.wire.WireTestSupport.layout;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.EngineConfig;
import dev.ballast.core.engine.ForwardingPageLink;
import dev.ballast.core.engine.LinkException;
import dev.ballast.core.engine.MigrationEngine;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.engine.Postcopy;
import dev.ballast.core.engine.PostcopyStats;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.hash.Xxh64;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.Policies;
import dev.ballast.core.wire.PageStreamEngineTest.TinyGuest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Postcopy over the wire, end to end: the real engine switches to postcopy after pass 2 and
 * migrates a guest that keeps writing through a {@link PageStreamWriter}, two pipes and a
 * {@link PageStreamReader}, to a destination whose guest runs from the switch-over on and faults on
 * the pages it lacks; each fault goes back as PAGE_REQUEST and waits for its page. The destination
 * ends with every page as the source's guest last wrote it (ballooned pages skipped by the balloon
 * policy excepted: it places those it touches as zero itself), no page is placed twice after the
 * switch-over (the reader would refuse the stream; the sink checks too), and every fault is served.
 * One run cuts the connection in postcopy and recovers on a new one.
 */
class PageStreamPostcopyTest {

    /**
     * The destination of a postcopy migration: a hash a page, and a guest that, from the switch-over
     * on, touches pages (the ones its source dirtied last, highest first) and waits for each it lacks.
     */
    static final class FaultingDestination implements PageSink {
        final RamLayout layout;
        final long[][] hash;
        final boolean[][] has;
        final boolean[][] ballooned;
        final List<String> problems = Collections.synchronizedList(new ArrayList<>());
        volatile PageStreamReader reader;
        private Thread guest;
        private long[] waiting; // (block, offset) the guest waits for, or null
        int requests;
        int zeroPlaced;
        int placedAfterSwitch;
        boolean switched;
        boolean guestDone;
        /** The pages the guest touches, planned at the switch-over. */
        List<long[]> plan = List.of();

        FaultingDestination(RamLayout layout) {
            this.layout = layout;
            this.hash = new long[layout.blockCount()][];
            this.has = new boolean[layout.blockCount()][];
            this.ballooned = new boolean[layout.blockCount()][];
            for (RamBlock b : layout.blocks()) {
                hash[b.index()] = new long[(int) b.pages()];
                has[b.index()] = new boolean[(int) b.pages()];
                ballooned[b.index()] = new boolean[(int) b.pages()];
            }
        }

        @Override
        public void open(Hello h, PageRanges missing) {
            for (RamBlock b : layout.blocks()) missing.range(b.index(), 0, b.pages());
        }

        private void placed(int block, long offset, long h) {
            if (switched && has[block][(int) offset]) {
                problems.add(
                        "page " + layout.block(block).name() + "+" + offset + " placed twice after the switch-over");
            }
            if (switched) placedAfterSwitch++;
            hash[block][(int) offset] = h;
            has[block][(int) offset] = true;
        }

        @Override
        public synchronized void writePages(int block, long offset, int count, ByteBuffer data) {
            for (int i = 0; i < count; i++)
                placed(block, offset + i, Xxh64.hash(data, data.position() + i * PAGE_SIZE, PAGE_SIZE, 7));
            notifyAll();
        }

        @Override
        public synchronized void fill(int block, long offset, long count, int fillByte) {
            long h = fillHash(fillByte);
            for (long i = 0; i < count; i++) placed(block, offset + i, h);
            notifyAll();
        }

        @Override
        public void balloon(int block, long offset, long count, boolean in) {}

        @Override
        public synchronized void discard(int block, long offset, long count) {
            for (long i = offset; i < offset + count; i++) has[block][(int) i] = false;
        }

        @Override
        public synchronized void balloonBitmap(int block, long offset, long count, boolean in) {
            for (long i = offset; i < offset + count; i++) ballooned[block][(int) i] = in;
        }

        @Override
        public synchronized void recover(Hello h, PageRanges lacking) {
            // What it lacks, less the ballooned pages it places itself.
            for (RamBlock b : layout.blocks()) {
                for (int p = 0; p < b.pages(); p++) {
                    if (!has[b.index()][p] && !ballooned[b.index()][p]) lacking.range(b.index(), p, 1);
                }
            }
        }

        @Override
        public synchronized void switchOver() {
            if (guest != null) {
                // A recovered connection: ask again for the page the guest waits for.
                if (waiting != null) request(waiting);
                return;
            }
            switched = true;
            // The guest touches the pages it lacks, highest first: those the source's walk reaches last.
            List<long[]> p = new ArrayList<>();
            for (int b = layout.blockCount() - 1; b >= 0; b--) {
                for (int o = has[b].length - 1; o >= 0; o--) if (!has[b][o]) p.add(new long[] {b, o});
            }
            plan = p.subList(0, Math.min(12, p.size()));
            guest = new Thread(this::runGuest, "dest-guest");
            guest.setDaemon(true);
            guest.start();
        }

        private void request(long[] page) {
            try {
                reader.requestPages((int) page[0], page[1], 1);
            } catch (IOException | IllegalStateException e) {
                // the connection is gone, or the new one has not recovered yet: its switchOver() asks again
            }
        }

        private void runGuest() {
            for (long[] page : plan) {
                int b = (int) page[0];
                int o = (int) page[1];
                synchronized (this) {
                    if (has[b][o]) continue;
                    if (ballooned[b][o]) {
                        placed(b, o, fillHash(0)); // UFFDIO_ZEROPAGE: no request
                        zeroPlaced++;
                        continue;
                    }
                    waiting = page;
                    requests++;
                }
                request(page);
                synchronized (this) {
                    long deadline = System.nanoTime() + 30_000_000_000L;
                    while (!has[b][o] && System.nanoTime() < deadline) {
                        try {
                            wait(100);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                    }
                    if (!has[b][o])
                        problems.add("the fault on " + layout.block(b).name() + "+" + o + " was never served");
                    waiting = null;
                }
            }
            synchronized (this) {
                guestDone = true;
            }
        }

        /** Remembers its verdict, and answers a recovery of the completed migration with it (as a KVM destination). */
        boolean remembers;

        volatile Verdict done;

        @Override
        public Verdict completedBefore(Hello h) {
            return remembers ? done : null;
        }

        @Override
        public Verdict complete() {
            Verdict v = completeOnce();
            if (remembers) done = v;
            return v;
        }

        private Verdict completeOnce() {
            try {
                if (guest != null) guest.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (guest != null && guest.isAlive()) problems.add("the destination's guest still waits at COMPLETE");
            return Verdict.of(0, 0, problems.isEmpty(), problems.isEmpty() ? "ok" : problems.getFirst());
        }
    }

    /** A channel that fails its writes (as a broken connection) once {@link #cut} is set. */
    static final class Cuttable implements WritableByteChannel {
        final WritableByteChannel next;
        final AtomicBoolean cut = new AtomicBoolean();
        /** Every byte written, for the model to judge. */
        final java.io.ByteArrayOutputStream copy = new java.io.ByteArrayOutputStream();

        Cuttable(WritableByteChannel next) {
            this.next = next;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            if (cut.get()) throw new IOException("Broken pipe (cut by the test)");
            int p = src.position();
            int n = next.write(src);
            for (int i = 0; i < n; i++) copy.write(src.get(p + i));
            return n;
        }

        @Override
        public boolean isOpen() {
            return next.isOpen();
        }

        @Override
        public void close() throws IOException {
            next.close();
        }
    }

    /** One connection: a reader on its own thread, joined to the source by two pipes. */
    static final class Connection {
        final Pipe toDest = Pipe.open();
        final Pipe toSource = Pipe.open();
        final Cuttable out = new Cuttable(toDest.sink());
        final PageStreamReader reader;
        final Thread thread;
        volatile Verdict verdict;
        volatile Exception failure;

        Connection(FaultingDestination sink) throws IOException {
            reader = new PageStreamReader(toDest.source(), toSource.sink(), sink.layout, sink);
            sink.reader = reader;
            thread = new Thread(
                    () -> {
                        try {
                            verdict = reader.run();
                        } catch (Exception e) {
                            failure = e;
                        } finally {
                            try {
                                toDest.source().close();
                                toSource.sink().close();
                            } catch (IOException ignored) {
                                // closing
                            }
                        }
                    },
                    "wire-dest");
            thread.setDaemon(true);
            thread.start();
        }
    }

    /**
     * The engine's link: the writer, whose first postcopy poll waits (at most 30 s) until the
     * destination's guest has faulted and its first request has reached the source, so that the
     * return path is exercised whatever the threads' timing; optionally cut after some polls.
     */
    static final class GatedLink extends ForwardingPageLink {
        final PageStreamWriter w;
        final FaultingDestination sink;
        final List<Connection> connections;
        int cutAfterPolls = -1;
        /** Closes the return direction as COMPLETE goes out: COMPLETE arrives, its COMPLETE_ACK cannot come back. */
        boolean loseTheCompleteAck;

        int polls;
        boolean gated;
        long delivered;

        GatedLink(PageStreamWriter w, FaultingDestination sink, List<Connection> connections) {
            super(w);
            this.w = w;
            this.sink = sink;
            this.connections = connections;
        }

        @Override
        public void pollRequests(PageRanges requests) throws LinkException {
            PageRanges counting = (b, o, n) -> {
                delivered += n;
                requests.range(b, o, n);
            };
            if (!gated) {
                gated = true;
                long deadline = System.nanoTime() + 30_000_000_000L;
                boolean wants;
                while (true) {
                    synchronized (sink) {
                        wants = sink.switched && sink.requests > 0;
                        if (!wants && sink.guestDone) break; // it faulted only on pages it places itself
                    }
                    if (wants) w.pollRequests(counting);
                    if (delivered > 0 || System.nanoTime() > deadline) break;
                    Thread.onSpinWait();
                }
            }
            w.pollRequests(counting);
            if (++polls == cutAfterPolls) connections.getLast().out.cut.set(true);
        }

        @Override
        public void complete() throws LinkException {
            if (loseTheCompleteAck && connections.size() == 1) {
                try {
                    connections.getLast().toSource.sink().close();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
            super.complete();
        }
    }

    record Result(MigrationEngine engine, TinyGuest guest, FaultingDestination sink, GatedLink link) {}

    static Result migrate(long seed, int writesPerSync, String policy, int cutAfterPolls) throws Exception {
        return migrate(seed, writesPerSync, policy, cutAfterPolls, false);
    }

    static Result migrate(long seed, int writesPerSync, String policy, int cutAfterPolls, boolean loseTheCompleteAck)
            throws Exception {
        return migrate(seed, writesPerSync, policy, cutAfterPolls, loseTheCompleteAck, false);
    }

    static Result migrate(
            long seed,
            int writesPerSync,
            String policy,
            int cutAfterPolls,
            boolean loseTheCompleteAck,
            boolean destinationRemembers)
            throws Exception {
        RamLayout src = layout("ram-low", 0, 400, "ram-high", 0x100000, 200);
        RamLayout dst = layout("ram-high", 0x100000, 200, "ram-low", 0, 400);
        TinyGuest guest = new TinyGuest(src, seed, writesPerSync);
        guest.requests.add(new long[] {1, 10, 20}); // ram-low [10, 30) into the balloon
        FaultingDestination sink = new FaultingDestination(dst);
        sink.remembers = destinationRemembers;
        List<Connection> connections = new ArrayList<>();
        connections.add(new Connection(sink));
        Connection first = connections.getFirst();
        PageStreamWriter w = new PageStreamWriter(
                first.out, first.toSource.source(), guest, new PageStreamWriter.Options(seed, 16, 16, 0));
        w.reconnectWith(() -> {
            // The failed connection's reader has applied what reached it before the new one asks what is lacking.
            try {
                connections.getLast().thread.join(30_000);
            } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException();
            }
            Connection c = new Connection(sink);
            connections.add(c);
            return new PageStreamWriter.Connection(c.out, c.toSource.source());
        });
        GatedLink link = new GatedLink(w, sink, connections);
        link.cutAfterPolls = cutAfterPolls;
        link.loseTheCompleteAck = loseTheCompleteAck;
        EngineConfig cfg = new EngineConfig(0, 1_000L, 10, 0, 0x8000_0000L, 64, 8, 8);
        long[] now = {0};
        MigrationEngine engine = new MigrationEngine(
                cfg, Postcopy.parse("2"), guest, link, Policies.create(policy), EventSink.NONE, () -> now[0] += 1_000);
        for (int step = 0; step < 200_000 && !engine.phase().isTerminal(); step++) engine.doWork();
        Connection last = connections.getLast();
        last.thread.join(30_000);
        for (Connection c : connections) {
            c.toDest.sink().close();
            c.toSource.source().close();
        }
        assertThat(engine.phase())
                .as("%s; destination: %s", engine.stats(), last.failure)
                .isEqualTo(Phase.COMPLETED);
        assertThat(last.failure).as("the last connection's reader").isNull();
        assertThat(last.verdict).isNotNull();
        assertThat(w.verdict()).isEqualTo(last.verdict);
        return new Result(engine, guest, sink, link);
    }

    /** Every page as the source's guest last wrote it, but ballooned pages the balloon policy skipped. */
    static void checkPages(Result r, boolean skipsBalloon) {
        FaultingDestination sink = r.sink();
        assertThat(sink.problems).isEmpty();
        PageBitmap balloon = r.engine().balloonBitmap();
        for (RamBlock b : r.guest().layout.blocks()) {
            int local = sink.layout.blockNamed(b.name()).index();
            for (long p = 0; p < b.pages(); p++) {
                boolean skipped = skipsBalloon && balloon.get(b.firstIndex() + p);
                if (skipped) {
                    // never sent: absent, or placed as zero by the destination itself
                    if (sink.has[local][(int) p])
                        assertThat(sink.hash[local][(int) p]).isEqualTo(fillHash(0));
                    continue;
                }
                assertThat(sink.has[local][(int) p])
                        .as("%s+%d arrived", b.name(), p)
                        .isTrue();
                assertThat(sink.hash[local][(int) p])
                        .as("%s+%d (version %d)", b.name(), p, r.guest().version[(int) (b.firstIndex() + p)])
                        .isEqualTo(r.guest().hash(b, p));
            }
        }
    }

    @Property(tries = 8)
    void postcopyOverTheWireServesEveryFaultAndLosesNoWrite(
            @ForAll long seed, @ForAll @IntRange(min = 8, max = 40) int writesPerSync, @ForAll boolean balloon)
            throws Exception {
        Result r = migrate(seed, writesPerSync, balloon ? "balloon" : "legacy", -1);
        // What the writer sent is a valid version-4 stream under the model written from the document.
        WireModel.Expect judged =
                WireModel.judge(r.link().connections.getFirst().out.copy.toByteArray(), r.sink().layout);
        assertThat(judged.accepted()).as("%s", judged).isTrue();
        assertThat(judged.log()).contains(WireModel.Log.switchOver());
        PostcopyStats pc = r.engine().postcopyStats();
        assertThat(pc.switched()).isTrue();
        assertThat(pc.discardedPages())
                .as("pages written after pass 2 were discarded")
                .isPositive();
        if (r.sink().requests > 0) {
            assertThat(r.link().delivered)
                    .as("requests that reached the engine")
                    .isPositive();
            assertThat(pc.requestedPages()).isEqualTo(r.link().delivered);
        }
        assertThat(r.sink().placedAfterSwitch).isPositive();
        if (balloon) assertThat(pc.balloonBitmapBytes()).isPositive();
        checkPages(r, balloon);
        assertThat(r.guest().running).isFalse();
    }

    /** A destination that takes everything postcopy sends and does nothing with it. */
    static final class NullSink implements PageSink {
        @Override
        public void open(Hello h, PageRanges missing) {}

        @Override
        public void writePages(int block, long offset, int count, ByteBuffer data) {}

        @Override
        public void fill(int block, long offset, long count, int fillByte) {}

        @Override
        public void balloon(int block, long offset, long count, boolean in) {}

        @Override
        public void discard(int block, long offset, long count) {}

        @Override
        public void switchOver() {}

        @Override
        public Verdict complete() {
            return Verdict.of(0, 0, true, "ok");
        }
    }

    /**
     * After the switch-over the reader checks every page against what the destination holds: reading
     * 4,000 records of pages and fills then allocates at most a small constant, not per record.
     */
    @net.jqwik.api.Example
    void theReaderAllocatesNothingPerRecordAfterTheSwitchOver() throws Exception {
        RamLayout l = layout("ram", 0, 1 << 16);
        WireModel.Enc e = new WireModel.Enc().hello(WireModel.VERSION, 0, 1, l);
        e.discard(0, 0, 1 << 16).switchOver(1 << 16);
        byte[] page = new byte[PAGE_SIZE];
        for (int i = 0; i < 4000; i++) {
            if (i % 2 == 0) e.pages(0, 2L * i, page);
            else e.fill(0, 2L * i, 2, 0);
        }
        byte[] stream = e.complete().bytes();
        PageStreamReader r = new PageStreamReader(
                WireTestSupport.channelOf(stream), new WireTestSupport.Collector(), l, new NullSink());
        for (int i = 0; i < 1000; i++) r.step(); // warm up, past the handshake
        com.sun.management.ThreadMXBean mx =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long least = Long.MAX_VALUE;
        for (int window = 0; window < 3; window++) {
            long before = mx.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 900; i++) r.step();
            least = Math.min(least, mx.getCurrentThreadAllocatedBytes() - before);
        }
        assertThat(least)
                .as("bytes allocated reading 900 records after the switch-over")
                .isLessThan(4096);
        assertThat(r.run().ok()).isTrue();
    }

    @Property(tries = 6)
    void aConnectionCutInPostcopyIsRecoveredOnANewOne(
            @ForAll long seed, @ForAll @IntRange(min = 8, max = 40) int writesPerSync, @ForAll boolean balloon)
            throws Exception {
        Result r = migrate(seed, writesPerSync, balloon ? "balloon" : "legacy", 1);
        PostcopyStats pc = r.engine().postcopyStats();
        assertThat(pc.recoveries()).isEqualTo(1);
        assertThat(r.link().connections).hasSize(2);
        assertThat(r.link().connections.getLast().reader.hello().recover()).isTrue();
        checkPages(r, balloon);
    }

    /**
     * COMPLETE went out but its COMPLETE_ACK did not come back (the return direction closed): in postcopy that is a
     * link failure like any other, recovered on a new connection, which completes again. (The writer refused to
     * recover once COMPLETE was sent, and the engine stopped with an IllegalStateException.)
     */
    @Property(tries = 3)
    void aCompleteWhoseAnswerIsLostIsRecoveredAndCompletedAgain(@ForAll long seed, @ForAll boolean balloon)
            throws Exception {
        Result r = migrate(seed, 20, balloon ? "balloon" : "legacy", -1, true);
        assertThat(r.engine().postcopyStats().recoveries()).isEqualTo(1);
        assertThat(r.link().connections).hasSize(2);
        assertThat(r.link().connections.getLast().reader.hello().recover()).isTrue();
        checkPages(r, balloon);
    }

    /**
     * COMPLETE_ACK lost, and the destination remembers the verdict of the migration it completed: it answers the
     * recovery's HELLO flagged RECOVER with that COMPLETE_ACK again, over the new stream's digest (its HELLO), and the
     * source ends the migration with it: nothing sent again, the stream of the recovery is its HELLO alone.
     */
    @Property(tries = 3)
    void aRecoveryOfACompletedMigrationIsAnsweredWithItsVerdict(@ForAll long seed, @ForAll boolean balloon)
            throws Exception {
        Result r = migrate(seed, 20, balloon ? "balloon" : "legacy", -1, true, true);
        assertThat(r.engine().postcopyStats().recoveries()).isEqualTo(1);
        assertThat(r.link().connections).hasSize(2);
        Connection first = r.link().connections.getFirst();
        Connection second = r.link().connections.getLast();
        // its reader answered COMPLETE, into a return direction that was closed
        Verdict firstVerdict = first.reader.verdict();
        assertThat(firstVerdict).as("the first connection completed").isNotNull();
        assertThat(second.reader.hello().recover()).isTrue();
        assertThat(second.reader.records())
                .as("the recovery's stream: its HELLO, answered with the verdict")
                .isEqualTo(1 + 1);
        assertThat(second.verdict.message()).isEqualTo(firstVerdict.message());
        assertThat(second.verdict.ok()).isEqualTo(firstVerdict.ok()).isTrue();
        assertThat(second.verdict.digest()).isEqualTo(second.reader.digest()).isNotEqualTo(firstVerdict.digest());
        checkPages(r, balloon);
    }
}
