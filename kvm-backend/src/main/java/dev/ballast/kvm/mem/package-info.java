/**
 * Guest memory on the host: {@link dev.ballast.kvm.mem.GuestLayout} (the PC-like layout),
 * {@link dev.ballast.kvm.mem.GuestMemory} (the mapping, one {@link dev.ballast.kvm.mem.MemorySlot}
 * per block, the dirty log) and {@link dev.ballast.kvm.mem.DirtyLogMode}.
 *
 * <p>May depend on {@code kvm}, {@code kvm.sys} and {@code kvm.guestabi} (page size, the system
 * slot's size); not on {@code core}.
 */
package dev.ballast.kvm.mem;
