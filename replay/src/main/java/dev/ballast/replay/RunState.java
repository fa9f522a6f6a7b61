package dev.ballast.replay;

import dev.ballast.core.engine.EngineStats;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.RunFold;
import dev.ballast.core.run.RunManifest;
import java.util.Locale;

/**
 * The state of a recorded run at an event, for {@code inspect --at}, {@code diff} and the
 * journal's checkpoints: core's {@link RunFold} over the run's manifest, and the lines that tell
 * it. Fed event by event; {@link #snapshot()} and {@link #restore} make the checkpoints that let a
 * reader jump to any event without reading from the start.
 */
public final class RunState {
    private final RunFold fold;

    public RunState(RunManifest m) {
        this(new RunFold(m.layout(), m.features().poisonByte(), m.engine().pageHeaderBytes()));
    }

    private RunState(RunFold fold) {
        this.fold = fold;
    }

    /** Applies one event (its number must follow the last one applied). */
    public void apply(long number, EventType type, long time, long a, long b, long c) {
        fold.apply(number, type, time, a, b, c);
    }

    public void apply(Event e) {
        fold.apply(e.number, e.type, e.timeNs, e.a, e.b, e.c);
    }

    /** The fold itself: every counter of the run so far. */
    public RunFold fold() {
        return fold;
    }

    public long eventNumber() {
        return fold.eventNumber();
    }

    public long timeNs() {
        return fold.timeNs();
    }

    public int migration() {
        return fold.migration();
    }

    public Phase phase() {
        return fold.phase();
    }

    public int iteration() {
        return fold.iteration();
    }

    public long syncs() {
        return fold.syncs();
    }

    public long pagesLeft() {
        return fold.pagesLeft();
    }

    public boolean pending(long pageIndex) {
        return fold.pending(pageIndex);
    }

    /** One line per fact, for {@code ballast inspect --at}; counters are over every migration so far. */
    public String describe() {
        EngineStats s = fold.runStats();
        RunFold.AllocStalls stalls = fold.allocStalls();
        return String.format(
                Locale.ROOT,
                """
                event         %d
                time          %.3f ms
                migration     %d
                phase         %s, pass %d, %d dirty-log syncs
                pages left    %d
                sent          %d with data, %d zero, %d bytes
                skipped       %d in the balloon, %d free (hints)
                hints         %d requests, %d ranges, %d pages
                rejected      %d guest requests
                link failures %d
                last check    %d bytes left at %d B/s
                alloc stalls  %d, %d served after %.3f ms in all (longest %.3f ms)%s
                """,
                fold.eventNumber(),
                fold.timeNs() / 1e6,
                fold.migration(),
                fold.phase(),
                fold.iteration(),
                fold.syncs(),
                fold.pagesLeft(),
                s.pagesNormal(),
                s.pagesZero(),
                s.transferredBytes(),
                s.skippedBalloon(),
                s.skippedFree(),
                s.hintRequests(),
                s.hintRanges(),
                s.hintPages(),
                s.rejected(),
                fold.linkFailures(),
                fold.lastRemainingBytes(),
                fold.lastCheckBandwidthBytesPerSec(),
                stalls.stalls(),
                stalls.resumed(),
                stalls.waitNs() / 1e6,
                stalls.maxWaitNs() / 1e6,
                stalls.waitingNs() > 0
                        ? String.format(Locale.ROOT, "; one waiting for %.3f ms", stalls.waitingNs() / 1e6)
                        : "");
    }

    // ------------------------------------------------------------------ checkpoints

    /** The state as a checkpoint payload ({@link RunFold#snapshot()}). */
    public byte[] snapshot() {
        return fold.snapshot();
    }

    /**
     * A state from a checkpoint, or null for a checkpoint of an earlier format (a journal written
     * before this version: read from the first event instead). A payload this version cannot read
     * is an error.
     */
    public static RunState restore(RunManifest m, byte[] payload) {
        RunFold f = RunFold.restore(
                m.layout(), m.features().poisonByte(), m.engine().pageHeaderBytes(), payload);
        return f == null ? null : new RunState(f);
    }
}
