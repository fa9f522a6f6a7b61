package dev.ballast.kvm.sys;

/**
 * Every KVM ioctl request number Ballast uses, grouped by the file descriptor it applies to.
 * Hand-written from {@code <linux/kvm.h>}: {@code _IO(t,n) = t<<8|n},
 * {@code _IOR = 2<<30|size<<16|t<<8|n}, {@code _IOW = 1<<30|…}, {@code _IOWR = 3<<30|…},
 * with {@code KVMIO = 0xAE}. {@code KvmLayoutsTest} checks each against the C macro.
 */
public final class KvmIoctls {
    /** An ioctl request: the C macro's name (used in error messages) and its number. */
    public record Request(String name, long number) {
        @Override
        public String toString() {
            return name + String.format("(0x%x)", number);
        }
    }

    private KvmIoctls() {}

    /** On the system fd ({@code /dev/kvm}). */
    public static final class Sys {
        private Sys() {}

        /** {@code _IO(KVMIO, 0x00)} */
        public static final Request KVM_GET_API_VERSION = new Request("KVM_GET_API_VERSION", 0xAE00L);
        /** {@code _IO(KVMIO, 0x01)}: returns a VM fd */
        public static final Request KVM_CREATE_VM = new Request("KVM_CREATE_VM", 0xAE01L);
        /** {@code _IO(KVMIO, 0x03)}: also valid on a VM fd */
        public static final Request KVM_CHECK_EXTENSION = new Request("KVM_CHECK_EXTENSION", 0xAE03L);
        /** {@code _IO(KVMIO, 0x04)}: size of the vCPU's kvm_run mapping */
        public static final Request KVM_GET_VCPU_MMAP_SIZE = new Request("KVM_GET_VCPU_MMAP_SIZE", 0xAE04L);
        /** {@code _IOWR(KVMIO, 0x05, struct kvm_cpuid2)} */
        public static final Request KVM_GET_SUPPORTED_CPUID = new Request("KVM_GET_SUPPORTED_CPUID", 0xC008AE05L);
    }

    /** On a VM fd. */
    public static final class Vm {
        private Vm() {}

        /** {@code _IO(KVMIO, 0x03)} */
        public static final Request KVM_CHECK_EXTENSION = new Request("KVM_CHECK_EXTENSION", 0xAE03L);
        /** {@code _IO(KVMIO, 0x41)}: returns a vCPU fd */
        public static final Request KVM_CREATE_VCPU = new Request("KVM_CREATE_VCPU", 0xAE41L);
        /** {@code _IOW(KVMIO, 0x42, struct kvm_dirty_log)} */
        public static final Request KVM_GET_DIRTY_LOG = new Request("KVM_GET_DIRTY_LOG", 0x4010AE42L);
        /** {@code _IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)} */
        public static final Request KVM_SET_USER_MEMORY_REGION = new Request("KVM_SET_USER_MEMORY_REGION", 0x4020AE46L);
        /** {@code _IOW(KVMIO, 0xa3, struct kvm_enable_cap)} */
        public static final Request KVM_ENABLE_CAP = new Request("KVM_ENABLE_CAP", 0x4068AEA3L);
        /** {@code _IOWR(KVMIO, 0xc0, struct kvm_clear_dirty_log)} */
        public static final Request KVM_CLEAR_DIRTY_LOG = new Request("KVM_CLEAR_DIRTY_LOG", 0xC018AEC0L);
    }

    /** On a vCPU fd. */
    public static final class Vcpu {
        private Vcpu() {}

        /** {@code _IO(KVMIO, 0x80)} */
        public static final Request KVM_RUN = new Request("KVM_RUN", 0xAE80L);
        /** {@code _IOR(KVMIO, 0x81, struct kvm_regs)} */
        public static final Request KVM_GET_REGS = new Request("KVM_GET_REGS", 0x8090AE81L);
        /** {@code _IOW(KVMIO, 0x82, struct kvm_regs)} */
        public static final Request KVM_SET_REGS = new Request("KVM_SET_REGS", 0x4090AE82L);
        /** {@code _IOR(KVMIO, 0x83, struct kvm_sregs)} */
        public static final Request KVM_GET_SREGS = new Request("KVM_GET_SREGS", 0x8138AE83L);
        /** {@code _IOW(KVMIO, 0x84, struct kvm_sregs)} */
        public static final Request KVM_SET_SREGS = new Request("KVM_SET_SREGS", 0x4138AE84L);
        /** {@code _IOW(KVMIO, 0x90, struct kvm_cpuid2)} */
        public static final Request KVM_SET_CPUID2 = new Request("KVM_SET_CPUID2", 0x4008AE90L);
        /** {@code _IO(KVMIO, 0xa3)}: returns the guest's TSC rate in kHz */
        public static final Request KVM_GET_TSC_KHZ = new Request("KVM_GET_TSC_KHZ", 0xAEA3L);
    }
}
