package dev.ballast.properties;

import dev.ballast.core.event.RejectReason;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.BalloonPolicy;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.policy.HintBalloonPolicy;
import dev.ballast.core.policy.HintPolicy;
import dev.ballast.core.policy.HintReportPolicy;
import dev.ballast.core.policy.MigrationPolicy;
import dev.ballast.core.policy.PolicyContext;
import dev.ballast.core.policy.ReportPolicy;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The mutants that are policies: subclasses of the built-in ones, each overriding one method the
 * way a user's own policy could. {@code hint+balloon} cases get the same bug with balloon skip on.
 */
final class MutantPolicies {
    private MutantPolicies() {}

    /** A hint policy mutant that is also a balloon policy when the case's policy is {@code hint+balloon}. */
    abstract static class HintMutant extends HintPolicy {
        final boolean balloon;

        HintMutant(boolean balloon) {
            this.balloon = balloon;
        }

        @Override
        public String name() {
            return balloon ? "hint+balloon" : "hint";
        }

        @Override
        public boolean skipBalloon(PolicyContext ctx) {
            return balloon && ctx.features().mustTellHost();
        }
    }

    /** The mutant for the case's hint policy, or null (the built-in policy) when the case runs another. */
    static Supplier<MigrationPolicy> forHint(SimCase c, Function<Boolean, HintMutant> make) {
        return switch (c.policy()) {
            case "hint" -> () -> make.apply(false);
            case "hint+balloon" -> () -> make.apply(true);
            default -> null;
        };
    }

    /** 1: hinting is never stopped before a sync and no new request follows it: hints from before a sync clear pages after it. */
    static final class NeverStopsHinting extends HintMutant {
        NeverStopsHinting(boolean b) {
            super(b);
        }

        @Override
        public void beforeSync(PolicyContext ctx) {}

        @Override
        public void afterSync(PolicyContext ctx) {}
    }

    /** 15: the report policies' rule without its postcopy clause: discarded pages skipped although postcopy may follow. */
    static Supplier<MigrationPolicy> discardsUsedInPostcopy(SimCase c) {
        return switch (c.policy()) {
            case "report" ->
                () -> new ReportPolicy() {
                    @Override
                    public void onZeroed(PolicyContext ctx, long syncs, long pfn, long pages) {
                        skipEvenInPostcopy(ctx, syncs, pfn, pages);
                    }
                };
            case "hint+report" ->
                () -> new HintReportPolicy() {
                    @Override
                    public void onZeroed(PolicyContext ctx, long syncs, long pfn, long pages) {
                        skipEvenInPostcopy(ctx, syncs, pfn, pages);
                    }
                };
            default -> null;
        };
    }

    private static void skipEvenInPostcopy(PolicyContext ctx, long syncs, long pfn, long pages) {
        if (!ReportPolicy.fresh(ctx, syncs) || ctx.features().poisonByte() != 0) return;
        ctx.layout().splitPfnRange(pfn, pages, (block, offset, n) -> ctx.skipZeroed(block.index(), offset, n));
    }

    /** 2: balloon skip on whatever the guest promised about MUST_TELL_HOST. */
    static Supplier<MigrationPolicy> balloonSkipAlways(SimCase c) {
        return switch (c.policy()) {
            case "balloon" ->
                () -> new BalloonPolicy() {
                    @Override
                    public boolean skipBalloon(PolicyContext ctx) {
                        return true;
                    }
                };
            case "hint+balloon" ->
                () -> new HintBalloonPolicy() {
                    @Override
                    public boolean skipBalloon(PolicyContext ctx) {
                        return true;
                    }
                };
            default -> null;
        };
    }

    /**
     * 3: a hint range that crosses a block boundary applied to one block: it is cleared from its
     * first page on as one run of host page indexes (as over one flat bitmap of the host's RAM),
     * so its tail lands on whatever block the host lists next, not on the block that follows in
     * guest-physical memory.
     */
    static final class OneBlockHints extends HintMutant {
        OneBlockHints(boolean b) {
            super(b);
        }

        @Override
        protected void applyHint(PolicyContext ctx, long pfn, long pages) {
            RamLayout l = ctx.layout();
            long first = l.indexOfPfn(pfn);
            if (first < 0) {
                ctx.reject(RejectReason.OUT_OF_RANGE, pfn, pages);
                return;
            }
            long end = Math.min(l.totalPages(), first + pages);
            int poison = ctx.features().poisonByte();
            for (long i = first; i < end; ) {
                RamBlock b = l.blockOfIndex(i);
                long n = Math.min(end, b.endIndex()) - i;
                ctx.skipFree(b.index(), i - b.firstIndex(), n, poison);
                i += n;
            }
        }
    }

    /** 4: hinted free pages skipped outright although the guest poisons free pages. */
    static final class PoisonIgnored extends HintMutant {
        PoisonIgnored(boolean b) {
            super(b);
        }

        @Override
        protected void applyHint(PolicyContext ctx, long pfn, long pages) {
            long outside = ctx.layout().splitPfnRange(pfn, pages, (b, off, n) -> ctx.skipFree(b.index(), off, n, 0));
            if (outside > 0) ctx.reject(RejectReason.OUT_OF_RANGE, pfn, pages);
        }
    }

    /** 7: hints of any request id accepted, old ones included. */
    static final class OldIdsAccepted extends HintMutant {
        OldIdsAccepted(boolean b) {
            super(b);
        }

        @Override
        public void onHint(PolicyContext ctx, long commandId, long pfn, long pages) {
            if (!CommandIds.isRequest(commandId)) {
                ctx.reject(RejectReason.STALE_COMMAND, pfn, pages);
                return;
            }
            applyHint(ctx, pfn, pages);
        }
    }

    /** 12: the command id counts on past 0xFFFFFFFF instead of wrapping to 0x80000000 (on the wire: 0 = stop, 1 = done). */
    static final class IdNeverWraps extends HintMutant {
        IdNeverWraps(boolean b) {
            super(b);
        }

        @Override
        protected long nextCommandId(PolicyContext ctx, long previous) {
            return previous < 0 ? ctx.firstCommandId() : previous + 1;
        }
    }
}
