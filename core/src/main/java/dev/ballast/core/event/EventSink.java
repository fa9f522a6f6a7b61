package dev.ballast.core.event;

/**
 * Where the engine and the guests publish events. Implementations must not allocate per event;
 * the journal's implementation claims a slot in a Disruptor ring and fills it. May be called from
 * several threads (a vCPU thread, a device thread, the migration thread).
 */
@FunctionalInterface
public interface EventSink {
    void publish(EventType type, long timeNs, long a, long b, long c);

    /** A sink that drops everything. */
    EventSink NONE = (type, timeNs, a, b, c) -> {};

    /** Publishes each event to {@code first}, then to {@code second}. */
    static EventSink both(EventSink first, EventSink second) {
        return (type, timeNs, a, b, c) -> {
            first.publish(type, timeNs, a, b, c);
            second.publish(type, timeNs, a, b, c);
        };
    }
}
