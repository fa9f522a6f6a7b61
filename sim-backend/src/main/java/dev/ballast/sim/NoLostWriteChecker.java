package dev.ballast.sim;

import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.RamLayout;

/**
 * Invariant 1, no lost write: at the end of a hop, every page the guest uses (not free, not in the
 * balloon, not held by the hint driver) holds on the destination what it holds on the source. The
 * pages the host's devices write are {@link EveryWriterTrackedChecker}'s.
 */
final class NoLostWriteChecker {
    private final RamLayout layout;
    private final Violations violations;

    NoLostWriteChecker(RamLayout layout, Violations violations) {
        this.layout = layout;
        this.violations = violations;
    }

    /** Checks one page the guest uses; returns whether it holds. */
    boolean check(long index, int source, int destination) {
        if (source == destination) return true;
        violations.record(
                Invariant.NO_LOST_WRITE,
                "page " + layout.describeIndex(index) + " holds " + PageContent.describe(destination)
                        + " on the destination but " + PageContent.describe(source) + " on the source");
        return false;
    }
}
