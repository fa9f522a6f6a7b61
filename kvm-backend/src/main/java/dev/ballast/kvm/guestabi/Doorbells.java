package dev.ballast.kvm.guestabi;

/** What the host side of the rings needs from whoever runs the vCPU. */
public interface Doorbells {
    /** A command was posted while the guest sleeps (in {@code PORT_SLEEP}): let it run again. */
    void commandPosted();

    /** How many {@code PORT_DOORBELL} exits so far. */
    long doorbellCount();

    /**
     * Waits until {@link #doorbellCount()} differs from {@code seen}, the guest has stopped, or
     * {@code timeoutNanos} passed.
     */
    void awaitDoorbell(long seen, long timeoutNanos) throws InterruptedException;

    /** Why the guest can no longer answer, or null while it can. */
    RuntimeException failure();
}
