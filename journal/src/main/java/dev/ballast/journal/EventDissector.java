package dev.ballast.journal;

import static dev.ballast.journal.EventDissector.Format.BOOL;
import static dev.ballast.journal.EventDissector.Format.COMMAND;
import static dev.ballast.journal.EventDissector.Format.CONTENT_COUNT;
import static dev.ballast.journal.EventDissector.Format.DEC;
import static dev.ballast.journal.EventDissector.Format.FAILURE_CAUSE;
import static dev.ballast.journal.EventDissector.Format.FILL_COUNT;
import static dev.ballast.journal.EventDissector.Format.HEX;
import static dev.ballast.journal.EventDissector.Format.HINT_KIND;
import static dev.ballast.journal.EventDissector.Format.PHASE;
import static dev.ballast.journal.EventDissector.Format.RANGE_ENCODING;
import static dev.ballast.journal.EventDissector.Format.REJECT_REASON;

import dev.ballast.core.event.EventType;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.event.RejectReason;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The one table that names the fields {@code a, b, c} of every event type and says how to print
 * them, and the dissector that prints a record from it, e.g.
 * {@code #1234 t=12.345ms SEND_NORMAL block=0 offset=0x1200 pages=64}. The writer, the inspector
 * and the replay all take field names from here, so what is printed is what was written.
 * Names follow the Javadoc of {@link EventType}.
 */
public final class EventDissector {

    /** How a field's value is printed. */
    public enum Format {
        /** Signed decimal. */
        DEC,
        /** Hexadecimal with {@code 0x}. */
        HEX,
        /** Engine phase ordinal, printed by name when {@code dev.ballast.core.engine.Phase} is on the class path. */
        PHASE,
        /** {@link FailureCause} code. */
        FAILURE_CAUSE,
        /** {@link RejectReason} code. */
        REJECT_REASON,
        /** A hint command id: {@code stop} (0), {@code done} (1), otherwise hex. */
        COMMAND,
        /** 0 = hint, 1 = free page bitmap. */
        HINT_KIND,
        /** 0 = PFN array, 1 = bitmap. */
        RANGE_ENCODING,
        /** A page count in the low 48 bits and the fill byte above: {@code pages=64 fill=0x00}. */
        FILL_COUNT,
        /** Pages that are all zero (c &gt; 0) or all non-zero (-c): {@code pages=64 zero}. */
        CONTENT_COUNT,
        /** 0 / 1 printed as {@code no} / {@code yes}. */
        BOOL
    }

    /** One named field of an event type. */
    public record Field(String name, Format format) { }

    private static final Map<EventType, List<Field>> FIELDS = new EnumMap<>(EventType.class);

    static {
        def(EventType.STEP, f("step", DEC));
        def(EventType.LINK_FAILED, f("cause", FAILURE_CAUSE));
        def(EventType.CANCEL);
        def(EventType.SYNC_BEGIN, f("sync", DEC));
        def(EventType.DIRTY, f("block", DEC), f("offset", HEX), f("pages", DEC));
        def(EventType.SYNC_END, f("sync", DEC), f("dirtyPages", DEC));
        def(EventType.HINT, f("cmd", COMMAND), f("pfn", HEX), f("pages", DEC));
        def(EventType.FREE_BITMAP, f("cmd", COMMAND), f("pfn", HEX), f("pages", DEC));
        def(EventType.FREE_BITMAP_END, f("cmd", COMMAND));
        def(EventType.BALLOON_INFLATE, f("encoding", RANGE_ENCODING), f("pfn", HEX), f("pages", DEC));
        def(EventType.BALLOON_DEFLATE, f("encoding", RANGE_ENCODING), f("pfn", HEX), f("pages", DEC));
        def(EventType.COMMAND_BASE, f("lastCmd", COMMAND));
        def(EventType.CONTENT, f("block", DEC), f("offset", HEX), f("pages", CONTENT_COUNT));

        def(EventType.PHASE, f("phase", PHASE), f("iteration", DEC));
        def(EventType.SEND_NORMAL, f("block", DEC), f("offset", HEX), f("pages", DEC));
        def(EventType.SEND_FILL, f("block", DEC), f("offset", HEX), f("pages", FILL_COUNT));
        def(EventType.SKIP_BALLOON, f("block", DEC), f("offset", HEX), f("pages", DEC));
        def(EventType.SKIP_FREE, f("block", DEC), f("offset", HEX), f("pages", DEC));
        def(EventType.HINT_COMMAND, f("cmd", COMMAND), f("kind", HINT_KIND));
        def(EventType.REJECT, f("reason", REJECT_REASON), f("pfn", HEX), f("pages", DEC));
        def(EventType.CONVERGENCE, f("remainingBytes", DEC), f("bandwidthBytesPerS", DEC), f("stopAndCopy", BOOL));
        def(EventType.BALLOON_SKIP, f("on", BOOL));
        def(EventType.ITERATION_END, f("iteration", DEC), f("pages", DEC), f("bytes", DEC));
        def(EventType.GUEST_RUN_STATE, f("paused", BOOL));
        def(EventType.END, f("phase", PHASE), f("transferredBytes", DEC), f("downtimeNs", DEC));

        def(EventType.GUEST_WRITE, f("block", DEC), f("offset", HEX), f("version", DEC));
        def(EventType.VERIFY, f("checkedPages", DEC), f("mismatchedPages", DEC), f("firstBadPage", DEC));

        for (EventType t : EventType.values()) {
            if (!FIELDS.containsKey(t)) throw new ExceptionInInitializerError("no dissector fields for " + t);
        }
    }

    private EventDissector() { }

    private static Field f(String name, Format format) {
        return new Field(name, format);
    }

    private static void def(EventType type, Field... fields) {
        FIELDS.put(type, List.of(fields));
    }

    /** The named fields of {@code type}, in order a, b, c; fields the type does not use are absent. */
    public static List<Field> fields(EventType type) {
        return FIELDS.get(type);
    }

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
        if (type == null) {
            out.append(" UNKNOWN(type=").append(record.typeId()).append(") a=").append(record.a())
                    .append(" b=").append(record.b()).append(" c=").append(record.c());
            return out;
        }
        out.append(' ').append(type.name());
        List<Field> fields = FIELDS.get(type);
        for (int i = 0; i < fields.size(); i++) {
            Field field = fields.get(i);
            long value = i == 0 ? record.a() : i == 1 ? record.b() : record.c();
            out.append(' ').append(field.name()).append('=');
            appendValue(field.format(), value, out);
        }
        if (record.flags() != 0) out.append(" flags=0x").append(Integer.toHexString(record.flags()));
        return out;
    }

    /** A readable line for one event given by its fields (allocates). */
    public static String toString(long eventNumber, EventType type, long timeNs, long a, long b, long c) {
        byte[] buf = new byte[RecordDescriptor.LENGTH];
        RecordDescriptor.encode(buf, 0, type.id(), timeNs, a, b, c);
        return dissect(eventNumber, new EventRecord().wrap(buf, 0), new StringBuilder(96)).toString();
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

    static void appendValue(Format format, long v, StringBuilder out) {
        switch (format) {
            case DEC -> out.append(v);
            case HEX -> appendHex(v, out);
            case PHASE -> {
                String name = PhaseNames.name(v);
                if (name != null) out.append(name); else out.append('#').append(v);
            }
            case FAILURE_CAUSE -> out.append(FailureCause.byCode(v).name());
            case REJECT_REASON -> out.append(RejectReason.byCode(v).name());
            case COMMAND -> {
                if (v == 0) out.append("stop");
                else if (v == 1) out.append("done");
                else appendHex(v, out);
            }
            case HINT_KIND -> out.append(v == 0 ? "hint" : v == 1 ? "bitmap" : Long.toString(v));
            case RANGE_ENCODING -> out.append(v == 0 ? "pfns" : v == 1 ? "bitmap" : Long.toString(v));
            case FILL_COUNT -> {
                out.append(v & 0xFFFF_FFFF_FFFFL).append(" fill=0x");
                long fill = (v >>> 48) & 0xFF;
                if (fill < 0x10) out.append('0');
                out.append(Long.toHexString(fill));
            }
            case CONTENT_COUNT -> out.append(Math.abs(v)).append(v >= 0 ? " zero" : " nonzero");
            case BOOL -> out.append(v == 0 ? "no" : v == 1 ? "yes" : Long.toString(v));
        }
    }

    private static void appendHex(long v, StringBuilder out) {
        out.append("0x").append(Long.toHexString(v));
    }

    /** Phase names from the engine's enum if it is present; the journal does not depend on the engine. */
    private static final class PhaseNames {
        private static final String[] NAMES = load();

        private static String[] load() {
            try {
                Class<?> c = Class.forName("dev.ballast.core.engine.Phase");
                Object[] constants = c.getEnumConstants();
                if (constants == null) return new String[0];
                String[] names = new String[constants.length];
                for (int i = 0; i < names.length; i++) names[i] = ((Enum<?>) constants[i]).name();
                return names;
            } catch (ClassNotFoundException | LinkageError e) {
                return new String[0];
            }
        }

        static String name(long ordinal) {
            return ordinal >= 0 && ordinal < NAMES.length ? NAMES[(int) ordinal] : null;
        }
    }
}
