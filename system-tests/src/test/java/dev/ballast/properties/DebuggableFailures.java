package dev.ballast.properties;

import dev.ballast.replay.JournalQueries;
import dev.ballast.replay.Replay;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * Around every property of the suite:
 * <ul>
 *   <li>a soak ({@code -Dballast.soak=N}) multiplies its tries;</li>
 *   <li>when it fails, the shrunk counterexample runs once more with its events recorded into a
 *       journal under {@code target/failures/}, and the failure message gains the journal's path,
 *       the {@code ballast replay} and {@code ballast inspect --page} commands for the first broken
 *       page, what a replay of the journal says, and the page's history;</li>
 *   <li>its result is kept for {@link MutantKillTest}.</li>
 * </ul>
 */
public final class DebuggableFailures implements AroundPropertyHook {
    private static final Pattern PFN = Pattern.compile("PFN 0x([0-9a-f]+)");
    private static final AtomicInteger FAILURES = new AtomicInteger();

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
        int factor = Budget.soakFactor();
        if (factor > 1 && Mutants.active() == Mutant.NONE) {
            context.attributes().tries().ifPresent(t -> context.attributes().setTries(t * factor));
        }
        String key = context.containerClass().getSimpleName() + "#"
                + context.targetMethod().getName();
        long t0 = System.nanoTime();
        PropertyExecutionResult r = property.execute();
        String message = null;
        if (r.status() == PropertyExecutionResult.Status.FAILED) {
            List<Object> sample = r.shrunkSample()
                    .map(s -> s.parameters())
                    .orElse(r.falsifiedParameters().orElse(List.of()));
            String first = r.throwable().map(Throwable::getMessage).orElse("(no message)");
            String debug;
            try {
                debug = debug(key, sample);
            } catch (RuntimeException e) {
                debug = "re-running the shrunk case with a journal failed: " + e;
            }
            message = first + "\n" + debug
                    + (r.seed().isPresent() ? "\njqwik seed: " + r.seed().get() : "");
            r = r.mapToFailed(new AssertionError(message, r.throwable().orElse(null)));
        }
        PropertyRuns.record(key, r, message, (System.nanoTime() - t0) / 1e9);
        return r;
    }

    @Override
    public PropagationMode propagateTo() {
        return PropagationMode.ALL_DESCENDANTS; // registered on a class, it is for each of its properties
    }

    @Override
    public int aroundPropertyProximity() {
        return -10; // outside jqwik's own hooks: sees the shrunk result
    }

    /** Re-runs the shrunk counterexample with a journal and says how to look into it. */
    static String debug(String key, List<Object> sample) {
        for (Object p : sample) {
            if (p instanceof SimCase c) return debugSim(key, c);
            if (p instanceof KvmCase k) return debugKvm(key, k);
            if (p instanceof WireCase w) return "the shrunk wire case: " + w;
        }
        return "(no migration in the counterexample to journal)";
    }

    static Path failureDir(String key) {
        Path base = Path.of(System.getProperty("basedir", "."), "target", "failures")
                .toAbsolutePath()
                .normalize();
        Path dir = base.resolve(
                key.replace('#', '.') + "-" + ProcessHandle.current().pid() + "-" + FAILURES.incrementAndGet());
        deleteTree(dir);
        return dir;
    }

    private static String debugSim(String key, SimCase c) {
        Path dir = failureDir(key);
        Mutant m = Mutants.active();
        SimRunner.Outcome o = SimRunner.journal(c, m, dir, Map.of("property", key));
        return commands(
                dir,
                c.toString(),
                m,
                o.unexplained() != null ? o.unexplained() : o.violation(),
                o.report().outcome());
    }

    private static String debugKvm(String key, KvmCase k) {
        Path dir = failureDir(key);
        KvmRunner.Outcome o = KvmRunner.journal(k, dir, Map.of("property", key));
        return commands(
                dir, k.toString(), Mutant.NONE, o.violation(), o.report().outcome());
    }

    /** The journal's path, the commands, the replay's verdict and the first broken page's history. */
    static String commands(Path dir, String what, Mutant m, String violation, String outcome) {
        StringBuilder sb = new StringBuilder("The shrunk counterexample, run again with its journal:\n");
        sb.append("  case:      ").append(what).append('\n');
        if (m != Mutant.NONE)
            sb.append("  mutant:    ")
                    .append(m.number)
                    .append(" (")
                    .append(m.bug)
                    .append(", planted as a ")
                    .append(m.seam)
                    .append(")\n");
        sb.append("  outcome:   ")
                .append(outcome)
                .append(violation == null ? "" : "; " + violation)
                .append('\n');
        sb.append("  journal:   ").append(dir).append('\n');
        sb.append("  replay:    ./ballast replay ").append(dir).append('\n');
        Matcher pm = violation == null ? null : PFN.matcher(violation);
        String pfn = pm != null && pm.find() ? pm.group(1) : null;
        if (pfn != null)
            sb.append("  the page:  ./ballast inspect ")
                    .append(dir)
                    .append(" --page 0x")
                    .append(pfn)
                    .append('\n');
        try {
            Replay.Result rr = JournalQueries.replay(dir);
            sb.append("  replaying it here: ")
                    .append(
                            rr.ok()
                                    ? "every one of its " + rr.events() + " events reproduced (" + rr.migrations()
                                            + " migrations)"
                                    : "parts from the recording at " + rr.divergence()
                                            + (m != Mutant.NONE
                                                    ? " (expected: the replay runs the product's policy and guest model, not the mutant)"
                                                    : ""))
                    .append('\n');
            if (pfn != null) {
                List<String> h = JournalQueries.pageHistory(dir, Long.parseLong(pfn, 16));
                sb.append("  its history (last lines):\n");
                for (String line : h.subList(Math.max(0, h.size() - 14), h.size()))
                    sb.append("    ").append(line).append('\n');
            }
        } catch (RuntimeException e) {
            sb.append("  reading the journal back failed: ").append(e).append('\n');
        }
        return sb.toString().stripTrailing();
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String plural(long n, String what) {
        return String.format(Locale.ROOT, "%d %s%s", n, what, n == 1 ? "" : "s");
    }
}
