package dev.ballast.kvm.mem;

/** How the dirty log of a slot is read. */
public enum DirtyLogMode {
    /**
     * {@code KVM_GET_DIRTY_LOG} alone: it returns the bitmap, clears it and write-protects the
     * dirty pages again, in one ioctl.
     */
    GET,
    /**
     * {@code KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2}: {@code KVM_GET_DIRTY_LOG} only reads, and
     * {@code KVM_CLEAR_DIRTY_LOG} clears and re-protects (here: the whole slot right after the
     * read, so the meaning is the same as {@link #GET}).
     */
    MANUAL_CLEAR
}
