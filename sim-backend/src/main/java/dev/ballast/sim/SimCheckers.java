package dev.ballast.sim;

import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;

/**
 * The simulator's invariant checkers ({@code docs/invariants.md}), one per invariant, kept apart
 * from the simulated parts: the guest, the link and the run call them where an invariant can be
 * seen to break, and each words what it found into the run's {@link Violations}.
 *
 * <table>
 *   <caption>Who calls which checker</caption>
 *   <tr><th>invariant</th><th>checker</th><th>called by</th></tr>
 *   <tr><td>1</td><td>{@link NoLostWriteChecker}</td><td>{@link #endOfHop}: every page the guest uses</td></tr>
 *   <tr><td>2</td><td>{@link PoisonChecker}</td><td>{@link #endOfHop}: every free page under poisoning</td></tr>
 *   <tr><td>3</td><td>{@link NoNeedlessResendChecker}</td><td>the guest (writes) and the link (sends)</td></tr>
 *   <tr><td>4</td><td>{@link HintsNeverStaleChecker}</td><td>the engine's events (hints applied) and the guest's device (command ids)</td></tr>
 *   <tr><td>5</td><td>{@link EveryWriterTrackedChecker}</td><td>{@link #endOfHop}: the pages the host's devices write</td></tr>
 *   <tr><td>6</td><td>{@link FailureLosesNothingChecker}</td><td>the run, after each failed attempt</td></tr>
 *   <tr><td>1, 2</td><td>{@link DiscardChecker}</td><td>the guest's host side, at every discard of guest memory</td></tr>
 * </table>
 *
 * Invariant 7 is not checked after the fact: the engine's policies reject a guest's ranges that
 * are not RAM as they arrive (the wire's reader does the same on KVM).
 */
public final class SimCheckers {
    final Violations violations;
    final NoLostWriteChecker noLostWrite;
    final PoisonChecker poison;
    final NoNeedlessResendChecker resend;
    final HintsNeverStaleChecker hints;
    final EveryWriterTrackedChecker hostWrites;
    final FailureLosesNothingChecker failure;
    final DiscardChecker discards;
    private final RamLayout layout;

    /** The checkers of one run of a guest with this layout that poisons its free pages with {@code poisonByte} (0: none). */
    public SimCheckers(RamLayout layout, int poisonByte) {
        this.layout = layout;
        this.violations = new Violations();
        this.noLostWrite = new NoLostWriteChecker(layout, violations);
        this.poison = new PoisonChecker(layout, violations, poisonByte);
        this.resend = new NoNeedlessResendChecker(layout, violations);
        this.hints = new HintsNeverStaleChecker(layout, violations);
        this.hostWrites = new EveryWriterTrackedChecker(layout, violations);
        this.failure = new FailureLosesNothingChecker(violations);
        this.discards = new DiscardChecker(layout, violations, poisonByte);
    }

    /** The host is about to discard [index, index+pages) of the guest's memory. */
    void onDiscard(SimGuest guest, long index, long pages) {
        discards.onDiscard(guest, index, pages);
    }

    /** Every invariant broken so far. */
    public Violations violations() {
        return violations;
    }

    /** What {@link #endOfHop} checked: pages compared, and how many of them did not hold. */
    record Checked(long pages, long mismatched) {}

    /**
     * Invariants 1, 2 and 5 at the end of a hop that completed: each page of the source guest is
     * handed to the checker of its kind (one the guest uses, one the host's devices write, a free
     * page under poisoning) with its content on both sides. Ballooned pages and, without
     * poisoning, free pages may hold anything.
     */
    Checked endOfHop(SimGuest guest, SimDestination dest) {
        long checked = 0;
        long mismatched = 0;
        for (RamBlock b : layout.blocks()) {
            int[] src = guest.content[b.index()];
            int[] dst = dest.content[b.index()];
            for (int i = 0; i < src.length; i++) {
                long index = b.firstIndex() + i;
                if (guest.inUse(index)) {
                    checked++;
                    boolean ok = guest.isRingPage(index)
                            ? hostWrites.check(index, src[i], dst[i])
                            : noLostWrite.check(index, src[i], dst[i]);
                    if (!ok) mismatched++;
                } else if (poison.active() && !guest.balloon.get(index) && !guest.discardedWhileHeld.get(index)) {
                    checked++;
                    if (!poison.check(index, dst[i])) mismatched++;
                }
            }
        }
        return new Checked(checked, mismatched);
    }
}
