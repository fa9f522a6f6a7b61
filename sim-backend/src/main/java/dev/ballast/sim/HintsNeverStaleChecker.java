package dev.ballast.sim;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.CommandIds;

/**
 * Invariant 4, hints are never stale. Two checks:
 * <ul>
 *   <li>as the engine applies hints (its events pass through {@link #watching}): a hint may clear
 *       pages only if the guest produced it after the most recent dirty-log sync. The guest tags
 *       each request with the syncs it had seen when it produced it; the engine takes requests in
 *       order, so the request behind a {@code SKIP_FREE} is the one it took last;</li>
 *   <li>as the guest's device receives a command ({@link #onHintCommand}): an id that is neither
 *       stop, done nor a request id in [0x80000000, 0xffffffff] is read by the guest's 32-bit
 *       register as something else.</li>
 * </ul>
 */
final class HintsNeverStaleChecker {
    private final RamLayout layout;
    private final Violations violations;

    HintsNeverStaleChecker(RamLayout layout, Violations violations) {
        this.layout = layout;
        this.violations = violations;
    }

    /** The engine's events, passed on to {@code next}, with every hint it applies checked against this guest's syncs. */
    EventSink watching(EventSink next, SimGuest guest) {
        return (type, timeNs, a, b, c) -> {
            if (type == EventType.SKIP_FREE) onSkipFree(guest, a, b, c);
            next.publish(type, timeNs, a, b, c);
        };
    }

    void onSkipFree(SimGuest guest, long block, long offset, long pages) {
        if (guest.lastDrainedEpoch() != guest.syncCount()) {
            long index = layout.block((int) block).firstIndex() + offset;
            violations.record(
                    Invariant.HINTS_NEVER_STALE,
                    "a hint produced before dirty-log sync " + guest.syncCount() + " cleared " + pages + " pages from "
                            + layout.describeIndex(index) + " after it");
        }
    }

    /** The host sent the guest's free page hint device this command id. */
    void onHintCommand(long id) {
        if (id != CommandIds.STOP && id != CommandIds.DONE && !CommandIds.isRequest(id)) {
            long wire = id & 0xFFFF_FFFFL;
            violations.record(
                    Invariant.HINTS_NEVER_STALE,
                    "the host sent free page hint command id 0x" + Long.toHexString(id)
                            + ", which is not in [0x80000000, 0xffffffff]; the guest reads it as 0x"
                            + Long.toHexString(wire)
                            + (wire <= 1 ? (wire == 0 ? " (STOP)" : " (DONE)") : ""));
        }
    }
}
