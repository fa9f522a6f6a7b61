package dev.ballast.qemu.guest;

/** QEMU, the guest kernel or a tool to build the guest image is missing: one line saying what and how to get it. */
public final class QemuUnavailableException extends Exception {
    public QemuUnavailableException(String message) {
        super(message);
    }
}
