/**
 * Real QEMU in the loop (issue #14). {@link dev.ballast.qemu.stream} reads QEMU's own migration stream and trusts
 * none of it; {@link dev.ballast.qemu.qmp} talks to a running QEMU over its QMP socket; {@link dev.ballast.qemu.guest}
 * finds QEMU and builds the guest (a stock Debian kernel and an initramfs from Ballast's own C sources).
 * Depends on nothing of Ballast's yet: mapping the reader's records to journal events is a later step.
 */
package dev.ballast.qemu;
