package dev.ballast.kvm;

import static dev.ballast.kvm.sys.KvmStructs.KVM_DTABLE;
import static dev.ballast.kvm.sys.KvmStructs.KVM_SREGS;
import static dev.ballast.kvm.sys.KvmStructs.offset;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.ballast.kvm.sys.KvmStructs;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** The special registers of a vCPU ({@code struct kvm_sregs}, x86). */
public record Sregs(
        Segment cs,
        Segment ds,
        Segment es,
        Segment fs,
        Segment gs,
        Segment ss,
        Segment tr,
        Segment ldt,
        DTable gdt,
        DTable idt,
        long cr0,
        long cr2,
        long cr3,
        long cr4,
        long cr8,
        long efer,
        long apicBase,
        long[] interruptBitmap) {

    /** A descriptor table register ({@code struct kvm_dtable}). */
    public record DTable(long base, int limit) {}

    public Sregs {
        interruptBitmap = interruptBitmap.clone();
        if (interruptBitmap.length != KvmStructs.INTERRUPT_BITMAP_WORDS) {
            throw new IllegalArgumentException(
                    "interruptBitmap must have " + KvmStructs.INTERRUPT_BITMAP_WORDS + " words");
        }
    }

    @Override
    public long[] interruptBitmap() {
        return interruptBitmap.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Sregs r
                && cs.equals(r.cs)
                && ds.equals(r.ds)
                && es.equals(r.es)
                && fs.equals(r.fs)
                && gs.equals(r.gs)
                && ss.equals(r.ss)
                && tr.equals(r.tr)
                && ldt.equals(r.ldt)
                && gdt.equals(r.gdt)
                && idt.equals(r.idt)
                && cr0 == r.cr0
                && cr2 == r.cr2
                && cr3 == r.cr3
                && cr4 == r.cr4
                && cr8 == r.cr8
                && efer == r.efer
                && apicBase == r.apicBase
                && Arrays.equals(interruptBitmap, r.interruptBitmap);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(cr3) * 31 + cs.hashCode();
    }

    private static final String[] SEGMENTS = {"cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"};

    static Sregs read(MemorySegment m) {
        Segment[] s = new Segment[SEGMENTS.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = Segment.read(m, offset(KVM_SREGS, SEGMENTS[i]));
        }
        long[] bitmap = new long[KvmStructs.INTERRUPT_BITMAP_WORDS];
        MemorySegment.copy(m, JAVA_LONG, offset(KVM_SREGS, "interrupt_bitmap"), bitmap, 0, bitmap.length);
        return new Sregs(
                s[0],
                s[1],
                s[2],
                s[3],
                s[4],
                s[5],
                s[6],
                s[7],
                readTable(m, "gdt"),
                readTable(m, "idt"),
                m.get(JAVA_LONG, offset(KVM_SREGS, "cr0")),
                m.get(JAVA_LONG, offset(KVM_SREGS, "cr2")),
                m.get(JAVA_LONG, offset(KVM_SREGS, "cr3")),
                m.get(JAVA_LONG, offset(KVM_SREGS, "cr4")),
                m.get(JAVA_LONG, offset(KVM_SREGS, "cr8")),
                m.get(JAVA_LONG, offset(KVM_SREGS, "efer")),
                m.get(JAVA_LONG, offset(KVM_SREGS, "apic_base")),
                bitmap);
    }

    void write(MemorySegment m) {
        m.fill((byte) 0);
        Segment[] s = {cs, ds, es, fs, gs, ss, tr, ldt};
        for (int i = 0; i < s.length; i++) {
            s[i].write(m, offset(KVM_SREGS, SEGMENTS[i]));
        }
        writeTable(m, "gdt", gdt);
        writeTable(m, "idt", idt);
        m.set(JAVA_LONG, offset(KVM_SREGS, "cr0"), cr0);
        m.set(JAVA_LONG, offset(KVM_SREGS, "cr2"), cr2);
        m.set(JAVA_LONG, offset(KVM_SREGS, "cr3"), cr3);
        m.set(JAVA_LONG, offset(KVM_SREGS, "cr4"), cr4);
        m.set(JAVA_LONG, offset(KVM_SREGS, "cr8"), cr8);
        m.set(JAVA_LONG, offset(KVM_SREGS, "efer"), efer);
        m.set(JAVA_LONG, offset(KVM_SREGS, "apic_base"), apicBase);
        MemorySegment.copy(
                interruptBitmap, 0, m, JAVA_LONG, offset(KVM_SREGS, "interrupt_bitmap"), interruptBitmap.length);
    }

    private static DTable readTable(MemorySegment m, String name) {
        long at = offset(KVM_SREGS, name);
        return new DTable(
                m.get(JAVA_LONG, at + offset(KVM_DTABLE, "base")),
                Short.toUnsignedInt(m.get(JAVA_SHORT, at + offset(KVM_DTABLE, "limit"))));
    }

    private static void writeTable(MemorySegment m, String name, DTable t) {
        long at = offset(KVM_SREGS, name);
        m.set(JAVA_LONG, at + offset(KVM_DTABLE, "base"), t.base());
        m.set(JAVA_SHORT, at + offset(KVM_DTABLE, "limit"), (short) t.limit());
    }

    /** A copy with the control registers and segments of 64-bit long mode replaced. */
    public Sregs withLongMode(
            long cr0, long cr3, long cr4, long efer, Segment cs, Segment data, Segment tr, DTable gdt, DTable idt) {
        return new Sregs(
                cs,
                data,
                data,
                data,
                data,
                data,
                tr,
                ldt,
                gdt,
                idt,
                cr0,
                cr2,
                cr3,
                cr4,
                cr8,
                efer,
                apicBase,
                interruptBitmap);
    }
}
