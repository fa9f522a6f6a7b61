package dev.ballast.core.engine;

import dev.ballast.core.mem.RamLayout;

/**
 * The source guest as the engine sees it, whatever runs it (the simulator, a KVM VM, or a replay
 * of a journal). Every answer that flows back to the engine through this interface is an input
 * the engine journals; a replay answers the same questions from the journal.
 */
public interface SourceGuest {
    RamLayout layout();

    /** What the guest and its devices negotiated. */
    GuestFeatures features();

    /** Starts tracking writes by every writer: the guest's own and the host's (rings, device replies). */
    void startDirtyLog();

    /**
     * Reports every page written since the previous sync (or since {@link #startDirtyLog()}),
     * by the guest or by the host, as ranges, and starts a new tracking period.
     */
    void syncDirtyLog(PageRanges dirty);

    /**
     * Re-arms tracking for these pages just before they are read for sending (like
     * {@code KVM_CLEAR_DIRTY_LOG}): a write after this call is reported by the next sync, a
     * write before it is in the content that is about to be sent.
     */
    void clearDirty(int block, long offset, long count);

    /**
     * Gives pages back to the dirty log: a migration that fails or is cancelled returns what it
     * had taken from the log but not yet sent, so that tracking stays intact.
     */
    void restoreDirty(int block, long offset, long count);

    void stopDirtyLog();

    /**
     * Classifies the pages from {@code offset}, at most {@code max} (all in one block): returns
     * n &gt; 0 if the first n pages are all zero, or -n if the first n pages are not zero.
     */
    long classify(int block, long offset, long max);

    void pause();

    void resume();

    boolean running();

    /**
     * The last request id the free page hint device issued, in this migration or any before it
     * (-1 if none): the device's state, which moves with the guest. A new migration goes on from
     * it, so a report the guest made for an earlier migration can never carry a live id.
     */
    default long lastCommandId() {
        return -1;
    }

    /** Sends a command to the free page hint device: a new command id, {@code 0} stop, {@code 1} done. */
    void hintCommand(long commandId);

    /** Asks the guest for a whole free page bitmap, answering {@code commandId}. */
    void requestFreeBitmap(long commandId);

    /** Reports the pages that are in the balloon now, as PFN ranges (called once, at setup). */
    void balloonState(GuestRequests ballooned);

    /** Moves at most {@code max} queued guest requests into {@code into}, oldest first; returns how many. */
    int drainRequests(GuestRequests into, int max);
}
