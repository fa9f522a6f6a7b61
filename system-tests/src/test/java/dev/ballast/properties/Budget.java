package dev.ballast.properties;

/**
 * How many tries each property gets. CI runs these fixed numbers (the whole suite fits in a few
 * minutes on a 2-core machine); a soak multiplies them: {@code -Dballast.soak=N} (see the
 * {@code soak} profile of this module's POM, which also runs the property classes in two JVMs,
 * one a core).
 */
final class Budget {
    private Budget() { }

    /** The general invariant property: every part of the scenario drawn at random. */
    static final int ANY = 2000;
    /** A property focused on one invariant (its generator spends every try where the invariant can break). */
    static final int FOCUSED = 1000;
    /** Properties that run each case twice or more (replay, digest, legacy comparison). */
    static final int PAIRS = 300;
    /** Wire properties: a live writer and reader, or a hostile stream and its prefix. */
    static final int WIRE = 500;
    /** Migrations of a real KVM guest (about a second each). */
    static final int KVM = 10;

    /** The soak factor: {@code -Dballast.soak=N} multiplies every property's tries by N (1 in CI). */
    static int soakFactor() {
        return Math.max(1, Integer.getInteger("ballast.soak", 1));
    }
}
