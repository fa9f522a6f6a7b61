package dev.ballast.cli;

import java.io.PrintStream;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * What a command runs against: the backends, the environment, the two output streams and whether
 * a progress line may be drawn on stderr. Tests make their own.
 */
record Context(
        Backends backends, Map<String, String> env, PrintStream out, PrintStream err, BooleanSupplier progressAllowed) {

    /** Whether to draw a progress line; asked only when a run starts (the terminal check loads FFM). */
    boolean progress() {
        return progressAllowed.getAsBoolean();
    }

    boolean debug() {
        return "1".equals(env.get("BALLAST_DEBUG"));
    }
}
