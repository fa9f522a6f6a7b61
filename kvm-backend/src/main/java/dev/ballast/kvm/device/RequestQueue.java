package dev.ballast.kvm.device;

import dev.ballast.core.engine.GuestRequests;
import dev.ballast.core.event.EventType;

/**
 * The guest's requests on their way to the engine: the device thread adds, the migration thread
 * drains, oldest first. A growable ring of (type, a, b, c); a drain copies a batch out under the
 * lock and hands it over outside it, so the engine never holds up the device.
 */
public final class RequestQueue {
    private static final EventType[] TYPES = EventType.values();

    private long[] ring = new long[4 * 1024];
    private int head;
    private int size;
    /** Requests added and drained (or cleared) since the queue was made. */
    private long added;

    private long drained;
    private long[] batch = new long[0];

    /** Adds a request (any thread). */
    public synchronized void add(EventType type, long a, long b, long c) {
        if (size * 4 == ring.length) {
            long[] bigger = new long[ring.length * 2];
            for (int i = 0; i < size; i++) {
                System.arraycopy(ring, ((head + i) * 4) % ring.length, bigger, i * 4, 4);
            }
            ring = bigger;
            head = 0;
        }
        int at = ((head + size) * 4) % ring.length;
        ring[at] = type.ordinal();
        ring[at + 1] = a;
        ring[at + 2] = b;
        ring[at + 3] = c;
        size++;
        added++;
    }

    /** Requests added so far (the position after the last one added). */
    public synchronized long added() {
        return added;
    }

    /** Requests drained or cleared so far: every request at a position up to this one has left the queue. */
    public synchronized long drained() {
        return drained;
    }

    /** Drops every queued request. */
    public synchronized void clear() {
        head = 0;
        drained += size;
        size = 0;
    }

    public synchronized int size() {
        return size;
    }

    /** Moves at most {@code max} requests into {@code into}, oldest first (one consumer thread). */
    public int drain(GuestRequests into, int max) {
        int n;
        long[] b;
        synchronized (this) {
            n = Math.min(max, size);
            if (n == 0) {
                return 0;
            }
            if (batch.length < n * 4) {
                batch = new long[Math.max(n * 4, Math.min(ring.length, 64 * 1024))];
            }
            b = batch;
            for (int i = 0; i < n; i++) {
                System.arraycopy(ring, ((head + i) * 4) % ring.length, b, i * 4, 4);
            }
            head = (head + n) % (ring.length / 4);
            size -= n;
            drained += n;
        }
        for (int i = 0; i < n; i++) {
            into.request(TYPES[(int) b[i * 4]], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]);
        }
        return n;
    }
}
