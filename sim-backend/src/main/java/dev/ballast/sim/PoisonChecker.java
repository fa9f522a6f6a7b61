package dev.ballast.sim;

import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.RamLayout;

/**
 * Invariant 2, poison preserved: when the guest poisons free pages, at the end of a hop every free
 * page that is not in the balloon reads as the poison value on the destination.
 */
final class PoisonChecker {
    private final RamLayout layout;
    private final Violations violations;
    private final int poisonByte;

    PoisonChecker(RamLayout layout, Violations violations, int poisonByte) {
        this.layout = layout;
        this.violations = violations;
        this.poisonByte = poisonByte;
    }

    /** Whether the guest poisons its free pages (otherwise free pages may hold anything). */
    boolean active() {
        return poisonByte != 0;
    }

    /** Checks one free, non-ballooned page; returns whether it holds. */
    boolean check(long index, int destination) {
        if (destination == PageContent.filled(poisonByte)) return true;
        violations.record(
                Invariant.POISON_PRESERVED,
                "free page " + layout.describeIndex(index) + " reads " + PageContent.describe(destination)
                        + " on the destination, not the poison value 0x" + Integer.toHexString(poisonByte));
        return false;
    }
}
