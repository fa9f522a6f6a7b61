package dev.ballast.core.wire;

/**
 * The byte layout of the page-stream protocol, version {@value #VERSION}. Every integer is
 * little-endian; every offset below counts from the first byte of the record (its header).
 * {@code docs/wire-protocol.md} draws every record and says what each field may hold.
 *
 * <p>Every record starts with the same header:
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-------------------------------+---------------+---------------+
 *  |        magic (0xBA11)         |     type      |     flags     |  0
 *  +-------------------------------+---------------+---------------+
 *  |             payload length (bytes after this header)          |  4
 *  +---------------------------------------------------------------+
 *  |                         payload ...                           |  8
 * </pre>
 *
 * <p>The page record, for example:
 * <pre>
 *  +---------------------------------------------------------------+
 *  |                      header (type 3)                          |  0
 *  +---------------------------------------------------------------+
 *  |                      block id (u32)                           |  8
 *  +---------------------------------------------------------------+
 *  |                      page count n (u32)                       | 12
 *  +---------------------------------------------------------------+
 *  |                      offset in block, pages (u64)             | 16
 *  +---------------------------------------------------------------+
 *  |                      n x 4096 bytes of page contents        ... 24
 * </pre>
 *
 * <p>Block ids are positions in the HELLO's block list (the sender's order); the destination
 * maps them to its own blocks by name. Reserved fields are zero; a reader rejects anything else,
 * so a later version can give them a meaning.
 */
public final class WireFormat {
    private WireFormat() {}

    public static final int VERSION = 6;
    public static final int MAGIC = 0xBA11;
    public static final int PAGE_SIZE = 4096;

    // ---------------------------------------------------------------- header
    public static final int MAGIC_OFFSET = 0;
    public static final int TYPE_OFFSET = 2;
    public static final int FLAGS_OFFSET = 3;
    public static final int LENGTH_OFFSET = 4;
    public static final int HEADER_LENGTH = 8;

    /** HELLO_ACK flag: more HELLO_ACK records follow with further missing ranges. */
    public static final int FLAG_MORE = 0x01;

    /** HELLO flag (version 4): the HELLO resumes a postcopy migration after a link failure (postcopy recovery). */
    public static final int FLAG_RECOVER = 0x01;

    // ---------------------------------------------------------------- HELLO
    public static final int HELLO_VERSION_OFFSET = 8; // u16
    public static final int HELLO_POISON_OFFSET = 10; // u8
    public static final int HELLO_RESERVED_OFFSET = 11; // u8
    public static final int HELLO_BLOCK_COUNT_OFFSET = 12; // u32
    public static final int HELLO_SESSION_OFFSET = 16; // u64
    public static final int HELLO_BLOCKS_OFFSET = 24; // entries
    /** In a HELLO block entry, relative to the entry. */
    public static final int BLOCK_FIRST_PFN_OFFSET = 0; // u64

    public static final int BLOCK_PAGES_OFFSET = 8; // u64
    public static final int BLOCK_NAME_LENGTH_OFFSET = 16; // u8
    public static final int BLOCK_NAME_OFFSET = 17; // bytes
    public static final int BLOCK_ENTRY_FIXED_LENGTH = 17;

    // ---------------------------------------------------------------- HELLO_ACK
    public static final int ACK_STATUS_OFFSET = 8; // u16: 0 accepted, else a WireException.Reason code
    public static final int ACK_MESSAGE_LENGTH_OFFSET = 10; // u16
    public static final int ACK_RANGE_COUNT_OFFSET = 12; // u32
    public static final int ACK_SESSION_OFFSET = 16; // u64
    public static final int ACK_RANGES_OFFSET = 24; // ranges, then the message
    /** In a HELLO_ACK missing range, relative to the range. */
    public static final int MISSING_BLOCK_OFFSET = 0; // u32

    public static final int MISSING_RESERVED_OFFSET = 4; // u32
    public static final int MISSING_OFFSET_OFFSET = 8; // u64
    public static final int MISSING_COUNT_OFFSET = 16; // u64
    public static final int MISSING_RANGE_LENGTH = 24;

    // ---------------------------------------------------------------- PAGES
    public static final int PAGES_BLOCK_OFFSET = 8; // u32
    public static final int PAGES_COUNT_OFFSET = 12; // u32
    public static final int PAGES_PAGE_OFFSET = 16; // u64
    public static final int PAGES_DATA_OFFSET = 24;

