package dev.ballast.core.policy;

import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.RejectReason;

/**
 * Free page hints, as QEMU does them since 4.0. After every dirty-log sync while the guest runs,
 * a new request (command id) goes out and the guest reports free pages, holding them until the
 * request is done. Hinting stops before every sync, so no hint produced before a sync is applied
 * after it: a hint answers only the request published after the most recent sync. When the guest
 * is paused for stop-and-copy the request ends (done) and the guest may use the pages again.
 *
 * <p>A hint clears pages from the migration bitmap; a page written after its hint is reported by
 * the next sync and sent. A hint range that crosses from one RAM block into the next is split;
 * the part that is not RAM is rejected. Under page poisoning the hinted pages are sent as short
 * poison records instead of being skipped outright.
 */
public class HintPolicy implements MigrationPolicy {
    /** The id of the request the guest is answering now, or -1 between requests. */
    protected long liveId = -1;
    /** The last id issued, or -1 before the first. */
    protected long lastId = -1;
    /** Whether a request was issued and not yet done. */
    protected boolean requestOpen;

    @Override
    public String name() {
        return "hint";
    }

    @Override
    public void onSetup(PolicyContext ctx) {
        if (ctx.features().freePageHint() && hintsAllowed(ctx)) startRequest(ctx);
    }

    /**
     * QEMU's rule since 2021: no free page hinting while the postcopy capability is on (a hinted
     * page is neither sent nor dirty, so in postcopy the destination's guest faults on it and the
     * source has nothing to send). {@code --postcopy-hints} lifts it.
     */
    protected boolean hintsAllowed(PolicyContext ctx) {
        return !ctx.postcopy().enabled() || ctx.postcopy().allowHints();
    }

    @Override
    public void beforeSync(PolicyContext ctx) {
        if (liveId >= 0) {
            ctx.hintCommand(CommandIds.STOP);
            liveId = -1;
        }
    }

    @Override
    public void afterSync(PolicyContext ctx) {
        if (ctx.guestRunning() && ctx.features().freePageHint() && hintsAllowed(ctx)) startRequest(ctx);
    }

    /** Postcopy: the request ends before the final sync, as at stop-and-copy. */
    @Override
    public void onSwitchOver(PolicyContext ctx) {
        endRequest(ctx);
    }

    @Override
    public void onStopAndCopy(PolicyContext ctx) {
        endRequest(ctx);
    }

    @Override
    public void onEnd(PolicyContext ctx, Phase outcome) {
        endRequest(ctx);
    }

    @Override
    public void onHint(PolicyContext ctx, long commandId, long pfn, long pages) {
        if (liveId < 0 || commandId != liveId) {
            ctx.reject(RejectReason.STALE_COMMAND, pfn, pages);
            return;
        }
        applyHint(ctx, pfn, pages);
    }

    /**
     * Clears a hinted range, split at block boundaries; rejects what is not RAM. The guest holds
     * hinted pages while the request is live (it is, or the hint would have been rejected).
     */
    protected void applyHint(PolicyContext ctx, long pfn, long pages) {
        int poison = ctx.features().poisonByte();
        long outside = ctx.layout()
                .splitPfnRange(pfn, pages, (block, offset, n) -> ctx.skipHeldFree(block.index(), offset, n, poison));
        if (outside > 0) ctx.reject(RejectReason.OUT_OF_RANGE, pfn, pages);
    }

    /** The id after {@code previous}; the first request uses the run's first id. */
    protected long nextCommandId(PolicyContext ctx, long previous) {
        return previous < 0 ? ctx.firstCommandId() : CommandIds.next(previous);
    }

    protected void startRequest(PolicyContext ctx) {
        long id = nextCommandId(ctx, lastId);
        lastId = id;
        liveId = id;
        requestOpen = true;
        ctx.hintCommand(id);
    }

    protected void endRequest(PolicyContext ctx) {
        liveId = -1;
        if (requestOpen) {
            requestOpen = false;
            ctx.hintCommand(CommandIds.DONE);
        }
    }
}
