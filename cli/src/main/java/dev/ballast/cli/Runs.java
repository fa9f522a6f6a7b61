package dev.ballast.cli;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.Units;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What {@code run} and {@code compare} share: running one scenario with progress, and writing JSON. */
final class Runs {
    private Runs() { }

    /**
     * Runs the scenario. The backend refusing a setting (an unknown policy, say) with an
     * {@link IllegalArgumentException} is a usage error.
     */
    static RunReport run(Context ctx, Backend backend, Scenario scenario, String label) {
        try (ProgressLine line = ctx.progress() ? new ProgressLine(ctx.err(), label) : null) {
            Backend.Progress progress = line == null ? Backend.Progress.NONE : line;
            return backend.run(scenario, EventSink.NONE, progress);
        } catch (IllegalArgumentException e) {
            throw new UsageException(ScenarioOptions.asOption(e.getMessage()), e);
        }
    }

    /** The line that says what is about to run. */
    static String header(String command, Scenario s, String policies, CostProfiles.Resolved profile) {
        StringBuilder sb = new StringBuilder("ballast ").append(command).append(": ").append(s.backend())
                .append(", ").append(Units.formatBytes(s.guestMemBytes())).append(" guest, workload ").append(s.workload())
                .append(", policy ").append(policies).append(", seed ").append(s.seed())
                .append(", bandwidth ").append(s.bandwidthBitsPerSec() == 0 ? "unlimited" : bits(s.bandwidthBitsPerSec()));
        if (s.backend().equals("sim")) sb.append("\ncost profile: ").append(profile.description());
        return sb.toString();
    }

    static String bits(long bitsPerSec) {
        String[] units = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
        double v = bitsPerSec;
        int i = 0;
        while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
        return (v == Math.rint(v) ? Long.toString((long) v) : String.format(java.util.Locale.ROOT, "%.2f", v)) + " " + units[i];
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

    /** One line naming the first broken invariant and page. */
    static String violation(RunReport r) {
        var v = r.verify();
        String what = v.violation() != null ? v.violation()
                : "verify failed: " + v.mismatchedPages() + " of " + v.checkedPages() + " pages mismatched";
        return "invariant broken (policy " + r.policy() + ", seed " + r.seed() + "): " + what.replace('\n', ' ');
    }
}
