package dev.ballast.sim;

import dev.ballast.core.run.DriverOptions;

/**
 * Every knob of the simulator that is not part of the scenario, in one place: how the run drives
 * its migrations, the guest's clock tick, the step bound, and the guest's free page hint driver.
 * {@link #DEFAULTS} is what {@code ballast run} uses; tests change one knob to provoke a race (a
 * slow hint driver whose reports are still coming in at a sync). Link failures are the scenario's
 * ({@code --fail-at}): without one, no fault is injected.
 *
 * @param driver          attempts, retry delay, gap between hops (shared with the KVM backend)
 * @param tickNs          how often the guest's workload and drivers run, in virtual time
 * @param maxSteps        a migration that takes more engine steps than this is a bug: the run throws, naming the seed
 * @param minStepNs       virtual time an engine step takes at least
 * @param hintOrder       the hint driver reports free blocks of 2^hintOrder pages
 * @param hintBlocksPerSec how many such blocks it reports a second of virtual time
 * @param hintDeliveryNs  how long a free page report takes to reach the host; the guest does not wait for
 *                        it, so a report can still be in flight when the host syncs the dirty log (a balloon
 *                        message takes what {@code balloon} says, and the guest waits until the host has taken it)
 * @param balloon         what a balloon message and the host's release cost ({@link BalloonCosts#MEASURED})
 */
public record SimOptions(
        DriverOptions driver,
        long tickNs,
        long maxSteps,
        long minStepNs,
        int hintOrder,
        double hintBlocksPerSec,
        long hintDeliveryNs,
        BalloonCosts balloon) {
    public static final SimOptions DEFAULTS =
            new SimOptions(DriverOptions.DEFAULTS, 1_000_000L, 50_000_000L, 1_000L, 10, 1e6, 1_500_000L);

    /** With the measured balloon costs. */
    public SimOptions(
            DriverOptions driver,
            long tickNs,
            long maxSteps,
            long minStepNs,
            int hintOrder,
            double hintBlocksPerSec,
            long hintDeliveryNs) {
        this(driver, tickNs, maxSteps, minStepNs, hintOrder, hintBlocksPerSec, hintDeliveryNs, BalloonCosts.MEASURED);
    }

    public SimOptions {
        if (balloon == null) throw new IllegalArgumentException("balloon costs missing");
        if (tickNs <= 0) throw new IllegalArgumentException("tickNs=" + tickNs + " must be > 0");
        if (maxSteps <= 0) throw new IllegalArgumentException("maxSteps=" + maxSteps + " must be > 0");
        if (minStepNs <= 0) throw new IllegalArgumentException("minStepNs=" + minStepNs + " must be > 0");
        if (hintOrder < 0 || hintOrder > 18)
            throw new IllegalArgumentException("hintOrder=" + hintOrder + " must be in [0, 18]");
        if (!(hintBlocksPerSec > 0))
            throw new IllegalArgumentException("hintBlocksPerSec=" + hintBlocksPerSec + " must be > 0");
        if (hintDeliveryNs < 0)
            throw new IllegalArgumentException("hintDeliveryNs=" + hintDeliveryNs + " must be >= 0");
    }

    /** A hint driver that reports blocks of 2^order pages at this rate. */
    public SimOptions withHintDriver(int order, double blocksPerSec) {
        return new SimOptions(driver, tickNs, maxSteps, minStepNs, order, blocksPerSec, hintDeliveryNs, balloon);
    }

    public SimOptions withDriver(DriverOptions d) {
        return new SimOptions(d, tickNs, maxSteps, minStepNs, hintOrder, hintBlocksPerSec, hintDeliveryNs, balloon);
    }

    /** The same knobs with a balloon whose changes cost {@code b}. */
    public SimOptions withBalloon(BalloonCosts b) {
        return new SimOptions(driver, tickNs, maxSteps, minStepNs, hintOrder, hintBlocksPerSec, hintDeliveryNs, b);
    }
}
