package dev.ballast.sim;

import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamLayout;

/**
 * Invariant 3, no needless resend: remembers which pages were sent and not written since. Sending
 * such a page again is a violation. The guest reports every write to it, the link every send; a
 * new hop starts with nothing sent.
 *
 * <p>On a host whose dirty log only a sync clears ({@code dirty-log=sync}, as QEMU under TCG), a page
 * written after the last sync and then sent is still in the log, and the next sync reports it: the
 * host cannot know that the send carried the write, so that one resend is not needless. Such a send
 * leaves the page out of the "sent and not written since" set.
 */
final class NoNeedlessResendChecker {
    private final PageBitmap sentClean;
    private final RamLayout layout;
    private final Violations violations;
    /** With a log only a sync clears: pages written since the last sync; null otherwise. */
    private PageBitmap writtenSinceSync;

    NoNeedlessResendChecker(RamLayout layout, Violations violations) {
        this.layout = layout;
        this.sentClean = new PageBitmap(layout.totalPages());
        this.violations = violations;
    }

    /** The host's dirty log is cleared by a sync only (see the class comment). */
    void logClearedBySyncOnly() {
        if (writtenSinceSync == null) writtenSinceSync = new PageBitmap(layout.totalPages());
    }

    /** The host synced its dirty log: what was written before is in the sync's answer. */
    void onSync() {
        if (writtenSinceSync != null) writtenSinceSync.clearAll();
    }

    /** A new migration (hop) begins: its destination has nothing yet. */
    void startHop() {
        sentClean.clearAll();
    }

    void onWrite(long index) {
        sentClean.clear(index);
        if (writtenSinceSync != null) writtenSinceSync.set(index);
    }

    void onWriteRange(long from, long to) {
        sentClean.clearRange(from, to);
        if (writtenSinceSync != null) writtenSinceSync.setRange(from, to);
    }

    void onSent(long from, long to) {
        long again = sentClean.nextSetBit(from, to);
        if (again < to) {
            violations.record(
                    Invariant.NO_NEEDLESS_RESEND,
                    "page " + layout.describeIndex(again)
                            + " was sent again although nothing wrote it since it was last sent");
        }
        sentClean.setRange(from, to);
        if (writtenSinceSync != null) writtenSinceSync.forEachRun(from, to, sentClean::clearRange);
    }

    /**
     * A page sent as a fill of what a free page holds, not read from the guest: when the guest has
     * written it since (content differs from the fill) the destination's copy is out of date at
     * once, as if written after the send.
     */
    void onFilled(long index, boolean current) {
        if (sentClean.get(index)) {
            violations.record(
                    Invariant.NO_NEEDLESS_RESEND,
                    "page " + layout.describeIndex(index)
                            + " was sent again although nothing wrote it since it was last sent");
        }
        if (current && (writtenSinceSync == null || !writtenSinceSync.get(index))) sentClean.set(index);
        else sentClean.clear(index);
    }
}
