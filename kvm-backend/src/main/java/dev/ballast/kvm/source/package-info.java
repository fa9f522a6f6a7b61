/**
 * The sending side of a KVM migration: {@link dev.ballast.kvm.source.HopMigration} (one
 * migration with its retries, the engine on the wall clock), {@link dev.ballast.kvm.source.WireLink}
 * (the engine's {@code PageLink}) and {@link dev.ballast.kvm.source.Target} (where it goes).
 *
 * <p>May depend on {@code core}, {@code kvm.guest}, {@code kvm.guestabi} and {@code kvm.net};
 * never on {@code kvm.dest} or {@code kvm.backend}.
 */
package dev.ballast.kvm.source;
