package dev.ballast.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.event.EventType;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.event.RejectReason;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.BalloonPolicy;
import dev.ballast.core.policy.BalloonZeroPolicy;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.policy.LegacyPolicy;
import dev.ballast.core.policy.MigrationPolicy;
import dev.ballast.core.policy.PolicyContext;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The engine one step at a time: the events each step publishes (the journal a replay checks, in order, with their
 * fields) and the statistics it keeps. Every expectation is worked out by hand from the event catalogue
 * ({@link EventType}), {@link EngineStats}, {@link MigrationPolicy}'s hook order and docs/reference.md, for a
 * guest small enough to follow page by page.
 *
 * <p>The usual guest: block {@code a} (PFN 0, 100 pages, indexes 0..99) and block {@code b} (PFN 1000, 60 pages,
 * indexes 100..159); pages a+0..9, a+20..29 and b+30..39 hold data, the rest are zero. A step handles at most 64
 * pages. A page goes as 4096 + 8 bytes, a fill record as 8 + 8.
 */
class EngineStepTest {
    private static final long MS = 1_000_000L;
    private static final long PAGE = 4104;
    private static final long FILL = 16;

    static RamLayout twoBlocks() {
        return RamLayout.of(List.of(new RamLayout.Spec("a", 0, 100), new RamLayout.Spec("b", 1000, 60)));
    }

    static EngineConfig cfg() {
        return new EngineConfig(0, 300 * MS, 30, 0, CommandIds.MIN, 64, 1024, 8);
    }

    /** A link whose calls can move the clock or fail, and which does postcopy. */
    static final class Link extends FakeLink {
        final Rig rig;
        Runnable onOpen = () -> {};
        Runnable onSwitchOver = () -> {};
        int failSendsAfter = -1;
        boolean failComplete;
        int recoverFailures;
        final List<String> discards = new ArrayList<>();
        final ArrayDeque<long[]> pageRequests = new ArrayDeque<>();
        final List<long[]> missingAtRecover = new ArrayList<>();
        boolean switched;
        long balloonBitmapBytes = 40;
        int balloonBitmaps;
        int sends;

        Link(Rig rig, FakeGuest g) {
            super(g);
            this.rig = rig;
        }

        private void send() throws LinkException {
            if (failSendsAfter >= 0 && sends++ >= failSendsAfter) {
                failSendsAfter = -1;
                throw new LinkException(FailureCause.PEER_CLOSED, "peer went away");
            }
        }

        @Override
        public void open(RamLayout layout, int poisonByte, PageRanges missing) throws LinkException {
            super.open(layout, poisonByte, missing);
            onOpen.run();
        }

        @Override
        public void sendPages(int block, long offset, long count) throws LinkException {
            send();
            super.sendPages(block, offset, count);
        }

        @Override
        public void sendFill(int block, long offset, long count, int fillByte) throws LinkException {
            send();
            super.sendFill(block, offset, count, fillByte);
        }

        @Override
        public void complete() throws LinkException {
            if (failComplete) throw new LinkException(FailureCause.TIMEOUT, "no acknowledgement");
            super.complete();
        }

        @Override
        public void discard(int block, long offset, long count) {
            discards.add(block + "+" + offset + "x" + count);
        }

        @Override
        public long sendBalloonBitmap(PageBitmap balloon) {
            balloonBitmaps++;
            return balloonBitmapBytes;
        }

        @Override
        public void switchOver() {
            switched = true;
            onSwitchOver.run();
        }

        @Override
        public void pollRequests(PageRanges requests) {
            while (!pageRequests.isEmpty()) {
                long[] r = pageRequests.poll();
                requests.range((int) r[0], r[1], r[2]);
            }
        }

        @Override
        public void recover(PageRanges missing) throws LinkException {
            if (recoverFailures > 0) {
                recoverFailures--;
                throw new LinkException(FailureCause.PEER_CLOSED, "still away");
            }
            for (long[] m : missingAtRecover) missing.range((int) m[0], m[1], m[2]);
        }
    }

    /** A policy that records each hook with what its context says then, and hands its context to the test. */
    static class Recording implements MigrationPolicy {
        final List<String> hooks = new ArrayList<>();
        PolicyContext ctx;

        @Override
        public String name() {
            return "recording";
        }

        private void note(String hook, PolicyContext c) {
            ctx = c;
            hooks.add(hook + " " + c.phase() + " " + c.iteration() + " " + c.syncs() + " "
                    + (c.guestRunning() ? "running" : "paused"));
        }

        @Override
        public void onSetup(PolicyContext c) {
            note("onSetup", c);
        }

        @Override
        public void beforeSync(PolicyContext c) {
            note("beforeSync", c);
        }

        @Override
        public void afterSync(PolicyContext c) {
            note("afterSync", c);
        }

        @Override
        public void onStopAndCopy(PolicyContext c) {
            note("onStopAndCopy", c);
        }

        @Override
        public void onSwitchOver(PolicyContext c) {
            note("onSwitchOver", c);
        }

        @Override
        public void onEnd(PolicyContext c, Phase outcome) {
            note("onEnd(" + outcome + ")", c);
        }
    }

    /** An engine, its guest and link, driven one step at a time on a clock the test moves. */
    static final class Rig {
        final FakeGuest guest;
        final Link link;
        final List<long[]> events = new ArrayList<>();
        final MigrationEngine engine;
        long now;
        int lastWork;

        Rig(MigrationPolicy policy, EngineConfig cfg) {
            this(new FakeGuest(twoBlocks()), policy, cfg, Postcopy.OFF);
        }

        Rig(FakeGuest guest, MigrationPolicy policy, EngineConfig cfg, Postcopy postcopy) {
            this.guest = guest;
            this.link = new Link(this, guest);
            this.engine = new MigrationEngine(
                    cfg,
                    postcopy,
                    guest,
                    link,
                    policy,
                    (type, t, a, b, c) -> events.add(new long[] {type.ordinal(), t, a, b, c}),
                    () -> now);
        }

        /** One step at the current time, then the clock moves 1 ms; the events it published, STEP as "STEP". */
        List<String> step() {
            int from = events.size();
            lastWork = engine.doWork();
            now += MS;
            return render(events.subList(from, events.size()));
        }

        void run() {
            for (int i = 0; i < 10_000 && !engine.phase().isTerminal(); i++) step();
            assertThat(engine.phase().isTerminal()).isTrue();
        }

        List<long[]> of(EventType t) {
            return events.stream().filter(e -> e[0] == t.ordinal()).toList();
        }

        /** The time of the last event of this type. */
        long timeOf(EventType t) {
            return of(t).getLast()[1];
        }
    }

    static List<String> render(List<long[]> evs) {
        List<String> out = new ArrayList<>();
        for (long[] e : evs) {
            EventType t = EventType.values()[(int) e[0]];
            out.add(t == EventType.STEP ? "STEP" : t + " " + e[2] + " " + e[3] + " " + e[4]);
        }
        return out;
    }

    static String ev(EventType t, long a, long b, long c) {
        return t + " " + a + " " + b + " " + c;
    }

    static String phase(Phase p, int iteration) {
        return ev(EventType.PHASE, p.ordinal(), iteration, 0);
    }

    static long fill(long pages, int b) {
        return EventType.SendFill.c(pages, b);
    }

    /** The usual guest's data pages. */
    static void writeUsualPages(FakeGuest g) {
        for (int i = 0; i < 10; i++) {
            g.write(i);
            g.write(20 + i);
            g.write(130 + i);
        }
    }

    // ------------------------------------------------------------------ a whole migration, step by step

    @Test
    void shouldPublishEveryStepOfAMigrationInOrderWithItsFieldsAndCountIt() {
        Recording policy = new Recording();
        Rig r = new Rig(policy, cfg());
        writeUsualPages(r.guest);
        r.guest.balloonNow.setRange(150, 156); // b+50..55: PFN 1050..1055
        r.link.onOpen = () -> r.now += 5 * MS; // opening the link takes 5 ms
        r.guest.beforeEachSync = g -> {
            if (g.syncs == 1) {
                r.now += 2 * MS; // the sync after the bulk pass takes 2 ms, and finds two pages written
                g.write(5);
                g.write(135);
            }
        };

        // setup at 0: sync 0 reports every page as missing; the balloon as it was; the pass starts at 5 ms
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        phase(Phase.SETUP, 0),
                        ev(EventType.COMMAND_BASE, -1, 0, 0),
                        ev(EventType.SYNC_BEGIN, 0, 0, 0),
                        ev(EventType.DIRTY, 0, 0, 100),
                        ev(EventType.DIRTY, 1, 0, 60),
                        ev(EventType.SYNC_END, 0, 160, 0),
                        ev(EventType.BALLOON_INFLATE, EventType.Balloon.AT_SETUP, 1050, 6),
                        ev(EventType.BALLOON_SKIP, 0, 0, 0),
                        "STEP",
                        phase(Phase.BULK, 1));
        assertThat(r.lastWork).isPositive();
        assertThat(r.timeOf(EventType.PHASE)).isEqualTo(5 * MS);
        assertThat(r.link.balloon.countRange(150, 156)).isEqualTo(6);
        EngineStats s = r.engine.stats();
        assertThat(s.phase()).isEqualTo(Phase.BULK);
        assertThat(s.iterations()).isEqualTo(1);
        assertThat(s.setupNs()).isEqualTo(5 * MS);
        assertThat(s.totalNs()).isEqualTo(5 * MS);
        assertThat(s.balloonInflated()).isEqualTo(6);
        assertThat(r.engine.passProgress()).isZero();

