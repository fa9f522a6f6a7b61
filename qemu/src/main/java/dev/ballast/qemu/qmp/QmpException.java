package dev.ballast.qemu.qmp;

/** QEMU answered a QMP command with an error, or the conversation broke: one line saying which command. */
public final class QmpException extends Exception {
    public QmpException(String message) {
        super(message);
    }
}
