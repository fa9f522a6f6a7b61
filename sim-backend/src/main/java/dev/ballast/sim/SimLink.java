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
    private long failAfterPages;
    private long failAtNs;
    /** The postcopy destination, or null when the scenario does no postcopy. */
    private final PostcopyDestination postcopy;

    private final PageRanges deliver;
    private PageRanges requests;
    private long pagesSent;
    private boolean dead;

    /**
     * @param failAfterPages fail once this many pages were sent (-1: never)
     * @param failAtNs       fail at the first call at or after this virtual time (-1: never)
     */
    SimLink(
            SimGuest src,
            SimDestination dst,
            SimCosts costs,
            NoNeedlessResendChecker resend,
            long failAfterPages,
            long failAtNs) {
        this(src, dst, costs, resend, failAfterPages, failAtNs, null);
    }

    /** A link that can switch to postcopy onto {@code postcopy} (null: it cannot). */
    SimLink(
            SimGuest src,
            SimDestination dst,
            SimCosts costs,
            NoNeedlessResendChecker resend,
            long failAfterPages,
            long failAtNs,
            PostcopyDestination postcopy) {
        this.postcopy = postcopy;
        // Requests come back on the return path: they take none of the forward link's bandwidth.
        this.deliver = (block, offset, count) -> requests.range(block, offset, count);
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
            throw new LinkException(
                    FailureCause.PROTOCOL, "the destination's RAM layout differs: " + dst.layout + " vs " + layout);
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
        if (postcopy != null && postcopy.active()) {
            placePages(block, offset, count, -1);
            return;
        }
        System.arraycopy(src.sourceMemory[block], (int) offset, dst.content[block], (int) offset, (int) count);
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
        if (postcopy != null && postcopy.active()) {
            placePages(block, offset, count, fillByte);
            return;
        }
        int fill = PageContent.filled(fillByte);
        java.util.Arrays.fill(dst.content[block], (int) offset, (int) (offset + count), fill);
        long g = src.blocks[block].firstIndex() + offset;
        dst.received.setRange(g, g + count);
        if (fillByte == 0) {
            resend.onSent(g, g + count); // a zero page the engine found zero: its current content
        } else {
            int[] c = src.sourceMemory[block];
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
        if (postcopy != null && postcopy.active()) postcopy.end();
    }

    // ------------------------------------------------------------------ postcopy

    private PostcopyDestination postcopy() throws LinkException {
        if (postcopy == null)
            throw new LinkException(FailureCause.PROTOCOL, "this simulated link was made without postcopy");
        return postcopy;
    }

    /**
     * Postcopy: places pages one by one (fillByte -1: the source's data), each only if the
     * destination lacks it: a page placed twice is refused and reported.
     */
    private void placePages(int block, long offset, long count, int fillByte) {
        long g = src.blocks[block].firstIndex() + offset;
        int[] from = src.sourceMemory[block];
        int[] to = dst.content[block];
        int fill = fillByte < 0 ? 0 : PageContent.filled(fillByte);
        for (long i = 0; i < count; i++) {
            int o = (int) (offset + i);
            if (!postcopy.mayPlace(g + i)) continue;
            to[o] = fillByte < 0 ? from[o] : fill;
            if (fillByte > 0) resend.onFilled(g + i, from[o] == fill);
            else resend.onSent(g + i, g + i + 1);
            postcopy.placed(g + i);
        }
        if (fillByte < 0) {
            costs.cpu(count * costs.profile.copyNsPerPage());
            costs.bytes(count * (RamLayout.PAGE_SIZE + (long) header));
        } else {
            costs.bytes(header + 8L);
        }
        pagesSent += count;
    }

    @Override
    public void discard(int block, long offset, long count) throws LinkException {
        check();
        long g = src.blocks[block].firstIndex() + offset;
        postcopy().discard(g, g + count);
        costs.bytes(header + 16L);
    }

    @Override
    public long sendBalloonBitmap(dev.ballast.core.mem.PageBitmap balloon) throws LinkException {
        check();
        postcopy().balloonBitmap(balloon);
        long bytes = header + (balloon.size() + 7) / 8;
        costs.bytes(bytes);
        return bytes;
    }

    @Override
    public void switchOver() throws LinkException {
        check();
        PostcopyDestination p = postcopy();
        // The device state goes out and the destination acknowledges that its guest runs.
        costs.wait(2.0 * costs.profile.linkLatencyNs());
        p.start();
    }

    @Override
    public void pollRequests(PageRanges into) throws LinkException {
        check();
        requests = into;
        postcopy().deliverRequests(costs.nanoTime(), deliver);
    }

    @Override
    public void recover(PageRanges missing) throws LinkException {
        PostcopyDestination p = postcopy();
        if (!dead) throw new LinkException(FailureCause.PROTOCOL, "recovery asked of a link that did not fail");
        dead = false;
        // An injected failure happens once: the recovered link holds.
        failAfterPages = -1;
        failAtNs = -1;
        p.relinked();
        costs.wait(2.0 * costs.profile.linkLatencyNs());
        costs.bytes(header + (dst.layout.totalPages() + 7) / 8); // the destination's received bitmap
        for (RamBlock b : dst.layout.blocks()) {
            long i = dst.received.nextClearBit(b.firstIndex(), b.endIndex());
            while (i < b.endIndex()) {
                long e = dst.received.nextSetBit(i, b.endIndex());
                long s = i;
                // Pages of the balloon bitmap the destination places itself: not asked for again.
                while (s < e) {
                    long t = p.placesItself(s) ? s + 1 : s;
                    if (t > s) {
                        s = t;
                        continue;
                    }
                    long r = s + 1;
                    while (r < e && !p.placesItself(r)) r++;
                    missing.range(b.index(), s - b.firstIndex(), r - s);
                    s = r;
                }
                i = dst.received.nextClearBit(e, b.endIndex());
            }
        }
    }
}
