package dev.ballast.sim;

import dev.ballast.core.engine.GuestRequests;
import dev.ballast.core.event.EventType;

/**
 * The guest's requests waiting for the host, oldest first, as parallel primitive arrays (no
 * object per request). Each carries the number of dirty-log syncs the guest had seen when it
 * produced it, so a checker can tell a stale hint from a fresh one.
 */
final class RequestQueue {
    private EventType[] types = new EventType[256];
    private long[] a = new long[256];
    private long[] b = new long[256];
    private long[] c = new long[256];
    private long[] epoch = new long[256];
    private long[] readyAt = new long[256];
    private int head;
    private int tail;
    private long lastEpoch = -1;
    private long added;
    private long drained;

    void add(EventType type, long va, long vb, long vc, long producedInEpoch) {
        add(type, va, vb, vc, producedInEpoch, Long.MIN_VALUE);
    }

    /** Adds a request that the host sees only from {@code readyAtNs} on (it is still in flight until then). */
    void add(EventType type, long va, long vb, long vc, long producedInEpoch, long readyAtNs) {
        if (tail == types.length) grow();
        readyAt[tail] = readyAtNs;
        types[tail] = type;
        a[tail] = va;
        b[tail] = vb;
        c[tail] = vc;
        epoch[tail] = producedInEpoch;
        tail++;
        added++;
    }

    /** Requests added so far: the next request added is number {@code added()}, counting from 0. */
    long added() {
        return added;
    }

    /** Requests the host has taken so far: request number k has been taken when {@code k < drained()}. */
    long drained() {
        return drained;
    }

    int size() {
        return tail - head;
    }

    /** The sync epoch of the request handed out last. */
    long lastEpoch() {
        return lastEpoch;
    }

    /** Hands out, oldest first, at most {@code max} requests that have arrived by {@code nowNs}. */
    int drain(GuestRequests into, int max, long nowNs) {
        int n = 0;
        while (head < tail && n < max && readyAt[head] <= nowNs) {
            int i = head++;
            lastEpoch = epoch[i];
            into.request(types[i], a[i], b[i], c[i]);
            types[i] = null;
            n++;
            drained++;
        }
        if (head == tail) {
            head = 0;
            tail = 0;
        }
        return n;
    }

    private void grow() {
        int live = tail - head;
        int cap = live * 2 < types.length ? types.length : types.length * 2;
        EventType[] nt = new EventType[cap];
        long[] na = new long[cap], nb = new long[cap], nc = new long[cap], ne = new long[cap], nr = new long[cap];
        System.arraycopy(types, head, nt, 0, live);
        System.arraycopy(a, head, na, 0, live);
        System.arraycopy(b, head, nb, 0, live);
        System.arraycopy(c, head, nc, 0, live);
        System.arraycopy(epoch, head, ne, 0, live);
        System.arraycopy(readyAt, head, nr, 0, live);
        types = nt;
        a = na;
        b = nb;
        c = nc;
        epoch = ne;
        readyAt = nr;
        head = 0;
        tail = live;
    }
}
