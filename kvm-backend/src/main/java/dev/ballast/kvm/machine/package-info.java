/**
 * A booted VM running the guest program: {@link dev.ballast.kvm.machine.KvmMachine} (create,
 * boot, start from a saved state, pause, resume), its vCPU thread and
 * {@link dev.ballast.kvm.machine.MachineConfig}.
 *
 * <p>May depend on {@code kvm}, {@code kvm.sys}, {@code kvm.mem} and {@code kvm.guestabi}; not on
 * {@code core} or on migration.
 */
package dev.ballast.kvm.machine;
