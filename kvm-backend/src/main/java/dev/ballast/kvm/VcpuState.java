package dev.ballast.kvm;

import dev.ballast.kvm.sys.KvmStructs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Everything a destination needs to continue a vCPU: the Ballast guest runs without FPU/SSE
 * state (built with {@code -mgeneral-regs-only}), interrupts or MSRs, so these registers are
 * all of it.
 */
public record VcpuState(Regs regs, Sregs sregs) {
    /** Bytes of {@link #write}: {@code struct kvm_regs} then {@code struct kvm_sregs}, as the kernel lays them out (x86-64, little-endian). */
    public static final long BYTES = KvmStructs.KVM_REGS.byteSize() + KvmStructs.KVM_SREGS.byteSize();

    /** Writes {@link #BYTES} bytes at {@code at} of {@code dst}. */
    public void write(MemorySegment dst, long at) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(KvmStructs.KVM_REGS);
            MemorySegment s = a.allocate(KvmStructs.KVM_SREGS);
            regs.write(r);
            sregs.write(s);
            MemorySegment.copy(r, 0, dst, at, r.byteSize());
            MemorySegment.copy(s, 0, dst, at + r.byteSize(), s.byteSize());
        }
    }

    /** Reads what {@link #write} wrote. The values are as they came: a caller that did not write them checks them. */
    public static VcpuState read(MemorySegment src, long at) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(KvmStructs.KVM_REGS);
            MemorySegment s = a.allocate(KvmStructs.KVM_SREGS);
            MemorySegment.copy(src, at, r, 0, r.byteSize());
            MemorySegment.copy(src, at + r.byteSize(), s, 0, s.byteSize());
            return new VcpuState(Regs.read(r), Sregs.read(s));
        }
    }
}
