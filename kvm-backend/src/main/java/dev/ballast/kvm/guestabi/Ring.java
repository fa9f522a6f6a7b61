package dev.ballast.kvm.guestabi;

import static dev.ballast.kvm.guestabi.GuestAbi.ENT_ARGS_OFF;
import static dev.ballast.kvm.guestabi.GuestAbi.ENT_ID_OFF;
import static dev.ballast.kvm.guestabi.GuestAbi.ENT_NARGS;
import static dev.ballast.kvm.guestabi.GuestAbi.ENT_OP_OFF;
import static dev.ballast.kvm.guestabi.GuestAbi.ENT_STATUS_OFF;
import static dev.ballast.kvm.guestabi.GuestAbi.RING_CAPACITY;
import static dev.ballast.kvm.guestabi.GuestAbi.RING_CAPACITY_OFF;
import static dev.ballast.kvm.guestabi.GuestAbi.RING_ENTRIES_OFF;
import static dev.ballast.kvm.guestabi.GuestAbi.RING_ENTRY_SIZE;
import static dev.ballast.kvm.guestabi.GuestAbi.RING_ENTRY_SIZE_OFF;
import static dev.ballast.kvm.guestabi.GuestAbi.RING_HEAD_OFF;
import static dev.ballast.kvm.guestabi.GuestAbi.RING_MAGIC;
import static dev.ballast.kvm.guestabi.GuestAbi.RING_MAGIC_OFF;
import static dev.ballast.kvm.guestabi.GuestAbi.RING_TAIL_OFF;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The host's end of a single-producer single-consumer ring in guest memory (format in
 * {@code abi.h}): the host produces on the command ring and consumes the reply ring. It keeps no
 * index of its own: head and tail are read from guest memory, so a destination that received the
 * guest's memory continues the rings where the source left them.
 */
public final class Ring {
    private static final VarHandle INT = JAVA_INT.varHandle();

    private final MemorySegment mem;

    /** A view of a ring at the start of {@code mem}. */
    public Ring(MemorySegment mem) {
        this.mem = mem.asSlice(0, GuestAbi.RING_BYTES);
    }

    /** Writes an empty ring's header. */
    public static void format(MemorySegment mem) {
        mem.asSlice(0, GuestAbi.RING_BYTES).fill((byte) 0);
        mem.set(JAVA_INT, RING_MAGIC_OFF, RING_MAGIC);
        mem.set(JAVA_INT, RING_CAPACITY_OFF, RING_CAPACITY);
        mem.set(JAVA_INT, RING_ENTRY_SIZE_OFF, RING_ENTRY_SIZE);
    }

    /** Whether the header is a ring this host can use. */
    public boolean valid() {
        return mem.get(JAVA_INT, RING_MAGIC_OFF) == RING_MAGIC
                && mem.get(JAVA_INT, RING_CAPACITY_OFF) == RING_CAPACITY
                && mem.get(JAVA_INT, RING_ENTRY_SIZE_OFF) == RING_ENTRY_SIZE;
    }

    private int tail() {
        return (int) INT.getAcquire(mem, (long) RING_TAIL_OFF);
    }

    private int head() {
        return (int) INT.getAcquire(mem, (long) RING_HEAD_OFF);
    }

    /** Entries published and not yet consumed. */
    public int size() {
        return tail() - head();
    }

    public boolean isEmpty() {
        return size() == 0;
    }

    private long entry(int index) {
        return RING_ENTRIES_OFF + (long) (index & (RING_CAPACITY - 1)) * RING_ENTRY_SIZE;
    }

    /**
     * Producer: publishes an entry, or returns -1 when the ring is full.
     *
     * @return the offset of the entry written, within the ring (for dirty tracking)
     */
    public long offer(int op, long id, long[] args) {
        int tail = mem.get(JAVA_INT, RING_TAIL_OFF);
        if (tail - head() >= RING_CAPACITY) {
            return -1;
        }
        long e = entry(tail);
        mem.set(JAVA_INT, e + ENT_OP_OFF, op);
        mem.set(JAVA_INT, e + ENT_STATUS_OFF, 0);
        mem.set(JAVA_LONG, e + ENT_ID_OFF, id);
        for (int i = 0; i < ENT_NARGS; i++) {
            mem.set(JAVA_LONG, e + ENT_ARGS_OFF + 8L * i, i < args.length ? args[i] : 0);
        }
        INT.setRelease(mem, (long) RING_TAIL_OFF, tail + 1);
        return e;
    }

    /** The id of the last entry published (0 when none ever was). */
    public long lastPostedId() {
        int tail = tail();
        return tail == 0 ? 0 : mem.get(JAVA_LONG, entry(tail - 1) + ENT_ID_OFF);
    }

    /** Consumer: takes the oldest entry, or returns null when the ring is empty. */
    public Reply poll() {
        int head = mem.get(JAVA_INT, RING_HEAD_OFF);
        int tail = tail();
        if (tail == head) {
            return null;
        }
        if (Integer.compareUnsigned(tail - head, RING_CAPACITY) > 0) {
            throw new IllegalStateException("ring corrupt: head " + Integer.toUnsignedString(head) + ", tail "
                    + Integer.toUnsignedString(tail) + ", capacity " + RING_CAPACITY);
        }
        long e = entry(head);
        long[] args = new long[ENT_NARGS];
        MemorySegment.copy(mem, JAVA_LONG, e + ENT_ARGS_OFF, args, 0, ENT_NARGS);
        Reply r = new Reply(
                mem.get(JAVA_INT, e + ENT_OP_OFF),
                mem.get(JAVA_INT, e + ENT_STATUS_OFF),
                mem.get(JAVA_LONG, e + ENT_ID_OFF),
                args);
        INT.setRelease(mem, (long) RING_HEAD_OFF, head + 1);
        return r;
    }
}
