package dev.ballast.journal;

/**
 * The last document of a complete journal: how many events it holds, the
 * {@linkplain JournalDigest digest} of all of them, and how many batch documents carried them.
 */
public record JournalFooter(long events, long digest, long batches) {
    @Override
    public String toString() {
        return "JournalFooter[events=" + events + ", digest=" + JournalDigest.toHex(digest) + ", batches=" + batches
                + "]";
    }
}
