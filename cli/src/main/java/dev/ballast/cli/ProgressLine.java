package dev.ballast.cli;

import dev.ballast.core.run.Backend;
import dev.ballast.core.run.Units;

import java.io.PrintStream;
import java.util.Locale;

/**
 * One line on a terminal's stderr that a run keeps rewriting: phase, iteration, percent done and
 * bytes sent. Redrawn at most ten times a second; cleared when closed. Only made when stderr is a
 * terminal (see {@link Terminal}); otherwise commands use {@link Backend.Progress#NONE}.
 */
final class ProgressLine implements Backend.Progress, AutoCloseable {
    static final long MIN_INTERVAL_NS = 100_000_000L;
    private static final String CLEAR_TO_EOL = "\033[K";

    private final PrintStream err;
    private final String label;
    private long lastDrawNs;
    private boolean drawn;

    ProgressLine(PrintStream err, String label) {
        this.err = err;
        this.label = label;
        this.lastDrawNs = System.nanoTime() - MIN_INTERVAL_NS;
    }

    @Override
    public void update(String phase, int iteration, double fractionDone, long transferredBytes) {
        long now = System.nanoTime();
        if (now - lastDrawNs < MIN_INTERVAL_NS) return;
        lastDrawNs = now;
        err.print("\r" + format(label, phase, iteration, fractionDone, transferredBytes) + CLEAR_TO_EOL);
        err.flush();
        drawn = true;
    }

    static String format(String label, String phase, int iteration, double fractionDone, long transferredBytes) {
        double pct = Math.max(0, Math.min(100, fractionDone * 100));
        return String.format(Locale.ROOT, "%s%-13s iteration %-3d %5.1f%%  %s sent",
                label.isEmpty() ? "" : label + "  ", phase, iteration, pct, Units.formatBytes(transferredBytes));
    }

    @Override
    public void close() {
        if (drawn) {
            err.print("\r" + CLEAR_TO_EOL);
            err.flush();
        }
    }
}
