package dev.ballast.core.policy;

/**
 * Uses what free page reporting (and any other discard of the source's host) tells the host: a range the host
 * discarded reads zero from the discard on, and the guest, which reported it free, writes it before it relies on it
 * again; that write is in the dirty log. So a page still to be sent that the host discarded <em>after the latest
 * dirty-log sync</em> is not sent in this pass: if the guest has written it since the discard, the write was made
 * after that sync and the next sync reports it; if not, it is a free page, whose content invariant 1 does not
 * protect. The page's dirty log is left alone: a write before the discard may still be in it, and a write after it
 * certainly may (the guest runs on while the host's notice travels), so re-arming it would lose that write.
 *
 * <p>A discard tagged with an older sync count is ignored: the sync after it may have reported a write made after
 * the discard, and clearing the page's bit now would lose that write. Under page poisoning nothing is skipped (the
 * host keeps a poisoning guest's reported pages, and a free page must read as poison on the destination), nor in a
 * migration that may switch to postcopy (a skipped page is neither sent nor dirty: the destination's guest would
 * fault on it and the source would have nothing to send) unless {@code --postcopy-hints} lifts the rule as for hints.
 */
public class ReportPolicy implements MigrationPolicy {
    @Override
    public String name() {
        return "report";
    }

    @Override
    public void onZeroed(PolicyContext ctx, long syncs, long pfn, long pages) {
        if (fresh(ctx, syncs)) skipZeroed(ctx, pfn, pages);
    }

    /** Whether a discard the host did after {@code syncs} syncs came after the latest one. */
    public static boolean fresh(PolicyContext ctx, long syncs) {
        return syncs == ctx.syncs();
    }

    /** Takes the discarded range off the pages to send, split at block boundaries (the RAM part of it). */
    public static void skipZeroed(PolicyContext ctx, long pfn, long pages) {
        if (ctx.features().poisonByte() != 0) return;
        if (ctx.postcopy().enabled() && !ctx.postcopy().allowHints()) return;
        ctx.layout().splitPfnRange(pfn, pages, (block, offset, n) -> ctx.skipZeroed(block.index(), offset, n));
    }
}
