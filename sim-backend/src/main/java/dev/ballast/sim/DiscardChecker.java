package dev.ballast.sim;

import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.RamLayout;

/**
 * A host discard is a host write to guest memory (the pages read as zero afterwards), checked as
 * it happens: a page the guest uses must never be discarded (invariant 1: its content would be
 * lost on the source itself), and under poisoning a free page must keep its poison (invariant 2:
 * the guest checks it when it hands the page out) — unless the page is a block Linux's hint driver
 * holds, which it gives back through the allocator, and so poisons again as it frees it.
 */
final class DiscardChecker {
    private final RamLayout layout;
    private final Violations violations;
    private final int poisonByte;

    DiscardChecker(RamLayout layout, Violations violations, int poisonByte) {
        this.layout = layout;
        this.violations = violations;
        this.poisonByte = poisonByte;
    }

    void onDiscard(SimGuest guest, long index, long pages) {
        for (long i = index; i < index + pages; i++) {
            if (guest.inUse(i)) {
                violations.record(
                        Invariant.NO_LOST_WRITE,
                        "the host discarded page " + layout.describeIndex(i) + ", which the guest uses");
                return;
            }
        }
        if (poisonByte != 0 && !guest.poisonedWhenGivenBack(index, pages)) {
            violations.record(
                    Invariant.POISON_PRESERVED,
                    "the host discarded free page " + layout.describeIndex(index)
                            + ": it reads zeros, not the poison value 0x" + Integer.toHexString(poisonByte)
                            + " the guest left in it");
        }
    }
}
