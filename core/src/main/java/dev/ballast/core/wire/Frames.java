package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireFormat.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Encoding helpers shared by both ends: headers, text, and the small records (acks, errors). */
final class Frames {
    private Frames() {}

    static void putHeader(ByteBuffer b, int at, RecordType type, int flags, int recordLength) {
        b.putShort(at + MAGIC_OFFSET, (short) MAGIC);
        b.put(at + TYPE_OFFSET, (byte) type.code());
        b.put(at + FLAGS_OFFSET, (byte) flags);
        b.putInt(at + LENGTH_OFFSET, recordLength - HEADER_LENGTH);
    }

    static int u8(ByteBuffer b, int at) {
        return b.get(at) & 0xFF;
    }

    static int u16(ByteBuffer b, int at) {
        return b.getShort(at) & 0xFFFF;
    }

    static long u32(ByteBuffer b, int at) {
        return b.getInt(at) & 0xFFFFFFFFL;
    }

    /** Strict UTF-8 of {@code [from, from + len)}, or null if the bytes are not UTF-8. */
    static String utf8(ByteBuffer b, int from, int len) {
        ByteBuffer s = b.duplicate();
        s.limit(from + len).position(from);
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(s)
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** The UTF-8 of {@code s}, cut at a character boundary to at most {@code max} bytes. */
    static byte[] utf8(String s, int max) {
        byte[] all = s.getBytes(StandardCharsets.UTF_8);
        if (all.length <= max) return all;
        int cut = max;
        while (cut > 0 && (all[cut] & 0xC0) == 0x80) cut--;
        byte[] b = new byte[cut];
        System.arraycopy(all, 0, b, 0, cut);
        return b;
    }

    /** Whether a block name decoded from the wire is one {@link dev.ballast.core.mem.RamBlock} accepts. */
    static boolean nameFits(String name) {
        return name != null && !name.isEmpty() && name.length() <= MAX_NAME_CHARS;
    }

    static ByteBuffer allocate(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    static ByteBuffer error(WireException.Reason reason, String message) {
        byte[] m = utf8(message, MAX_MESSAGE_BYTES);
        ByteBuffer b = allocate(ERROR_MESSAGE_OFFSET + m.length);
        putHeader(b, 0, RecordType.ERROR, 0, b.capacity());
        b.putShort(ERROR_CODE_OFFSET, (short) reason.code());
        b.putShort(ERROR_MESSAGE_LENGTH_OFFSET, (short) m.length);
        b.put(ERROR_MESSAGE_OFFSET, m);
        return b;
    }

    static ByteBuffer verdict(Verdict v) {
        byte[] m = utf8(v.message(), MAX_MESSAGE_BYTES);
        ByteBuffer b = allocate(VERDICT_MESSAGE_OFFSET + m.length);
        putHeader(b, 0, RecordType.COMPLETE_ACK, 0, b.capacity());
        b.putLong(VERDICT_DIGEST_OFFSET, v.digest());
        b.putLong(VERDICT_CHECKED_OFFSET, v.checkedPages());
        b.putLong(VERDICT_BAD_OFFSET, v.badPages());
        b.put(VERDICT_OK_OFFSET, (byte) (v.ok() ? 1 : 0));
        b.putShort(VERDICT_MESSAGE_LENGTH_OFFSET, (short) m.length);
        b.putInt(VERDICT_CHECK_MICROS_OFFSET, (int) v.checkMicros());
        b.put(VERDICT_MESSAGE_OFFSET, m);
        return b;
    }

    static ByteBuffer refusal(long sessionId, WireException.Reason reason, String message) {
        byte[] m = utf8(message, MAX_MESSAGE_BYTES);
        ByteBuffer b = allocate(ACK_RANGES_OFFSET + m.length);
        putHeader(b, 0, RecordType.HELLO_ACK, 0, b.capacity());
        b.putShort(ACK_STATUS_OFFSET, (short) reason.code());
        b.putShort(ACK_MESSAGE_LENGTH_OFFSET, (short) m.length);
        b.putLong(ACK_SESSION_OFFSET, sessionId);
        b.put(ACK_RANGES_OFFSET, m);
        return b;
    }

    /**
     * HELLO_ACK records that accept, carrying the missing ranges {@code (wireBlock, offset, count)}
     * (already sorted and disjoint), as many records as they need, FLAG_MORE on all but the last.
     */
    static ByteBuffer[] acceptance(long sessionId, long[] ranges, int rangeCount) {
        int records = Math.max(1, (rangeCount + MAX_RANGES_PER_RECORD - 1) / MAX_RANGES_PER_RECORD);
        ByteBuffer[] out = new ByteBuffer[records];
        for (int r = 0; r < records; r++) {
            int from = r * MAX_RANGES_PER_RECORD;
            int n = Math.min(MAX_RANGES_PER_RECORD, rangeCount - from);
            ByteBuffer b = allocate(ACK_RANGES_OFFSET + n * MISSING_RANGE_LENGTH);
            putHeader(b, 0, RecordType.HELLO_ACK, r < records - 1 ? FLAG_MORE : 0, b.capacity());
            b.putInt(ACK_RANGE_COUNT_OFFSET, n);
            b.putLong(ACK_SESSION_OFFSET, sessionId);
            for (int i = 0; i < n; i++) {
                int at = ACK_RANGES_OFFSET + i * MISSING_RANGE_LENGTH;
                int k = 3 * (from + i);
                b.putInt(at + MISSING_BLOCK_OFFSET, (int) ranges[k]);
                b.putLong(at + MISSING_OFFSET_OFFSET, ranges[k + 1]);
                b.putLong(at + MISSING_COUNT_OFFSET, ranges[k + 2]);
            }
            out[r] = b;
        }
        return out;
    }

    /** An authentication record of {@code type} with the mechanism field set and room for its payload. */
    static ByteBuffer auth(RecordType type) {
        ByteBuffer b = allocate(type.minLength());
        putHeader(b, 0, type, 0, b.capacity());
        b.putShort(AUTH_MECHANISM_OFFSET, (short) AUTH_HMAC_SHA256);
        return b;
    }

    /** Writes all of {@code b} (from its position to its limit). */
    static void writeFully(WritableByteChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.write(b) == 0) Thread.onSpinWait();
        }
    }

    /** Writes all of {@code b} if the channel takes it; for answers that are best effort. */
    static void tryWrite(WritableByteChannel ch, ByteBuffer b) {
        try {
            writeFully(ch, b);
        } catch (IOException | RuntimeException ignored) {
            // the peer may be gone; the caller is failing anyway
        }
    }

    /** For messages: a short printable rendering of text from the wire. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder(Math.min(s.length(), 200));
        for (int i = 0; i < s.length() && sb.length() < 200; i++) {
            char c = s.charAt(i);
            sb.append(c < 0x20 || c == 0x7F ? '?' : c);
        }
        return sb.toString();
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
