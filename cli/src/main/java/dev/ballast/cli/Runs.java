package dev.ballast.cli;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.ManifestSink;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.RunReports;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.Units;
import dev.ballast.journal.JournalDigest;
import dev.ballast.journal.JournalWriter;
import dev.ballast.replay.JournalRecorder;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What {@code run} and {@code compare} share: running one scenario with progress, and writing JSON. */
final class Runs {
    private Runs() {}

    /** Runs the scenario, checked by the backend beforehand, with a progress line and its journal. */
    static RunReport run(
            Context ctx, Backend backend, Scenario scenario, BackendOptions options, String label, Path journalDir) {
        JournalRecorder recorder = null;
        LateJournal late = null;
        Object previous = onInterrupt(ctx, journalDir);
        try (ProgressLine line = ctx.progress() ? new ProgressLine(ctx.err(), label) : null) {
            Backend.Progress progress = line == null ? Backend.Progress.NONE : line;
            EventSink watcher = line == null ? EventSink.NONE : line.watching(EventSink.NONE);
            EventSink events;
            if (journalDir != null && backend.namesItsJournal()) {
                late = new LateJournal(journalDir, journalExtras(scenario), wait(backend), watcher);
                events = late;
            } else {
                if (journalDir != null)
                    recorder = new JournalRecorder(
                            journalDir, RunManifest.of(scenario), journalExtras(scenario), wait(backend));
                EventSink journal = recorder == null ? EventSink.NONE : recorder;
                events = line == null ? journal : line.watching(journal);
            }
            RunReport r;
            try {
                r = backend.run(scenario, options, events, progress);
            } finally {
                if (late != null) recorder = late.recorder;
            }
            if (recorder == null) return r;
            recorder.close();
            return RunReports.withJournal(
                    r,
                    new RunReport.Journal(
                            recorder.directory().toString(),
                            recorder.events(),
                            JournalDigest.toHex(recorder.digest())));
        } finally {
            if (recorder != null) recorder.close();
            if (previous != null) {
                try {
                    handleSigint(previous);
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException("cannot restore the SIGINT handler", e);
                }
            }
        }
    }

    /**
     * The journal of a backend that names it itself ({@link Backend#namesItsJournal()}): created when the backend
     * opens it with the run's manifest, the scenario's entries added to its header; events go to it, then to the
     * progress line.
     */
    private static final class LateJournal implements ManifestSink {
        private final Path dir;
        private final java.util.Map<String, String> extras;
        private final JournalWriter.Wait wait;
        private final EventSink watcher;
        private volatile JournalRecorder recorder;

        LateJournal(Path dir, java.util.Map<String, String> extras, JournalWriter.Wait wait, EventSink watcher) {
            this.dir = dir;
            this.extras = extras;
            this.wait = wait;
            this.watcher = watcher;
        }

        @Override
        public void open(RunManifest manifest, java.util.Map<String, String> header) {
            if (recorder != null) throw new IllegalStateException("the run's journal is already open");
            java.util.Map<String, String> meta = new java.util.LinkedHashMap<>(header);
            meta.putAll(extras);
            recorder = new JournalRecorder(dir, manifest, meta, wait);
        }

        @Override
        public void publish(dev.ballast.core.event.EventType type, long timeNs, long a, long b, long c) {
            JournalRecorder r = recorder;
            if (r == null) throw new IllegalStateException("an event before the run's journal was opened: " + type);
            r.publish(type, timeNs, a, b, c);
            watcher.publish(type, timeNs, a, b, c);
        }
    }

    /**
     * How the journal's consumer waits: a real guest (KVM, QEMU) publishes a few thousand events a run over seconds to
     * minutes, so the consumer blocks (a polling one cost ~0.3 s of CPU a 1 GiB KVM run, kvm-backend/README.md); a
     * simulator publishes millions a second, so it polls.
     */
    static JournalWriter.Wait wait(Backend backend) {
        return backend.measuresWallTime() ? JournalWriter.Wait.BLOCKING : JournalWriter.Wait.SLEEPING;
    }

    /** Exit code of a run stopped by Ctrl-C (128 + SIGINT, as a shell reports it). */
    static final int INTERRUPTED = 130;

    /**
     * Ctrl-C (SIGINT) during a run: a newline (ending the progress line), one line saying the journal is cut short
     * and how to replay it, and exit {@link #INTERRUPTED} at once. The journal is left as a killed process leaves it:
     * it replays up to its last complete event. Returns the handler it replaced (null where signals cannot be handled).
     */
    private static Object onInterrupt(Context ctx, Path journalDir) {
        PrintStream err = ctx.err();
        Runnable onCtrlC = () -> {
            err.println();
            err.println("ballast: interrupted"
                    + (journalDir == null
                            ? ""
                            : ": the journal " + journalDir
                                    + " is cut short but replayable up to its last complete event (ballast replay "
                                    + journalDir + ")"));
            err.flush();
            Runtime.getRuntime().halt(INTERRUPTED);
        };
        try {
            Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
            Object handler = java.lang.reflect.Proxy.newProxyInstance(
                    handlerType.getClassLoader(),
                    new Class<?>[] {handlerType},
                    (proxy, m, args) -> switch (m.getName()) {
                        case "handle" -> {
                            onCtrlC.run();
                            yield null;
                        }
                        case "hashCode" -> System.identityHashCode(proxy);
                        case "equals" -> proxy == args[0];
                        default -> "ballast's SIGINT handler";
                    });
            return handleSigint(handler);
        } catch (ReflectiveOperationException | IllegalArgumentException e) {
            return null; // no sun.misc.Signal, or the JVM keeps SIGINT (-Xrs): its default stands
        }
    }

