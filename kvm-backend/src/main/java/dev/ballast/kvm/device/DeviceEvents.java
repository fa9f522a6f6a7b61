package dev.ballast.kvm.device;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;

/**
 * What the devices did on their own (free page reports, the host's discards), on its way to the run's journal: the
 * device thread adds, the thread that drives the guest drains into its sink, so a sink that is not thread-safe (a run
 * statistics fold, a test's list) sees every event from one thread. A growable ring of (type, time, a, b, c).
 */
final class DeviceEvents {
    private static final EventType[] TYPES = EventType.values();

    private long[] ring = new long[5 * 256];
    private int head;
    private int size;
    private long[] batch = new long[0];

    synchronized void add(EventType type, long timeNs, long a, long b, long c) {
        if (size * 5 == ring.length) {
            long[] bigger = new long[ring.length * 2];
            for (int i = 0; i < size; i++) {
                System.arraycopy(ring, ((head + i) * 5) % ring.length, bigger, i * 5, 5);
            }
            ring = bigger;
            head = 0;
        }
        int at = ((head + size) * 5) % ring.length;
        ring[at] = type.ordinal();
        ring[at + 1] = timeNs;
        ring[at + 2] = a;
        ring[at + 3] = b;
        ring[at + 4] = c;
        size++;
    }

    /** Publishes every event added so far into {@code sink}, oldest first (one consumer thread); returns how many. */
    int drainTo(EventSink sink) {
        int n;
        long[] b;
        synchronized (this) {
            n = size;
            if (n == 0) {
                return 0;
            }
            if (batch.length < n * 5) {
                batch = new long[Math.max(n * 5, ring.length)];
            }
            b = batch;
            for (int i = 0; i < n; i++) {
                System.arraycopy(ring, ((head + i) * 5) % ring.length, b, i * 5, 5);
            }
            head = (head + n) % (ring.length / 5);
            size = 0;
        }
        for (int i = 0; i < n; i++) {
            sink.publish(TYPES[(int) b[i * 5]], b[i * 5 + 1], b[i * 5 + 2], b[i * 5 + 3], b[i * 5 + 4]);
        }
        return n;
    }
}
