/**
 * The host's mirror of the C guest program's {@code abi.h}: its constants
 * ({@link dev.ballast.kvm.guestabi.GuestAbi}), the image, the system slot's contents, the rings and
 * the channel over them, and {@link dev.ballast.kvm.guestabi.PageStamp}. A change to {@code abi.h}
 * is a change here.
 *
 * <p>May depend on {@code kvm} and {@code kvm.mem}; not on {@code core} or on migration.
 */
package dev.ballast.kvm.guestabi;
