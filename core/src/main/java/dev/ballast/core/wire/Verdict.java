package dev.ballast.core.wire;

/**
 * The destination's answer to COMPLETE (the COMPLETE_ACK record): what the guest's self-check found.
 *
 * @param digest       the stream digest the destination computed (the source compares it with its own)
 * @param checkedPages pages the self-check read
 * @param badPages     pages that did not hold what the guest last wrote
 * @param ok           whether the destination found the migration good
 * @param message      a short explanation (at most {@value WireFormat#MAX_MESSAGE_BYTES} UTF-8 bytes on the wire)
 * @param checkMicros  microseconds from the guest's start on the destination to this verdict (its
 *                     self-check): the part of the wait for COMPLETE_ACK that is not downtime
 */
public record Verdict(long digest, long checkedPages, long badPages, boolean ok, String message, long checkMicros) {
    /** The largest check time the wire carries (a u32). */
    public static final long MAX_CHECK_MICROS = 0xFFFF_FFFFL;

    public Verdict {
        if (checkedPages < 0 || badPages < 0)
            throw new IllegalArgumentException(
                    "checkedPages=" + checkedPages + " badPages=" + badPages + " must be >= 0");
        if (message == null) message = "";
        checkMicros = Math.clamp(checkMicros, 0, MAX_CHECK_MICROS);
    }

    public Verdict(long digest, long checkedPages, long badPages, boolean ok, String message) {
        this(digest, checkedPages, badPages, ok, message, 0);
    }

    /** The verdict a sink gives, before the reader fills in the digest. */
    public static Verdict of(long checkedPages, long badPages, boolean ok, String message) {
        return new Verdict(0, checkedPages, badPages, ok, message, 0);
    }

    /** As {@link #of(long, long, boolean, String)}, with the time the self-check took. */
    public static Verdict of(long checkedPages, long badPages, boolean ok, String message, long checkMicros) {
        return new Verdict(0, checkedPages, badPages, ok, message, checkMicros);
    }

    Verdict withDigest(long d) {
        return new Verdict(d, checkedPages, badPages, ok, message, checkMicros);
    }
}
