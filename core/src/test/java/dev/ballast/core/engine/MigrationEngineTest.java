package dev.ballast.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventType;
import dev.ballast.core.event.RejectReason;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.BalloonPolicy;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.policy.FreeBitmapPolicy;
import dev.ballast.core.policy.HintPolicy;
import dev.ballast.core.policy.LegacyPolicy;
import dev.ballast.core.policy.MigrationPolicy;
import dev.ballast.core.policy.Policies;
import dev.ballast.core.policy.PolicyContext;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MigrationEngineTest {
    private static final long MS = 1_000_000L;

    /** Drives an engine by hand: one step, then the clock moves 1 ms. */
    static final class Harness {
        final FakeGuest guest;
        final FakeLink link;
        final List<long[]> events = new ArrayList<>();
        final MigrationEngine engine;
        long now;

        Harness(RamLayout layout, MigrationPolicy policy, EngineConfig cfg) {
            this(new FakeGuest(layout), policy, cfg);
        }

        Harness(FakeGuest guest, MigrationPolicy policy, EngineConfig cfg) {
            this.guest = guest;
            this.link = new FakeLink(guest);
            this.engine = new MigrationEngine(
                    cfg,
                    guest,
                    link,
                    policy,
                    (type, t, a, b, c) -> events.add(new long[] {type.ordinal(), t, a, b, c}),
                    () -> now);
        }

        Harness run() {
            for (int steps = 0; !engine.phase().isTerminal(); steps++) {
                if (steps > 100_000) throw new AssertionError("engine did not finish");
                engine.doWork();
                now += MS;
            }
            return this;
        }

        List<long[]> of(EventType t) {
            return events.stream().filter(e -> e[0] == t.ordinal()).toList();
        }

        List<Phase> phases() {
            return of(EventType.PHASE).stream().map(e -> Phase.byOrdinal(e[2])).toList();
        }
    }

    static EngineConfig cfg() {
        return new EngineConfig(0, 300 * MS, 30, 0, CommandIds.MIN, 64, 1024, 8);
    }

    static RamLayout oneBlock(long pages) {
        return RamLayout.of(List.of(new RamLayout.Spec("ram", 0, pages)));
    }

    @Test
    void shouldSendEveryPageOnceAndCompleteWhenNothingIsDirty() {
        Harness h = new Harness(oneBlock(1000), new LegacyPolicy(), cfg());
        for (int i = 0; i < 1000; i += 3) h.guest.write(i);
        h.run();
        assertThat(h.phases()).containsExactly(Phase.SETUP, Phase.BULK, Phase.STOP_AND_COPY, Phase.COMPLETED);
        assertThat(h.link.content).isEqualTo(h.guest.content);
        assertThat(h.link.completed).isTrue();
        EngineStats s = h.engine.stats();
        assertThat(s.pagesNormal()).isEqualTo(334);
        assertThat(s.pagesZero()).isEqualTo(666);
        assertThat(s.resent()).isZero();
        assertThat(s.transferredBytes())
                .isEqualTo(334 * (4096 + 8) + h.of(EventType.SEND_FILL).size() * 16L);
        assertThat(h.guest.running).isFalse(); // it runs on the destination now
        assertThat(h.guest.logging).isFalse();
    }

    @Test
    void shouldResendWhatTheGuestWroteDuringThePass() {
        Harness h = new Harness(oneBlock(512), new LegacyPolicy(), cfg());
        h.guest.beforeEachSync = g -> {
            if (g.syncs == 1) for (int i = 0; i < 10; i++) g.write(100 + i);
        };
        h.run();
        assertThat(h.engine.stats().resent()).isEqualTo(10);
        assertThat(h.link.content).isEqualTo(h.guest.content);
    }

    @Test
    void shouldForceStopAndCopyAtTheIterationCap() {
        Harness h = new Harness(oneBlock(4096), new LegacyPolicy(), cfg().withLimits(0, 1, 3, 0));
        h.guest.beforeEachSync = g -> {
            for (int i = 0; i < 4096; i += 2) g.write(i);
        };
        h.run();
        assertThat(h.phases())
                .containsExactly(
                        Phase.SETUP, Phase.BULK, Phase.ITERATE, Phase.ITERATE, Phase.STOP_AND_COPY, Phase.COMPLETED);
        List<long[]> conv = h.of(EventType.CONVERGENCE);
        assertThat(conv.getLast()[4]).isEqualTo(Convergence.Decision.ITERATION_CAP.ordinal());
        assertThat(h.link.content).isEqualTo(h.guest.content);
    }

    @Test
    void shouldGiveBackUnsentPagesAndKeepTheGuestRunningWhenTheLinkFails() {
        Harness h = new Harness(oneBlock(1000), new LegacyPolicy(), cfg());
        for (int i = 0; i < 1000; i++) h.guest.write(i);
        h.link.failAfterCalls = 5;
        h.run();
        assertThat(h.engine.phase()).isEqualTo(Phase.FAILED);
        assertThat(h.guest.running).isTrue();
        assertThat(h.guest.logging).isTrue();
        // every page the destination did not get is back in the dirty log
        for (int i = 0; i < 1000; i++) {
            if (!h.link.received.get(i))
                assertThat(h.guest.dirty.get(i)).as("page %d", i).isTrue();
        }
        assertThat(h.of(EventType.LINK_FAILED)).hasSize(1);
    }

    @Test
    void shouldCancelAtTheNextStep() {
        Harness h = new Harness(oneBlock(1000), new LegacyPolicy(), cfg());
        h.engine.doWork();
        h.engine.doWork();
        h.engine.cancel();
        h.run();
        assertThat(h.engine.phase()).isEqualTo(Phase.CANCELLED);
        assertThat(h.of(EventType.CANCEL)).hasSize(1);
        assertThat(h.guest.restored.count()).isPositive();
    }

    @Test
    void shouldIssueANewHintRequestAfterEverySyncAndStopBeforeIt() {
        Harness h = new Harness(oneBlock(4096), new HintPolicy(), cfg().withLimits(0, 1, 3, 0));
        h.guest.beforeEachSync = g -> {
            for (int i = 0; i < 4096; i += 2) g.write(i);
        };
        h.run();
        long id = CommandIds.MIN;
        assertThat(h.guest.hintCommands)
                .containsExactly(
                        id, CommandIds.STOP, id + 1, CommandIds.STOP, id + 2, CommandIds.STOP, CommandIds.DONE);
    }

    @Test
    void shouldWrapTheCommandIdPastTheLast() {
        Harness h = new Harness(
                oneBlock(4096), new HintPolicy(), cfg().withLimits(0, 1, 3, 0).withFirstCommandId(0xFFFF_FFFFL));
        h.guest.beforeEachSync = g -> {
            for (int i = 0; i < 4096; i += 2) g.write(i);
        };
        h.run();
        assertThat(h.guest.hintCommands)
                .filteredOn(CommandIds::isRequest)
                .containsExactly(0xFFFF_FFFFL, 0x8000_0000L, 0x8000_0001L);
    }

    @Test
    void shouldSkipHintedPagesButSendThoseWrittenAfterTheHint() {
        Harness h = new Harness(oneBlock(2048), new HintPolicy(), cfg());
        h.guest.onHintCommand = id -> {
            if (CommandIds.isRequest(id)) h.guest.request(EventType.HINT, id, 1024, 1024);
        };
        for (int i = 0; i < 1024; i++) h.guest.write(i);
        h.guest.beforeEachSync = g -> {
            if (g.syncs == 1) g.write(1500);
        };
        h.run();
        EngineStats s = h.engine.stats();
        assertThat(s.skippedFree()).isEqualTo(1024);
        assertThat(s.hintPages()).isEqualTo(1024);
        assertThat(h.link.content[1500]).isEqualTo(h.guest.content[1500]);
        assertThat(h.link.received.countRange(1024, 2048)).isEqualTo(1);
    }

    @Test
    void shouldRejectAHintThatAnswersAnOldRequest() {
        Harness h = new Harness(oneBlock(4096), new HintPolicy(), cfg().withLimits(0, 1, 3, 0));
        h.guest.beforeEachSync = g -> {
            for (int i = 0; i < 4096; i += 2) g.write(i);
            // a hint for the first request arrives only after the sync
            if (g.syncs == 1) g.request(EventType.HINT, CommandIds.MIN, 0, 4096);
        };
        h.run();
        List<long[]> rejects = h.of(EventType.REJECT);
        assertThat(rejects).hasSize(1);
        assertThat(rejects.getFirst()[2]).isEqualTo(RejectReason.STALE_COMMAND.ordinal());
        assertThat(h.engine.stats().skippedFree()).isZero();
        assertThat(h.link.content).isEqualTo(h.guest.content);
    }

    @Test
    void shouldSplitAHintThatCrossesIntoTheNextBlockAndRejectWhatIsNotRam() {
        RamLayout l = RamLayout.of(List.of(new RamLayout.Spec("a", 0, 100), new RamLayout.Spec("b", 100, 100)));
        Harness h = new Harness(l, new HintPolicy(), cfg());
        h.guest.onHintCommand = id -> {
            if (!CommandIds.isRequest(id)) return;
            h.guest.request(EventType.HINT, id, 50, 100); // a+50..a+100, b+0..b+50
            h.guest.request(EventType.HINT, id, 190, 20); // runs past the end of b
        };
        h.run();
        List<long[]> skips = h.of(EventType.SKIP_FREE);
        assertThat(skips)
                .extracting(e -> e[2] + "+" + e[3] + "x" + e[4])
                .containsExactly("0+50x50", "1+0x50", "1+90x10");
        assertThat(h.of(EventType.REJECT)).extracting(e -> e[2]).containsExactly((long)
                RejectReason.OUT_OF_RANGE.ordinal());
        assertThat(h.engine.stats().skippedFree()).isEqualTo(110);
    }

    @Test
    void shouldSendHintedPagesAsPoisonWhenTheGuestPoisons() {
        FakeGuest g = new FakeGuest(oneBlock(1024));
        g.features = new GuestFeatures(true, true, true, 0xAA);
        Harness h = new Harness(g, new HintPolicy(), cfg());
        java.util.Arrays.fill(g.content, -0xAA);
        g.onHintCommand = id -> {
            if (CommandIds.isRequest(id)) g.request(EventType.HINT, id, 0, 1024);
        };
        h.run();
        assertThat(h.link.content).containsOnly(-0xAA);
        assertThat(h.of(EventType.SEND_FILL))
                .allSatisfy(e ->
                        assertThat((long) EventType.SendFill.fillByte(e[4])).isEqualTo(0xAA));
        assertThat(h.engine.stats().pagesNormal()).isZero();
    }

    @Test
    void shouldSkipBalloonedPagesOnlyWhenTheGuestTellsTheHostFirst() {
        for (boolean tell : new boolean[] {true, false}) {
            FakeGuest g = new FakeGuest(oneBlock(1024));
            g.features = new GuestFeatures(tell, false, false, 0);
            g.balloonNow.setRange(256, 1024);
            Harness h = new Harness(g, new BalloonPolicy(), cfg()).run();
            assertThat(h.engine.stats().skippedBalloon()).isEqualTo(tell ? 768 : 0);
            assertThat(h.of(EventType.BALLOON_SKIP).getFirst()[2]).isEqualTo(tell ? 1 : 0);
            assertThat(h.link.balloon.count()).isEqualTo(768); // the bitmap travels either way
        }
    }

    @Test
    void shouldSendADeflatedPageThatTheGuestWrote() {
        FakeGuest g = new FakeGuest(oneBlock(1024));
        g.balloonNow.setRange(0, 1024);
        Harness h = new Harness(g, new BalloonPolicy(), cfg());
        g.beforeEachSync = x -> {
            if (x.syncs == 1) {
                x.request(EventType.BALLOON_DEFLATE, EventType.Balloon.PFNS, 10, 1); // told before reuse
                x.write(10);
            }
        };
        h.run();
        assertThat(h.link.content[10]).isEqualTo(g.content[10]).isNotZero();
    }

    @Test
    void shouldRejectBalloonRequestsOutsideRam() {
        FakeGuest g = new FakeGuest(oneBlock(1024));
        g.request(EventType.BALLOON_INFLATE, EventType.Balloon.PFNS, 1000, 100);
        g.request(EventType.BALLOON_INFLATE, EventType.Balloon.PFNS, 5, 0);
        Harness h = new Harness(g, new BalloonPolicy(), cfg()).run();
        assertThat(h.engine.stats().balloonRejected()).isEqualTo(2);
        assertThat(h.engine.balloonBitmap().count()).isZero();
        assertThat(h.link.content).isEqualTo(g.content);
    }

    @Test
    void shouldRejectAFreeBitmapThatArrivesAfterASync() {
        FakeGuest g = new FakeGuest(oneBlock(4096));
        Harness h = new Harness(g, new FreeBitmapPolicy(), cfg().withLimits(0, 1, 2, 0));
        g.beforeEachSync = x -> {
            for (int i = 0; i < 4096; i += 2) x.write(i);
            if (x.syncs == 1) x.request(EventType.FREE_BITMAP, CommandIds.MIN, 0, 4096);
        };
        h.run();
        assertThat(g.bitmapRequests).containsExactly(CommandIds.MIN);
        assertThat(h.engine.stats().skippedFree()).isZero();
        assertThat(h.of(EventType.REJECT)).hasSize(1);
        assertThat(h.link.content).isEqualTo(g.content);
    }

    @Test
    void shouldWaitWhenTheBandwidthLimitIsReached() {
        // 10 MB/s: a 100 ms window allows 1 MB, about 244 pages
        Harness h = new Harness(
                oneBlock(4096),
                new LegacyPolicy(),
                new EngineConfig(10_000_000, 300 * MS, 30, 0, CommandIds.MIN, 4096, 1024, 8));
        for (int i = 0; i < 4096; i++) h.guest.write(i);
        h.engine.doWork(); // setup
        h.now += MS;
        h.engine.doWork();
        long sent = h.engine.transferredBytes();
        assertThat(sent).isBetween(1_000_000L, 1_000_000L + 4096 + 8);
        assertThat(h.engine.doWork()).isZero();
        assertThat(h.engine.wakeAtNs()).isEqualTo(100 * MS);
        h.now = 100 * MS;
        h.engine.doWork();
        assertThat(h.engine.transferredBytes()).isGreaterThan(sent);
    }

    /** A user's own policy, written against the public interface only: the "scratch" block is never sent. */
    public static final class ScratchBlockPolicy implements MigrationPolicy {
        @Override
        public String name() {
            return "scratch";
        }

        @Override
        public void onSetup(PolicyContext ctx) {
            var b = ctx.layout().blockNamed("scratch");
            if (b != null) ctx.skipFree(b.index(), 0, b.pages(), ctx.features().poisonByte());
        }
    }

    @Test
    void shouldRunAUsersOwnPolicyByClassName() {
        RamLayout l =
                RamLayout.of(List.of(new RamLayout.Spec("ram", 0, 512), new RamLayout.Spec("scratch", 1024, 512)));
        MigrationPolicy p = Policies.create(ScratchBlockPolicy.class.getName());
        Harness h = new Harness(l, p, cfg());
        for (int i = 0; i < 1024; i++) h.guest.write(i);
        h.run();
        assertThat(h.engine.stats().skippedFree()).isEqualTo(512);
        assertThat(h.link.received.countRange(512, 1024)).isZero();
        assertThat(h.link.received.countRange(0, 512)).isEqualTo(512);
    }

    @Test
    void shouldJournalEveryClockReadingAsAStep() {
        Harness h = new Harness(oneBlock(256), new LegacyPolicy(), cfg()).run();
        long previous = -1;
        for (long[] e : h.of(EventType.STEP)) {
            assertThat(e[2]).isEqualTo(previous + 1);
            previous = e[2];
        }
        assertThat(previous).isGreaterThan(3);
    }
}
