package dev.ballast.journal;

import static dev.ballast.journal.RecordDescriptor.A_OFFSET;
import static dev.ballast.journal.RecordDescriptor.B_OFFSET;
import static dev.ballast.journal.RecordDescriptor.C_OFFSET;
import static dev.ballast.journal.RecordDescriptor.FLAGS_OFFSET;
import static dev.ballast.journal.RecordDescriptor.TIME_NS_OFFSET;
import static dev.ballast.journal.RecordDescriptor.TYPE_ID_OFFSET;

import dev.ballast.core.event.EventType;

/**
 * A flyweight over one {@linkplain RecordDescriptor record} in a buffer: typed accessors, no copy, no
 * allocation. A reader reuses one instance and moves it with {@link #wrap}; it is valid until the
 * reader moves on.
 */
public final class EventRecord {
    private byte[] buffer = new byte[RecordDescriptor.LENGTH];
    private int offset;

    /** Points this flyweight at the record that starts at {@code offset} in {@code buffer}. */
    public EventRecord wrap(byte[] buffer, int offset) {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    public int typeId() {
        return RecordDescriptor.getU16(buffer, offset + TYPE_ID_OFFSET);
    }

    /** The type, or null if the id is not in the catalogue (readers reject such records). */
    public EventType type() {
        return EventType.byId(typeId());
    }

    public int flags() {
        return RecordDescriptor.getU16(buffer, offset + FLAGS_OFFSET);
    }

    public long timeNs() {
        return RecordDescriptor.getLong(buffer, offset + TIME_NS_OFFSET);
    }

    public long a() {
        return RecordDescriptor.getLong(buffer, offset + A_OFFSET);
    }

    public long b() {
        return RecordDescriptor.getLong(buffer, offset + B_OFFSET);
    }

    public long c() {
        return RecordDescriptor.getLong(buffer, offset + C_OFFSET);
    }

    /** The i-th of the record's five 64-bit words (0 = type id and flags, 1 = time, 2..4 = a, b, c). */
    public long word(int i) {
        return RecordDescriptor.getLong(buffer, offset + i * Long.BYTES);
    }

    /** A readable line for debugging; allocates. Prefer {@link EventDissector} for output. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(96);
        EventDissector.dissect(this, sb);
        return sb.toString();
    }
}
