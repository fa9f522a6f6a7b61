package dev.ballast.core.engine;

import dev.ballast.core.event.EventType;

/**
 * Receives the guest's requests and the host's notices ({@link EventType#drained()}) in the order they arrived:
 * {@link EventType#HINT}, {@link EventType#FREE_BITMAP}, {@link EventType#FREE_BITMAP_END},
 * {@link EventType#BALLOON_INFLATE}, {@link EventType#BALLOON_DEFLATE}, {@link EventType#HOST_ZEROED} (the host
 * discarded guest memory while the dirty log ran), or {@link EventType#REJECT} for a message the device could not
 * even parse. Fields as {@link EventType} documents them: PFNs exactly as the guest sent them.
 */
@FunctionalInterface
public interface GuestRequests {
    void request(EventType type, long a, long b, long c);
}
