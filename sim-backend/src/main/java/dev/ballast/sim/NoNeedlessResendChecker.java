package dev.ballast.sim;

import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamLayout;

/**
 * Invariant 3, no needless resend: remembers which pages were sent and not written since. Sending
 * such a page again is a violation. The guest reports every write to it, the link every send; a
 * new hop starts with nothing sent.
 */
final class NoNeedlessResendChecker {
    private final PageBitmap sentClean;
    private final RamLayout layout;
    private final Violations violations;

    NoNeedlessResendChecker(RamLayout layout, Violations violations) {
        this.layout = layout;
        this.sentClean = new PageBitmap(layout.totalPages());
        this.violations = violations;
    }

    /** A new migration (hop) begins: its destination has nothing yet. */
    void startHop() {
        sentClean.clearAll();
    }

    void onWrite(long index) {
        sentClean.clear(index);
    }

    void onWriteRange(long from, long to) {
        sentClean.clearRange(from, to);
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
        if (current) sentClean.set(index);
        else sentClean.clear(index);
    }
}
