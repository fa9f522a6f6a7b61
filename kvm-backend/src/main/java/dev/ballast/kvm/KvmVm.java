package dev.ballast.kvm;

import static dev.ballast.kvm.sys.KvmStructs.KVM_CLEAR_DIRTY_LOG;
import static dev.ballast.kvm.sys.KvmStructs.KVM_DIRTY_LOG;
import static dev.ballast.kvm.sys.KvmStructs.KVM_ENABLE_CAP;
import static dev.ballast.kvm.sys.KvmStructs.KVM_USERSPACE_MEMORY_REGION;
import static dev.ballast.kvm.sys.KvmStructs.offset;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.ballast.kvm.sys.KvmConstants;
import dev.ballast.kvm.sys.KvmIoctls.Vm;
import dev.ballast.kvm.sys.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A VM fd: memory slots, dirty log, vCPUs. Closing it closes its vCPUs. The host memory behind
 * the slots is not owned here (see {@code GuestMemory}); it must outlive the slots.
 */
public final class KvmVm implements AutoCloseable {
    private final Kvm kvm;
    private final int fd;
    private final List<KvmVcpu> vcpus = new ArrayList<>();
    private boolean manualDirtyLogProtect;
    private boolean closed;

    KvmVm(Kvm kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
    }

    public Kvm kvm() {
        return kvm;
    }

    public int fd() {
        return fd;
    }

    /** {@code KVM_CHECK_EXTENSION} on the VM fd (some answers are per VM). */
    public int checkExtension(int capability) {
        return LibC.ioctl(fd, Vm.KVM_CHECK_EXTENSION, capability);
    }

    /** {@code KVM_ENABLE_CAP} with up to four arguments. */
    public void enableCap(int capability, long... args) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cap = arena.allocate(KVM_ENABLE_CAP);
            cap.set(JAVA_INT, offset(KVM_ENABLE_CAP, "cap"), capability);
            for (int i = 0; i < args.length; i++) {
                cap.set(JAVA_LONG, offset(KVM_ENABLE_CAP, "args") + 8L * i, args[i]);
            }
            LibC.ioctl(fd, Vm.KVM_ENABLE_CAP, cap);
        }
    }

    /**
     * Switches the dirty log to manual protection ({@code KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2}):
     * {@code KVM_GET_DIRTY_LOG} then only reads, and {@link #clearDirtyLog} re-protects. Must be
     * called before the slots are created.
     */
    public void enableManualDirtyLogProtect() {
        if (checkExtension(KvmConstants.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) == 0) {
            throw new UnsupportedOperationException("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 is not supported");
        }
        enableCap(KvmConstants.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KvmConstants.KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
        manualDirtyLogProtect = true;
    }

    public boolean manualDirtyLogProtect() {
        return manualDirtyLogProtect;
    }

    /**
     * {@code KVM_SET_USER_MEMORY_REGION}: maps {@code host} (page-aligned) at guest-physical
     * {@code guestPhysAddr} as slot {@code slot}; an empty {@code host} deletes the slot.
     */
    public void setUserMemoryRegion(int slot, int flags, long guestPhysAddr, MemorySegment host) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(KVM_USERSPACE_MEMORY_REGION);
            r.set(JAVA_INT, offset(KVM_USERSPACE_MEMORY_REGION, "slot"), slot);
            r.set(JAVA_INT, offset(KVM_USERSPACE_MEMORY_REGION, "flags"), flags);
            r.set(JAVA_LONG, offset(KVM_USERSPACE_MEMORY_REGION, "guest_phys_addr"), guestPhysAddr);
            r.set(JAVA_LONG, offset(KVM_USERSPACE_MEMORY_REGION, "memory_size"), host.byteSize());
            r.set(JAVA_LONG, offset(KVM_USERSPACE_MEMORY_REGION, "userspace_addr"), host.address());
            LibC.ioctl(fd, Vm.KVM_SET_USER_MEMORY_REGION, r);
        }
    }

    /**
     * {@code KVM_GET_DIRTY_LOG} of a slot into {@code bitmap} (native, one bit per page, at
     * least {@code ceil(pages / 64)} words). Without manual protection this also clears the log
     * and write-protects the pages again.
     */
    public void getDirtyLog(int slot, MemorySegment bitmap) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment d = arena.allocate(KVM_DIRTY_LOG);
            d.set(JAVA_INT, offset(KVM_DIRTY_LOG, "slot"), slot);
            d.set(ADDRESS, offset(KVM_DIRTY_LOG, "dirty_bitmap"), bitmap);
            LibC.ioctl(fd, Vm.KVM_GET_DIRTY_LOG, d);
        }
    }

    /**
     * {@code KVM_GET_DIRTY_LOG} of a slot of {@code pages} pages, as 64-bit words (bit
     * {@code i % 64} of word {@code i / 64} for page {@code i} of the slot).
     */
    public long[] getDirtyLog(int slot, long pages) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bitmap = arena.allocate((pages + 63) / 64 * 8, 8);
            getDirtyLog(slot, bitmap);
            return bitmap.toArray(JAVA_LONG);
        }
    }

    /**
     * {@code KVM_CLEAR_DIRTY_LOG}: clears (and write-protects again) the pages whose bits are set
     * in {@code bitmap}, which covers {@code numPages} pages from {@code firstPage} (a multiple
     * of 64).
     */
    public void clearDirtyLog(int slot, long firstPage, int numPages, MemorySegment bitmap) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment c = arena.allocate(KVM_CLEAR_DIRTY_LOG);
            c.set(JAVA_INT, offset(KVM_CLEAR_DIRTY_LOG, "slot"), slot);
            c.set(JAVA_INT, offset(KVM_CLEAR_DIRTY_LOG, "num_pages"), numPages);
            c.set(JAVA_LONG, offset(KVM_CLEAR_DIRTY_LOG, "first_page"), firstPage);
            c.set(ADDRESS, offset(KVM_CLEAR_DIRTY_LOG, "dirty_bitmap"), bitmap);
            LibC.ioctl(fd, Vm.KVM_CLEAR_DIRTY_LOG, c);
        }
    }

    /** {@code KVM_CREATE_VCPU} and maps its {@code kvm_run}. */
    public synchronized KvmVcpu createVcpu(int id) {
        if (closed) {
            throw new IllegalStateException("VM fd is closed");
        }
        int vcpuFd = LibC.ioctl(fd, Vm.KVM_CREATE_VCPU, id);
        KvmVcpu vcpu;
        try {
            vcpu = new KvmVcpu(this, id, vcpuFd, kvm.vcpuMmapSize());
        } catch (RuntimeException e) {
            LibC.close(vcpuFd);
            throw e;
        }
        vcpus.add(vcpu);
        return vcpu;
    }

    synchronized void forget(KvmVcpu vcpu) {
        vcpus.remove(vcpu);
    }

    @Override
    public void close() {
        List<KvmVcpu> open;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            open = new ArrayList<>(vcpus);
        }
        for (KvmVcpu vcpu : open) {
            vcpu.close();
        }
        LibC.close(fd);
        kvm.forget(this);
    }
}
