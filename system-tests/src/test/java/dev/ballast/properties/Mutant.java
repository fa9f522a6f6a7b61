package dev.ballast.properties;

import dev.ballast.core.engine.ForwardingPageLink;
import dev.ballast.core.engine.ForwardingSourceGuest;
import dev.ballast.core.engine.GuestRequests;
import dev.ballast.core.engine.LinkException;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.engine.SourceGuest;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.MigrationPolicy;
import dev.ballast.core.wire.PageSink;
import dev.ballast.sim.SimRun;
import java.nio.channels.ReadableByteChannel;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * The seeds' bugs, each planted through a public seam: a policy subclass, a guest subclass, a
 * wrapper of the guest as the engine sees it, or a wrapper of the wire reader's input or sink.
 * {@link #NONE} is the product as it is. A property reads {@link Mutants#active()}; only
 * {@link MutantKillTest} sets it.
 */
public enum Mutant {
    NONE(0, "the product as it is", "-"),

    STALE_HINTS(1, "hints applied after a dirty-log sync without stopping hinting first", "HintPolicy subclass") {
        @Override
        SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
            return withPolicy(h, MutantPolicies.forHint(c, MutantPolicies.NeverStopsHinting::new));
        }
    },
    BALLOON_SKIP_WITHOUT_TELL_HOST(
            2,
            "balloon skip left on although the guest does not tell the host before reusing deflated pages",
            "BalloonPolicy subclass") {
        @Override
        SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
            return withPolicy(h, MutantPolicies.balloonSkipAlways(c));
        }
    },
    HINT_ACROSS_BLOCKS_ON_ONE_BLOCK(
            3, "a hint range that crosses a RAM block boundary applied to one block", "HintPolicy subclass") {
        @Override
        SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
            return withPolicy(h, MutantPolicies.forHint(c, MutantPolicies.OneBlockHints::new));
        }
    },
    POISON_IGNORED(4, "free pages skipped while the guest poisons them with a non-zero value", "HintPolicy subclass") {
        @Override
        SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
            return withPolicy(h, MutantPolicies.forHint(c, MutantPolicies.PoisonIgnored::new));
        }
    },
    BALLOON_BITMAP_UNCHECKED(
            5, "the balloon bitmap loaded without bounds checks", "wrapper of the reader's input channel") {
        @Override
        ReadableByteChannel wireInput(ReadableByteChannel in, GuardedSink sink) {
            return new WireMutants.EagerBalloonLoader(in, sink);
        }

        @Override
        PageSink wireSink(GuardedSink sink) {
            return new WireMutants.NoBalloonSink(sink);
        }
    },
    BITMAP_IN_HOST_ORDER(
            6,
            "bitmaps on the wire indexed by the host's block order, the destination ordering blocks differently",
            "wrapper of the reader's PageSink") {
        @Override
        PageSink wireSink(GuardedSink sink) {
            return new WireMutants.HostOrderBalloonSink(sink);
        }
    },
    OLD_COMMAND_ID_ACCEPTED(7, "hints of an old command id accepted", "HintPolicy subclass") {
        @Override
        SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
            return withPolicy(h, MutantPolicies.forHint(c, MutantPolicies.OldIdsAccepted::new));
        }
    },
    NO_FINAL_SYNC(8, "stop-and-copy without the final dirty-log sync", "SourceGuest wrapper") {
        @Override
        SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
            return withSource(h, g -> new ForwardingSourceGuest(g) {
                @Override
                public void syncDirtyLog(PageRanges dirty) {
                    if (running()) super.syncDirtyLog(dirty);
                }
            });
        }
    },
    HINTED_PAGES_STAY_CLEAN(9, "hinted pages treated as clean for the rest of the migration", "SourceGuest wrapper") {
        @Override
        SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
            return withSource(h, HintedStayClean::new);
        }
    },
    FAILURE_CONSUMES_DIRTY_LOG(10, "a failed migration that consumes the dirty log", "SourceGuest wrapper") {
        @Override
        SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
            return withSource(h, g -> new ForwardingSourceGuest(g) {
                @Override
                public void restoreDirty(int block, long offset, long count) {}
            });
        }
    },
    HOST_WRITES_UNTRACKED(11, "host-side writes to guest memory (ring replies) not marked dirty", "SimGuest subclass") {
        @Override
        SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
            return h.withGuest(s -> new CaseGuest(s, c.guest()) {
                @Override
                protected void markHostDirty(long index) {}
            });
        }
    },
    COMMAND_ID_NEVER_WRAPS(
            12, "the command id not wrapped back to 0x80000000 after 0xFFFFFFFF", "HintPolicy subclass") {
        @Override
        SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
            return withPolicy(h, MutantPolicies.forHint(c, MutantPolicies.IdNeverWraps::new));
        }
    },
    STALE_PAGE_NOT_DISCARDED(
            13,
            "postcopy: a page written since it was sent left out of the switch-over's discards",
            "PageLink wrapper") {
        @Override
        SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
            return h.withLink(l -> new ForwardingPageLink(l) {
                private boolean dropped;

                @Override
                public void discard(int block, long offset, long count) throws LinkException {
                    if (!dropped) { // the first stale range stays on the destination
                        dropped = true;
                        return;
                    }
                    super.discard(block, offset, count);
                }
            });
        }
    },
    RECOVERY_RESENDS_HELD_PAGES(
            14, "postcopy recovery that resends pages the destination holds (single send broken)", "PageLink wrapper") {
        @Override
        SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
            RamLayout layout = c.layout().ramLayout();
            return h.withLink(l -> new ForwardingPageLink(l) {
                @Override
                public void recover(PageRanges missing) throws LinkException {
                    super.recover((block, offset, count) -> {});
                    for (RamBlock b : layout.blocks())
                        missing.range(b.index(), 0, b.pages()); // "everything is missing"
                }
            });
        }
    },
    DISCARDS_USED_IN_POSTCOPY(
            15,
            "the host's discards used in a migration that switches to postcopy: skipped pages fault unserved",
            "ReportPolicy subclass") {
        @Override
        SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
            return withPolicy(h, MutantPolicies.discardsUsedInPostcopy(c));
        }
    };

    final int number;
    final String bug;
    final String seam;

    Mutant(int number, String bug, String seam) {
        this.number = number;
        this.bug = bug;
        this.seam = seam;
    }

    /** The simulator's hooks with this mutant planted (the product's hooks for mutants of other parts). */
    SimRun.Hooks plant(SimRun.Hooks h, SimCase c) {
        return h;
    }

    /** The reader's input with this mutant planted. */
    ReadableByteChannel wireInput(ReadableByteChannel in, GuardedSink sink) {
        return in;
    }

    /** The reader's sink with this mutant planted. */
    PageSink wireSink(GuardedSink sink) {
        return sink;
    }

    private static SimRun.Hooks withPolicy(SimRun.Hooks h, Supplier<MigrationPolicy> p) {
        return p == null ? h : h.withPolicy(p);
    }

    private static SimRun.Hooks withSource(SimRun.Hooks h, UnaryOperator<SourceGuest> wrap) {
        UnaryOperator<SourceGuest> inner = h.source();
        return h.withSource(inner == null ? wrap : g -> wrap.apply(inner.apply(g)));
    }

    /**
     * Mutant 9: remembers every page the guest hinted in this migration and drops it from every
     * later dirty-log report, as if a hinted page could not become dirty again.
     */
    static final class HintedStayClean extends ForwardingSourceGuest {
        private final RamLayout layout;
        private final PageBitmap hinted;

        HintedStayClean(SourceGuest g) {
            super(g);
            this.layout = g.layout();
            this.hinted = new PageBitmap(layout.totalPages());
        }

        @Override
        public int drainRequests(GuestRequests into, int max) {
            return super.drainRequests(
                    (type, a, b, c) -> {
                        if (type == EventType.HINT && c > 0 && b >= 0) {
                            layout.splitPfnRange(
                                    b,
                                    c,
                                    (blk, off, n) ->
                                            hinted.setRange(blk.firstIndex() + off, blk.firstIndex() + off + n));
                        }
                        into.request(type, a, b, c);
                    },
                    max);
        }

        @Override
        public void syncDirtyLog(PageRanges dirty) {
            super.syncDirtyLog((block, offset, count) -> {
                long first = layout.block(block).firstIndex();
                long i = first + offset;
                long end = i + count;
                while (i < end) {
                    long s = hinted.nextClearBit(i, end);
                    if (s >= end) break;
                    long e = hinted.nextSetBit(s, end);
                    dirty.range(block, s - first, e - s);
                    i = e;
                }
            });
        }
    }
}
