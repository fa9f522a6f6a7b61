package dev.ballast.replay;

import dev.ballast.core.event.EventType;

/** One recorded event, mutable so a reader can fill it without allocating. */
public final class Event {
    public long number;
    public EventType type;
    public long timeNs;
    public long a;
    public long b;
    public long c;

    public void set(long number, EventType type, long timeNs, long a, long b, long c) {
        this.number = number;
        this.type = type;
        this.timeNs = timeNs;
        this.a = a;
        this.b = b;
        this.c = c;
    }

    void copyFrom(Event o) {
        set(o.number, o.type, o.timeNs, o.a, o.b, o.c);
    }

    boolean sameAs(EventType t, long time, long va, long vb, long vc) {
        return type == t && timeNs == time && a == va && b == vb && c == vc;
    }

    @Override
    public String toString() {
        return format(type, timeNs, a, b, c);
    }

    /** {@code TYPE name=value ... t=<ns>}: the fields as the catalogue names them, the time exact. */
    static String format(EventType type, long timeNs, long a, long b, long c) {
        if (type == null) return "UNKNOWN t=" + timeNs + " a=" + a + " b=" + b + " c=" + c;
        return type.appendTo(a, b, c, new StringBuilder(96))
                .append(" t=")
                .append(timeNs)
                .append("ns")
                .toString();
    }
}
