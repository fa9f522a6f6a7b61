/**
 * The guest's balloon and free page hint devices on the host: a thread on the request ring
 * ({@link dev.ballast.kvm.device.GuestDevices}) and the queue to the migration thread
 * ({@link dev.ballast.kvm.device.RequestQueue}).
 *
 * <p>May depend on {@code core.engine}, {@code core.event}, {@code core.mem}, {@code kvm.mem} and
 * {@code kvm.guestabi}.
 */
package dev.ballast.kvm.device;
