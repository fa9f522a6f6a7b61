/**
 * What a QEMU run needs on the host: the QEMU binary and its accelerator, and the guest image — a stock Debian
 * kernel fetched with {@code apt-get download} and unpacked (never installed) into a cache, and an initramfs built
 * from Ballast's own {@code init.c} with {@code gcc -static}. Nothing here runs at Maven build time: the launcher's
 * build needs neither network nor QEMU.
 */
package dev.ballast.qemu.guest;
