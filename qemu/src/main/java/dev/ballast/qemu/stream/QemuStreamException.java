package dev.ballast.qemu.stream;

/**
 * A QEMU migration stream that this reader will not accept: one line, naming the byte offset (from the first byte
 * of the stream) where the offending record or field starts. Nothing at or after {@link #offset()} reached a
 * visitor or a {@link ValidatedBytesSink}.
 */
public final class QemuStreamException extends Exception {
    /** Why the stream was refused. */
    public enum Kind {
        /** The bytes break QEMU's format (bad magic, unknown block, offset past a block, footer mismatch, ...). */
        MALFORMED,
        /** Well-formed, but a record, section or capability this reader does not handle (XBZRLE, COMMAND, ...). */
        UNSUPPORTED,
        /** The stream ended inside a record, or before the end of RAM. */
        TRUNCATED
    }

    private final Kind kind;
    private final long offset;
    private final String detail;

    public QemuStreamException(Kind kind, long offset, String detail) {
        super("QEMU stream, byte " + offset + ": " + detail);
        this.kind = kind;
        this.offset = offset;
        this.detail = detail;
    }

    public Kind kind() {
        return kind;
    }

    /** Byte offset (from the stream's first byte) of the record or field refused. */
    public long offset() {
        return offset;
    }

    /** The message without the offset prefix. */
    public String detail() {
        return detail;
    }
}
