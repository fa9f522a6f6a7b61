package dev.ballast.journal;

/**
 * A journal that cannot be read as written: damaged, cut in a way that loses data it claims to
 * hold, of an unknown format version, or not a journal at all; or a journal that could not be
 * written. The message is one line meant for the user, and names the position of the damage
 * (event number and/or Chronicle index) when there is one; callers print {@link #getMessage()},
 * never the stack trace.
 */
public final class JournalException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Sentinel for "no position". */
    public static final long NONE = -1;

    private final long eventNumber;
    private final long chronicleIndex;

    public JournalException(String message) {
        this(message, NONE, NONE, null);
    }

    public JournalException(String message, Throwable cause) {
        this(message, NONE, NONE, cause);
    }

    public JournalException(String message, long eventNumber, long chronicleIndex, Throwable cause) {
        super(message, cause);
        this.eventNumber = eventNumber;
        this.chronicleIndex = chronicleIndex;
    }

    /** The event number at or near the damage, or {@link #NONE}. */
    public long eventNumber() {
        return eventNumber;
    }

    /** The Chronicle index of the damaged document, or {@link #NONE}. */
    public long chronicleIndex() {
        return chronicleIndex;
    }
}
