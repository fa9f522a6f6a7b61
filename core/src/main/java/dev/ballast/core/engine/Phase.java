package dev.ballast.core.engine;

/** Where a migration is. The ordinal is what the journal stores: only append. */
public enum Phase {
    SETUP, BULK, ITERATE, STOP_AND_COPY, COMPLETED, FAILED, CANCELLED;

    public boolean isTerminal() {
        return this == COMPLETED || this == FAILED || this == CANCELLED;
    }

    public static Phase byOrdinal(long o) {
        Phase[] all = values();
        if (o < 0 || o >= all.length) throw new IllegalArgumentException("no phase " + o);
        return all[(int) o];
    }
}
