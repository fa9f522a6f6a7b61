/**
 * The KVM guest as both ends of a migration see it: {@link dev.ballast.kvm.guest.KvmGuest} (the
 * engine's {@code SourceGuest} on a source, the VM a destination installs into), its state
 * sections ({@link dev.ballast.kvm.guest.GuestState}), its self-check
 * ({@link dev.ballast.kvm.guest.SelfCheck}) and its workload settings.
 *
 * <p>May depend on {@code core} and the VMM packages ({@code kvm}, {@code kvm.sys},
 * {@code kvm.mem}, {@code kvm.guestabi}, {@code kvm.machine}, {@code kvm.device}); never on
 * {@code kvm.source}, {@code kvm.dest} or {@code kvm.backend}.
 */
package dev.ballast.kvm.guest;
