package dev.ballast.core.policy;

import dev.ballast.core.engine.GuestFeatures;

/**
 * Balloon skip: pages in the balloon are neither scanned nor sent. Only safe while the guest tells
 * the host before it reuses a deflated page (MUST_TELL_HOST): otherwise the guest may write a page
 * the host still thinks is in the balloon, and skipping it would lose that write. Without that
 * promise this policy switches itself off.
 */
public class BalloonPolicy implements MigrationPolicy {
    @Override
    public String name() {
        return "balloon";
    }

    @Override
    public boolean skipBalloon(PolicyContext ctx) {
        return balloonSkipOff(ctx.features()) == null;
    }

    /**
     * Postcopy: the pages it skipped were never sent and are not dirty, so the source will not send
     * them when the destination's guest faults on one. The destination must know they are in the
     * balloon to place them as zero itself: the whole balloon bitmap goes out at the switch-over,
     * in the downtime (the seeds' series turned balloon skip off for good after a postcopy instead).
     */
    @Override
    public void onSwitchOver(PolicyContext ctx) {
        if (skipBalloon(ctx)) ctx.sendBalloonBitmap();
    }

    @Override
    public String balloonSkipOff(GuestFeatures features) {
        return features.mustTellHost()
                ? null
                : "without MUST_TELL_HOST (--no-tell-host) the guest may reuse a deflated page "
                        + "before the host knows, so ballooned pages are scanned and sent like any other";
    }
}
