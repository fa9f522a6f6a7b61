package dev.ballast.core.policy;

/**
 * Free page hint command ids, as in Linux's {@code include/uapi/linux/virtio_balloon.h}: a request
 * has an id in [0x80000000, 0xFFFFFFFF]; {@code 0} tells the guest to stop reporting and {@code 1}
 * that the request is done. A new request takes the next id, wrapping from 0xFFFFFFFF back to
 * 0x80000000 so it never collides with stop or done.
 */
public final class CommandIds {
    private CommandIds() {}

    public static final long STOP = 0;
    public static final long DONE = 1;
    public static final long MIN = 0x8000_0000L;
    public static final long MAX = 0xFFFF_FFFFL;

    public static long next(long id) {
        return id >= MAX || id < MIN ? MIN : id + 1;
    }

    public static boolean isRequest(long id) {
        return id >= MIN && id <= MAX;
    }
}
