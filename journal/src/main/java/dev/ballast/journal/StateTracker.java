package dev.ballast.journal;

import dev.ballast.core.event.EventType;

/**
 * Follows the events a journal writes, on the writer's own consumer thread (off the producers'
 * hot path, in the journal's order), and gives the state that the writer stores as a checkpoint
 * every {@link #interval()} events.
 */
public interface StateTracker {
    /** One more event, numbered as in the journal. */
    void onEvent(long eventNumber, EventType type, long timeNs, long a, long b, long c);

    /** The state after every event so far, or null to store none this time (too large, say). */
    byte[] checkpoint();

    /** Events between checkpoints (a power of two). */
    long interval();
}
