/**
 * The receiving side of a KVM migration: {@link dev.ballast.kvm.dest.DestinationServer}
 * ({@code ballast dest}), {@link dev.ballast.kvm.dest.GuestSink} (the {@code PageSink} that
 * installs a stream into a VM and starts it) and {@link dev.ballast.kvm.dest.LocalTarget} (a
 * destination in this process).
 *
 * <p>May depend on {@code core}, {@code kvm}, {@code kvm.guest}, {@code kvm.guestabi},
 * {@code kvm.mem}, {@code kvm.net} and {@code kvm.source} (a destination that forwards is a
 * source); never on {@code kvm.backend}.
 */
package dev.ballast.kvm.dest;
