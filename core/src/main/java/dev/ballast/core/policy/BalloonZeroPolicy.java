package dev.ballast.core.policy;

import dev.ballast.core.engine.GuestFeatures;

/**
 * The review's variant of balloon skip: pages in the balloon are not zero-checked (the host gave
 * them back to its own memory, so they read as zero) but still go out as zero-page records. The
 * destination gets a record for every page, so a postcopy switch-over needs no balloon bitmap;
 * the saving is the zero check only, not the records. As balloon skip, only safe while the guest
 * tells the host before it reuses a deflated page (MUST_TELL_HOST); without it, it checks and
 * sends ballooned pages like any other.
 */
public class BalloonZeroPolicy implements MigrationPolicy {
    private final BalloonPolicy balloon = new BalloonPolicy();

    @Override
    public String name() {
        return "balloon-zero";
    }

    @Override
    public boolean zeroBalloon(PolicyContext ctx) {
        return balloonSkipOff(ctx.features()) == null;
    }

    @Override
    public String balloonSkipOff(GuestFeatures features) {
        return balloon.balloonSkipOff(features);
    }
}
