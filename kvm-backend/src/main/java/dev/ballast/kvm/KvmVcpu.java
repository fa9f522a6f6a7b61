package dev.ballast.kvm;

import static dev.ballast.kvm.sys.KvmStructs.KVM_REGS;
import static dev.ballast.kvm.sys.KvmStructs.KVM_SREGS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.ballast.kvm.sys.Errno;
import dev.ballast.kvm.sys.KvmConstants;
import dev.ballast.kvm.sys.KvmIoctls.Vcpu;
import dev.ballast.kvm.sys.KvmStructs;
import dev.ballast.kvm.sys.LibC;
import dev.ballast.kvm.sys.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * A vCPU fd and its mmapped {@code kvm_run}. {@link #run()} is called by one thread at a time
 * (the vCPU thread); {@link #setImmediateExit} may be called from any thread. Register access
 * must not overlap a {@code run()} (KVM would block it until the run returns).
 */
public final class KvmVcpu implements AutoCloseable {
    private final KvmVm vm;
    private final int id;
    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment run;
    private boolean closed;

    KvmVcpu(KvmVm vm, int id, int fd, int mmapSize) {
        this.vm = vm;
        this.id = id;
        this.fd = fd;
        this.run = LibC.mmap(
                "kvm_run of vCPU " + id, mmapSize, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, 0, arena);
    }

    public int id() {
        return id;
    }

    public int fd() {
        return fd;
    }

    public KvmVm vm() {
        return vm;
    }

    /**
     * {@code KVM_RUN} until the guest exits. {@code EINTR} (a signal, or immediate_exit) is
     * {@link VcpuExit.Interrupted}; any other error throws.
     */
    public VcpuExit run() {
        int rc = LibC.ioctlOrErrno(fd, Vcpu.KVM_RUN, 0L);
        if (rc < 0) {
            if (-rc == Errno.EINTR) {
                return new VcpuExit.Interrupted();
            }
            throw new NativeException(Vcpu.KVM_RUN.name(), -rc);
        }
        int reason = run.get(JAVA_INT, KvmStructs.RUN_EXIT_REASON);
        return switch (reason) {
            case KvmConstants.KVM_EXIT_IO -> decodeIo();
            case KvmConstants.KVM_EXIT_HLT -> new VcpuExit.Hlt();
            case KvmConstants.KVM_EXIT_SHUTDOWN -> new VcpuExit.Shutdown();
            case KvmConstants.KVM_EXIT_INTR -> new VcpuExit.Interrupted();
            case KvmConstants.KVM_EXIT_FAIL_ENTRY ->
                new VcpuExit.FailEntry(
                        run.get(JAVA_LONG, KvmStructs.RUN_FAIL_ENTRY_REASON),
                        run.get(JAVA_INT, KvmStructs.RUN_FAIL_ENTRY_CPU));
            case KvmConstants.KVM_EXIT_INTERNAL_ERROR -> {
                int n = Math.min(16, run.get(JAVA_INT, KvmStructs.RUN_INTERNAL_NDATA));
                long[] data = new long[Math.max(0, n)];
                MemorySegment.copy(run, JAVA_LONG, KvmStructs.RUN_INTERNAL_DATA, data, 0, data.length);
                yield new VcpuExit.InternalError(run.get(JAVA_INT, KvmStructs.RUN_INTERNAL_SUBERROR), data);
            }
            default -> new VcpuExit.Unknown(reason, run.get(JAVA_LONG, KvmStructs.RUN_HW_EXIT_REASON));
        };
    }

    private VcpuExit decodeIo() {
        int size = Byte.toUnsignedInt(run.get(JAVA_BYTE, KvmStructs.RUN_IO_SIZE));
        int port = Short.toUnsignedInt(run.get(JAVA_SHORT, KvmStructs.RUN_IO_PORT));
        int count = run.get(JAVA_INT, KvmStructs.RUN_IO_COUNT);
        if (run.get(JAVA_BYTE, KvmStructs.RUN_IO_DIRECTION) == KvmConstants.KVM_EXIT_IO_IN) {
            return new VcpuExit.IoIn(port, size, count);
        }
        long at = run.get(JAVA_LONG, KvmStructs.RUN_IO_DATA_OFFSET);
        long data = switch (size) {
            case 1 -> Byte.toUnsignedLong(run.get(JAVA_BYTE, at));
            case 2 -> Short.toUnsignedLong(run.get(JAVA_SHORT.withByteAlignment(1), at));
            case 4 -> Integer.toUnsignedLong(run.get(JAVA_INT.withByteAlignment(1), at));
            default -> 0L;
        };
        return new VcpuExit.IoOut(port, size, count, data);
    }

    /** Answers the last {@link VcpuExit.IoIn}: the value the guest's {@code in} reads. */
    public void completeIoIn(long value) {
        long at = run.get(JAVA_LONG, KvmStructs.RUN_IO_DATA_OFFSET);
        int size = Byte.toUnsignedInt(run.get(JAVA_BYTE, KvmStructs.RUN_IO_SIZE));
        for (int i = 0; i < size; i++) {
            run.set(JAVA_BYTE, at + i, (byte) (value >>> (8 * i)));
        }
    }

    /**
     * Sets {@code kvm_run.immediate_exit}: while set, {@code KVM_RUN} completes any pending I/O
     * and returns {@code EINTR} without entering the guest.
     */
    public void setImmediateExit(boolean on) {
        run.set(JAVA_BYTE, KvmStructs.RUN_IMMEDIATE_EXIT, (byte) (on ? 1 : 0));
        VarHandle.fullFence();
    }

    /** {@code KVM_SET_CPUID2} with a {@code struct kvm_cpuid2} (see {@link Kvm#supportedCpuid}). */
    public void setCpuid(MemorySegment cpuid2) {
        LibC.ioctl(fd, Vcpu.KVM_SET_CPUID2, cpuid2);
    }

    /** {@code KVM_GET_TSC_KHZ}: the rate of the guest's time stamp counter. */
    public long tscKhz() {
        return LibC.ioctl(fd, Vcpu.KVM_GET_TSC_KHZ, 0L);
    }

    public Regs getRegs() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KVM_REGS);
            LibC.ioctl(fd, Vcpu.KVM_GET_REGS, s);
            return Regs.read(s);
        }
    }

    public void setRegs(Regs regs) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KVM_REGS);
            regs.write(s);
            LibC.ioctl(fd, Vcpu.KVM_SET_REGS, s);
        }
    }

    public Sregs getSregs() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KVM_SREGS);
            LibC.ioctl(fd, Vcpu.KVM_GET_SREGS, s);
            return Sregs.read(s);
        }
    }

    public void setSregs(Sregs sregs) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KVM_SREGS);
            sregs.write(s);
            LibC.ioctl(fd, Vcpu.KVM_SET_SREGS, s);
        }
    }

    /** Registers and special registers: see {@link VcpuState}. */
    public VcpuState saveState() {
        return new VcpuState(getRegs(), getSregs());
    }

    public void restoreState(VcpuState state) {
        setSregs(state.sregs());
        setRegs(state.regs());
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        arena.close();
        LibC.close(fd);
        vm.forget(this);
    }
}
