package dev.ballast.kvm.guestabi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * The host's side of the guest's rings: posts commands, takes replies. Polls while a reply is
 * expected soon and asks for a {@code PORT_DOORBELL} exit only before it blocks; wakes a
 * sleeping guest only when it posts a command. One caller at a time.
 */
public final class GuestChannel {
    /**
     * How long {@link #await} polls before it asks the guest for a doorbell. Short on purpose
     * (measured on this 2-core machine under other tenants' load): an awake guest on a free CPU
     * answers a NOP in about 1 µs; when the host thread and the vCPU thread end up sharing a CPU,
     * a longer spin only delays the guest (50 µs of spinning: 88 µs round trips; 5 µs: 42 µs), and
     * {@code Thread.yield()} instead hands the CPU to other processes for a whole slice (530 µs).
     */
    private static final long POLL_NANOS = 5_000;

    private static final VarHandle INT = JAVA_INT.varHandle();

    /** Told which bytes of the system slot the host wrote (they must count as dirty). */
    @FunctionalInterface
    public interface HostWrites {
        void wrote(long offset, long length);

        HostWrites NONE = (offset, length) -> {};
    }

    private final MemorySegment sys;
    private final Ring commands;
    private final Ring replies;
    private final Doorbells doorbells;
    private final HostWrites hostWrites;
    private long nextId = 1;

    public GuestChannel(MemorySegment sys, Doorbells doorbells, HostWrites hostWrites) {
        this.sys = sys;
        this.commands = new Ring(sys.asSlice(GuestAbi.SYS_CMD_RING_OFF));
        this.replies = new Ring(sys.asSlice(GuestAbi.SYS_REPLY_RING_OFF));
        this.doorbells = doorbells;
        this.hostWrites = hostWrites;
        // A destination continues the source's ids (the last command posted is in the ring).
        long last = commands.lastPostedId();
        this.nextId = last + 1;
    }

    /**
     * Continues the command ids of whoever posted last into this ring (a destination whose system
     * slot was just copied in), so that ids never repeat.
     */
    public synchronized void continueIds() {
        nextId = Math.max(nextId, commands.lastPostedId() + 1);
    }

    public Ring commandRing() {
        return commands;
    }

    public Ring replyRing() {
        return replies;
    }

    /** Posts a command; waits while the command ring is full. Returns its id. */
    public synchronized long submit(int op, long... args) throws InterruptedException, TimeoutException {
        if (args.length > GuestAbi.ENT_NARGS) {
            throw new IllegalArgumentException("at most " + GuestAbi.ENT_NARGS + " arguments: " + args.length);
        }
        long id = nextId++;
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        long at;
        while ((at = commands.offer(op, id, args)) < 0) {
            checkAlive();
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("command ring full for 30 s");
            }
            Thread.sleep(0, 100_000);
        }
        hostWrites.wrote(GuestAbi.SYS_CMD_RING_OFF + at, GuestAbi.RING_ENTRY_SIZE);
        hostWrites.wrote(GuestAbi.SYS_CMD_RING_OFF + GuestAbi.RING_TAIL_OFF, 4);
        // Dekker with the guest: it stores GUEST_SLEEPING then loads our tail.
        VarHandle.fullFence();
        if (sys.get(JAVA_INT, GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_GUEST_SLEEPING_OFF) != 0) {
            doorbells.commandPosted();
        }
        return id;
    }

    /** The next reply if there is one. */
    public synchronized Reply poll() {
        Reply r = replies.poll();
        if (r != null) {
            hostWrites.wrote(GuestAbi.SYS_REPLY_RING_OFF + GuestAbi.RING_HEAD_OFF, 4);
        }
        return r;
    }

    /**
     * Waits for the reply to command {@code id} (replies come in command order; earlier ones are
     * dropped).
     */
    public synchronized Reply await(long id, Duration timeout) throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long start = System.nanoTime();
        for (; ; ) {
            Reply r = poll();
            if (r != null) {
                if (r.id() == id) {
                    return r;
                }
                continue;
            }
            checkAlive();
            long now = System.nanoTime();
            if (now > deadline) {
                throw new TimeoutException("no reply to command " + id + " within " + timeout);
            }
            if (now - start < POLL_NANOS) {
                Thread.onSpinWait();
                continue;
            }
            long seen = doorbells.doorbellCount();
            setWantsDoorbell(1);
            // Dekker with the guest: it stores its tail then loads WANTS_DOORBELL.
            VarHandle.fullFence();
            if (!replies.isEmpty()) {
                setWantsDoorbell(0);
                continue;
            }
            doorbells.awaitDoorbell(seen, Math.min(deadline - now, 10_000_000L));
        }
    }

    private void setWantsDoorbell(int v) {
        INT.setVolatile(sys, (long) GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_HOST_WANTS_DOORBELL_OFF, v);
        hostWrites.wrote(GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_HOST_WANTS_DOORBELL_OFF, 4);
    }

    /** Posts a command and waits for its reply (30 s at most). */
    public Reply call(int op, long... args) throws InterruptedException, TimeoutException {
        return call(Duration.ofSeconds(30), op, args);
    }

    public synchronized Reply call(Duration timeout, int op, long... args)
            throws InterruptedException, TimeoutException {
        return await(submit(op, args), timeout);
    }

    /** Ends a running {@code OP_SPIN} with this token. */
    public void stopSpin(long token) {
        sys.set(JAVA_LONG, GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_SPIN_STOP_OFF, token);
        hostWrites.wrote(GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_SPIN_STOP_OFF, 8);
    }

    /** A u64 of the control block ({@code CTL_*_OFF}), e.g. the guest's statistics. */
    public long control(int offset) {
        return sys.get(JAVA_LONG, GuestAbi.SYS_CTL_OFF + offset);
    }

    private void checkAlive() {
        RuntimeException failure = doorbells.failure();
        if (failure != null) {
            throw new IllegalStateException("guest stopped: " + failure.getMessage(), failure);
        }
    }
}
