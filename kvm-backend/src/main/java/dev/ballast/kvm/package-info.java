/**
 * The KVM file descriptors as objects, one owner per fd as the kernel nests them:
 * {@link dev.ballast.kvm.Kvm} (system) → {@link dev.ballast.kvm.KvmVm} → {@link dev.ballast.kvm.KvmVcpu},
 * the typed {@link dev.ballast.kvm.VcpuExit}, the register state, the kick signal
 * ({@link dev.ballast.kvm.VcpuKick}) and {@link dev.ballast.kvm.KvmAvailability}.
 *
 * <p>Depends on {@code kvm.sys} only: nothing of migration or of the guest program.
 */
package dev.ballast.kvm;