        // 6 ms: 64 pages of a, data and zero runs as the guest's answers say
        r.now = 6 * MS;
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.CONTENT, 0, 0, -10),
                        ev(EventType.SEND_NORMAL, 0, 0, 10),
                        ev(EventType.CONTENT, 0, 10, 10),
                        ev(EventType.SEND_FILL, 0, 10, fill(10, 0)),
                        ev(EventType.CONTENT, 0, 20, -10),
                        ev(EventType.SEND_NORMAL, 0, 20, 10),
                        ev(EventType.CONTENT, 0, 30, 34),
                        ev(EventType.SEND_FILL, 0, 30, fill(34, 0)));
        assertThat(r.lastWork).isPositive();
        assertThat(r.engine.passProgress()).isEqualTo(64.0 / 160);
        s = r.engine.stats();
        assertThat(s.pagesNormal()).isEqualTo(20);
        assertThat(s.pagesZero()).isEqualTo(44);
        assertThat(s.transferredBytes()).isEqualTo(20 * PAGE + 2 * FILL);
        assertThat(r.engine.transferredBytes()).isEqualTo(s.transferredBytes());
        assertThat(s.totalNs()).isEqualTo(6 * MS);

        // 7 ms: the rest of a (36 pages), then 28 pages of b, offsets in b
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.CONTENT, 0, 64, 36),
                        ev(EventType.SEND_FILL, 0, 64, fill(36, 0)),
                        ev(EventType.CONTENT, 1, 0, 28),
                        ev(EventType.SEND_FILL, 1, 0, fill(28, 0)));
        assertThat(r.engine.passProgress()).isEqualTo(128.0 / 160);

        // 8 ms: the last 32 pages end the bulk pass: 160 pages, 30 with data and 6 fill records
        long bulkBytes = 30 * PAGE + 6 * FILL;
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.CONTENT, 1, 28, 2),
                        ev(EventType.SEND_FILL, 1, 28, fill(2, 0)),
                        ev(EventType.CONTENT, 1, 30, -10),
                        ev(EventType.SEND_NORMAL, 1, 30, 10),
                        ev(EventType.CONTENT, 1, 40, 20),
                        ev(EventType.SEND_FILL, 1, 40, fill(20, 0)),
                        "STEP",
                        ev(EventType.ITERATION_END, 1, 160, bulkBytes));
        assertThat(r.link.iterations).isEqualTo(1);
        assertThat(r.engine.passProgress()).isEqualTo(1.0);
        // the pass ran from 5 ms to 8 ms
        double bandwidth = bulkBytes * 1e9 / (3 * MS);
        assertThat(r.engine.stats().lastBandwidthBytesPerSec()).isEqualTo(bandwidth);

        // 9 ms: the sync between passes, in a step of its own, timed: 2 ms; two pages left, 2 × 4104 bytes
        long remaining = 2 * PAGE;
        long expectedNs = 2 * MS + Math.round(remaining / bandwidth * 1e9);
        r.now = 9 * MS;
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.SYNC_BEGIN, 1, 0, 0),
                        ev(EventType.DIRTY, 0, 5, 1),
                        ev(EventType.DIRTY, 1, 35, 1),
                        ev(EventType.SYNC_END, 1, 2, 0),
                        "STEP",
                        ev(EventType.DOWNTIME_ESTIMATE, expectedNs, 2 * MS, 300 * MS),
                        ev(
                                EventType.CONVERGENCE,
                                remaining,
                                (long) bandwidth,
                                Convergence.Decision.CONVERGED.ordinal()));
        assertThat(r.lastWork).isPositive();
        assertThat(r.engine.expectedDowntimeNs()).isEqualTo(expectedNs);
        assertThat(r.guest.running).as("paused at the next step, not this one").isTrue();

        // 12 ms: the pause, the final sync (nothing new), the stop-and-copy pass (pass 2)
        r.now = 12 * MS;
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        "STEP",
                        ev(EventType.GUEST_RUN_STATE, 1, 0, 0),
                        ev(EventType.SYNC_BEGIN, 2, 0, 0),
                        ev(EventType.SYNC_END, 2, 0, 0),
                        phase(Phase.STOP_AND_COPY, 2));
        assertThat(r.lastWork).isPositive();
        assertThat(r.guest.running).isFalse();
        s = r.engine.stats();
        assertThat(s.syncs()).isEqualTo(2);
        assertThat(s.downtimeNs()).as("not ended yet").isZero();
        assertThat(r.engine.passProgress()).isZero();

        // 13 ms: the two pages again, the end of the pass, the destination's acknowledgement, the end
        long total = bulkBytes + 2 * PAGE;
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.CONTENT, 0, 5, -1),
                        ev(EventType.SEND_NORMAL, 0, 5, 1),
                        ev(EventType.CONTENT, 1, 35, -1),
                        ev(EventType.SEND_NORMAL, 1, 35, 1),
                        "STEP",
                        ev(EventType.ITERATION_END, 2, 2, 2 * PAGE),
                        "STEP",
                        phase(Phase.COMPLETED, 2),
                        ev(EventType.END, Phase.COMPLETED.ordinal(), total, 1 * MS));
        assertThat(r.timeOf(EventType.END)).isEqualTo(13 * MS);
        assertThat(r.link.completed).isTrue();
        assertThat(r.link.iterations).isEqualTo(2);
        assertThat(r.link.content).isEqualTo(r.guest.content);
        assertThat(r.guest.logging).isFalse();
        assertThat(r.guest.restored.count())
                .as("nothing given back after a completed migration")
                .isZero();

        s = r.engine.stats();
        assertThat(s.phase()).isEqualTo(Phase.COMPLETED);
        assertThat(s.iterations()).isEqualTo(2);
        assertThat(s.syncs()).isEqualTo(2);
        assertThat(s.totalNs()).isEqualTo(13 * MS);
        assertThat(s.setupNs()).isEqualTo(5 * MS);
        assertThat(s.downtimeNs()).isEqualTo(1 * MS);
        assertThat(s.transferredBytes()).isEqualTo(total);
        assertThat(s.pagesNormal()).isEqualTo(32);
        assertThat(s.pagesZero()).isEqualTo(130);
        assertThat(s.resent()).isEqualTo(2);
        assertThat(s.skippedFree()).isZero();
        assertThat(s.skippedBalloon()).isZero();
        assertThat(s.balloonSkipActive()).isFalse();
        assertThat(s.failureCause()).isNull();
        assertThat(s.failureMessage()).isNull();
        assertThat(r.engine.postcopyStats()).isEqualTo(new PostcopyStats(false, 0, total, 0, 0, 0, 0, 0, 0));

        // the policy saw each hook in the documented order, with the context as it was then
        assertThat(policy.hooks)
                .containsExactly(
                        "onSetup SETUP 0 0 running",
                        "beforeSync BULK 1 0 running",
                        "beforeSync BULK 1 1 paused",
                        "onStopAndCopy BULK 1 1 paused",
                        "afterSync BULK 1 2 paused",
                        "onEnd(COMPLETED) COMPLETED 2 2 paused");

        // an ended migration does nothing more
        assertThat(r.step()).isEmpty();
        assertThat(r.lastWork).isZero();
    }

    @Test
    void shouldStartAnotherPassWhileTheRestDoesNotFitTheLimitAndStopAtTheIterationCap() {
        Recording policy = new Recording();
        // a limit of 1 ns: nothing but an empty bitmap fits it; at most 3 passes before the pause
        Rig r = new Rig(policy, cfg().withLimits(0, 1, 3, 0));
        writeUsualPages(r.guest);
        r.guest.beforeEachSync = g -> {
            if (g.running) g.write(7); // one page written between every two syncs
        };
        for (int i = 0; i < 4; i++) r.step(); // setup and the bulk pass
        assertThat(r.step())
                .containsSubsequence(
                        ev(EventType.SYNC_END, 1, 1, 0),
                        ev(
                                EventType.CONVERGENCE,
                                PAGE,
                                (long) ((30 * PAGE + 6 * FILL) * 1e9 / (3 * MS)),
                                Convergence.Decision.CONTINUE.ordinal()),
                        phase(Phase.ITERATE, 2));
        r.run();
        assertThat(r.of(EventType.CONVERGENCE))
                .extracting(e -> e[4])
                .containsExactly(
                        (long) Convergence.Decision.CONTINUE.ordinal(),
                        (long) Convergence.Decision.CONTINUE.ordinal(),
                        (long) Convergence.Decision.ITERATION_CAP.ordinal());
        assertThat(r.of(EventType.PHASE))
                .extracting(e -> Phase.byOrdinal(e[2]) + " " + e[3])
                .containsExactly("SETUP 0", "BULK 1", "ITERATE 2", "ITERATE 3", "STOP_AND_COPY 4", "COMPLETED 4");
        assertThat(r.of(EventType.ITERATION_END))
                .extracting(e -> e[2] + " " + e[3] + " " + e[4])
                .containsExactly("1 160 " + (30 * PAGE + 6 * FILL), "2 1 " + PAGE, "3 1 " + PAGE, "4 1 " + PAGE);
        assertThat(policy.hooks)
                .containsExactly(
                        "onSetup SETUP 0 0 running",
                        "beforeSync BULK 1 0 running",
                        "afterSync BULK 1 1 running",
                        "beforeSync ITERATE 2 1 running",
                        "afterSync ITERATE 2 2 running",
                        "beforeSync ITERATE 3 2 running",
                        "beforeSync ITERATE 3 3 paused",
                        "onStopAndCopy ITERATE 3 3 paused",
                        "afterSync ITERATE 3 4 paused",
                        "onEnd(COMPLETED) COMPLETED 4 4 paused");
        EngineStats s = r.engine.stats();
        assertThat(s.iterations()).isEqualTo(4);
        assertThat(s.syncs()).isEqualTo(4);
        assertThat(s.resent()).isEqualTo(3);
        assertThat(r.link.content).isEqualTo(r.guest.content);
    }

    @Test
    void shouldSyncInThePassStepAndPublishNoEstimateUnderTheOldRule() {
        Rig r = new Rig(new LegacyPolicy(), cfg().withCountFinalSync(false));
        writeUsualPages(r.guest);
        r.guest.beforeEachSync = g -> {
            if (g.syncs == 1) g.write(5);
        };
        for (int i = 0; i < 3; i++) r.step();
        assertThat(r.step())
                .endsWith(
                        "STEP",
                        ev(EventType.ITERATION_END, 1, 160, 30 * PAGE + 6 * FILL),
                        ev(EventType.SYNC_BEGIN, 1, 0, 0),
                        ev(EventType.DIRTY, 0, 5, 1),
                        ev(EventType.SYNC_END, 1, 1, 0),
                        ev(
                                EventType.CONVERGENCE,
                                PAGE,
                                (long) ((30 * PAGE + 6 * FILL) * 1e9 / (3 * MS)),
                                Convergence.Decision.CONVERGED.ordinal()));
        assertThat(r.engine.expectedDowntimeNs()).isEqualTo(-1);
        assertThat(r.step()).startsWith("STEP", "STEP", ev(EventType.GUEST_RUN_STATE, 1, 0, 0));
    }

    @Test
    void shouldReportNothingBeforeTheFirstStep() {
        Rig r = new Rig(new LegacyPolicy(), cfg());
        r.now = 7 * MS;
        EngineStats s = r.engine.stats();
        assertThat(s.phase()).isEqualTo(Phase.SETUP);
        assertThat(s.totalNs()).isZero();
        assertThat(s.setupNs()).isZero();
        assertThat(s.downtimeNs()).isZero();
        assertThat(s.transferredBytes()).isZero();
        assertThat(r.engine.expectedDowntimeNs()).isEqualTo(-1);
        assertThat(r.engine.wakeAtNs()).isZero();
        assertThat(r.engine.postcopyStats()).isEqualTo(new PostcopyStats(false, 0, 0, 0, 0, 0, 0, 0, 0));
    }

    @Test
    void shouldGoOnFromTheHintDevicesLastCommandId() {
        Recording policy = new Recording();
        FakeGuest g = new FakeGuest(twoBlocks()) {
            @Override
            public long lastCommandId() {
                return 0x9000_0000L;
            }
        };
        Rig r = new Rig(g, policy, cfg(), Postcopy.OFF);
        assertThat(r.step()).contains(ev(EventType.COMMAND_BASE, 0x9000_0000L, 0, 0));
        assertThat(policy.ctx.firstCommandId()).isEqualTo(0x9000_0001L);
    }

    @Test
    void shouldKeepTheBandwidthUnknownAfterAPassThatTookNoTime() {
        Rig r = new Rig(new LegacyPolicy(), new EngineConfig(0, 300 * MS, 30, 0, CommandIds.MIN, 4096, 8, 8));
        writeUsualPages(r.guest);
        r.guest.beforeEachSync = g -> {
            if (g.syncs == 1) g.write(5);
        };
        r.step();
        r.now = 0; // the whole bulk pass in one step at the same time as the setup: 30 data pages, 4 zero runs
        assertThat(r.step()).endsWith(ev(EventType.ITERATION_END, 1, 160, 30 * PAGE + 4 * FILL));
        assertThat(r.step())
                .endsWith(
                        ev(EventType.DOWNTIME_ESTIMATE, -1, 0, 300 * MS),
                        ev(EventType.CONVERGENCE, PAGE, 0, Convergence.Decision.CONTINUE.ordinal()),
                        phase(Phase.ITERATE, 2));
        assertThat(r.engine.stats().lastBandwidthBytesPerSec()).isZero();
        // the next pass, 1 page in 1 ms, measures it
        r.step();
        assertThat(r.step())
                .endsWith(
                        ev(EventType.DOWNTIME_ESTIMATE, 0, 0, 300 * MS),
                        ev(EventType.CONVERGENCE, 0, PAGE * 1000, Convergence.Decision.CONVERGED.ordinal()));
    }

    @Test
    void shouldBeDrivenToItsEndByTheRunnerIdlingUntilEachWakeUp() {
        FakeGuest g = new FakeGuest(twoBlocks());
        for (int i = 0; i < 160; i++) g.write(i);
        // 1.6416 MB/s: 40 pages a 100 ms window
        Rig r = new Rig(g, new LegacyPolicy(), cfg().withLimits(1_641_600, 300 * MS, 30, 0), Postcopy.OFF);
        List<Long> idles = new ArrayList<>();
        EngineRunner runner = new EngineRunner(
                () -> r.now,
                wake -> {
                    idles.add(wake);
                    r.now = wake;
                },
                1000,
                Long.MAX_VALUE,
                Long.MAX_VALUE);
        EngineRunner.Steppable s = EngineRunner.of(r.engine);
        assertThat(s.done()).isFalse();
        long steps = runner.run(
                s,
                new EngineRunner.StepHooks() {
                    @Override
                    public void afterStep(long step, int work) {
                        r.now += MS;
                    }
                },
                () -> {},
                "");
        assertThat(s.done()).isTrue();
        assertThat(r.engine.phase()).isEqualTo(Phase.COMPLETED);
        // 160 pages: 40 in each of four windows (0, 100, 200, 300 ms); the runner waits for the last three
        assertThat(idles).startsWith(100 * MS, 200 * MS, 300 * MS).allMatch(t -> t % (100 * MS) == 0);
        assertThat(steps).isGreaterThan(4);
        assertThat(s.wakeAtNs()).isZero();
        assertThat(r.link.content).isEqualTo(g.content);

        Rig c = new Rig(new LegacyPolicy(), cfg());
        EngineRunner.Steppable sc = EngineRunner.of(c.engine);
        assertThat(sc.doWork()).isPositive();
        sc.cancel();
        sc.doWork();
        assertThat(sc.done()).isTrue();
        assertThat(c.engine.phase()).isEqualTo(Phase.CANCELLED);
    }

    // ------------------------------------------------------------------ failure and cancel

    @Test
    void shouldGiveBackExactlyTheUnsentPagesResumeTheGuestAndSayWhyWhenTheLinkFailsInStopAndCopy() {
        Rig r = new Rig(new LegacyPolicy(), cfg());
        writeUsualPages(r.guest);
        r.guest.beforeEachSync = g -> {
            if (g.syncs == 1) for (int i = 100; i < 160; i++) g.write(i); // all of b again
        };
        for (int i = 0; i < 4; i++) r.step(); // setup, bulk
        r.step(); // the sync: 60 pages at ~41 MB/s fit 300 ms
        assertThat(r.of(EventType.CONVERGENCE).getLast()[4]).isEqualTo(Convergence.Decision.CONVERGED.ordinal());
        long paused = r.now;
        r.step(); // the pause
        assertThat(r.guest.running).isFalse();
        // the first record of the stop-and-copy pass (b+0..59 at once, one data run) fails
        r.link.failSendsAfter = 0;
        long failedAt = r.now;
        long bytesBefore = r.engine.transferredBytes();
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.CONTENT, 1, 0, -60),
                        ev(EventType.LINK_FAILED, FailureCause.PEER_CLOSED.ordinal(), 0, 0),
                        ev(EventType.GUEST_RUN_STATE, 0, 0, 0),
                        phase(Phase.FAILED, 2),
                        ev(EventType.END, Phase.FAILED.ordinal(), bytesBefore, failedAt - paused));
        assertThat(r.lastWork).isPositive();
        assertThat(r.guest.running).isTrue();
        assertThat(r.guest.logging).isTrue();
        // b's 60 pages went back to the dirty log at their own offsets, nothing else
        assertThat(r.guest.restored.count()).isEqualTo(60);
        assertThat(r.guest.restored.countRange(100, 160)).isEqualTo(60);
        EngineStats s = r.engine.stats();
        assertThat(s.phase()).isEqualTo(Phase.FAILED);
        assertThat(s.failureCause()).isEqualTo("PEER_CLOSED");
        assertThat(s.failureMessage()).isEqualTo("peer went away");
        assertThat(s.downtimeNs()).isEqualTo(failedAt - paused);
        assertThat(s.totalNs()).isEqualTo(failedAt);
    }

    @Test
    void shouldFailAtOnceWhenTheLinkCannotBeOpened() {
        Rig r = new Rig(new LegacyPolicy(), cfg());
        r.link.failAfterCalls = 0;
        r.now = 3 * MS;
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        phase(Phase.SETUP, 0),
                        ev(EventType.COMMAND_BASE, -1, 0, 0),
                        ev(EventType.SYNC_BEGIN, 0, 0, 0),
                        ev(EventType.LINK_FAILED, FailureCause.INJECTED.ordinal(), 0, 0),
                        phase(Phase.FAILED, 0),
                        ev(EventType.END, Phase.FAILED.ordinal(), 0, 0));
        assertThat(r.lastWork).isPositive();
        EngineStats s = r.engine.stats();
        assertThat(s.setupNs()).isZero();
        assertThat(s.totalNs()).isZero();
        assertThat(s.failureMessage()).isEqualTo("injected");
        assertThat(r.guest.running).isTrue();
    }

    @Test
    void shouldRefuseAContentAnswerOfNoPagesOrMoreThanAsked() {
        for (long answer : new long[] {0, 65, -65}) {
            FakeGuest g = new FakeGuest(twoBlocks()) {
                @Override
                public long classify(int block, long offset, long max) {
                    return answer;
                }
            };
            Rig r = new Rig(g, new LegacyPolicy(), cfg(), Postcopy.OFF);
            r.step();
            assertThatThrownBy(r::step)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("classify(0, 0, 64) answered " + answer);
        }
    }

    @Test
    void shouldRefuseAGuestRequestOfATypeNoDeviceSends() {
        Rig r = new Rig(new LegacyPolicy(), cfg());
        r.step();
        r.guest.request(EventType.SEND_NORMAL, 0, 0, 1);
        assertThatThrownBy(r::step)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("not a guest request: SEND_NORMAL");
    }

    @Test
    void shouldFailWhenTheDestinationDoesNotAcknowledgeAndGiveBackNothingSent() {
        Rig r = new Rig(new LegacyPolicy(), cfg());
        writeUsualPages(r.guest);
        r.link.failComplete = true;
        r.run();
        assertThat(r.engine.phase()).isEqualTo(Phase.FAILED);
        assertThat(r.of(EventType.LINK_FAILED).getLast()[2]).isEqualTo(FailureCause.TIMEOUT.ordinal());
        assertThat(r.guest.restored.count()).isZero();
        assertThat(r.guest.running).isTrue();
        assertThat(r.engine.stats().failureCause()).isEqualTo("TIMEOUT");
    }

    @Test
    void shouldCancelABulkPassWithoutAPauseAndGiveBackWhatIsUnsent() {
        Rig r = new Rig(new LegacyPolicy(), cfg());
        writeUsualPages(r.guest);
        r.step();
        r.step(); // a+0..63 sent
        r.engine.cancel();
        long bytes = r.engine.transferredBytes();
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.CANCEL, 0, 0, 0),
                        phase(Phase.CANCELLED, 1),
                        ev(EventType.END, Phase.CANCELLED.ordinal(), bytes, 0));
        assertThat(r.lastWork).isPositive();
        assertThat(r.guest.restored.count()).isEqualTo(96);
        assertThat(r.guest.restored.countRange(64, 160)).isEqualTo(96);
        EngineStats s = r.engine.stats();
        assertThat(s.downtimeNs()).isZero();
        assertThat(s.totalNs()).isEqualTo(2 * MS);
        assertThat(s.failureCause()).isNull();
    }

    @Test
    void shouldResumeAPausedGuestWhenCancelledInStopAndCopy() {
        Rig r = new Rig(new LegacyPolicy(), cfg());
        writeUsualPages(r.guest);
        for (int i = 0; i < 5; i++) r.step(); // setup, bulk, the sync
        long paused = r.now;
        r.step();
        assertThat(r.guest.running).isFalse();
        r.now += 4 * MS;
        long cancelledAt = r.now;
        r.engine.cancel();
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.CANCEL, 0, 0, 0),
                        ev(EventType.GUEST_RUN_STATE, 0, 0, 0),
                        phase(Phase.CANCELLED, 2),
                        ev(
                                EventType.END,
                                Phase.CANCELLED.ordinal(),
                                r.engine.transferredBytes(),
                                cancelledAt - paused));
        assertThat(r.guest.running).isTrue();
        assertThat(r.engine.stats().downtimeNs()).isEqualTo(cancelledAt - paused);
    }

    // ------------------------------------------------------------------ guest requests

    @Test
    void shouldCountHintsAndRejectThoseOfNoSaneLengthBeforeThePolicySeesThem() {
        List<String> seen = new ArrayList<>();
        MigrationPolicy policy = new LegacyPolicy() {
            @Override
            public void onHint(PolicyContext ctx, long commandId, long pfn, long pages) {
                seen.add("hint " + pfn + "x" + pages);
                if (pfn == 7) ctx.reject(RejectReason.STALE_COMMAND, pfn, pages);
            }

            @Override
            public void onFreeBitmap(PolicyContext ctx, long commandId, long pfn, long pages) {
                seen.add("bitmap " + pfn + "x" + pages);
            }

            @Override
            public void onFreeBitmapEnd(PolicyContext ctx, long commandId) {
                seen.add("end " + commandId);
            }
        };
        Rig r = new Rig(policy, cfg());
        r.step();
        long id = CommandIds.MIN;
        FakeGuest g = r.guest;
        g.request(EventType.HINT, id, 0, 0); // no pages
        g.request(EventType.HINT, id, -1, 5); // no PFN
        g.request(EventType.HINT, id, 0, 161); // more pages than the guest has
        g.request(EventType.HINT, id, 0, 160); // as many as it has: the policy's to judge
        g.request(EventType.HINT, id, 7, 3); // the policy rejects it
        g.request(EventType.FREE_BITMAP, id, 1000, 60);
        g.request(EventType.FREE_BITMAP, id, 1000, 0);
        g.request(EventType.FREE_BITMAP_END, id, 0, 0);
        g.request(EventType.REJECT, RejectReason.MALFORMED.ordinal(), 0, 0); // the device could not parse one
        List<String> evs = r.step();
        int bad = RejectReason.BAD_LENGTH.ordinal();
        assertThat(evs.subList(0, 15))
                .containsExactly(
                        "STEP",
                        ev(EventType.HINT, id, 0, 0),
                        ev(EventType.REJECT, bad, 0, 0),
                        ev(EventType.HINT, id, -1, 5),
                        ev(EventType.REJECT, bad, -1, 5),
                        ev(EventType.HINT, id, 0, 161),
                        ev(EventType.REJECT, bad, 0, 161),
                        ev(EventType.HINT, id, 0, 160),
                        ev(EventType.HINT, id, 7, 3),
                        ev(EventType.REJECT, RejectReason.STALE_COMMAND.ordinal(), 7, 3),
                        ev(EventType.FREE_BITMAP, id, 1000, 60),
                        ev(EventType.FREE_BITMAP, id, 1000, 0),
                        ev(EventType.REJECT, bad, 1000, 0),
                        ev(EventType.FREE_BITMAP_END, id, 0, 0),
                        ev(EventType.REJECT, RejectReason.MALFORMED.ordinal(), 0, 0));
        assertThat(seen).containsExactly("hint 0x160", "hint 7x3", "bitmap 1000x60", "end " + id);
        EngineStats s = r.engine.stats();
        assertThat(s.hintRanges()).isEqualTo(7);
        assertThat(s.hintPages()).isEqualTo(160 + 3 + 60);
        assertThat(s.hintRejected()).isEqualTo(5);
        assertThat(s.rejected()).isEqualTo(6);
        assertThat(s.hintRequests()).isZero();
    }

    @Test
    void shouldCountOnlyThePagesABalloonRequestChangesAndRejectWhatIsNotRam() {
        Rig r = new Rig(new LegacyPolicy(), cfg());
        r.step();
        FakeGuest g = r.guest;
        long pfns = EventType.Balloon.PFNS;
        g.request(EventType.BALLOON_INFLATE, pfns, 1010, 10); // b+10..19
        g.request(EventType.BALLOON_INFLATE, EventType.Balloon.BITMAP, 1015, 10); // b+15..24: 5 new
        g.request(EventType.BALLOON_DEFLATE, pfns, 1010, 3); // b+10..12
        g.request(EventType.BALLOON_DEFLATE, pfns, 1010, 3); // out already: nothing changes
        g.request(EventType.BALLOON_INFLATE, pfns, 95, 10); // a+95..99, then PFNs 100..104: no RAM
        g.request(EventType.BALLOON_INFLATE, pfns, 5, 0);
        g.request(EventType.BALLOON_DEFLATE, pfns, -3, 2);
        g.request(EventType.BALLOON_INFLATE, pfns, 0, 161);
        g.request(EventType.BALLOON_INFLATE, pfns, 1059, 1); // the last page of b
        List<String> evs = r.step();
        assertThat(evs)
                .filteredOn(e -> e.startsWith("REJECT"))
                .containsExactly(
                        ev(EventType.REJECT, RejectReason.OUT_OF_RANGE.ordinal(), 95, 10),
                        ev(EventType.REJECT, RejectReason.BAD_LENGTH.ordinal(), 5, 0),
                        ev(EventType.REJECT, RejectReason.BAD_LENGTH.ordinal(), -3, 2),
                        ev(EventType.REJECT, RejectReason.BAD_LENGTH.ordinal(), 0, 161));
        EngineStats s = r.engine.stats();
        assertThat(s.balloonInflated()).isEqualTo(16);
        assertThat(s.balloonDeflated()).isEqualTo(3);
        assertThat(s.balloonRejected()).isEqualTo(4);
        assertThat(s.rejected()).isEqualTo(4);
        assertThat(s.hintRanges()).isZero();
        assertThat(r.engine.balloonBitmap().count()).isEqualTo(13);
        assertThat(r.engine.balloonBitmap().countRange(113, 125)).isEqualTo(12);
        assertThat(r.engine.balloonBitmap().get(159)).isTrue();
        assertThat(r.link.balloon.count()).isEqualTo(13);
        assertThat(r.link.balloon.countRange(113, 125)).isEqualTo(12);
        assertThat(r.link.balloon.get(159)).isTrue();
    }

    @Test
    void shouldSplitABalloonRangeThatCrossesIntoTheNextBlock() {
        RamLayout l = RamLayout.of(List.of(new RamLayout.Spec("a", 0, 100), new RamLayout.Spec("b", 100, 60)));
        Rig r = new Rig(new FakeGuest(l), new LegacyPolicy(), cfg(), Postcopy.OFF);
        r.step();
        r.guest.request(EventType.BALLOON_INFLATE, EventType.Balloon.PFNS, 90, 20); // a+90..99, b+0..9
        r.step();
        assertThat(r.engine.stats().balloonInflated()).isEqualTo(20);
        assertThat(r.link.balloon.count()).isEqualTo(20);
        assertThat(r.link.balloon.countRange(90, 110)).isEqualTo(20);
    }

    @Test
    void shouldHandleAtMostTheRequestsAStepAllows() {
        Rig r = new Rig(new LegacyPolicy(), new EngineConfig(0, 300 * MS, 30, 0, CommandIds.MIN, 64, 2, 8));
        r.step();
        for (int i = 0; i < 3; i++) r.guest.request(EventType.REJECT, RejectReason.MALFORMED.ordinal(), 0, 0);
        assertThat(r.step()).filteredOn(e -> e.startsWith("REJECT")).hasSize(2);
        assertThat(r.step()).filteredOn(e -> e.startsWith("REJECT")).hasSize(1);
        assertThat(r.engine.stats().rejected()).isEqualTo(3);
    }

    // ------------------------------------------------------------------ what a policy does through its context

    @Test
    void shouldPublishAndCountWhatAPolicyAsksOfTheGuest() {
        Recording policy = new Recording();
        Rig r = new Rig(policy, cfg());
        r.step();
        PolicyContext ctx = policy.ctx;
        assertThat(ctx.layout()).isSameAs(r.guest.layout);
        assertThat(ctx.features()).isSameAs(r.guest.features);
        assertThat(ctx.firstCommandId()).isEqualTo(CommandIds.MIN);
        assertThat(ctx.postcopy()).isEqualTo(Postcopy.OFF);
        int from = r.events.size();
        ctx.hintCommand(CommandIds.MIN);
        ctx.hintCommand(CommandIds.STOP);
        ctx.hintCommand(CommandIds.DONE);
        ctx.requestFreeBitmap(CommandIds.MIN + 1);
        assertThat(render(r.events.subList(from, r.events.size())))
                .containsExactly(
                        ev(EventType.HINT_COMMAND, CommandIds.MIN, EventType.HintCommand.HINT, 0),
                        ev(EventType.HINT_COMMAND, CommandIds.STOP, EventType.HintCommand.HINT, 0),
                        ev(EventType.HINT_COMMAND, CommandIds.DONE, EventType.HintCommand.HINT, 0),
                        ev(EventType.HINT_COMMAND, CommandIds.MIN + 1, EventType.HintCommand.FREE_BITMAP, 0));
        assertThat(r.guest.hintCommands).containsExactly(CommandIds.MIN, CommandIds.STOP, CommandIds.DONE);
        assertThat(r.guest.bitmapRequests).containsExactly(CommandIds.MIN + 1);
        assertThat(r.engine.stats().hintRequests())
                .as("a hint request and a bitmap request")
                .isEqualTo(2);
        from = r.events.size();
        ctx.reject(RejectReason.OUT_OF_RANGE, 4000, 2);
        assertThat(render(r.events.subList(from, r.events.size())))
                .containsExactly(ev(EventType.REJECT, RejectReason.OUT_OF_RANGE.ordinal(), 4000, 2));
        assertThat(r.engine.stats().rejected()).isEqualTo(1);
    }

    @Test
    void shouldSkipFreePagesAndSendPoisonedOnesAsFillsOfThePoison() {
        Recording policy = new Recording();
        FakeGuest g = new FakeGuest(twoBlocks());
        g.features = new GuestFeatures(true, true, true, 0xAA);
        Rig r = new Rig(g, policy, cfg(), Postcopy.OFF);
        writeUsualPages(g);
        r.step();
        PolicyContext ctx = policy.ctx;
        int from = r.events.size();
        assertThat(ctx.skipFree(0, 0, 20, 0)).as("all still to send").isEqualTo(20);
        assertThat(ctx.skipFree(0, 10, 20, 0)).as("a+20..29 still to send").isEqualTo(10);
        assertThat(ctx.skipFree(1, 30, 30, 0xAA))
                .as("b+30..59, to go as poison")
                .isEqualTo(30);
        assertThat(render(r.events.subList(from, r.events.size())))
                .containsExactly(
                        ev(EventType.SKIP_FREE, 0, 0, 20),
                        ev(EventType.SKIP_FREE, 0, 10, 20),
                        ev(EventType.SKIP_FREE, 1, 30, 30));
        assertThat(r.engine.stats().skippedFree())
                .as("the poisoned ones count when they go")
                .isEqualTo(30);
        r.run();
        assertThat(r.of(EventType.SEND_FILL))
                .extracting(e -> e[2] + "+" + e[3] + "x" + EventType.SendFill.pages(e[4]) + "/"
                        + EventType.SendFill.fillByte(e[4]))
                .containsExactly("0+30x64/0", "0+94x6/0", "1+0x30/0", "1+30x28/170", "1+58x2/170");
        assertThat(r.link.received.countRange(0, 30)).isZero();
        for (int i = 130; i < 160; i++) assertThat(r.link.content[i]).isEqualTo(-0xAA);
        EngineStats s = r.engine.stats();
        assertThat(s.skippedFree()).isEqualTo(60);
        assertThat(s.pagesNormal()).isZero();
        assertThat(s.pagesZero()).isEqualTo(100);
        assertThat(s.transferredBytes()).isEqualTo(5 * FILL);
    }

    @Test
    void shouldDropTheDirtyBitsOfHeldFreePagesStillToSendInTheirOwnBlock() {
        Recording policy = new Recording();
        Rig r = new Rig(policy, cfg());
        r.step();
        FakeGuest g = r.guest;
        for (int i = 120; i < 130; i++) g.write(i); // freed by the guest: written, so dirty
        g.write(140);
        assertThat(policy.ctx.skipHeldFree(1, 20, 10, 0)).isEqualTo(10);
        assertThat(g.dirty.countRange(120, 130)).isZero();
        assertThat(g.dirty.get(140)).as("another page of b keeps its bit").isTrue();
        r.run();
        assertThat(r.link.received.countRange(120, 130)).isZero();
        assertThat(r.engine.stats().skippedFree()).isEqualTo(10);
        assertThat(r.engine.stats().resent()).isZero();
    }

    @Test
    void shouldRefuseARangeOutsideTheLayoutFromAPolicyOrTheGuest() {
        Recording policy = new Recording();
        Rig r = new Rig(policy, cfg());
        r.step();
        PolicyContext ctx = policy.ctx;
        assertThat(ctx.skipFree(1, 50, 10, 0)).as("to the end of b").isEqualTo(10);
        assertThat(ctx.skipFree(0, 0, 100, 0)).as("all of a").isEqualTo(100);
        for (long[] bad : new long[][] {{1, 50, 11}, {1, -1, 2}, {2, 0, 1}, {-1, 0, 1}, {0, 5, 0}, {0, 99, 2}}) {
            assertThatThrownBy(() -> ctx.skipFree((int) bad[0], bad[1], bad[2], 0))
                    .as("%d+%d x%d", bad[0], bad[1], bad[2])
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("outside the layout");
        }
        // a dirty range from the guest's log is checked the same way
        FakeGuest bad = new FakeGuest(twoBlocks()) {
            @Override
            public void syncDirtyLog(PageRanges out) {
                out.range(1, 59, 2);
            }
        };
        Rig r2 = new Rig(bad, new LegacyPolicy(), cfg(), Postcopy.OFF);
        assertThatThrownBy(r2::run).isInstanceOf(IllegalStateException.class).hasMessageContaining("dirty range");
    }

    // ------------------------------------------------------------------ the bandwidth limit and the step budget

    @Test
    void shouldSendExactlyWhatTheBandwidthWindowAllowsAndWaitForTheNextWindow() {
        long t0 = 50 * MS;
        // 41.04 MB/s: a 100 ms window allows 4,104,000 bytes, exactly 1000 pages
        FakeGuest g = new FakeGuest(RamLayout.of(List.of(new RamLayout.Spec("ram", 0, 3500))));
        for (int i = 0; i < 3500; i++) g.write(i);
        Rig r = new Rig(
                g,
                new LegacyPolicy(),
                new EngineConfig(41_040_000, 300 * MS, 30, 0, CommandIds.MIN, 4096, 8, 8),
                Postcopy.OFF);
        r.now = t0; // the windows count from the migration's first step, not from 0
        r.step(); // setup
        assertThat(r.step())
                .containsExactly("STEP", ev(EventType.CONTENT, 0, 0, -1000), ev(EventType.SEND_NORMAL, 0, 0, 1000));
        assertThat(r.lastWork).isPositive();
        assertThat(r.engine.wakeAtNs()).isEqualTo(t0 + 100 * MS);
        r.now = t0 + 100 * MS - 1;
        assertThat(r.step()).containsExactly("STEP");
        assertThat(r.lastWork).as("nothing done: the runner idles").isZero();
        assertThat(r.engine.wakeAtNs()).isEqualTo(t0 + 100 * MS);
        r.now = t0 + 100 * MS;
        assertThat(r.step())
                .containsExactly(
                        "STEP", ev(EventType.CONTENT, 0, 1000, -1000), ev(EventType.SEND_NORMAL, 0, 1000, 1000));
        assertThat(r.engine.wakeAtNs()).isEqualTo(t0 + 200 * MS);
        // 20 zero pages go as one 16-byte fill, so 980 data pages leave 82,064 bytes of the window: 20 more pages
        // (rounded up: the window may end a little over, never a page short)
        r.now = t0 + 200 * MS;
        for (int i = 2000; i < 2020; i++) g.content[i] = 0;
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.CONTENT, 0, 2000, 20),
                        ev(EventType.SEND_FILL, 0, 2000, fill(20, 0)),
                        ev(EventType.CONTENT, 0, 2020, -980),
                        ev(EventType.SEND_NORMAL, 0, 2020, 980),
                        ev(EventType.CONTENT, 0, 3000, -20),
                        ev(EventType.SEND_NORMAL, 0, 3000, 20));
        assertThat(r.engine.stats().transferredBytes()).isEqualTo(3000 * PAGE + FILL);
        assertThat(r.engine.wakeAtNs()).isEqualTo(t0 + 300 * MS);
        // the last 480 pages fit the next window: no wake-up time is left standing
        r.now = t0 + 300 * MS;
        assertThat(r.step()).endsWith(ev(EventType.ITERATION_END, 1, 3500, 3480 * PAGE + FILL));
        assertThat(r.engine.wakeAtNs()).isZero();
    }

    @Test
    void shouldCountASkippedBalloonRunAsOneSlotPlusOneForEvery64Pages() {
        FakeGuest g = new FakeGuest(RamLayout.of(List.of(new RamLayout.Spec("ram", 0, 9000))));
        for (int i = 0; i < 9000; i++) g.write(i);
        g.balloonNow.setRange(0, 100);
        g.balloonNow.setRange(200, 8600);
        Rig r = new Rig(g, new BalloonPolicy(), cfg(), Postcopy.OFF);
        assertThat(r.step()).contains(ev(EventType.BALLOON_SKIP, 1, 0, 0));
        // 64 slots: 100 skipped pages cost 1 + 1, leaving 62 pages to send
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.SKIP_BALLOON, 0, 0, 100),
                        ev(EventType.CONTENT, 0, 100, -62),
                        ev(EventType.SEND_NORMAL, 0, 100, 62));
        // 38 pages, then the balloon: a step looks no further than 64 × 64 pages past where its run starts (162)
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.CONTENT, 0, 162, -38),
                        ev(EventType.SEND_NORMAL, 0, 162, 38),
                        ev(EventType.SKIP_BALLOON, 0, 200, 4258 - 200));
        assertThat(r.step()).containsExactly("STEP", ev(EventType.SKIP_BALLOON, 0, 4258, 4096));
        assertThat(r.engine.stats().skippedBalloon()).isEqualTo(100 + 4058 + 4096);
        assertThat(r.engine.stats().balloonSkipActive()).isTrue();
        r.run();
        assertThat(r.engine.stats().skippedBalloon()).isEqualTo(8500);
        assertThat(r.link.received.count()).isEqualTo(500);
    }

    @Test
    void shouldSendBalloonedPagesAsZeroWithoutAskingTheGuestUnderBalloonZero() {
        FakeGuest g = new FakeGuest(twoBlocks());
        for (int i = 50; i < 60; i++) g.write(i);
        g.balloonNow.setRange(0, 50);
        g.balloonNow.setRange(70, 80);
        Rig r = new Rig(g, new BalloonZeroPolicy(), cfg(), Postcopy.OFF);
        r.step();
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.SEND_FILL, 0, 0, fill(50, 0)),
                        ev(EventType.CONTENT, 0, 50, -10),
                        ev(EventType.SEND_NORMAL, 0, 50, 10),
                        ev(EventType.CONTENT, 0, 60, 4),
                        ev(EventType.SEND_FILL, 0, 60, fill(4, 0)));
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.CONTENT, 0, 64, 6),
                        ev(EventType.SEND_FILL, 0, 64, fill(6, 0)),
                        ev(EventType.SEND_FILL, 0, 70, fill(10, 0)),
                        ev(EventType.CONTENT, 0, 80, 20),
                        ev(EventType.SEND_FILL, 0, 80, fill(20, 0)),
                        ev(EventType.CONTENT, 1, 0, 28),
                        ev(EventType.SEND_FILL, 1, 0, fill(28, 0)));
        EngineStats s = r.engine.stats();
        assertThat(s.pagesZero()).isEqualTo(50 + 4 + 6 + 10 + 20 + 28);
        assertThat(s.skippedBalloon()).isZero();
        assertThat(s.transferredBytes()).isEqualTo(10 * PAGE + 6 * FILL);
        // a ballooned page's dirty bit is re-armed when it goes, as any page's
        g.write(3);
        g.write(75);
        r.run();
        assertThat(r.of(EventType.SEND_FILL)).extracting(e -> e[2] + "+" + e[3]).contains("0+3", "0+75");
    }

    // ------------------------------------------------------------------ postcopy

    /** Every page has data; a 1 ns limit never fits: the switch-over follows the bulk pass's sync. */
    static Rig postcopyRig(MigrationPolicy policy) {
        return postcopyRig(policy, new GuestFeatures(true, true, true, 0));
    }

    static Rig postcopyRig(MigrationPolicy policy, GuestFeatures features) {
        FakeGuest g = new FakeGuest(twoBlocks());
        g.features = features;
        for (int i = 0; i < 160; i++) g.write(i);
        Rig r = new Rig(g, policy, cfg().withLimits(0, 1, 30, 0), Postcopy.parse("1"));
        g.beforeEachSync = x -> {
            if (x.syncs == 1) {
                for (int i = 10; i < 20; i++) x.write(i);
                for (int i = 140; i < 145; i++) x.write(i);
            }
        };
        return r;
    }

    @Test
    void shouldDiscardStalePagesAtTheSwitchOverThenServeRequestsFirstAndPushTheRest() {
        Recording policy = new Recording();
        Rig r = postcopyRig(policy);
        r.link.onSwitchOver = () -> r.now += 2 * MS; // the device state takes 2 ms
        for (int i = 0; i < 4; i++) r.step(); // setup, bulk: 64 + 64 + 32 pages, 0..3 ms
        long bulk = 160 * PAGE;
        double bandwidth = bulk * 1e9 / (3 * MS);
        long remaining = 15 * PAGE;
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.SYNC_BEGIN, 1, 0, 0),
                        ev(EventType.DIRTY, 0, 10, 10),
                        ev(EventType.DIRTY, 1, 40, 5),
                        ev(EventType.SYNC_END, 1, 15, 0),
                        "STEP",
                        ev(EventType.DOWNTIME_ESTIMATE, Math.round(remaining / bandwidth * 1e9), 0, 1),
                        ev(EventType.CONVERGENCE, remaining, (long) bandwidth, Convergence.Decision.CONTINUE.ordinal()),
                        ev(EventType.POSTCOPY_START, 1, 0, 0));
        long pausedAt = r.now;
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        "STEP",
                        ev(EventType.GUEST_RUN_STATE, 1, 0, 0),
                        ev(EventType.SYNC_BEGIN, 2, 0, 0),
                        ev(EventType.SYNC_END, 2, 0, 0),
                        ev(EventType.DISCARD, 0, 10, 10),
                        ev(EventType.DISCARD, 1, 40, 5),
                        "STEP",
                        ev(EventType.SWITCH_OVER, 15, 2 * MS, 0),
                        phase(Phase.POSTCOPY, 2));
        assertThat(r.link.discards).containsExactly("0+10x10", "1+40x5");
        assertThat(r.link.switched).isTrue();
        assertThat(r.engine.stats().downtimeNs()).as("not ended").isZero();
        // the guest runs on the destination: a cancel is too late
        r.engine.cancel();
        r.link.pageRequests.add(new long[] {0, 5, 10}); // a+5..9 are there already, a+10..14 not
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.PAGE_REQUEST, 0, 5, 10),
                        ev(EventType.REQUEST_UNSERVED, 0, 5, 5),
                        ev(EventType.CONTENT, 0, 10, -5),
                        ev(EventType.SEND_NORMAL, 0, 10, 5),
                        ev(EventType.CONTENT, 0, 15, -5),
                        ev(EventType.SEND_NORMAL, 0, 15, 5),
                        ev(EventType.CONTENT, 1, 40, -5),
                        ev(EventType.SEND_NORMAL, 1, 40, 5),
                        "STEP",
                        ev(EventType.ITERATION_END, 2, 15, remaining),
                        "STEP",
                        phase(Phase.COMPLETED, 2),
                        ev(EventType.END, Phase.COMPLETED.ordinal(), bulk + remaining, 2 * MS));
        assertThat(r.link.content).isEqualTo(r.guest.content);
        assertThat(r.engine.postcopyStats())
                .isEqualTo(new PostcopyStats(true, 2 * MS, bulk, remaining, 15, 10, 5, 0, 0));
        EngineStats s = r.engine.stats();
        assertThat(s.downtimeNs()).isEqualTo(2 * MS);
        assertThat(s.totalNs()).isEqualTo(pausedAt + 3 * MS);
        assertThat(r.guest.running).as("the source stays paused").isFalse();
        assertThat(policy.hooks)
                .containsExactly(
                        "onSetup SETUP 0 0 running",
                        "beforeSync BULK 1 0 running",
                        "beforeSync BULK 1 1 paused",
                        "onSwitchOver BULK 1 1 paused",
                        "afterSync BULK 1 2 paused",
                        "onEnd(COMPLETED) COMPLETED 2 2 paused");
    }

    @Test
    void shouldDiscardOnlyPagesTheDestinationHolds() {
        Recording policy = new Recording();
        Rig r = postcopyRig(policy);
        r.step();
        policy.ctx.skipFree(0, 52, 1, 0); // a+52 is never sent in the bulk pass
        var written = r.guest.beforeEachSync;
        r.guest.beforeEachSync = x -> {
            written.accept(x);
            if (x.syncs == 1) for (int i = 50; i < 55; i++) x.write(i);
        };
        r.run();
        assertThat(r.link.discards).containsExactly("0+10x10", "0+50x2", "0+53x2", "1+40x5");
        assertThat(r.of(EventType.DISCARD))
                .extracting(e -> e[2] + "+" + e[3] + "x" + e[4])
                .containsExactlyElementsOf(r.link.discards);
        assertThat(r.of(EventType.SWITCH_OVER).getFirst()[2]).isEqualTo(19);
        assertThat(r.engine.postcopyStats().discardedPages()).isEqualTo(19);
        assertThat(r.link.content).isEqualTo(r.guest.content);
    }

    @Test
    void shouldPublishTheBalloonSkipEachTimeThePolicyTurnsItOnOrOff() {
        boolean[] skip = {false};
        MigrationPolicy policy = new LegacyPolicy() {
            @Override
            public boolean skipBalloon(PolicyContext ctx) {
                return skip[0];
            }
        };
        FakeGuest g = new FakeGuest(twoBlocks());
        g.balloonNow.setRange(0, 100);
        Rig r = new Rig(g, policy, cfg(), Postcopy.OFF);
        assertThat(r.step()).contains(ev(EventType.BALLOON_SKIP, 0, 0, 0));
        skip[0] = true;
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.BALLOON_SKIP, 1, 0, 0),
                        ev(EventType.SKIP_BALLOON, 0, 0, 100),
                        ev(EventType.CONTENT, 1, 0, 60),
                        ev(EventType.SEND_FILL, 1, 0, fill(60, 0)),
                        "STEP",
                        ev(EventType.ITERATION_END, 1, 60, FILL));
        assertThat(r.engine.stats().balloonSkipActive()).isTrue();
        skip[0] = false;
        assertThat(r.step()).filteredOn(e -> e.startsWith("BALLOON_SKIP")).isEmpty(); // the sync step: not asked
        assertThat(r.step()).contains(ev(EventType.BALLOON_SKIP, 0, 0, 0));
        assertThat(r.engine.stats().balloonSkipActive()).isFalse();
    }

    @Test
    void shouldServeARequestForPagesMarkedToGoAsPoisonWithThePoison() {
        Recording policy = new Recording() {
            @Override
            public void onSwitchOver(PolicyContext c) {
                super.onSwitchOver(c);
                c.skipFree(0, 10, 5, 0xAA); // a+10..14 are free now: they go as poison
            }
        };
        Rig r = postcopyRig(policy, new GuestFeatures(true, true, true, 0xAA));
        for (int i = 0; i < 6; i++) r.step();
        assertThat(r.engine.phase()).isEqualTo(Phase.POSTCOPY);
        r.link.pageRequests.add(new long[] {0, 8, 10}); // a+8..17
        assertThat(r.step())
                .startsWith(
                        "STEP",
                        ev(EventType.PAGE_REQUEST, 0, 8, 10),
                        ev(EventType.REQUEST_UNSERVED, 0, 8, 2),
                        ev(EventType.SEND_FILL, 0, 10, fill(5, 0xAA)),
                        ev(EventType.CONTENT, 0, 15, -3),
                        ev(EventType.SEND_NORMAL, 0, 15, 3),
                        ev(EventType.CONTENT, 0, 18, -2),
                        ev(EventType.SEND_NORMAL, 0, 18, 2));
        for (int i = 10; i < 15; i++) assertThat(r.link.content[i]).isEqualTo(-0xAA);
        assertThat(r.engine.stats().skippedFree()).isEqualTo(5);
    }

    @Test
    void shouldServePageRequestsWhileTheBandwidthWindowIsFull() {
        FakeGuest g = new FakeGuest(twoBlocks());
        for (int i = 0; i < 160; i++) g.write(i);
        // 4.104 MB/s: 100 pages a 100 ms window
        Rig r = new Rig(g, new LegacyPolicy(), cfg().withLimits(4_104_000, 1, 30, 0), Postcopy.parse("1"));
        g.beforeEachSync = x -> {
            if (x.syncs == 1) for (int i = 0; i < 160; i++) x.write(i);
        };
        while (r.engine.phase() != Phase.POSTCOPY) {
            r.step();
            if (r.engine.wakeAtNs() > r.now) r.now = r.engine.wakeAtNs();
        }
        r.step(); // 64 pages pushed
        r.step(); // 36 more: the window is full
        assertThat(r.step()).containsExactly("STEP");
        r.link.pageRequests.add(new long[] {1, 50, 2});
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.PAGE_REQUEST, 1, 50, 2),
                        ev(EventType.CONTENT, 1, 50, -2),
                        ev(EventType.SEND_NORMAL, 1, 50, 2));
        assertThat(r.lastWork).isPositive();
    }

    @Test
    void shouldSendTheBalloonBitmapAtTheSwitchOverUnderBalloonSkip() {
        Rig r = postcopyRig(new BalloonPolicy());
        r.guest.balloonNow.setRange(60, 64);
        var written = r.guest.beforeEachSync;
        r.guest.beforeEachSync = x -> {
            written.accept(x);
            if (x.syncs == 1) x.write(61); // a ballooned page written: not counted as left to send
        };
        r.run();
        assertThat(r.of(EventType.CONVERGENCE).getFirst()[2]).isEqualTo(15 * PAGE);
        assertThat(r.link.balloonBitmaps).isEqualTo(1);
        assertThat(r.of(EventType.BALLOON_BITMAP))
                .extracting(e -> e[2] + " " + e[3])
                .containsExactly("4 40");
        assertThat(r.engine.postcopyStats().balloonBitmapBytes()).isEqualTo(40);
        assertThat(r.engine.stats().transferredBytes()).isEqualTo(156 * PAGE + 40 + 15 * PAGE);
        assertThat(r.engine.stats().skippedBalloon()).isEqualTo(5);
    }

    @Test
    void shouldRecoverAFailedPostcopyLinkAndSendWhatTheDestinationSaysItLacks() {
        Rig r = postcopyRig(new LegacyPolicy());
        for (int i = 0; i < 6; i++) r.step(); // to the switch-over
        assertThat(r.engine.phase()).isEqualTo(Phase.POSTCOPY);
        r.link.failSendsAfter = 1; // a+10..19 go, b+40..44 do not
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.CONTENT, 0, 10, -10),
                        ev(EventType.SEND_NORMAL, 0, 10, 10),
                        ev(EventType.CONTENT, 1, 40, -5),
                        ev(EventType.LINK_FAILED, FailureCause.PEER_CLOSED.ordinal(), 0, 0));
        assertThat(r.lastWork).isPositive();
        assertThat(r.engine.phase()).isEqualTo(Phase.POSTCOPY);
        assertThat(r.engine.stats().failureCause()).isEqualTo("PEER_CLOSED");
        // the destination lacks a+10..19 (lost in the failure) and b+0..1: the pass starts over from its first page
        r.link.missingAtRecover.add(new long[] {0, 10, 10});
        r.link.missingAtRecover.add(new long[] {1, 0, 2});
        r.link.recoverFailures = 1;
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.POSTCOPY_RECOVER, 1, 0, 0),
                        ev(EventType.LINK_FAILED, FailureCause.PEER_CLOSED.ordinal(), 0, 0));
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.POSTCOPY_RECOVER, 2, 0, 0),
                        ev(EventType.DIRTY, 0, 10, 10),
                        ev(EventType.DIRTY, 1, 0, 2));
        // what remains is what the destination lacks: b+40..44, left from before the failure, are not sent
        r.link.pageRequests.add(new long[] {1, 0, 1});
        r.link.pageRequests.add(new long[] {1, 40, 1});
        assertThat(r.step())
                .containsExactly(
                        "STEP",
                        ev(EventType.PAGE_REQUEST, 1, 0, 1),
                        ev(EventType.CONTENT, 1, 0, -1),
                        ev(EventType.SEND_NORMAL, 1, 0, 1),
                        ev(EventType.PAGE_REQUEST, 1, 40, 1),
                        ev(EventType.REQUEST_UNSERVED, 1, 40, 1),
                        ev(EventType.CONTENT, 0, 10, -10),
                        ev(EventType.SEND_NORMAL, 0, 10, 10),
                        ev(EventType.CONTENT, 1, 1, -1),
                        ev(EventType.SEND_NORMAL, 1, 1, 1),
                        "STEP",
                        ev(EventType.ITERATION_END, 2, 22, 22 * PAGE),
                        "STEP",
                        phase(Phase.COMPLETED, 2),
                        ev(EventType.END, Phase.COMPLETED.ordinal(), 182 * PAGE, 0));
        PostcopyStats p = r.engine.postcopyStats();
        assertThat(p.recoveries()).isEqualTo(2);
        assertThat(p.requestedPages()).isEqualTo(2);
        assertThat(p.unservedPages()).isEqualTo(1);
    }

    @Test
    void shouldCountTheEightTriesAfreshForEachLinkFailure() {
        Rig r = postcopyRig(new LegacyPolicy());
        for (int i = 0; i < 6; i++) r.step();
        r.link.failSendsAfter = 0;
        r.step();
        r.link.recoverFailures = 5;
        r.link.missingAtRecover.add(new long[] {0, 10, 10});
        for (int i = 0; i < 6; i++) r.step();
        assertThat(r.of(EventType.DIRTY).getLast()[1])
                .as("recovered at the sixth try")
                .isEqualTo(r.now - MS);
        r.link.failSendsAfter = 0;
        r.step();
        r.link.recoverFailures = 7;
        r.run();
        assertThat(r.engine.phase()).isEqualTo(Phase.COMPLETED);
        assertThat(r.engine.postcopyStats().recoveries()).isEqualTo(14);
    }

    @Test
    void shouldFailAPostcopyThatCannotBeRecoveredAfterEightTriesAndLeaveTheSourcePaused() {
        for (int failures : new int[] {7, 8}) {
            Rig r = postcopyRig(new LegacyPolicy());
            for (int i = 0; i < 6; i++) r.step();
            r.link.failSendsAfter = 0;
            r.step();
            r.link.recoverFailures = failures;
            r.run();
            if (failures == 7) {
                assertThat(r.engine.phase()).isEqualTo(Phase.COMPLETED);
                assertThat(r.engine.postcopyStats().recoveries()).isEqualTo(8);
                continue;
            }
            assertThat(r.engine.phase()).isEqualTo(Phase.FAILED);
            assertThat(render(r.events.subList(r.events.size() - 4, r.events.size())))
                    .containsExactly(
                            "STEP",
                            ev(EventType.POSTCOPY_RECOVER, 9, 0, 0),
                            phase(Phase.FAILED, 2),
                            ev(EventType.END, Phase.FAILED.ordinal(), r.engine.transferredBytes(), 0));
            assertThat(r.guest.running).as("the guest is on the destination").isFalse();
            assertThat(r.guest.restored.count()).isZero();
            assertThat(r.of(EventType.GUEST_RUN_STATE)).hasSize(1);
        }
    }
}
