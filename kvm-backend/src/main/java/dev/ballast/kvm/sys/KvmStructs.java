package dev.ballast.kvm.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.StructLayout;
import java.util.List;

/**
 * The KVM structures Ballast passes to ioctls, declared once, with the C field names
 * ({@code KvmLayoutsTest} compares every size and offset with gcc's). x86-64 only.
 */
public final class KvmStructs {
    private KvmStructs() {}

    private static MemoryLayout u8(String name) {
        return JAVA_BYTE.withName(name);
    }

    private static MemoryLayout u16(String name) {
        return JAVA_SHORT.withName(name);
    }

    private static MemoryLayout u32(String name) {
        return JAVA_INT.withName(name);
    }

    private static MemoryLayout u64(String name) {
        return JAVA_LONG.withName(name);
    }

    /** {@code struct kvm_userspace_memory_region} */
    public static final StructLayout KVM_USERSPACE_MEMORY_REGION = MemoryLayout.structLayout(
                    u32("slot"), u32("flags"), u64("guest_phys_addr"), u64("memory_size"), u64("userspace_addr"))
            .withName("kvm_userspace_memory_region");

    /** {@code struct kvm_regs} */
    public static final StructLayout KVM_REGS = MemoryLayout.structLayout(
                    u64("rax"),
                    u64("rbx"),
                    u64("rcx"),
                    u64("rdx"),
                    u64("rsi"),
                    u64("rdi"),
                    u64("rsp"),
                    u64("rbp"),
                    u64("r8"),
                    u64("r9"),
                    u64("r10"),
                    u64("r11"),
                    u64("r12"),
                    u64("r13"),
                    u64("r14"),
                    u64("r15"),
                    u64("rip"),
                    u64("rflags"))
            .withName("kvm_regs");

    /** {@code struct kvm_segment} */
    public static final StructLayout KVM_SEGMENT = MemoryLayout.structLayout(
                    u64("base"),
                    u32("limit"),
                    u16("selector"),
                    u8("type"),
                    u8("present"),
                    u8("dpl"),
                    u8("db"),
                    u8("s"),
                    u8("l"),
                    u8("g"),
                    u8("avl"),
                    u8("unusable"),
                    u8("padding"))
            .withName("kvm_segment");

    /** {@code struct kvm_dtable} */
    public static final StructLayout KVM_DTABLE = MemoryLayout.structLayout(
                    u64("base"),
                    u16("limit"),
                    MemoryLayout.sequenceLayout(3, JAVA_SHORT).withName("padding"))
            .withName("kvm_dtable");

    /** Number of 64-bit words in {@code kvm_sregs.interrupt_bitmap}: (KVM_NR_INTERRUPTS + 63) / 64. */
    public static final int INTERRUPT_BITMAP_WORDS = 4;

    /** {@code struct kvm_sregs} (x86) */
    public static final StructLayout KVM_SREGS = MemoryLayout.structLayout(
                    KVM_SEGMENT.withName("cs"),
                    KVM_SEGMENT.withName("ds"),
                    KVM_SEGMENT.withName("es"),
                    KVM_SEGMENT.withName("fs"),
                    KVM_SEGMENT.withName("gs"),
                    KVM_SEGMENT.withName("ss"),
                    KVM_SEGMENT.withName("tr"),
                    KVM_SEGMENT.withName("ldt"),
                    KVM_DTABLE.withName("gdt"),
                    KVM_DTABLE.withName("idt"),
                    u64("cr0"),
                    u64("cr2"),
                    u64("cr3"),
                    u64("cr4"),
                    u64("cr8"),
                    u64("efer"),
                    u64("apic_base"),
                    MemoryLayout.sequenceLayout(INTERRUPT_BITMAP_WORDS, JAVA_LONG)
                            .withName("interrupt_bitmap"))
            .withName("kvm_sregs");

    /** {@code struct kvm_dirty_log} */
    public static final StructLayout KVM_DIRTY_LOG = MemoryLayout.structLayout(
                    u32("slot"), u32("padding1"), ADDRESS.withName("dirty_bitmap"))
            .withName("kvm_dirty_log");

    /** {@code struct kvm_clear_dirty_log} */
    public static final StructLayout KVM_CLEAR_DIRTY_LOG = MemoryLayout.structLayout(
                    u32("slot"), u32("num_pages"), u64("first_page"), ADDRESS.withName("dirty_bitmap"))
            .withName("kvm_clear_dirty_log");

    /** {@code struct kvm_enable_cap} */
    public static final StructLayout KVM_ENABLE_CAP = MemoryLayout.structLayout(
                    u32("cap"),
                    u32("flags"),
                    MemoryLayout.sequenceLayout(4, JAVA_LONG).withName("args"),
                    MemoryLayout.sequenceLayout(64, JAVA_BYTE).withName("pad"))
            .withName("kvm_enable_cap");

