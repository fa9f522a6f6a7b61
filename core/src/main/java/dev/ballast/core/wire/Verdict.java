package dev.ballast.core.wire;

/**
 * The destination's answer to COMPLETE (the COMPLETE_ACK record): what the guest's self-check found.
 *
 * @param digest       the stream digest the destination computed (the source compares it with its own)
 * @param checkedPages pages the self-check read
 * @param badPages     pages that did not hold what the guest last wrote
 * @param ok           whether the destination found the migration good
 * @param message      a short explanation (at most {@value WireFormat#MAX_MESSAGE_BYTES} UTF-8 bytes on the wire)
 */
public record Verdict(long digest, long checkedPages, long badPages, boolean ok, String message) {
    public Verdict {
        if (checkedPages < 0 || badPages < 0) throw new IllegalArgumentException("checkedPages=" + checkedPages + " badPages=" + badPages + " must be >= 0");
        if (message == null) message = "";
    }

    /** The verdict a sink gives, before the reader fills in the digest. */
    public static Verdict of(long checkedPages, long badPages, boolean ok, String message) {
        return new Verdict(0, checkedPages, badPages, ok, message);
    }

    Verdict withDigest(long d) { return new Verdict(d, checkedPages, badPages, ok, message); }
}
