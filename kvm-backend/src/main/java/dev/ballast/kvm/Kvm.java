package dev.ballast.kvm;

import static dev.ballast.kvm.sys.KvmStructs.KVM_CPUID2;
import static dev.ballast.kvm.sys.KvmStructs.KVM_CPUID_ENTRY2;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.ballast.kvm.sys.Errno;
import dev.ballast.kvm.sys.KvmConstants;
import dev.ballast.kvm.sys.KvmIoctls.Sys;
import dev.ballast.kvm.sys.LibC;
import dev.ballast.kvm.sys.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The KVM system fd ({@code /dev/kvm}): the root of the fd hierarchy. Closing it closes the VMs
 * created from it (and so their vCPUs).
 */
public final class Kvm implements AutoCloseable {
    public static final String DEVICE = "/dev/kvm";

    private final int fd;
    private final int vcpuMmapSize;
    private final List<KvmVm> vms = new ArrayList<>();
    private boolean closed;

    private Kvm(int fd) {
        this.fd = fd;
        try {
            int version = LibC.ioctl(fd, Sys.KVM_GET_API_VERSION, 0L);
            if (version != KvmConstants.KVM_API_VERSION) {
                throw new IllegalStateException(
                        "KVM API version " + version + ", expected " + KvmConstants.KVM_API_VERSION);
            }
            this.vcpuMmapSize = LibC.ioctl(fd, Sys.KVM_GET_VCPU_MMAP_SIZE, 0L);
        } catch (RuntimeException e) {
            LibC.close(fd);
            throw e;
        }
    }

    /** Opens {@code /dev/kvm} and checks the API version. */
    public static Kvm open() {
        return open(DEVICE);
    }

    /** Opens a KVM device node (normally {@code /dev/kvm}) and checks the API version. */
    public static Kvm open(String device) {
        return new Kvm(LibC.open(device, LibC.O_RDWR | LibC.O_CLOEXEC));
    }

    /** The raw fd, for tests and for ioctls Ballast does not wrap. */
    public int fd() {
        return fd;
    }

    /** {@code KVM_CHECK_EXTENSION}: 0 when unsupported, else a capability-specific positive value. */
    public int checkExtension(int capability) {
        return LibC.ioctl(fd, Sys.KVM_CHECK_EXTENSION, capability);
    }

    /** The size of a vCPU's {@code kvm_run} mapping. */
    public int vcpuMmapSize() {
        return vcpuMmapSize;
    }

    /**
     * {@code KVM_GET_SUPPORTED_CPUID}: a {@code struct kvm_cpuid2} with its entries, in {@code arena}.
     * Needed at least so that the guest's MAXPHYADDR covers the system slot at 1 TiB: without
     * {@code KVM_SET_CPUID2}, KVM assumes 36 physical address bits and rejects a CR3 at 1 TiB
     * ({@code KVM_SET_SREGS} fails with EINVAL).
     */
    public MemorySegment supportedCpuid(Arena arena) {
        for (int n = 64; ; n *= 2) {
            MemorySegment cpuid = arena.allocate(KVM_CPUID2.byteSize() + n * KVM_CPUID_ENTRY2.byteSize(), 8);
            cpuid.set(JAVA_INT, 0, n);
            int rc = LibC.ioctlOrErrno(fd, Sys.KVM_GET_SUPPORTED_CPUID, cpuid);
            if (rc >= 0) {
                return cpuid;
            }
            if (-rc != Errno.E2BIG || n >= 4096) {
                throw new NativeException(Sys.KVM_GET_SUPPORTED_CPUID.name(), -rc);
            }
        }
    }

    /** {@code KVM_CREATE_VM}. */
    public synchronized KvmVm createVm() {
        ensureOpen();
        KvmVm vm = new KvmVm(this, LibC.ioctl(fd, Sys.KVM_CREATE_VM, 0L));
        vms.add(vm);
        return vm;
    }

    synchronized void forget(KvmVm vm) {
        vms.remove(vm);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("/dev/kvm fd is closed");
        }
    }

    @Override
    public void close() {
        List<KvmVm> open;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            open = new ArrayList<>(vms);
        }
        for (KvmVm vm : open) {
            vm.close();
        }
        LibC.close(fd);
    }
}
