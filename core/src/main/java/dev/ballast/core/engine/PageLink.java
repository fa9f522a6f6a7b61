package dev.ballast.core.engine;

import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamLayout;

/**
 * The way to the destination. Implementations move page contents from the source (they know
 * where it is) and may fail at any call with a {@link LinkException}. Pages are named by (block,
 * offset); an implementation that crosses a wire names blocks by name.
 */
public interface PageLink {
    /**
     * Opens the migration: the destination learns the layout, refuses one that differs, and
     * reports the pages it does not hold yet (a fresh destination: all; a destination resuming
     * after a failure: what it never received).
     */
    void open(RamLayout layout, int poisonByte, PageRanges missing) throws LinkException;

    /** Sends pages with their contents, as they are now on the source. */
    void sendPages(int block, long offset, long count) throws LinkException;

    /** Sends pages as a short record: every byte of each page equals {@code fillByte}. */
    void sendFill(int block, long offset, long count, int fillByte) throws LinkException;

    /** Tells the destination which pages are in the balloon ({@code ballooned}) or no longer are. */
    void sendBalloon(int block, long offset, long count, boolean ballooned) throws LinkException;

    /** Marks the end of a pass over the bitmap. */
    void endIteration(int iteration) throws LinkException;

    /** Ends the migration: the destination has everything, starts the guest and acknowledges. */
    void complete() throws LinkException;

    // ------------------------------------------------------------------ postcopy (a link that cannot refuses)

    /**
     * Postcopy, at the switch-over: these pages, which the destination holds, were written since
     * they were sent. The destination drops them, so its guest faults on them and they are sent again.
     */
    default void discard(int block, long offset, long count) throws LinkException {
        throw new LinkException(dev.ballast.core.event.FailureCause.PROTOCOL, "this link does not do postcopy");
    }

    /**
     * Postcopy: the whole balloon bitmap goes to the destination at the switch-over; a page it
     * lacks that is in the balloon it places as zero itself rather than ask for it. Returns the
     * bytes it took on the wire.
     */
    default long sendBalloonBitmap(PageBitmap balloon) throws LinkException {
        throw new LinkException(dev.ballast.core.event.FailureCause.PROTOCOL, "this link does not do postcopy");
    }

    /** Postcopy: the device state goes out and the guest resumes on the destination, missing pages and all. */
    default void switchOver() throws LinkException {
        throw new LinkException(dev.ballast.core.event.FailureCause.PROTOCOL, "this link does not do postcopy");
    }

    /** Postcopy: hands the destination's page requests that have arrived to {@code requests}, oldest first. */
    default void pollRequests(PageRanges requests) throws LinkException {}

    /**
     * Postcopy recovery after a link failure (as QEMU's {@code migrate-recover}): a new connection;
     * the destination, which kept its guest running, reports the pages it does not hold.
     */
    default void recover(PageRanges missing) throws LinkException {
        throw new LinkException(
                dev.ballast.core.event.FailureCause.PROTOCOL, "this link cannot recover a postcopy migration");
    }
}
