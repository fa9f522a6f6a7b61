package dev.ballast.kvm;

import static dev.ballast.kvm.sys.KvmStructs.KVM_SEGMENT;
import static dev.ballast.kvm.sys.KvmStructs.offset;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;

/** A segment register's hidden part ({@code struct kvm_segment}). */
public record Segment(
        long base,
        int limit,
        int selector,
        int type,
        boolean present,
        int dpl,
        boolean db,
        boolean s,
        boolean l,
        boolean g,
        boolean avl,
        boolean unusable) {

    private static final long BASE = offset(KVM_SEGMENT, "base");
    private static final long LIMIT = offset(KVM_SEGMENT, "limit");
    private static final long SELECTOR = offset(KVM_SEGMENT, "selector");
    private static final long TYPE = offset(KVM_SEGMENT, "type");
    private static final long PRESENT = offset(KVM_SEGMENT, "present");
    private static final long DPL = offset(KVM_SEGMENT, "dpl");
    private static final long DB = offset(KVM_SEGMENT, "db");
    private static final long S = offset(KVM_SEGMENT, "s");
    private static final long L = offset(KVM_SEGMENT, "l");
    private static final long G = offset(KVM_SEGMENT, "g");
    private static final long AVL = offset(KVM_SEGMENT, "avl");
    private static final long UNUSABLE = offset(KVM_SEGMENT, "unusable");

    static Segment read(MemorySegment m, long at) {
        return new Segment(
                m.get(JAVA_LONG, at + BASE),
                m.get(JAVA_INT, at + LIMIT),
                Short.toUnsignedInt(m.get(JAVA_SHORT, at + SELECTOR)),
                Byte.toUnsignedInt(m.get(JAVA_BYTE, at + TYPE)),
                m.get(JAVA_BYTE, at + PRESENT) != 0,
                m.get(JAVA_BYTE, at + DPL),
                m.get(JAVA_BYTE, at + DB) != 0,
                m.get(JAVA_BYTE, at + S) != 0,
                m.get(JAVA_BYTE, at + L) != 0,
                m.get(JAVA_BYTE, at + G) != 0,
                m.get(JAVA_BYTE, at + AVL) != 0,
                m.get(JAVA_BYTE, at + UNUSABLE) != 0);
    }

    void write(MemorySegment m, long at) {
        m.asSlice(at, KVM_SEGMENT.byteSize()).fill((byte) 0);
        m.set(JAVA_LONG, at + BASE, base);
        m.set(JAVA_INT, at + LIMIT, limit);
        m.set(JAVA_SHORT, at + SELECTOR, (short) selector);
        m.set(JAVA_BYTE, at + TYPE, (byte) type);
        m.set(JAVA_BYTE, at + PRESENT, bit(present));
        m.set(JAVA_BYTE, at + DPL, (byte) dpl);
        m.set(JAVA_BYTE, at + DB, bit(db));
        m.set(JAVA_BYTE, at + S, bit(s));
        m.set(JAVA_BYTE, at + L, bit(l));
        m.set(JAVA_BYTE, at + G, bit(g));
        m.set(JAVA_BYTE, at + AVL, bit(avl));
        m.set(JAVA_BYTE, at + UNUSABLE, bit(unusable));
    }

    private static byte bit(boolean b) {
        return (byte) (b ? 1 : 0);
    }
}
