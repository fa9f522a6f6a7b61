package dev.ballast.journal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The layout of one event record in a journal: 40 bytes, little-endian, fixed for every
 * {@link dev.ballast.core.event.EventType event type}.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-------------------------------+-------------------------------+
 *  |         Type id (u16)         |          Flags (u16)          |  0
 *  +-------------------------------+-------------------------------+
 *  |                        Reserved (u32, 0)                      |  4
 *  +---------------------------------------------------------------+
 *  |                        Time ns (i64)                          |  8
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                            a (i64)                            | 16
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                            b (i64)                            | 24
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                            c (i64)                            | 32
 *  |                                                               |
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>The first 8 bytes read as one little-endian long are {@code typeId | flags << 16 | reserved << 32}:
 * the {@linkplain JournalDigest digest} consumes a record as these five longs. Flags and reserved
 * are 0 in format version {@value JournalFormat#FORMAT_VERSION}. Records are written into and read
 * from plain {@code byte[]} buffers, without allocation.
 */
public final class RecordDescriptor {
    public static final int TYPE_ID_OFFSET = 0;
    public static final int FLAGS_OFFSET = 2;
    public static final int RESERVED_OFFSET = 4;
    public static final int TIME_NS_OFFSET = 8;
    public static final int A_OFFSET = 16;
    public static final int B_OFFSET = 24;
    public static final int C_OFFSET = 32;
    /** Bytes per record. */
    public static final int LENGTH = 40;
    /** Longs per record, as the digest sees it. */
    public static final int WORDS = LENGTH / Long.BYTES;

    static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    private RecordDescriptor() {}

    /** The first word of a record with this type id and no flags. */
    public static long headerWord(int typeId) {
        return typeId & 0xFFFFL;
    }

    /** Writes one record at {@code offset}. */
    public static void encode(byte[] buffer, int offset, int typeId, long timeNs, long a, long b, long c) {
        LONG.set(buffer, offset, headerWord(typeId));
        LONG.set(buffer, offset + TIME_NS_OFFSET, timeNs);
        LONG.set(buffer, offset + A_OFFSET, a);
        LONG.set(buffer, offset + B_OFFSET, b);
        LONG.set(buffer, offset + C_OFFSET, c);
    }

    static long getLong(byte[] buffer, int offset) {
        return (long) LONG.get(buffer, offset);
    }

    static void putLong(byte[] buffer, int offset, long value) {
        LONG.set(buffer, offset, value);
    }

    static int getInt(byte[] buffer, int offset) {
        return (int) INT.get(buffer, offset);
    }

    static void putInt(byte[] buffer, int offset, int value) {
        INT.set(buffer, offset, value);
    }

    static int getU16(byte[] buffer, int offset) {
        return ((short) SHORT.get(buffer, offset)) & 0xFFFF;
    }
}
