package dev.ballast.kvm.sys;

/**
 * A native call failed. The message names the call and the errno, as in
 * {@code KVM_RUN failed: EINTR (4)}.
 */
public final class NativeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    public NativeException(String call, int errno) {
        this(call, errno, null);
    }

    public NativeException(String call, int errno, String detail) {
        super(call + " failed: " + Errno.name(errno) + " (" + errno + ")" + (detail == null ? "" : ": " + detail));
        this.call = call;
        this.errno = errno;
    }

    /** The call that failed, e.g. {@code KVM_RUN} or {@code open(/dev/kvm)}. */
    public String call() {
        return call;
    }

    /** The errno it set (or, for pthread calls, the error number it returned). */
    public int errno() {
        return errno;
    }
}
