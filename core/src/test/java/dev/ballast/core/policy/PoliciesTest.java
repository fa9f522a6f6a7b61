package dev.ballast.core.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.RejectReason;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.SettingException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The built-in policies hook by hook, against a context that records what they ask of the engine:
 * which commands go to the guest and when, what is skipped (held or not, with which poison) and
 * what is rejected. The order of hooks is the engine's (see {@link MigrationPolicy}).
 */
class PoliciesTest {
    static final long FIRST = 0x8000_0010L;
    /** ram-low PFN [0, 100), ram-high PFN [200, 250). */
    static final RamLayout LAYOUT =
            RamLayout.of(List.of(new RamLayout.Spec("ram-low", 0, 100), new RamLayout.Spec("ram-high", 200, 50)));

    /** Records every call a policy makes. */
    static class Ctx implements PolicyContext {
        final GuestFeatures features;
        boolean running = true;
        final List<String> calls = new ArrayList<>();

        Ctx(GuestFeatures features) {
            this.features = features;
        }

        @Override
        public RamLayout layout() {
            return LAYOUT;
        }

        @Override
        public GuestFeatures features() {
            return features;
        }

        @Override
        public Phase phase() {
            return Phase.ITERATE;
        }

        @Override
        public int iteration() {
            return 1;
        }

        @Override
        public long syncs() {
            return 0;
        }

        @Override
        public boolean guestRunning() {
            return running;
        }

        @Override
        public long firstCommandId() {
            return FIRST;
        }

        @Override
        public void hintCommand(long id) {
            calls.add("hint " + Long.toHexString(id));
        }

        @Override
        public void requestFreeBitmap(long id) {
            calls.add("bitmap " + Long.toHexString(id));
        }

        @Override
        public long skipFree(int block, long offset, long pages, int poison) {
            calls.add("skip " + block + "+" + offset + "x" + pages + " poison " + poison);
            return pages;
        }

        @Override
        public long skipHeldFree(int block, long offset, long pages, int poison) {
            calls.add("skipHeld " + block + "+" + offset + "x" + pages + " poison " + poison);
            return pages;
        }

        @Override
        public void reject(RejectReason reason, long pfn, long pages) {
            calls.add("reject " + reason + " " + pfn + "x" + pages);
        }

        List<String> take() {
            List<String> c = List.copyOf(calls);
            calls.clear();
            return c;
        }
    }

    static GuestFeatures features(boolean tell, boolean hint, boolean bitmap, int poison) {
        return new GuestFeatures(tell, hint, bitmap, poison);
    }

    @Test
    void everyBuiltInPolicyIsCreatedByItsName() {
        for (String n : Policies.BUILT_IN) {
            assertThat(Policies.create(n).name()).isEqualTo(n);
            assertThat(Policies.factory(n).get())
                    .isNotSameAs(Policies.factory(n).get());
        }
        assertThat(Policies.create(LegacyPolicy.class.getName())).isInstanceOf(LegacyPolicy.class);
    }

    @Test
    void anUnknownPolicyIsOneClearLine() {
        assertThatThrownBy(() -> Policies.create("fast"))
                .isInstanceOf(SettingException.class)
                .hasMessageContaining("unknown")
                .hasMessageContaining("legacy, balloon, hint, bitmap, hint+balloon");
        assertThatThrownBy(() -> Policies.create("no.such.Policy"))
                .isInstanceOf(SettingException.class)
                .hasMessageContaining("no such class");
        assertThatThrownBy(() -> Policies.create("java.lang.String"))
                .isInstanceOf(SettingException.class)
                .hasMessageContaining("does not implement");
        assertThatThrownBy(() -> Policies.create(MigrationPolicy.class.getName()))
                .isInstanceOf(SettingException.class)
                .hasMessageContaining("cannot be created");
    }

