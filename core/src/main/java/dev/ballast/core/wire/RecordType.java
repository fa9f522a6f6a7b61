package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireFormat.*;

/**
 * The record types, with their wire codes, the direction they travel, the flags they may carry
 * and the bounds of their length (header included). A reader checks the length against these
 * bounds from the header alone, before it reads the payload.
 */
public enum RecordType {
    HELLO(
            1,
            true,
            FLAG_RECOVER,
            HELLO_BLOCKS_OFFSET + BLOCK_ENTRY_FIXED_LENGTH + 1,
            HELLO_BLOCKS_OFFSET + MAX_BLOCKS * (BLOCK_ENTRY_FIXED_LENGTH + MAX_NAME_BYTES),
            1),
    HELLO_ACK(
            2,
            false,
            FLAG_MORE,
            ACK_RANGES_OFFSET,
            ACK_RANGES_OFFSET + MAX_RANGES_PER_RECORD * MISSING_RANGE_LENGTH + MAX_MESSAGE_BYTES,
            1),
    PAGES(3, true, 0, PAGES_DATA_OFFSET + PAGE_SIZE, PAGES_DATA_OFFSET + MAX_PAGES_PER_RECORD * PAGE_SIZE, PAGE_SIZE),
    FILL(4, true, 0, FILL_LENGTH, FILL_LENGTH, 1),
    BALLOON(
            5,
            true,
            0,
            BALLOON_RANGES_OFFSET + BALLOON_RANGE_LENGTH,
            BALLOON_RANGES_OFFSET + MAX_RANGES_PER_RECORD * BALLOON_RANGE_LENGTH,
            BALLOON_RANGE_LENGTH),
    ITERATION_END(6, true, 0, ITERATION_END_LENGTH, ITERATION_END_LENGTH, 1),
    COMPLETE(7, true, 0, COMPLETE_LENGTH, COMPLETE_LENGTH, 1),
    COMPLETE_ACK(8, false, 0, VERDICT_MESSAGE_OFFSET, VERDICT_MESSAGE_OFFSET + MAX_MESSAGE_BYTES, 1),
    /** Sent by whichever side rejects; travels both ways. */
    ERROR(9, true, 0, ERROR_MESSAGE_OFFSET, ERROR_MESSAGE_OFFSET + MAX_MESSAGE_BYTES, 1),
    /** Version 2: the source's nonce, opening authentication. */
    AUTH_INIT(10, true, 0, AUTH_INIT_LENGTH, AUTH_INIT_LENGTH, 1),
    /** Version 2: the destination's nonce and its proof of the secret. */
    AUTH_CHALLENGE(11, false, 0, AUTH_CHALLENGE_LENGTH, AUTH_CHALLENGE_LENGTH, 1),
    /** Version 2: the source's proof of the secret. */
    AUTH_RESPONSE(12, true, 0, AUTH_RESPONSE_LENGTH, AUTH_RESPONSE_LENGTH, 1),
    /** Version 2: a chunk of an opaque device or vCPU state section. */
    STATE(13, true, 0, STATE_DATA_OFFSET + 1, STATE_DATA_OFFSET + MAX_STATE_CHUNK, 1),
    /** Version 4 (postcopy): pages the destination holds that were written since they were sent. */
    DISCARD(
            14,
            true,
            0,
            DISCARD_RANGES_OFFSET + DISCARD_RANGE_LENGTH,
            DISCARD_RANGES_OFFSET + MAX_RANGES_PER_RECORD * DISCARD_RANGE_LENGTH,
            DISCARD_RANGE_LENGTH),
    /** Version 4 (postcopy): the balloon bitmap at the switch-over, a bit a page. */
    BALLOON_BITMAP(15, true, 0, BITMAP_BITS_OFFSET + 1, BITMAP_BITS_OFFSET + MAX_BITMAP_BYTES, 1),
    /** Version 4 (postcopy): the guest resumes on the destination; pages follow on demand. */
    SWITCH_OVER(16, true, 0, SWITCH_OVER_LENGTH, SWITCH_OVER_LENGTH, 1),
    /** Version 4 (postcopy): the destination's guest faulted on pages it lacks. */
    PAGE_REQUEST(17, false, 0, PAGE_REQUEST_LENGTH, PAGE_REQUEST_LENGTH, 1),
    /** Version 5 (postcopy): the guest resumed on the destination (the answer to SWITCH_OVER). */
    SWITCH_OVER_ACK(18, false, 0, SWITCH_OVER_ACK_LENGTH, SWITCH_OVER_ACK_LENGTH, 1);

    private static final RecordType[] BY_CODE = new RecordType[32];

    static {
        for (RecordType t : values()) BY_CODE[t.code] = t;
    }

    private final int code;
    private final boolean toDestination;
    private final int allowedFlags;
    private final int minLength;
    private final int maxLength;
    private final int lengthStep;

    RecordType(int code, boolean toDestination, int allowedFlags, int minLength, int maxLength, int lengthStep) {
        this.code = code;
        this.toDestination = toDestination;
        this.allowedFlags = allowedFlags;
        this.minLength = minLength;
        this.maxLength = maxLength;
        this.lengthStep = lengthStep;
    }

    /** The type byte on the wire. */
    public int code() {
        return code;
    }

    /** Whether the source sends it to the destination (ERROR goes both ways). */
    public boolean toDestination() {
        return toDestination;
    }

    public boolean toSource() {
        return !toDestination || this == ERROR;
    }

    public int allowedFlags() {
        return allowedFlags;
    }

    /** The shortest record of this type, header included. */
    public int minLength() {
        return minLength;
    }

    /** The longest record of this type, header included. */
    public int maxLength() {
        return maxLength;
    }

    /** Whether a record of this type may be {@code recordLength} bytes long, header included. */
    public boolean lengthFits(long recordLength) {
        return recordLength >= minLength && recordLength <= maxLength && (recordLength - minLength) % lengthStep == 0;
    }

    /** The type with this wire code, or null. */
    public static RecordType byCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