    // ---------------------------------------------------------------- FILL
    public static final int FILL_BLOCK_OFFSET = 8; // u32
    public static final int FILL_BYTE_OFFSET = 12; // u8
    public static final int FILL_RESERVED_OFFSET = 13; // 3 bytes
    public static final int FILL_PAGE_OFFSET = 16; // u64
    public static final int FILL_COUNT_OFFSET = 24; // u64
    public static final int FILL_LENGTH = 32;

    // ---------------------------------------------------------------- BALLOON
    public static final int BALLOON_BLOCK_OFFSET = 8; // u32
    public static final int BALLOON_OP_OFFSET = 12; // u8: 1 set (in the balloon), 0 clear
    public static final int BALLOON_RESERVED_OFFSET = 13; // 3 bytes
    public static final int BALLOON_RANGE_COUNT_OFFSET = 16; // u32
    public static final int BALLOON_RESERVED2_OFFSET = 20; // u32
    public static final int BALLOON_RANGES_OFFSET = 24; // (offset u64, count u64) pairs
    public static final int BALLOON_RANGE_LENGTH = 16;
    public static final int BALLOON_CLEAR = 0;
    public static final int BALLOON_SET = 1;

    // ---------------------------------------------------------------- ITERATION_END
    public static final int ITERATION_OFFSET = 8; // u32
    public static final int ITERATION_RESERVED_OFFSET = 12; // u32
    public static final int ITERATION_END_LENGTH = 16;

    // ---------------------------------------------------------------- COMPLETE
    public static final int COMPLETE_DIGEST_OFFSET = 8; // u64
    public static final int COMPLETE_RECORDS_OFFSET = 16; // u64
    public static final int COMPLETE_BYTES_OFFSET = 24; // u64
    public static final int COMPLETE_LENGTH = 32;

    // ---------------------------------------------------------------- COMPLETE_ACK
    public static final int VERDICT_DIGEST_OFFSET = 8; // u64
    public static final int VERDICT_CHECKED_OFFSET = 16; // u64
    public static final int VERDICT_BAD_OFFSET = 24; // u64
    public static final int VERDICT_OK_OFFSET = 32; // u8: 0 or 1
    public static final int VERDICT_RESERVED_OFFSET = 33; // u8
    public static final int VERDICT_MESSAGE_LENGTH_OFFSET = 34; // u16
    /** Version 2: microseconds from the guest's start on the destination to the verdict (the self-check), saturated at 2^32 - 1. */
    public static final int VERDICT_CHECK_MICROS_OFFSET = 36; // u32

    public static final int VERDICT_MESSAGE_OFFSET = 40;

    // ---------------------------------------------------------------- ERROR
    public static final int ERROR_CODE_OFFSET = 8; // u16: a WireException.Reason code
    public static final int ERROR_MESSAGE_LENGTH_OFFSET = 10; // u16
    public static final int ERROR_RESERVED_OFFSET = 12; // u32
    public static final int ERROR_MESSAGE_OFFSET = 16;

    // ---------------------------------------------------------------- STATE (version 2)
    public static final int STATE_SECTION_OFFSET = 8; // u32: 1..MAX_STATE_SECTION
    public static final int STATE_RESERVED_OFFSET = 12; // u32
    public static final int STATE_OFFSET_OFFSET = 16; // u64: bytes into the section
    public static final int STATE_TOTAL_OFFSET = 24; // u64: the section's length
    public static final int STATE_DATA_OFFSET = 32;
    /** Bytes of section data in one STATE record, at most. */
    public static final int MAX_STATE_CHUNK = 1 << 20;
    /** The longest section. */
    public static final long MAX_STATE_BYTES = 1L << 30;
    /** Section ids are 1..255. */
    public static final int MAX_STATE_SECTION = 255;

    // ---------------------------------------------------------------- postcopy (version 4)
    /** DISCARD: pages the destination holds that are stale; ranges as in BALLOON. */
    public static final int DISCARD_BLOCK_OFFSET = 8; // u32

    public static final int DISCARD_RESERVED_OFFSET = 12; // u32
    public static final int DISCARD_RANGE_COUNT_OFFSET = 16; // u32
    public static final int DISCARD_RESERVED2_OFFSET = 20; // u32
    public static final int DISCARD_RANGES_OFFSET = 24; // (offset u64, count u64) pairs
    public static final int DISCARD_RANGE_LENGTH = 16;

    /** BALLOON_BITMAP: a bit a page, the balloon bitmap at the switch-over. */
    public static final int BITMAP_BLOCK_OFFSET = 8; // u32

