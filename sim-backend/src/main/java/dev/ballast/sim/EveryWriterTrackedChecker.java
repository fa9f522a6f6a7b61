package dev.ballast.sim;

import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.RamLayout;

/**
 * Invariant 5, every writer is tracked: at the end of a hop, every page that the host's devices
 * write into (the used rings) holds on the destination what it holds on the source. The guest
 * never writes these pages, so a difference means a host write that was not marked dirty.
 */
final class EveryWriterTrackedChecker {
    private final RamLayout layout;
    private final Violations violations;

    EveryWriterTrackedChecker(RamLayout layout, Violations violations) {
        this.layout = layout;
        this.violations = violations;
    }

    /** Checks one page the host's devices write; returns whether it holds. */
    boolean check(long index, int source, int destination) {
        if (source == destination) return true;
        violations.record(
                Invariant.EVERY_WRITER_TRACKED,
                "page " + layout.describeIndex(index) + " holds " + PageContent.describe(destination)
                        + " on the destination but " + PageContent.describe(source)
                        + " on the source (a page the host writes: a device ring)");
        return false;
    }
}
