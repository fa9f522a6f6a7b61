package dev.ballast.cli;

import dev.ballast.core.event.EventSink;
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
    private String phase = "setup";
    private int iteration;
    private double fractionDone;
    private long transferredBytes;
    private String activity;

    ProgressLine(PrintStream err, String label) {
        this.err = err;
        this.label = label;
        this.lastDrawNs = System.nanoTime() - MIN_INTERVAL_NS;
    }

    @Override
    public void update(String phase, int iteration, double fractionDone, long transferredBytes) {
        this.phase = phase;
        this.iteration = iteration;
        this.fractionDone = fractionDone;
        this.transferredBytes = transferredBytes;
        long now = System.nanoTime();
        if (now - lastDrawNs < MIN_INTERVAL_NS) return;
        draw(now);
    }

    /**
     * What the migration is doing that a pass's percentage does not show ({@code syncing dirty log},
     * {@code stop-and-copy, guest paused}), or null when it is sending a pass again. Drawn at once: a
     * change happens a few times a pass, and a sync of a large guest is long enough to be seen.
     */
    void activity(String what) {
        if (java.util.Objects.equals(what, activity)) return;
        activity = what;
        draw(System.nanoTime());
    }

    private void draw(long now) {
        lastDrawNs = now;
        err.print("\r" + format(label, phase, iteration, fractionDone, transferredBytes, activity) + CLEAR_TO_EOL);
        err.flush();
        drawn = true;
    }

    static String format(String label, String phase, int iteration, double fractionDone, long transferredBytes) {
        return format(label, phase, iteration, fractionDone, transferredBytes, null);
    }

    static String format(
            String label, String phase, int iteration, double fractionDone, long transferredBytes, String activity) {
        double pct = Math.max(0, Math.min(100, fractionDone * 100));
        return String.format(
                        Locale.ROOT,
                        "%s%-13s iteration %-3d %5.1f%%  %s sent",
                        label.isEmpty() ? "" : label + "  ",
                        phase,
                        iteration,
                        pct,
                        Units.formatBytes(transferredBytes))
                + (activity == null ? "" : "  " + activity);
    }

    /** The events that change {@link #activity}: a dirty-log sync's start and end, the guest paused and resumed. */
    EventSink watching(EventSink events) {
        return (type, timeNs, a, b, c) -> {
            events.publish(type, timeNs, a, b, c);
            switch (type) {
                case SYNC_BEGIN -> {
                    if (a > 0)
                        activity(paused ? "stop-and-copy, guest paused: syncing dirty log" : "syncing dirty log");
                }
                case SYNC_END -> {
                    if (a > 0) activity(paused ? "stop-and-copy, guest paused" : null);
                }
                case GUEST_RUN_STATE -> {
                    paused = a == 1;
                    activity(paused ? "stop-and-copy, guest paused" : null);
                }
                default -> {}
            }
        };
    }

    private boolean paused;

    @Override
    public void close() {
        if (drawn) {
            err.print("\r" + CLEAR_TO_EOL);
            err.flush();
        }
    }
}