    @Test
    void legacySkipsNothingAndSendsNoCommand() {
        Ctx c = new Ctx(features(true, true, true, 0));
        MigrationPolicy p = new LegacyPolicy();
        p.onSetup(c);
        p.beforeSync(c);
        p.afterSync(c);
        p.onHint(c, FIRST, 3, 4);
        p.onFreeBitmap(c, FIRST, 3, 4);
        p.onStopAndCopy(c);
        p.onEnd(c, Phase.COMPLETED);
        assertThat(c.calls).isEmpty();
        assertThat(p.skipBalloon(c)).isFalse();
        assertThat(p.balloonSkipOff(c.features)).isNull();
    }

    @Test
    void balloonSkipIsOnOnlyWhenTheGuestTellsTheHost() {
        for (MigrationPolicy p : new MigrationPolicy[] {new BalloonPolicy(), new HintBalloonPolicy()}) {
            Ctx tells = new Ctx(features(true, false, false, 0));
            Ctx silent = new Ctx(features(false, false, false, 0));
            assertThat(p.skipBalloon(tells)).as(p.name()).isTrue();
            assertThat(p.balloonSkipOff(tells.features)).as(p.name()).isNull();
            assertThat(p.skipBalloon(silent)).as(p.name()).isFalse();
            assertThat(p.balloonSkipOff(silent.features))
                    .as(p.name())
                    .contains("MUST_TELL_HOST")
                    .doesNotContain("\n");
        }
        assertThat(new HintPolicy().skipBalloon(new Ctx(features(true, true, false, 0))))
                .isFalse();
    }

    @Test
    void aHintRequestIsOpenFromOneSyncToTheNextAndDoneAtStopAndCopy() {
        Ctx c = new Ctx(features(true, true, false, 0));
        HintPolicy p = new HintPolicy();
        p.onSetup(c);
        assertThat(c.take()).containsExactly("hint 80000010");
        p.onHint(c, FIRST, 10, 5);
        assertThat(c.take()).containsExactly("skipHeld 0+10x5 poison 0");
        p.beforeSync(c);
        assertThat(c.take()).containsExactly("hint 0");
        // Between the sync's start and the next request, a hint of the old one is stale.
        p.onHint(c, FIRST, 10, 5);
        assertThat(c.take()).containsExactly("reject STALE_COMMAND 10x5");
        p.afterSync(c);
        assertThat(c.take()).containsExactly("hint 80000011");
        p.onHint(c, FIRST, 10, 5);
        assertThat(c.take()).as("the previous request's id").containsExactly("reject STALE_COMMAND 10x5");
        p.onHint(c, FIRST + 1, 10, 5);
        assertThat(c.take()).containsExactly("skipHeld 0+10x5 poison 0");
        // Stop-and-copy: the final sync stops the request, then it is done, once.
        c.running = false;
        p.beforeSync(c);
        p.onStopAndCopy(c);
        p.afterSync(c);
        assertThat(c.take()).containsExactly("hint 0", "hint 1");
        p.onHint(c, FIRST + 1, 10, 5);
        assertThat(c.take()).containsExactly("reject STALE_COMMAND 10x5");
        p.onEnd(c, Phase.COMPLETED);
        assertThat(c.take()).as("done was sent already").isEmpty();
    }

    @Test
    void aRequestStillOpenWhenTheMigrationFailsIsDone() {
        Ctx c = new Ctx(features(true, true, false, 0));
        HintPolicy p = new HintPolicy();
        p.onSetup(c);
        c.take();
        p.onEnd(c, Phase.FAILED);
        assertThat(c.take()).containsExactly("hint 1");
        p.onHint(c, FIRST, 1, 1);
        assertThat(c.take()).containsExactly("reject STALE_COMMAND 1x1");
        p.onEnd(c, Phase.FAILED);
        assertThat(c.take()).isEmpty();
    }

    @Test
    void aGuestWithoutHintsGetsNoRequest() {
        Ctx c = new Ctx(features(true, false, true, 0));
        HintPolicy p = new HintPolicy();
        p.onSetup(c);
        p.afterSync(c);
        p.beforeSync(c);
        p.onHint(c, FIRST, 1, 1);
        p.onStopAndCopy(c);
        p.onEnd(c, Phase.COMPLETED);
        assertThat(c.take()).containsExactly("reject STALE_COMMAND 1x1");
    }

