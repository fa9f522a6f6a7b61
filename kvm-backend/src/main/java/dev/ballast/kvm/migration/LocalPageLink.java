package dev.ballast.kvm.migration;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.engine.PageLink;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.kvm.guest.GuestAbi;

/**
 * The engine's link to a {@link Destination}: reads page contents from the source guest's memory
 * at the moment they are sent and names pages by block name. It fails where it is told to (an
 * injected failure after a number of pages or at a time), and once failed stays down.
 */
public final class LocalPageLink implements PageLink {
    private final KvmGuest source;
    private final Destination dest;
    private final long failAfterPages;
    private final long failAtNs;
    private long pagesSent;
    private boolean dead;

    /**
     * @param failAfterPages fail once this many pages were sent (-1: never)
     * @param failAtNs       fail at the first call at or after this {@link System#nanoTime()} (-1: never)
     */
    public LocalPageLink(KvmGuest source, Destination dest, long failAfterPages, long failAtNs) {
        this.source = source;
        this.dest = dest;
        this.failAfterPages = failAfterPages;
        this.failAtNs = failAtNs;
    }

    private void check() throws LinkException {
        if (dead) {
            throw new LinkException(FailureCause.PEER_CLOSED, "the link is down");
        }
        if ((failAfterPages >= 0 && pagesSent >= failAfterPages) || (failAtNs >= 0 && System.nanoTime() >= failAtNs)) {
            dead = true;
            throw new LinkException(FailureCause.INJECTED, "link failure injected after " + pagesSent + " pages");
        }
    }

    private String name(int block) {
        return source.layout().block(block).name();
    }

    @Override
    public void open(RamLayout layout, int poisonByte, PageRanges missing) throws LinkException {
        check();
        dest.open(layout, poisonByte, (name, offset, count) -> missing.range(layout.blockNamed(name).index(), offset, count));
    }

    @Override
    public void sendPages(int block, long offset, long count) throws LinkException {
        check();
        dest.pages(name(block), offset, count,
                source.blockMemory(block).asSlice(offset * GuestAbi.PAGE_SIZE, count * GuestAbi.PAGE_SIZE));
        pagesSent += count;
    }

    @Override
    public void sendFill(int block, long offset, long count, int fillByte) throws LinkException {
        check();
        dest.fill(name(block), offset, count, fillByte);
        pagesSent += count;
    }

    @Override
    public void sendBalloon(int block, long offset, long count, boolean ballooned) throws LinkException {
        check();
        dest.balloon(name(block), offset, count, ballooned);
    }

    @Override
    public void endIteration(int iteration) throws LinkException {
        check();
        dest.endIteration(iteration);
    }

    @Override
    public void complete() throws LinkException {
        check();
        // The engine paused the source for stop-and-copy; its devices finished what the guest asked.
        dest.complete(source.machine().memory().system().host(), source.machine().saveState());
    }
}
