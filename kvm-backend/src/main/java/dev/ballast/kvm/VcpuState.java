package dev.ballast.kvm;

/**
 * Everything a destination needs to continue a vCPU: the Ballast guest runs without FPU/SSE
 * state (built with {@code -mgeneral-regs-only}), interrupts or MSRs, so these registers are
 * all of it.
 */
public record VcpuState(Regs regs, Sregs sregs) {
}