    /**
     * {@code sun.misc.Signal.handle(SIGINT, handler)}, by reflection: javac warns of every direct use of
     * {@code sun.misc} and no annotation silences it (the build has -Werror). Returns the handler replaced.
     */
    private static Object handleSigint(Object handler) throws ReflectiveOperationException {
        Class<?> signal = Class.forName("sun.misc.Signal");
        Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
        try {
            return signal.getMethod("handle", signal, handlerType)
                    .invoke(null, signal.getConstructor(String.class).newInstance("INT"), handler);
        } catch (java.lang.reflect.InvocationTargetException e) {
            if (e.getCause() instanceof IllegalArgumentException iae) throw iae;
            throw e;
        }
    }

    /**
     * Where a run's journal goes: {@code --journal DIR} as given (for a compare, one folder per
     * policy inside it), none with {@code --no-journal}, else a new folder under {@code runs/}
     * (or {@code $BALLAST_RUNS}) named after the run.
     */
    static Path journalDir(Context ctx, JournalOptions journal, Scenario s, boolean onePerPolicy) {
        if (!journal.enabled()) return null;
        String name = s.backend() + "-" + s.workload().toString().replaceAll("[^A-Za-z0-9.=-]+", "_") + "-"
                + s.policy().replace('+', '_') + "-s" + s.seed();
        if (journal.dir() != null)
            return onePerPolicy ? journal.dir().resolve(s.policy().replace('+', '_')) : journal.dir();
        Path runs = Path.of(ctx.env().getOrDefault("BALLAST_RUNS", "runs"));
        String stamp = STAMP.format(java.time.LocalDateTime.now());
        Path dir = runs.resolve(stamp + "-" + name);
        for (int i = 2; Files.exists(dir); i++) dir = runs.resolve(stamp + "-" + name + "-" + i);
        return dir;
    }

    private static final java.time.format.DateTimeFormatter STAMP =
            java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

    private static java.util.Map<String, String> journalExtras(Scenario s) {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("ballastVersion", Main.version());
        m.put("javaVersion", System.getProperty("java.version"));
        m.put("createdAt", java.time.Instant.now().toString());
        try {
            m.put("scenario", Json.MAPPER.writeValueAsString(s));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return m;
    }

    /**
     * One line on stderr for each optimization that the scenarios' policies give up on this guest
     * (balloon skip without MUST_TELL_HOST), naming the policies; the reports keep it too.
     */
    static void sayWhatIsOff(Context ctx, java.util.List<Scenario> scenarios) {
        java.util.Map<String, java.util.List<String>> policiesByReason = new java.util.LinkedHashMap<>();
        for (Scenario s : scenarios) {
            String off = s.balloonSkipOff();
            if (off != null)
                policiesByReason
                        .computeIfAbsent(off, k -> new java.util.ArrayList<>())
                        .add(s.policy());
        }
        policiesByReason.forEach((reason, policies) -> ctx.err()
                .println("ballast: " + (policies.size() == 1 ? "policy " : "policies ") + String.join(", ", policies)
                        + ": balloon skip is off: " + reason));
        ctx.err().flush();
    }

    /** The line that says what is about to run. */
    static String header(
            String command,
            Backend backend,
            Scenario s,
            String policies,
            CostProfiles.Resolved profile,
            BackendOptions options) {
        StringBuilder sb = new StringBuilder("ballast ")
                .append(command)
                .append(": ")
                .append(s.backend())
                .append(", ")
                .append(Units.formatBytes(s.guestMemBytes()))
                .append(" guest, workload ")
                .append(s.workload())
                .append(", policy ")
                .append(policies)
                .append(", seed ")
                .append(s.seed())
                .append(", bandwidth ")
                .append(s.bandwidthBitsPerSec() == 0 ? "unlimited" : bits(s.bandwidthBitsPerSec()));
        if (options.preallocate()) sb.append(", destination memory preallocated");
        if (backend.usesCostProfile()) sb.append("\ncost profile: ").append(profile.description());
        return sb.toString();
    }

    static String bits(long bitsPerSec) {
        return Units.formatBandwidth(bitsPerSec);
    }

    /** Writes JSON to the file, or to {@code out} for {@code -}. */
    static void writeJson(String target, Object value, PrintStream out) {
        try {
            if ("-".equals(target)) {
                out.println(Json.MAPPER.writeValueAsString(value));
                out.flush();
            } else {
                Path file = Path.of(target);
                Path parent = file.toAbsolutePath().getParent();
                if (parent != null) Files.createDirectories(parent);
                Json.MAPPER.writeValue(file.toFile(), value);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("--json " + target + ": " + e.getMessage(), e);
        }
    }

    /** The runs of {@code compare --repeat}: every report, in policy order within its round, with its round number. */
    static Object roundsJson(List<List<RunReport>> rounds) {
        var array = Json.MAPPER.createArrayNode();
        for (int i = 0; i < rounds.size(); i++) {
            for (RunReport r : rounds.get(i)) {
                com.fasterxml.jackson.databind.node.ObjectNode n = Json.MAPPER.valueToTree(r);
                n.put("round", i + 1);
                array.add(n);
            }
        }
        return array;
    }

    /** One line naming the first broken invariant and page. */
    static String violation(RunReport r) {
        var v = r.verify();
        String what = v.violation() != null
                ? v.violation()
                : "verify failed: " + v.mismatchedPages() + " of " + v.checkedPages() + " pages mismatched";
        return "invariant broken (policy " + r.policy() + ", seed " + r.seed() + "): " + what.replace('\n', ' ');
    }
}
