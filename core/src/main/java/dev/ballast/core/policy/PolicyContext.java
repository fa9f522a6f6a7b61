package dev.ballast.core.policy;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.RejectReason;
import dev.ballast.core.mem.RamLayout;

/** What a policy may see and do. Implemented by the engine. */
public interface PolicyContext {
    RamLayout layout();

    GuestFeatures features();

    Phase phase();

    /** Passes over the bitmap begun so far (the bulk stage is pass 1). */
    int iteration();

    /** Dirty-log syncs done so far. */
    long syncs();

    boolean guestRunning();

    /**
     * The first command id this migration may use (in [0x80000000, 0xFFFFFFFF]): the one after the
     * device's last, or the run's first for a guest whose device never issued one.
     */
    long firstCommandId();

    /** Sends a command to the guest's free page hint device (a new id, {@link CommandIds#STOP} or {@link CommandIds#DONE}). */
    void hintCommand(long commandId);

    /** Asks the guest for a whole free page bitmap. */
    void requestFreeBitmap(long commandId);

    /**
     * The guest says these pages (inside one block) are free: they leave the migration bitmap.
     * When {@code poisonByte} is not zero they must still read as poison on the destination, so
     * they are sent as short fill records instead of with their data. Returns the pages that
     * were still to be sent.
     */
    long skipFree(int block, long offset, long pages, int poisonByte);

    /**
     * As {@link #skipFree}, for pages the guest holds until the request is done (free page hints):
     * nothing can have written them since the guest reported them, so a dirty bit they carry is
     * from before (the guest's own freeing, which under poisoning writes the page) and is dropped
     * now, rather than sending them again at the next sync.
     */
    long skipHeldFree(int block, long offset, long pages, int poisonByte);

    /**
     * Pages (inside one block) the host discarded after the latest dirty-log sync: they leave the migration bitmap,
     * and their dirty log is left as it is (a write since the discard is in it, and goes at the next sync). Returns
     * the pages that were still to be sent.
     */
    default long skipZeroed(int block, long offset, long pages) {
        throw new UnsupportedOperationException("this context cannot skip discarded pages");
    }

    /** When the migration switches to postcopy, if it does ({@link dev.ballast.core.engine.Postcopy#OFF}: never). */
    default dev.ballast.core.engine.Postcopy postcopy() {
        return dev.ballast.core.engine.Postcopy.OFF;
    }

    /** Postcopy, at the switch-over: sends the whole balloon bitmap to the destination (in the downtime). */
    default void sendBalloonBitmap() {
        throw new UnsupportedOperationException("this context cannot send the balloon bitmap");
    }

    /** Rejects and counts a guest request. */
    void reject(RejectReason reason, long pfn, long pages);
}
