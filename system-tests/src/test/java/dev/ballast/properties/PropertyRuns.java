package dev.ballast.properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;
import static org.junit.platform.launcher.EngineFilter.includeEngines;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

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

    /**
     * Runs one property method through the JUnit platform (the jqwik engine) as CI runs it: its tries, fresh random
     * seeds, shrinking, the journal of the shrunk counterexample. A failure's sample is not replayed on the next run
     * (its own example database), nor does it influence the product's runs. Returns how it ended.
     */
    static Run launch(Class<?> cls, String method) {
        Method target = Arrays.stream(cls.getDeclaredMethods())
                .filter(x -> x.getName().equals(method))
                .findFirst()
                .orElseThrow();
        String key = cls.getSimpleName() + "#" + method;
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectMethod(cls, target))
                .filters(includeEngines("jqwik"))
                .configurationParameter("jqwik.database", "target/jqwik-database-mutants")
                .configurationParameter("jqwik.failures.after.default", "RANDOM_SEED")
                .configurationParameter("jqwik.reporting.usejunitplatform", "true")
                .build();
        Launcher launcher = LauncherFactory.create();
        forget(key);
        launcher.execute(request, new SummaryGeneratingListener());
        Run r = last(key);
        assertThat(r).as("%s ran", key).isNotNull();
        return r;
    }
}
