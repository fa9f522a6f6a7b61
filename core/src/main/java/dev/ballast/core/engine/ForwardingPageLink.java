package dev.ballast.core.engine;

import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamLayout;

/**
 * A {@link PageLink} that passes every call to another one: wrap a link and override what you
 * change (to gate, count or cut it, or to plant a bug in a test), as {@link ForwardingSourceGuest}
 * does for a guest.
 */
public class ForwardingPageLink implements PageLink {
    protected final PageLink delegate;

    public ForwardingPageLink(PageLink delegate) {
        this.delegate = delegate;
    }

    @Override
    public void open(RamLayout layout, int poisonByte, PageRanges missing) throws LinkException {
        delegate.open(layout, poisonByte, missing);
    }

    @Override
    public void sendPages(int block, long offset, long count) throws LinkException {
        delegate.sendPages(block, offset, count);
    }

    @Override
    public void sendFill(int block, long offset, long count, int fillByte) throws LinkException {
        delegate.sendFill(block, offset, count, fillByte);
    }

    @Override
    public void sendBalloon(int block, long offset, long count, boolean ballooned) throws LinkException {
        delegate.sendBalloon(block, offset, count, ballooned);
    }

    @Override
    public void endIteration(int iteration) throws LinkException {
        delegate.endIteration(iteration);
    }

    @Override
    public void complete() throws LinkException {
        delegate.complete();
    }

    @Override
    public void discard(int block, long offset, long count) throws LinkException {
        delegate.discard(block, offset, count);
    }

    @Override
    public long sendBalloonBitmap(PageBitmap balloon) throws LinkException {
        return delegate.sendBalloonBitmap(balloon);
    }

    @Override
    public void switchOver() throws LinkException {
        delegate.switchOver();
    }

    @Override
    public void pollRequests(PageRanges requests) throws LinkException {
        delegate.pollRequests(requests);
    }

    @Override
    public void recover(PageRanges missing) throws LinkException {
        delegate.recover(missing);
    }
}
