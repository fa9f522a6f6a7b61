package dev.ballast.core.wire;

/**
 * A page stream was rejected. The message is one line that names the reason, the record type and
 * the stream offset of the record's first byte, e.g.
 * {@code OUT_OF_RANGE: PAGES record at stream offset 4169: pages [250, +10) run past the end of block ram-low (256 pages)}.
 */
public final class WireException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why; the code is what HELLO_ACK and ERROR records carry. */
    public enum Reason {
        /** The record does not start with the magic number. */
        BAD_MAGIC(1),
        /** The type byte names no record type. */
        UNKNOWN_TYPE(2),
        /** A flag that the record type does not define is set. */
        BAD_FLAGS(3),
        /** The length does not fit the type, or disagrees with the counts inside the record. */
        BAD_LENGTH(4),
        /** The stream ended in the middle of a record, or before COMPLETE. */
        TRUNCATED(5),
        /** A record where the protocol does not allow one: before HELLO, after COMPLETE, a second HELLO, an answer sent the wrong way. */
        UNEXPECTED_RECORD(6),
        /** The HELLO speaks another protocol version. */
        UNSUPPORTED_VERSION(7),
        /** The HELLO's layout cannot be a layout: a bad or repeated name, an empty or overlapping block. */
        BAD_LAYOUT(8),
        /** The HELLO's layout differs from the destination's by name, first PFN or size. */
        LAYOUT_MISMATCH(9),
        /** A block id that is not in the handshake. */
        UNKNOWN_BLOCK(10),
        /** Pages that run past the end of their block. */
        OUT_OF_RANGE(11),
        /** A count of zero, or one too large to be true. */
        BAD_COUNT(12),
        /** Ranges that overlap or are not in ascending order. */
        UNORDERED_RANGES(13),
        /** A field holds a value it may not: a reserved field not zero, an unknown operation, text that is not UTF-8. */
        BAD_FIELD(14),
        /** An iteration number that does not increase. */
        BAD_ITERATION(15),
        /** The digest, record count or byte count at COMPLETE differs from what the reader saw. */
        DIGEST_MISMATCH(16),
        /** The destination refused the migration for a reason of its own (busy, unknown session). */
        REFUSED(17),
        /** The peer sent an ERROR record. */
        PEER_ERROR(18),
        /** The source gave up the migration (cancelled or failed on its side). */
        ABORTED(19),
        /** Authentication failed: a wrong proof, none where the destination requires one, or one it cannot check. */
        AUTH_FAILED(20),
        /**
         * Version 4 (postcopy): after the switch-over, pages for a page the destination holds already (placed
         * twice, as {@code UFFDIO_COPY} refuses with {@code EEXIST}: invariant 3).
         */
        PLACED_TWICE(21);

        private final int code;

        Reason(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        /** The reason with this code, or null. */
        public static Reason byCode(int code) {
            for (Reason r : values()) if (r.code == code) return r;
            return null;
        }
    }

    private final Reason reason;
    private final RecordType recordType;
    private final long streamOffset;
    private final String detail;

    /**
     * @param recordType   the type of the rejected record, or null where it could not be read
     * @param streamOffset the offset of the record's first byte in the stream, or -1 where the
     *                     rejection is not about one record
     */
    public WireException(Reason reason, RecordType recordType, long streamOffset, String detail) {
        super(format(reason, recordType, streamOffset, detail));
        this.reason = reason;
        this.recordType = recordType;
        this.streamOffset = streamOffset;
        this.detail = detail;
    }

    /** A rejection that names no record, e.g. a sink refusing a migration. */
    public WireException(Reason reason, String detail) {
        this(reason, null, -1, detail);
    }

    private static String format(Reason reason, RecordType type, long offset, String detail) {
        StringBuilder sb = new StringBuilder(reason.name()).append(": ");
        if (offset >= 0) {
            sb.append(type == null ? "record" : type.name() + " record")
                    .append(" at stream offset ")
                    .append(offset)
                    .append(": ");
        }
        return sb.append(detail.replace('\n', ' ')).toString();
    }

    public Reason reason() {
        return reason;
    }

    /** The rejected record's type, or null. */
    public RecordType recordType() {
        return recordType;
    }

    /** The stream offset of the rejected record's first byte, or -1. */
    public long streamOffset() {
        return streamOffset;
    }

    /** The message without the reason and position. */
    public String detail() {
        return detail;
    }

    /** The message without the reason (which travels as a code beside it). */
    String messageWithoutReason() {
        return getMessage().substring(reason.name().length() + 2);
    }
}
