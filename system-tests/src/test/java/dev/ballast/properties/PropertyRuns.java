package dev.ballast.properties;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import net.jqwik.api.lifecycle.PropertyExecutionResult;

/** The last result of every property that ran in this JVM, for {@link MutantKillTest}'s table. */
final class PropertyRuns {
    private PropertyRuns() {}

    /**
     * @param key          {@code Class#method}
     * @param failed       whether the property failed
     * @param tries        tries until it failed (all of them when it passed)
     * @param shrunk       the shrunk counterexample's parameters, or null
     * @param shrinkSteps  shrinking steps
     * @param message      the failure message (with the journal's path and commands), or null
     * @param seconds      how long it ran, shrinking and journaling included
     */
    record Run(
            String key,
            boolean failed,
            int tries,
            List<Object> shrunk,
            int shrinkSteps,
            String message,
            String seed,
            double seconds) {}

    private static final Map<String, Run> LAST = new ConcurrentHashMap<>();

    static void record(String key, PropertyExecutionResult r, String message, double seconds) {
        List<Object> shrunk = r.shrunkSample()
                .map(s -> s.parameters())
                .orElse(r.falsifiedParameters().orElse(null));
        int steps = r.shrunkSample().map(s -> s.countShrinkingSteps()).orElse(0);
        LAST.put(
                key,
                new Run(
                        key,
                        r.status() == PropertyExecutionResult.Status.FAILED,
                        r.countTries(),
                        shrunk,
                        steps,
                        message,
                        r.seed().orElse(""),
                        seconds));
    }

    static Run last(String key) {
        return LAST.get(key);
    }

    static void forget(String key) {
        LAST.remove(key);
    }
}
