/**
 * The native layer through FFM: {@link dev.ballast.kvm.sys.LibC} (the calls, errno captured per
 * call), {@link dev.ballast.kvm.sys.Signals} (a Java handler for a signal), the ioctl numbers,
 * structure layouts and constants of KVM, and
 * {@link dev.ballast.kvm.sys.NativeException}. Depends on nothing of Ballast.
 */
package dev.ballast.kvm.sys;
