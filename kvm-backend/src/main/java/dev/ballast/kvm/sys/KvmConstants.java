package dev.ballast.kvm.sys;

/** Numbers from {@code <linux/kvm.h>} other than ioctl requests (those are in {@link KvmIoctls}). */
public final class KvmConstants {
    private KvmConstants() {}

    /** The only KVM API version there has ever been. */
    public static final int KVM_API_VERSION = 12;

    // capabilities (KVM_CHECK_EXTENSION)
    public static final int KVM_CAP_USER_MEMORY = 3;
    public static final int KVM_CAP_NR_MEMSLOTS = 10;
    public static final int KVM_CAP_EXT_CPUID = 7;
    public static final int KVM_CAP_IMMEDIATE_EXIT = 136;
    public static final int KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 = 168;

    // memory slot flags
    public static final int KVM_MEM_LOG_DIRTY_PAGES = 1;

    // KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 flags
    public static final long KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE = 1;
    public static final long KVM_DIRTY_LOG_INITIALLY_SET = 2;

    // exit reasons
    public static final int KVM_EXIT_UNKNOWN = 0;
    public static final int KVM_EXIT_EXCEPTION = 1;
    public static final int KVM_EXIT_IO = 2;
    public static final int KVM_EXIT_HLT = 5;
    public static final int KVM_EXIT_MMIO = 6;
    public static final int KVM_EXIT_SHUTDOWN = 8;
    public static final int KVM_EXIT_FAIL_ENTRY = 9;
    public static final int KVM_EXIT_INTR = 10;
    public static final int KVM_EXIT_INTERNAL_ERROR = 17;

    public static final int KVM_EXIT_IO_IN = 0;
    public static final int KVM_EXIT_IO_OUT = 1;
}
