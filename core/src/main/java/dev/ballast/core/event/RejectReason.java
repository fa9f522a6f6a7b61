package dev.ballast.core.event;

/** Why a guest request was rejected; the code is what the journal stores. */
public enum RejectReason {
    /** The range names guest-physical memory that is not RAM (past the end, or in the hole). */
    OUT_OF_RANGE,
    /** A hint or free bitmap answering a command id that is not the live one. */
    STALE_COMMAND,
    /** A range of zero pages, or a count too large to be true. */
    BAD_LENGTH,
    /** A message the device could not parse. */
    MALFORMED;

    public static RejectReason byCode(long code) {
        RejectReason[] all = values();
        return code >= 0 && code < all.length ? all[(int) code] : MALFORMED;
    }
}
