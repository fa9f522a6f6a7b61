package dev.ballast.sim;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.RamLayout;

/**
 * Passes every event on, and checks invariant 4 as the engine applies hints: a hint may clear
 * pages only if the guest produced it after the most recent dirty-log sync. The guest tags each
 * request with the syncs it had seen when it produced it; the engine takes requests in order, so
 * the request behind a {@code SKIP_FREE} is the one it took last.
 */
final class CheckingSink implements EventSink {
    private final EventSink next;
    private final SimGuest guest;
    private final Violations violations;
    private final RamLayout layout;

    CheckingSink(EventSink next, SimGuest guest, Violations violations, RamLayout layout) {
        this.next = next;
        this.guest = guest;
        this.violations = violations;
        this.layout = layout;
    }

    @Override
    public void publish(EventType type, long timeNs, long a, long b, long c) {
        if (type == EventType.SKIP_FREE && guest.lastDrainedEpoch() != guest.syncCount()) {
            long index = layout.block((int) a).firstIndex() + b;
            violations.record(Invariant.HINTS_NEVER_STALE, "a hint produced before dirty-log sync " + guest.syncCount() + " cleared "
                    + c + " pages from " + layout.describeIndex(index) + " after it");
        }
        next.publish(type, timeNs, a, b, c);
    }
}
