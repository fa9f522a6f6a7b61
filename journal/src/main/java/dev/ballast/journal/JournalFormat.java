package dev.ballast.journal;

/**
 * The documents of a journal. A journal is one directory holding one Chronicle Queue (one cycle
 * file, {@code *.cq4}, plus Chronicle's {@code metadata.cq4t}). Every Chronicle document (excerpt)
 * of the queue is one of four kinds, little-endian, after Chronicle's own 4-byte length header:
 *
 * <pre>
 *  Every document starts with:
 *  +---------------------------------------------------------------+
 *  |                          Kind (i32)                           |  0
 *  +---------------------------------------------------------------+
 *  |              CRC32C (i32) of bytes [8, end of document)       |  4
 *  +---------------------------------------------------------------+
 *
 *  HEADER (always the first document)      BATCH (events, in order)
 *   8 i64 magic "BLSTJRNL"                  8 i64 first event number (0-based)
 *  16 i32 format version                   16 i32 record count n
 *  20 i32 metadata entry count m           20 i32 header id (format 2; 0 in format 1)
 *  24 m x (i32 key length, UTF-8 key,      24 i64 Chronicle index of the latest CHECKPOINT
 *          i32 value length, UTF-8 value)         before this document, or -1
 *                                          32 n x 40-byte records ({@link RecordDescriptor})
 *
 *  CHECKPOINT                              FOOTER (always the last document)
 *   8 i64 event number (events before it)   8 i64 event count
 *  16 i64 Chronicle index of the previous  16 i64 digest ({@link JournalDigest})
 *         CHECKPOINT, or -1                24 i64 Chronicle index of the latest CHECKPOINT, or -1
 *  24 i32 payload length p                 32 i64 BATCH document count
 *  28 i32 header id (format 2; 0 in 1)     40 i32 header id (format 2; format 1 ends at 40)
 *  32 p bytes of payload                   44 i32 reserved (0)
 * </pre>
 *
 * <p>The <b>header id</b> binds every document to its header: it is the header document's CRC32C
 * (its bytes from offset 8: magic, version and metadata), so a header put in from another run, or
 * documents from another journal, show as a mismatch in the first document read after the header.
 * It is not the digest: the {@linkplain JournalDigest digest} covers the event stream alone, so two
 * runs with the same events have the same digest whatever their headers say.
 *
 * The magic and the version sit at fixed offsets so that a reader can refuse a journal of
 * another version before it trusts anything else. The checksum lets a reader detect and locate
 * damage inside a document; the event numbers let it detect a missing or repeated document.
 */
public final class JournalFormat {
    /** The version this code writes: 2 binds every document to the header (its header id). */
    public static final int FORMAT_VERSION = 2;
    /** The oldest version this code reads: version 1 has no header id (its field is 0). */
    public static final int OLDEST_FORMAT_VERSION = 1;
    /** "BLSTJRNL" as a little-endian long. */
    public static final long MAGIC = 0x4C4E524A54534C42L;

    public static final int KIND_HEADER = 0x44484A42; // "BJHD"
    public static final int KIND_BATCH = 0x54424A42; // "BJBT"
    public static final int KIND_CHECKPOINT = 0x50434A42; // "BJCP"
    public static final int KIND_FOOTER = 0x54464A42; // "BJFT"

    public static final int KIND_OFFSET = 0;
    public static final int CRC_OFFSET = 4;
    /** Where the checksummed part of every document starts. */
    public static final int CHECKED_OFFSET = 8;

    public static final int HEADER_MAGIC_OFFSET = 8;
    public static final int HEADER_VERSION_OFFSET = 16;
    public static final int HEADER_ENTRY_COUNT_OFFSET = 20;
    public static final int HEADER_ENTRIES_OFFSET = 24;

    public static final int BATCH_FIRST_EVENT_OFFSET = 8;
    public static final int BATCH_COUNT_OFFSET = 16;
    public static final int BATCH_HEADER_ID_OFFSET = 20;
    public static final int BATCH_LAST_CHECKPOINT_OFFSET = 24;
    public static final int BATCH_RECORDS_OFFSET = 32;

    public static final int CHECKPOINT_EVENT_OFFSET = 8;
    public static final int CHECKPOINT_PREVIOUS_OFFSET = 16;
    public static final int CHECKPOINT_LENGTH_OFFSET = 24;
    public static final int CHECKPOINT_HEADER_ID_OFFSET = 28;
    public static final int CHECKPOINT_PAYLOAD_OFFSET = 32;

    public static final int FOOTER_EVENTS_OFFSET = 8;
    public static final int FOOTER_DIGEST_OFFSET = 16;
    public static final int FOOTER_LAST_CHECKPOINT_OFFSET = 24;
    public static final int FOOTER_BATCHES_OFFSET = 32;
    public static final int FOOTER_HEADER_ID_OFFSET = 40;
    public static final int FOOTER_RESERVED_OFFSET = 44;
    /** The footer's length in format 2. */
    public static final int FOOTER_LENGTH = 48;
    /** The footer's length in format 1. */
    public static final int FOOTER_LENGTH_V1 = 40;

    /** Largest checkpoint payload the writer accepts. */
    public static final int MAX_CHECKPOINT_PAYLOAD = 8 << 20;
    /** Largest record count per batch document a writer may be configured with. */
    public static final int MAX_RECORDS_PER_BATCH = 1 << 16;

    /** No checkpoint. */
    public static final long NO_INDEX = -1;

    private JournalFormat() {}

    static String kindName(int kind) {
        return switch (kind) {
            case KIND_HEADER -> "header";
            case KIND_BATCH -> "batch";
            case KIND_CHECKPOINT -> "checkpoint";
            case KIND_FOOTER -> "footer";
            default -> "unknown kind 0x" + Integer.toHexString(kind);
        };
    }
}
