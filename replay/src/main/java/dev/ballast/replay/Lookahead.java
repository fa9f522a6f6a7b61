package dev.ballast.replay;

import dev.ballast.core.event.EventType;

/** A few events of look-ahead over a stream, without allocating per event. */
final class Lookahead {
    private static final int SIZE = 4;
    private final EventStream stream;
    private final Event[] ring = new Event[SIZE];
    private int head;
    private int count;
    private boolean ended;
    private long consumed;

    Lookahead(EventStream stream) {
        this.stream = stream;
        for (int i = 0; i < SIZE; i++) ring[i] = new Event();
    }

    /** The k-th event ahead (0 = next), or null past the end. */
    Event peek(int k) {
        while (count <= k && !ended) {
            if (stream.next(ring[(head + count) % SIZE])) count++;
            else ended = true;
        }
        return count > k ? ring[(head + k) % SIZE] : null;
    }

    EventType peekType() {
        Event e = peek(0);
        return e == null ? null : e.type;
    }

    void consume() {
        if (peek(0) == null) throw new IllegalStateException("nothing to consume");
        head = (head + 1) % SIZE;
        count--;
        consumed++;
    }

    long consumed() {
        return consumed;
    }

    /** Skips informational events (the guest's own view, checks): a replay neither makes nor checks them. */
    void skipInfo() {
        Event e;
        while ((e = peek(0)) != null && e.type.kind() == EventType.Kind.INFO) consume();
    }
}
