package dev.ballast.journal;

import dev.ballast.core.event.EventType;

/**
 * Prints a journal record as its writer meant it, from the {@linkplain EventType catalogue}'s
 * field names and formats, e.g. {@code #1234 t=12.345ms SEND_NORMAL block=0 offset=0x1200 pages=64}.
 * The inspector, {@code diff} and the replay's messages all print through here, so what is
 * printed is what was written.
 */
public final class EventDissector {

    private EventDissector() {}

    /** Appends {@code #eventNumber } and then {@link #dissect(EventRecord, StringBuilder)}. */
    public static StringBuilder dissect(long eventNumber, EventRecord record, StringBuilder out) {
        out.append('#').append(eventNumber).append(' ');
        return dissect(record, out);
    }

    /** Appends {@code t=12.345ms TYPE name=value ...} for the record. */
    public static StringBuilder dissect(EventRecord record, StringBuilder out) {
        EventType type = record.type();
        out.append("t=");
        appendMillis(record.timeNs(), out);
        out.append(' ');
        if (type == null) {
            out.append("UNKNOWN(type=")
                    .append(record.typeId())
                    .append(") a=")
                    .append(record.a())
                    .append(" b=")
                    .append(record.b())
                    .append(" c=")
                    .append(record.c());
            return out;
        }
        type.appendTo(record.a(), record.b(), record.c(), out);
        if (record.flags() != 0) out.append(" flags=0x").append(Integer.toHexString(record.flags()));
        return out;
    }

    /** A readable line for one event given by its fields (allocates). */
    public static String toString(long eventNumber, EventType type, long timeNs, long a, long b, long c) {
        byte[] buf = new byte[RecordDescriptor.LENGTH];
        RecordDescriptor.encode(buf, 0, type.id(), timeNs, a, b, c);
        return dissect(eventNumber, new EventRecord().wrap(buf, 0), new StringBuilder(96))
                .toString();
    }

    /** Appends nanoseconds as milliseconds with three decimals: {@code 12.345ms}. */
    static void appendMillis(long ns, StringBuilder out) {
        long abs = Math.abs(ns);
        if (ns < 0) out.append('-');
        long micros = abs / 1_000;
        out.append(micros / 1_000).append('.');
        long frac = micros % 1_000;
        if (frac < 100) out.append('0');
        if (frac < 10) out.append('0');
        out.append(frac).append("ms");
    }
}
