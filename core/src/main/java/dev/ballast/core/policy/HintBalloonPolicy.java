package dev.ballast.core.policy;

/** Free page hints and balloon skip together. */
public class HintBalloonPolicy extends HintPolicy {
    private final BalloonPolicy balloon = new BalloonPolicy();

    @Override
    public String name() {
        return "hint+balloon";
    }

    @Override
    public boolean skipBalloon(PolicyContext ctx) {
        return balloon.skipBalloon(ctx);
    }

    @Override
    public void onSwitchOver(PolicyContext ctx) {
        super.onSwitchOver(ctx);
        balloon.onSwitchOver(ctx);
    }

    @Override
    public String balloonSkipOff(dev.ballast.core.engine.GuestFeatures features) {
        return balloon.balloonSkipOff(features);
    }
}
