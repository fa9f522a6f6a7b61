package dev.ballast.properties;

import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.sim.SimGuest;

/**
 * The simulated guest of a {@link SimCase}: the built-in guest with the case's hint driver (block
 * order and speed) and, when the case asks for it, boundary hints: besides the built-in driver's
 * aligned blocks, the free pages at the seam of two RAM blocks that are adjacent in guest-physical
 * memory are reported as one range, the end of the lower block and the start of the upper one. A
 * guest sees guest-physical memory, not the host's blocks, so such a hint is legal and the host
 * must split it (docs/policies.md, hint). Not a bug: a guest model that properties over hint
 * ranges need. Not final: a mutant overrides how the host marks its own writes.
 */
class CaseGuest extends SimGuest {
    /** At most this many pages on each side of a seam. */
    private static final long MAX_SIDE = 4096;

    private final boolean boundaryHints;

    CaseGuest(SimGuest.Setup setup, SimCase.Guest g) {
        super(setup.withHintDriver(g.hintOrder(), g.hintBlocksPerSec()));
        // the boundary ranges go back to the free lists as they are, unpoisoned: a host that discards hinted pages
        // would break a poisoning guest's poison there by design (Linux's driver frees through the allocator)
        this.boundaryHints = g.boundaryHints()
                && !(setup.kernel().discardHinted() && setup.features().poisonByte() != 0);
    }

    @Override
    public void hintCommand(long id) {
        super.hintCommand(id);
        if (!boundaryHints || !CommandIds.isRequest(id)) return;
        for (RamBlock lower : layout().blocks()) {
            for (RamBlock upper : layout().blocks()) {
                if (lower.endPfn() != upper.firstPfn()) continue;
                long below = 0;
                while (below < MAX_SIDE && below < lower.pages() && isFree(lower.endIndex() - 1 - below)) below++;
                long above = 0;
                while (above < MAX_SIDE && above < upper.pages() && isFree(upper.firstIndex() + above)) above++;
                if (below > 0 && above > 0) reportFreeRange(lower.endPfn() - below, below + above);
            }
        }
    }
}