    public static final int BITMAP_RESERVED_OFFSET = 12; // u32
    public static final int BITMAP_PAGE_OFFSET = 16; // u64: the page of bit 0
    public static final int BITMAP_COUNT_OFFSET = 24; // u64: pages (bits) the record covers
    public static final int BITMAP_BITS_OFFSET = 32; // ceil(count / 8) bytes, bit k of byte j = page + 8j + k
    /** Bitmap bytes in one BALLOON_BITMAP record, at most (8 Mi pages, 32 GiB of guest). */
    public static final int MAX_BITMAP_BYTES = 1 << 20;

    public static final long MAX_BITMAP_PAGES = 8L * MAX_BITMAP_BYTES;

    /** SWITCH_OVER: the guest resumes on the destination. */
    public static final int SWITCH_DISCARDED_OFFSET = 8; // u64: pages the stream's DISCARDs named, in all

    /** u32: requests one engine step of the source serves (at least 1): invariant 8's bound at the destination. */
    public static final int SWITCH_REQUESTS_PER_STEP_OFFSET = 16;
    /** u32: the source link's time for one engine step's pages and requests, microseconds (0: no limit). */
    public static final int SWITCH_STEP_MICROS_OFFSET = 20;

    public static final int SWITCH_OVER_LENGTH = 24;

    /** SWITCH_OVER_ACK (version 5, destination to source): the guest runs on the destination now. */
    public static final int SWITCH_ACK_RESERVED_OFFSET = 8; // u64

    public static final int SWITCH_OVER_ACK_LENGTH = 16;

    /** PAGE_REQUEST (destination to source): the destination's guest faulted on these pages. */
    public static final int REQUEST_BLOCK_OFFSET = 8; // u32: the source's block id

    public static final int REQUEST_RESERVED_OFFSET = 12; // u32
    public static final int REQUEST_PAGE_OFFSET = 16; // u64
    public static final int REQUEST_COUNT_OFFSET = 24; // u64: 1..MAX_PAGES_PER_RECORD
    public static final int PAGE_REQUEST_LENGTH = 32;

    // ---------------------------------------------------------------- authentication (version 2)
    /** AUTH_INIT, AUTH_CHALLENGE, AUTH_RESPONSE: u16 mechanism, then reserved bytes up to offset 16. */
    public static final int AUTH_MECHANISM_OFFSET = 8; // u16

    public static final int AUTH_RESERVED_OFFSET = 10; // u16 + u32
    /** HMAC-SHA256 over nonces from both ends, keyed with the shared secret. */
    public static final int AUTH_HMAC_SHA256 = 1;

    public static final int AUTH_NONCE_LENGTH = 32;
    public static final int AUTH_MAC_LENGTH = 32;
    /** AUTH_INIT: the source's nonce. */
    public static final int AUTH_INIT_NONCE_OFFSET = 16;

    public static final int AUTH_INIT_LENGTH = AUTH_INIT_NONCE_OFFSET + AUTH_NONCE_LENGTH;
    /** AUTH_CHALLENGE: the destination's nonce, then the destination's proof. */
    public static final int AUTH_CHALLENGE_NONCE_OFFSET = 16;

    public static final int AUTH_CHALLENGE_MAC_OFFSET = AUTH_CHALLENGE_NONCE_OFFSET + AUTH_NONCE_LENGTH;
    public static final int AUTH_CHALLENGE_LENGTH = AUTH_CHALLENGE_MAC_OFFSET + AUTH_MAC_LENGTH;
    /** AUTH_RESPONSE: the source's proof. */
    public static final int AUTH_RESPONSE_MAC_OFFSET = 16;

    public static final int AUTH_RESPONSE_LENGTH = AUTH_RESPONSE_MAC_OFFSET + AUTH_MAC_LENGTH;

    // ---------------------------------------------------------------- limits
    public static final int MAX_BLOCKS = 256;
    public static final int MAX_NAME_BYTES = 255;
    /** Block names as {@link dev.ballast.core.mem.RamBlock} allows them: 1 to 64 characters. */
    public static final int MAX_NAME_CHARS = 64;

    public static final int MAX_PAGES_PER_RECORD = 1024;
    public static final int MAX_RANGES_PER_RECORD = 65536;
    public static final int MAX_MESSAGE_BYTES = 1024;
    /** Guest-physical frames are below 2^52 (a 64-bit physical address of 4 KiB pages). */
    public static final long MAX_PFN = 1L << 52;

    /** The longest record of any type, header included (a full PAGES record). */
    public static final int MAX_RECORD_LENGTH = PAGES_DATA_OFFSET + MAX_PAGES_PER_RECORD * PAGE_SIZE;

    /** Seed of the stream digest before the first record. */
    public static final long DIGEST_SEED = 0;
}
