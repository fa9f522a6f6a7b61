package dev.ballast.core.wire;

import dev.ballast.core.mem.RamLayout;
import java.util.SplittableRandom;

/**
 * The hostile-stream generator for tests in other modules (they get it from the core test-jar),
 * e.g. to send malformed streams to a live {@code ballast dest}. Everything is a pure function of
 * its seed, so a failing stream is reproduced from the seeds a test prints.
 */
public final class HostileStreams {
    private HostileStreams() {}

    /** A valid stream: a random layout of up to three small blocks and up to ten link calls. */
    public static byte[] valid(long scenarioSeed) {
        return scenario(scenarioSeed).encode();
    }

    /** The destination's layout for {@link #valid}: the same blocks, listed in another order. */
    public static RamLayout destinationLayout(long scenarioSeed) {
        return scenario(scenarioSeed).dest();
    }

    /** The source's layout for {@link #valid}. */
    public static RamLayout sourceLayout(long scenarioSeed) {
        return scenario(scenarioSeed).sender();
    }

    /** {@code mutations} random mutations of {@code stream} (see {@link Mutator}); may, rarely, stay valid. */
    public static byte[] mutate(byte[] stream, RamLayout destination, long mutationSeed, int mutations) {
        SplittableRandom r = new SplittableRandom(mutationSeed);
        Mutator m = new Mutator(destination);
        byte[] s = stream;
        for (int i = 0; i < mutations && s.length > 0; i++) s = m.mutate(s, r).stream();
        return s;
    }

    private static Scenario scenario(long seed) {
        return Scenario.random(seed, 3, 24, 10, 3);
    }
}
