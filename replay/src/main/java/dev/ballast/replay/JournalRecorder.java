package dev.ballast.replay;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.run.RunManifest;
import dev.ballast.journal.JournalWriter;
import dev.ballast.journal.StateTracker;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A run's journal, with checkpoints of the run's state every {@link #CHECKPOINT_EVERY} events:
 * a {@link RunState} follows the events on the journal's consumer thread, so producers only
 * publish into the ring.
 */
public final class JournalRecorder implements EventSink, AutoCloseable {
    /** Events between two state checkpoints: {@code inspect --at} reads at most this many after a seek. */
    public static final long CHECKPOINT_EVERY = 1L << 18;

    private final JournalWriter writer;

    public JournalRecorder(Path dir, RunManifest manifest, Map<String, String> extra) {
        this(dir, manifest, extra, JournalWriter.Settings.defaults().waitStrategy());
    }

    /**
     * @param wait how the journal's consumer waits for events: the default {@code SLEEPING} polls (up to a thousand
     *             wake-ups a second, a few ms of CPU a second while idle) and keeps up with a simulator's millions of
     *             events a second; {@code BLOCKING} costs nothing while idle and a wake-up a publish, for a real guest's
     *             few thousand events a run
     */
    public JournalRecorder(Path dir, RunManifest manifest, Map<String, String> extra, JournalWriter.Wait wait) {
        Map<String, String> meta = new LinkedHashMap<>(manifest.toMetadata());
        meta.putAll(extra);
        RunState state = new RunState(manifest);
        StateTracker tracker = new StateTracker() {
            @Override
            public void onEvent(long number, EventType type, long timeNs, long a, long b, long c) {
                state.apply(number, type, timeNs, a, b, c);
            }

            @Override
            public byte[] checkpoint() {
                return state.snapshot();
            }

            @Override
            public long interval() {
                return CHECKPOINT_EVERY;
            }
        };
        this.writer = JournalWriter.create(
                dir,
                meta,
                JournalWriter.Settings.defaults().withWaitStrategy(wait).withTracker(tracker));
    }

    @Override
    public void publish(EventType type, long timeNs, long a, long b, long c) {
        writer.publish(type, timeNs, a, b, c);
    }

    public Path directory() {
        return writer.directory();
    }

    /** Closes the journal; then {@link #events()} and {@link #digest()} are final. */
    @Override
    public void close() {
        writer.close();
    }

    public long events() {
        return writer.events();
    }

    public long digest() {
        return writer.digest();
    }
}