    /** {@code struct kvm_cpuid_entry2} */
    public static final StructLayout KVM_CPUID_ENTRY2 = MemoryLayout.structLayout(
                    u32("function"),
                    u32("index"),
                    u32("flags"),
                    u32("eax"),
                    u32("ebx"),
                    u32("ecx"),
                    u32("edx"),
                    MemoryLayout.sequenceLayout(3, JAVA_INT).withName("padding"))
            .withName("kvm_cpuid_entry2");

    /** {@code struct kvm_cpuid2}, without its flexible {@code entries[]} array that follows. */
    public static final StructLayout KVM_CPUID2 =
            MemoryLayout.structLayout(u32("nent"), u32("padding")).withName("kvm_cpuid2");

    /** {@code kvm_run.io} */
    public static final StructLayout KVM_RUN_IO = MemoryLayout.structLayout(
                    u8("direction"), u8("size"), u16("port"), u32("count"), u64("data_offset"))
            .withName("io");

    /** {@code kvm_run.fail_entry} */
    public static final StructLayout KVM_RUN_FAIL_ENTRY = MemoryLayout.structLayout(
                    u64("hardware_entry_failure_reason"), u32("cpu"), MemoryLayout.paddingLayout(4))
            .withName("fail_entry");

    /** {@code kvm_run.internal} */
    public static final StructLayout KVM_RUN_INTERNAL = MemoryLayout.structLayout(
                    u32("suberror"),
                    u32("ndata"),
                    MemoryLayout.sequenceLayout(16, JAVA_LONG).withName("data"))
            .withName("internal");

    /** {@code kvm_run.hw} */
    public static final StructLayout KVM_RUN_HW =
            MemoryLayout.structLayout(u64("hardware_exit_reason")).withName("hw");

    /**
     * The head of {@code struct kvm_run}: the fields Ballast reads and writes, and the exit union
     * (256 bytes) with the members it decodes. The real structure is longer (the vCPU mmap size).
     */
    public static final StructLayout KVM_RUN = MemoryLayout.structLayout(
                    u8("request_interrupt_window"),
                    u8("immediate_exit"),
                    MemoryLayout.sequenceLayout(6, JAVA_BYTE).withName("padding1"),
                    u32("exit_reason"),
                    u8("ready_for_interrupt_injection"),
                    u8("if_flag"),
                    u16("flags"),
                    u64("cr8"),
                    u64("apic_base"),
                    MemoryLayout.unionLayout(
                                    KVM_RUN_HW,
                                    KVM_RUN_FAIL_ENTRY,
                                    KVM_RUN_IO,
                                    KVM_RUN_INTERNAL,
                                    MemoryLayout.sequenceLayout(256, JAVA_BYTE).withName("padding"))
                            .withName("exit"))
            .withName("kvm_run");

    /** Every top-level structure, for the layout test. */
    public static final List<StructLayout> ALL = List.of(
            KVM_USERSPACE_MEMORY_REGION,
            KVM_REGS,
            KVM_SEGMENT,
            KVM_DTABLE,
            KVM_SREGS,
            KVM_DIRTY_LOG,
            KVM_CLEAR_DIRTY_LOG,
            KVM_ENABLE_CAP,
            KVM_CPUID_ENTRY2,
            KVM_CPUID2,
            KVM_RUN);

    /** The byte offset of a member, by path: {@code offset(KVM_SREGS, "cs", "base")}. */
    public static long offset(MemoryLayout layout, String... path) {
        PathElement[] elements = new PathElement[path.length];
        for (int i = 0; i < path.length; i++) {
            elements[i] = PathElement.groupElement(path[i]);
        }
        return layout.byteOffset(elements);
    }

    // Offsets used on hot paths or often.
    public static final long RUN_IMMEDIATE_EXIT = offset(KVM_RUN, "immediate_exit");
    public static final long RUN_EXIT_REASON = offset(KVM_RUN, "exit_reason");
    public static final long RUN_IO_DIRECTION = offset(KVM_RUN, "exit", "io", "direction");
    public static final long RUN_IO_SIZE = offset(KVM_RUN, "exit", "io", "size");
    public static final long RUN_IO_PORT = offset(KVM_RUN, "exit", "io", "port");
    public static final long RUN_IO_COUNT = offset(KVM_RUN, "exit", "io", "count");
    public static final long RUN_IO_DATA_OFFSET = offset(KVM_RUN, "exit", "io", "data_offset");
    public static final long RUN_FAIL_ENTRY_REASON =
            offset(KVM_RUN, "exit", "fail_entry", "hardware_entry_failure_reason");
    public static final long RUN_FAIL_ENTRY_CPU = offset(KVM_RUN, "exit", "fail_entry", "cpu");
    public static final long RUN_INTERNAL_SUBERROR = offset(KVM_RUN, "exit", "internal", "suberror");
    public static final long RUN_INTERNAL_NDATA = offset(KVM_RUN, "exit", "internal", "ndata");
    public static final long RUN_INTERNAL_DATA = offset(KVM_RUN, "exit", "internal", "data");
    public static final long RUN_HW_EXIT_REASON = offset(KVM_RUN, "exit", "hw", "hardware_exit_reason");
}
