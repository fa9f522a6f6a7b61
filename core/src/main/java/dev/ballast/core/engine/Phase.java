package dev.ballast.core.engine;

/** Where a migration is. The ordinal is what the journal stores: only append. */
public enum Phase {
    SETUP,
    BULK,
    ITERATE,
    STOP_AND_COPY,
    COMPLETED,
    FAILED,
    CANCELLED,
    /** The guest runs on the destination; the source pushes the rest and serves its page requests first. */
    POSTCOPY;

    public boolean isTerminal() {
        return this == COMPLETED || this == FAILED || this == CANCELLED;
    }

    public static Phase byOrdinal(long o) {
        Phase[] all = values();
        if (o < 0 || o >= all.length) throw new IllegalArgumentException("no phase " + o);
        return all[(int) o];
    }
}
