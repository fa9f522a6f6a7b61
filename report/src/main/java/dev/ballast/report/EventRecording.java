package dev.ballast.report;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.replay.EventStream;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * A run's events kept in memory (five longs, 40 bytes, per event) for a report of runs that were
 * not journaled, such as {@code compare --report}: publish to it while the run goes, then hand
 * {@link #streams()} to a {@link RunInput}. Not thread-safe: one publishing thread, then readers.
 */
public final class EventRecording implements EventSink {
    private static final int FIELDS = 5;
    private static final int MAX_EVENTS = (Integer.MAX_VALUE - 8) / FIELDS;

    private long[] data = new long[FIELDS * 1024];
    private int events;

    @Override
    public void publish(EventType type, long timeNs, long a, long b, long c) {
        if (FIELDS * (events + 1) > data.length) {
            if (events >= MAX_EVENTS)
                throw new IllegalStateException(
                        "more than " + MAX_EVENTS + " events to keep in memory: journal the run");
            data = Arrays.copyOf(data, (int) Math.min((long) data.length * 2, (long) MAX_EVENTS * FIELDS));
        }
        int i = FIELDS * events++;
        data[i] = type.id();
        data[i + 1] = timeNs;
        data[i + 2] = a;
        data[i + 3] = b;
        data[i + 4] = c;
    }

    public int events() {
        return events;
    }

    /** A new stream from the first event each time it is asked; events are numbered from 0. */
    public Supplier<EventStream> streams() {
        return () -> {
            int[] next = {0};
            return into -> {
                if (next[0] >= events) return false;
                int i = FIELDS * next[0];
                into.set(next[0]++, EventType.byId((int) data[i]), data[i + 1], data[i + 2], data[i + 3], data[i + 4]);
                return true;
            };
        };
    }

    /** For tests that damage a recording: the index of the first event of this type, or -1. */
    int first(EventType type) {
        for (int k = 0; k < events; k++) if (data[FIELDS * k] == type.id()) return k;
        return -1;
    }

    /** For tests: overwrites field {@code field} (0 type id, 1 time, 2 a, 3 b, 4 c) of an event. */
    void set(int event, int field, long value) {
        data[FIELDS * event + field] = value;
    }

    /** For tests: forgets every event from {@code count} on, as a journal cut short. */
    void truncate(int count) {
        events = Math.min(events, count);
    }
}
