package dev.ballast.sim;

import dev.ballast.core.engine.Clock;
import dev.ballast.core.run.CostProfile;

/**
 * The simulator's clock and the cost of the migration thread's work. Time is virtual. While the
 * engine takes a step, what it does is charged to two meters: the migration thread's CPU (zero
 * checks, copies, syncs) and the link (bytes at the link's bandwidth). The two overlap, as a
 * sender filling a socket overlaps with the NIC draining it, so a step lasts as long as the larger
 * of the two. The engine's clock reads the step's start plus what the step has cost so far.
 */
public final class SimCosts implements Clock {
    final CostProfile profile;
    private final double linkNsPerByte;
    private long worldNs;
    private double cpuNs;
    private double linkNs;

    SimCosts(CostProfile profile, long bandwidthBitsPerSec) {
        this.profile = profile;
        long bits = bandwidthBitsPerSec > 0
                ? Math.min(bandwidthBitsPerSec, profile.linkBitsPerSec())
                : profile.linkBitsPerSec();
        this.linkNsPerByte = 8e9 / bits;
    }

    /** The world's time, without the step in progress. */
    long worldNs() {
        return worldNs;
    }

    @Override
    public long nanoTime() {
        return worldNs + (long) Math.max(cpuNs, linkNs);
    }

    void cpu(double ns) {
        cpuNs += ns;
    }

    void bytes(long n) {
        linkNs += n * linkNsPerByte;
    }

    /** The link's time for one byte at its bandwidth. */
    double linkNsPerByte() {
        return linkNsPerByte;
    }

    /** Time that passes on the link alone, such as a round trip. */
    void wait(double ns) {
        double t = Math.max(cpuNs, linkNs) + ns;
        cpuNs = t;
        linkNs = t;
    }

    /** Ends a step: the world moves on by what it cost (at least {@code minNs}); returns that. */
    long endStep(long minNs) {
        long d = Math.max(minNs, (long) Math.ceil(Math.max(cpuNs, linkNs)));
        worldNs += d;
        cpuNs = 0;
        linkNs = 0;
        return d;
    }

    /** Moves the world to {@code t} (no step in progress). */
    void advanceTo(long t) {
        if (t > worldNs) worldNs = t;
    }
}
