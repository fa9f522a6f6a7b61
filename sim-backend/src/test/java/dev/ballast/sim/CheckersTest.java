package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.mem.RamLayout;
import org.junit.jupiter.api.Test;

/** Each checker alone, fed by hand, as the simulated parts feed it during a run. */
class CheckersTest {
    private static final RamLayout LAYOUT = RamLayout.pcLike(1L << 20);
    private final SimCheckers checkers = new SimCheckers(LAYOUT, 0xAA);
    private final Violations v = checkers.violations();

    @Test
    void noLostWriteShouldNameThePageAndBothContents() {
        assertThat(checkers.noLostWrite.check(5, 7, 7)).isTrue();
        assertThat(checkers.noLostWrite.check(5, 9, 0)).isFalse();
        assertThat(v.first())
                .isEqualTo(
                        "invariant 1 (no lost write): page ram-low+0x5 (PFN 0x5) holds zeros on the destination but version 9 on the source");
    }

    @Test
    void poisonShouldWantThePoisonValueOnAFreePage() {
        assertThat(checkers.poison.active()).isTrue();
        assertThat(checkers.poison.check(3, PageContent.filled(0xAA))).isTrue();
        assertThat(checkers.poison.check(3, 0)).isFalse();
        assertThat(v.first())
                .isEqualTo(
                        "invariant 2 (poison preserved): free page ram-low+0x3 (PFN 0x3) reads zeros on the destination, not the poison value 0xaa");
        assertThat(new SimCheckers(LAYOUT, 0).poison.active()).isFalse();
    }

    @Test
    void resendShouldAllowASendAgainOnlyAfterAWrite() {
        NoNeedlessResendChecker r = checkers.resend;
        r.onSent(10, 20);
        r.onWriteRange(10, 20);
        r.onSent(10, 20);
        assertThat(v.any()).isFalse();
        r.onSent(15, 16);
        assertThat(v.first()).startsWith("invariant 3 (no needless resend): page ram-low+0xf (PFN 0xf) was sent again");
        r.startHop(); // a new destination has nothing
        r.onSent(15, 16);
        assertThat(v.count()).isEqualTo(1);
    }

    @Test
    void resendShouldCountAFillOfStaleContentAsNotSent() {
        NoNeedlessResendChecker r = checkers.resend;
        r.onFilled(4, false); // the guest had written the page since: the fill is out of date at once
        r.onSent(4, 5);
        assertThat(v.any()).isFalse();
        r.onFilled(4, true);
        assertThat(v.first()).startsWith("invariant 3 (no needless resend): page ram-low+0x4");
    }

    @Test
    void hintsShouldAcceptOnlyStopDoneAndRequestIds() {
        checkers.hints.onHintCommand(0);
        checkers.hints.onHintCommand(1);
        checkers.hints.onHintCommand(0x8000_0000L);
        checkers.hints.onHintCommand(0xFFFF_FFFFL);
        assertThat(v.any()).isFalse();
        checkers.hints.onHintCommand(0x1_0000_0001L);
        assertThat(v.first())
                .isEqualTo("invariant 4 (hints are never stale): the host sent free page hint command id 0x100000001, "
                        + "which is not in [0x80000000, 0xffffffff]; the guest reads it as 0x1 (DONE)");
    }

    @Test
    void hintsShouldCatchAHintProducedBeforeTheLastSync() {
        SimGuest g = SimRuns.guest(LAYOUT, new GuestFeatures(true, true, true, 0));
        g.injectRequest(dev.ballast.core.event.EventType.HINT, 0x8000_0000L, 0, 8); // produced before any sync
        g.drainRequests((type, a, b, c) -> {}, 10);
        checkers.hints.onSkipFree(g, 0, 0, 8);
        assertThat(v.any()).isFalse();
        g.startDirtyLog();
        g.syncDirtyLog((b, o, c) -> {});
        checkers.hints.onSkipFree(g, 0, 0, 8);
        assertThat(v.first())
                .isEqualTo(
                        "invariant 4 (hints are never stale): a hint produced before dirty-log sync 1 cleared 8 pages "
                                + "from ram-low+0x0 (PFN 0x0) after it");
    }

    @Test
    void everyWriterTrackedShouldSayThePageIsADeviceRing() {
        assertThat(checkers.hostWrites.check(1, 4, 3)).isFalse();
        assertThat(v.first())
                .isEqualTo(
                        "invariant 5 (every writer is tracked): page ram-low+0x1 (PFN 0x1) holds version 3 on the destination "
                                + "but version 4 on the source (a page the host writes: a device ring)");
    }

    @Test
    void failureShouldWantTheSourceRunningWithItsDirtyLog() {
        SimGuest g = SimRuns.guest(LAYOUT, new GuestFeatures(true, true, true, 0));
        g.startDirtyLog();
        checkers.failure.afterFailedAttempt(g);
        assertThat(v.any()).isFalse();
        g.pause();
        checkers.failure.afterFailedAttempt(g);
        assertThat(v.first())
                .isEqualTo(
                        "invariant 6 (failure loses nothing): after the failed attempt the source guest was paused with dirty logging on");
        g.resume();
        g.stopDirtyLog();
        checkers.failure.afterFailedAttempt(g);
        assertThat(v.all())
                .last()
                .isEqualTo(
                        "invariant 6 (failure loses nothing): after the failed attempt the source guest was running with dirty logging off");
    }

    @Test
    void endOfHopShouldHandEachPageToTheCheckerOfItsKind() {
        SimGuest g = new SimGuest(new SimGuest.Setup(
                LAYOUT,
                new GuestFeatures(true, true, true, 0xAA),
                false,
                new SimCosts(dev.ballast.core.run.CostProfile.defaults(), 0),
                checkers,
                SimOptions.DEFAULTS));
        SimDestination d = new SimDestination(LAYOUT);
        long used = g.allocPages(0);
        g.write(used);
        // the destination: the ring pages and the used page as on the source, every free page poisoned but one
        for (long r : g.ringPages) d.content[0][(int) r] = g.read(r);
        d.content[0][(int) used] = g.read(used);
        java.util.Arrays.fill(d.content[0], (int) used + 1, 256, PageContent.filled(0xAA));
        SimCheckers.Checked ok = checkers.endOfHop(g, d);
        assertThat(ok.pages()).isEqualTo(256);
        assertThat(ok.mismatched()).isZero();
        d.content[0][200] = 0;
        d.content[0][(int) g.ringPages[1]] = 0;
        SimCheckers.Checked bad = checkers.endOfHop(g, d);
        assertThat(bad.mismatched()).isEqualTo(2);
        assertThat(v.all()).extracting(s -> s.substring(0, 12)).containsExactly("invariant 5 ", "invariant 2 ");
    }
}
