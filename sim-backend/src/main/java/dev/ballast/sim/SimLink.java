package dev.ballast.sim;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.engine.PageLink;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;

/**
 * The simulated link: moves page contents from the source guest to the destination, charges the
 * bytes to the link and the copies to the migration thread, and fails where it is told to. It
 * tells the resend checker (invariant 3) what it sends.
 */
final class SimLink implements PageLink {
    private final SimGuest src;
    private final SimDestination dst;
    private final SimCosts costs;
    private final NoNeedlessResendChecker resend;
    private final int header;
    private final long failAfterPages;
    private final long failAtNs;
    private long pagesSent;
    private boolean dead;

    /**
     * @param failAfterPages fail once this many pages were sent (-1: never)
     * @param failAtNs       fail at the first call at or after this virtual time (-1: never)
     */
    SimLink(SimGuest src, SimDestination dst, SimCosts costs, NoNeedlessResendChecker resend, long failAfterPages, long failAtNs) {
        this.src = src;
        this.dst = dst;
        this.costs = costs;
        this.resend = resend;
        this.header = costs.profile.pageHeaderBytes();
        this.failAfterPages = failAfterPages;
        this.failAtNs = failAtNs;
    }

    private void check() throws LinkException {
        if (dead) throw new LinkException(FailureCause.PEER_CLOSED, "the link is down");
        boolean byPages = failAfterPages >= 0 && pagesSent >= failAfterPages;
        boolean byTime = failAtNs >= 0 && costs.nanoTime() >= failAtNs;
        if (byPages || byTime) {
            dead = true;
            throw new LinkException(FailureCause.INJECTED, "link failure injected after " + pagesSent + " pages");
        }
    }

    @Override
    public void open(RamLayout layout, int poisonByte, PageRanges missing) throws LinkException {
        check();
        if (!layout.blocks().equals(dst.layout.blocks())) {
            throw new LinkException(FailureCause.PROTOCOL, "the destination's RAM layout differs: " + dst.layout + " vs " + layout);
        }
        costs.wait(2.0 * costs.profile.linkLatencyNs());
        dst.poisonByte = poisonByte;
        for (RamBlock b : layout.blocks()) {
            long i = dst.received.nextClearBit(b.firstIndex(), b.endIndex());
            while (i < b.endIndex()) {
                long e = dst.received.nextSetBit(i, b.endIndex());
                missing.range(b.index(), i - b.firstIndex(), e - i);
                i = dst.received.nextClearBit(e, b.endIndex());
            }
        }
    }

    @Override
    public void sendPages(int block, long offset, long count) throws LinkException {
        check();
        System.arraycopy(src.content[block], (int) offset, dst.content[block], (int) offset, (int) count);
        long g = src.blocks[block].firstIndex() + offset;
        dst.received.setRange(g, g + count);
        resend.onSent(g, g + count);
        costs.cpu(count * costs.profile.copyNsPerPage());
        costs.bytes(count * (RamLayout.PAGE_SIZE + (long) header));
        pagesSent += count;
    }

    @Override
    public void sendFill(int block, long offset, long count, int fillByte) throws LinkException {
        check();
        int fill = PageContent.filled(fillByte);
        java.util.Arrays.fill(dst.content[block], (int) offset, (int) (offset + count), fill);
        long g = src.blocks[block].firstIndex() + offset;
        dst.received.setRange(g, g + count);
        if (fillByte == 0) {
            resend.onSent(g, g + count); // a zero page the engine found zero: its current content
        } else {
            int[] c = src.content[block];
            for (int i = 0; i < count; i++) resend.onFilled(g + i, c[(int) offset + i] == fill);
        }
        costs.bytes(header + 8L);
        pagesSent += count;
    }

    @Override
    public void sendBalloon(int block, long offset, long count, boolean ballooned) throws LinkException {
        check();
        long g = src.blocks[block].firstIndex() + offset;
        if (ballooned) dst.balloon.setRange(g, g + count);
        else dst.balloon.clearRange(g, g + count);
        costs.bytes(header + 16L);
    }

    @Override
    public void endIteration(int iteration) throws LinkException {
        check();
        costs.bytes(header);
    }

    @Override
    public void complete() throws LinkException {
        check();
        costs.wait(2.0 * costs.profile.linkLatencyNs());
        dst.started = true;
    }
}