    @Test
    void noNewRequestAfterTheFinalSync() {
        Ctx c = new Ctx(features(true, true, false, 0));
        HintPolicy p = new HintPolicy();
        p.onSetup(c);
        c.running = false;
        p.beforeSync(c);
        p.afterSync(c);
        assertThat(c.take()).containsExactly("hint 80000010", "hint 0");
    }

    @Test
    void hintIdsWrapAroundWithoutTouchingStopOrDone() {
        Ctx c = new Ctx(features(true, true, false, 0)) {
            @Override
            public long firstCommandId() {
                return CommandIds.MAX;
            }
        };
        HintPolicy p = new HintPolicy();
        p.onSetup(c);
        p.beforeSync(c);
        p.afterSync(c);
        assertThat(c.take()).containsExactly("hint ffffffff", "hint 0", "hint 80000000");
    }

    @Test
    void aHintAcrossBlocksIsSplitAndWhatIsNotRamRejected() {
        Ctx c = new Ctx(features(true, true, false, 0xAA));
        HintPolicy p = new HintPolicy();
        p.onSetup(c);
        c.take();
        p.onHint(c, FIRST, 95, 110); // ram-low [95, 100), the hole [100, 200), ram-high [200, 205)
        assertThat(c.take())
                .containsExactly(
                        "skipHeld 0+95x5 poison 170", "skipHeld 1+0x5 poison 170", "reject OUT_OF_RANGE 95x110");
        p.onHint(c, FIRST, 210, 5);
        assertThat(c.take()).containsExactly("skipHeld 1+10x5 poison 170");
        p.onHint(c, FIRST, 100, 100);
        assertThat(c.take()).containsExactly("reject OUT_OF_RANGE 100x100");
    }

    @Test
    void aFreeBitmapIsGoodUntilTheNextSyncOrItsEnd() {
        Ctx c = new Ctx(features(true, false, true, 0x5A));
        FreeBitmapPolicy p = new FreeBitmapPolicy();
        p.onSetup(c);
        assertThat(c.take()).containsExactly("bitmap 80000010");
        p.onFreeBitmap(c, FIRST, 0, 3);
        p.onFreeBitmap(c, FIRST + 1, 5, 3);
        p.onFreeBitmap(c, FIRST, 98, 104);
        assertThat(c.take())
                .containsExactly(
                        "skip 0+0x3 poison 90",
                        "reject STALE_COMMAND 5x3",
                        "skip 0+98x2 poison 90",
                        "skip 1+0x2 poison 90",
                        "reject OUT_OF_RANGE 98x104");
        p.onFreeBitmapEnd(c, FIRST + 1); // another request's end: this one is still live
        p.onFreeBitmap(c, FIRST, 7, 1);
        assertThat(c.take()).containsExactly("skip 0+7x1 poison 90");
        p.onFreeBitmapEnd(c, FIRST);
        p.onFreeBitmap(c, FIRST, 7, 1);
        assertThat(c.take()).containsExactly("reject STALE_COMMAND 7x1");

        FreeBitmapPolicy q = new FreeBitmapPolicy();
        q.onSetup(c);
        q.beforeSync(c);
        q.onFreeBitmap(c, FIRST, 7, 1);
        q.afterSync(c);
        q.onFreeBitmap(c, FIRST, 7, 1);
        assertThat(c.take()).containsExactly("bitmap 80000010", "reject STALE_COMMAND 7x1", "reject STALE_COMMAND 7x1");
    }

    @Test
    void aGuestWithoutFreeBitmapsIsNotAskedAndItsRangesAreStale() {
        Ctx c = new Ctx(features(true, true, false, 0));
        FreeBitmapPolicy p = new FreeBitmapPolicy();
        p.onSetup(c);
        p.onFreeBitmap(c, FIRST, 0, 1);
        assertThat(c.take()).containsExactly("reject STALE_COMMAND 0x1");
        assertThat(p.skipBalloon(c)).isFalse();
    }
}
