package dev.ballast.kvm.guest;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.kvm.Segment;
import dev.ballast.kvm.VcpuState;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.SystemSlot;
import dev.ballast.kvm.mem.GuestLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The KVM guest's state sections of the page stream (STATE records, protocol version 2), sent at
 * stop-and-copy after the last pages:
 *
 * <pre>
 *  section 1, SYSTEM: the whole system slot (guest program, its data, rings, version table, the
 *                     drivers' bitmaps); its length must be the destination's system slot's
 *  section 2, VCPU:
 *  +---------------------------------------------------------------+
 *  |                      magic 'VCPU' (u32)                       |  0
 *  +---------------------------------------------------------------+
 *  |                      format (u32, 1)                          |  4
 *  +---------------------------------------------------------------+
 *  |  feature flags (u32): bit 0 MUST_TELL_HOST, 1 free page hints, 2 free bitmap  |  8
 *  +---------------------------------------------------------------+
 *  |                      reserved (u32)                           | 12
 *  +---------------------------------------------------------------+
 *  |   struct kvm_regs (144 bytes), struct kvm_sregs (312 bytes) ... 16
 * </pre>
 *
 * The destination checks the vCPU section before it starts anything: its length, magic, format,
 * and that the registers describe the Ballast guest's mode (64-bit long mode at CPL 3 on this
 * slot's page tables). What runs inside the VM stays inside it: the state of a hostile source can
 * crash its own guest, not the destination.
 */
public final class GuestState {
    private GuestState() {}

    public static final int SECTION_SYSTEM = 1;
    public static final int SECTION_VCPU = 2;
    static final int VCPU_MAGIC = 0x55504356; // "VCPU"
    static final int VCPU_FORMAT = 1;
    static final int HEADER = 16;
    public static final long VCPU_BYTES = HEADER + VcpuState.BYTES;

    public static MemorySegment encodeVcpu(VcpuState state, GuestFeatures f) {
        MemorySegment m = Arena.ofAuto().allocate(VCPU_BYTES, 8);
        m.set(ValueLayout.JAVA_INT, 0, VCPU_MAGIC);
        m.set(ValueLayout.JAVA_INT, 4, VCPU_FORMAT);
        m.set(
                ValueLayout.JAVA_INT,
                8,
                (f.mustTellHost() ? 1 : 0) | (f.freePageHint() ? 2 : 0) | (f.freeBitmap() ? 4 : 0));
        m.set(ValueLayout.JAVA_INT, 12, 0);
        state.write(m, HEADER);
        return m;
    }

    /** A checked vCPU section. */
    public record Vcpu(VcpuState state, boolean mustTellHost, boolean freePageHint, boolean freeBitmap) {
        public GuestFeatures features(int poisonByte) {
            return new GuestFeatures(mustTellHost, freePageHint, freeBitmap, poisonByte);
        }
    }

    /** Decodes and checks a vCPU section; throws {@link IllegalArgumentException} saying what is wrong. */
    public static Vcpu decodeVcpu(MemorySegment m) {
        if (m.byteSize() != VCPU_BYTES)
            throw new IllegalArgumentException(
                    "the vCPU section has " + m.byteSize() + " bytes, expected " + VCPU_BYTES);
        int magic = m.get(ValueLayout.JAVA_INT_UNALIGNED, 0);
        int format = m.get(ValueLayout.JAVA_INT_UNALIGNED, 4);
        int flags = m.get(ValueLayout.JAVA_INT_UNALIGNED, 8);
        if (magic != VCPU_MAGIC)
            throw new IllegalArgumentException("the vCPU section's magic is 0x" + Integer.toHexString(magic));
        if (format != VCPU_FORMAT)
            throw new IllegalArgumentException("vCPU section format " + format + ", this end reads " + VCPU_FORMAT);
        if ((flags & ~7) != 0 || m.get(ValueLayout.JAVA_INT_UNALIGNED, 12) != 0)
            throw new IllegalArgumentException("unknown vCPU section flags 0x" + Integer.toHexString(flags));
        VcpuState s = VcpuState.read(m, HEADER);
        var r = s.sregs();
        Segment cs = r.cs();
        Segment ss = r.ss();
        if (cs.dpl() != 3 || !cs.l() || !cs.present() || ss.dpl() != 3) {
            throw new IllegalArgumentException("the vCPU is not in 64-bit user mode (CS dpl " + cs.dpl() + ", L "
                    + cs.l() + ", SS dpl " + ss.dpl() + ")");
        }
        if ((r.efer() & SystemSlot.EFER_LMA) == 0 || (r.cr0() & SystemSlot.CR0_PG) == 0) {
            throw new IllegalArgumentException("the vCPU is not in long mode (CR0 0x" + Long.toHexString(r.cr0())
                    + ", EFER 0x" + Long.toHexString(r.efer()) + ")");
        }
        if (r.cr3() != GuestAbi.SYS_GPA + GuestLayout.PT_PML4) {
            throw new IllegalArgumentException(
                    "the vCPU's page tables (CR3 0x" + Long.toHexString(r.cr3()) + ") are not the system slot's");
        }
        return new Vcpu(s, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0);
    }
}
