package dev.ballast.properties;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.engine.PageLink;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamLayout;

/** A {@link PageLink} that hands every call to another: mutants override the call they break. */
class ForwardingPageLink implements PageLink {
    private final PageLink l;

    ForwardingPageLink(PageLink l) {
        this.l = l;
    }

    @Override
    public void open(RamLayout layout, int poisonByte, PageRanges missing) throws LinkException {
        l.open(layout, poisonByte, missing);
    }

    @Override
    public void sendPages(int block, long offset, long count) throws LinkException {
        l.sendPages(block, offset, count);
    }

    @Override
    public void sendFill(int block, long offset, long count, int fillByte) throws LinkException {
        l.sendFill(block, offset, count, fillByte);
    }

    @Override
    public void sendBalloon(int block, long offset, long count, boolean ballooned) throws LinkException {
        l.sendBalloon(block, offset, count, ballooned);
    }

    @Override
    public void endIteration(int iteration) throws LinkException {
        l.endIteration(iteration);
    }

    @Override
    public void complete() throws LinkException {
        l.complete();
    }

    @Override
    public void discard(int block, long offset, long count) throws LinkException {
        l.discard(block, offset, count);
    }

    @Override
    public long sendBalloonBitmap(PageBitmap balloon) throws LinkException {
        return l.sendBalloonBitmap(balloon);
    }

    @Override
    public void switchOver() throws LinkException {
        l.switchOver();
    }

    @Override
    public void pollRequests(PageRanges requests) throws LinkException {
        l.pollRequests(requests);
    }

    @Override
    public void recover(PageRanges missing) throws LinkException {
        l.recover(missing);
    }
}
