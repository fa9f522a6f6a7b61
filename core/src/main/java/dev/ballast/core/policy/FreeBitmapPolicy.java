package dev.ballast.core.policy;

import dev.ballast.core.event.RejectReason;

/**
 * The earlier design: at the start of the bulk stage the guest sends a whole free page bitmap,
 * once, and the host clears those pages from the migration bitmap. The guest does not hold the
 * pages, so the bitmap is only good until the next dirty-log sync: a bitmap (or the rest of one)
 * that arrives after a sync is stale and rejected. Not asked for when the migration may switch to
 * postcopy (unless {@code --postcopy-hints}), for the reason {@link HintPolicy} gives.
 */
public class FreeBitmapPolicy implements MigrationPolicy {
    protected long liveId = -1;

    @Override
    public String name() {
        return "bitmap";
    }

    @Override
    public void onSetup(PolicyContext ctx) {
        if (!ctx.features().freeBitmap()) return;
        // As free page hints: a page the bitmap skips is neither sent nor dirty, so in postcopy the
        // source would have nothing to send when the destination's guest takes it back.
        if (ctx.postcopy().enabled() && !ctx.postcopy().allowHints()) return;
        liveId = ctx.firstCommandId();
        ctx.requestFreeBitmap(liveId);
    }

    @Override
    public void beforeSync(PolicyContext ctx) {
        liveId = -1;
    }

    @Override
    public void onFreeBitmap(PolicyContext ctx, long commandId, long pfn, long pages) {
        if (liveId < 0 || commandId != liveId) {
            ctx.reject(RejectReason.STALE_COMMAND, pfn, pages);
            return;
        }
        int poison = ctx.features().poisonByte();
        long outside = ctx.layout()
                .splitPfnRange(pfn, pages, (block, offset, n) -> ctx.skipFree(block.index(), offset, n, poison));
        if (outside > 0) ctx.reject(RejectReason.OUT_OF_RANGE, pfn, pages);
    }

    @Override
    public void onFreeBitmapEnd(PolicyContext ctx, long commandId) {
        if (commandId == liveId) liveId = -1;
    }
}
