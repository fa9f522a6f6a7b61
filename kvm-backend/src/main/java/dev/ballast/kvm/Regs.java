package dev.ballast.kvm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;

/** The general registers of a vCPU ({@code struct kvm_regs}). */
public record Regs(
        long rax,
        long rbx,
        long rcx,
        long rdx,
        long rsi,
        long rdi,
        long rsp,
        long rbp,
        long r8,
        long r9,
        long r10,
        long r11,
        long r12,
        long r13,
        long r14,
        long r15,
        long rip,
        long rflags) {

    /** RFLAGS bit 1, always set. */
    public static final long RFLAGS_FIXED = 0x2;
    /** RFLAGS.IOPL = 3: port I/O allowed at CPL 3 on ordinary KVM (this machine's kvm_pvm ignores it). */
    public static final long RFLAGS_IOPL3 = 0x3000;

    /** Registers to start at {@code rip} with stack {@code rsp}; everything else zero. */
    public static Regs entry(long rip, long rsp, long rflags) {
        return new Regs(0, 0, 0, 0, 0, 0, rsp, 0, 0, 0, 0, 0, 0, 0, 0, 0, rip, rflags);
    }

    static Regs read(MemorySegment s) {
        long[] v = new long[18];
        MemorySegment.copy(s, JAVA_LONG, 0, v, 0, 18);
        return new Regs(
                v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15],
                v[16], v[17]);
    }

    void write(MemorySegment s) {
        long[] v = {rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags};
        MemorySegment.copy(v, 0, s, JAVA_LONG, 0, 18);
    }
}
