/* Prints the sizes, offsets and ioctl numbers of <linux/kvm.h> that KvmStructs and KvmIoctls mirror. */
#include <linux/kvm.h>
#include <stddef.h>
#include <stdio.h>

#define S(t)    printf("sizeof %s %zu\n", #t, sizeof(struct t))
#define O(t, f) printf("offsetof %s.%s %zu\n", #t, #f, offsetof(struct t, f))
#define I(n)    printf("ioctl %s %lu\n", #n, (unsigned long)(n))

int main(void) {
    S(kvm_userspace_memory_region);
    O(kvm_userspace_memory_region, slot); O(kvm_userspace_memory_region, flags);
    O(kvm_userspace_memory_region, guest_phys_addr); O(kvm_userspace_memory_region, memory_size);
    O(kvm_userspace_memory_region, userspace_addr);

    S(kvm_regs);
    O(kvm_regs, rax); O(kvm_regs, rbx); O(kvm_regs, rcx); O(kvm_regs, rdx); O(kvm_regs, rsi); O(kvm_regs, rdi);
    O(kvm_regs, rsp); O(kvm_regs, rbp); O(kvm_regs, r8); O(kvm_regs, r9); O(kvm_regs, r10); O(kvm_regs, r11);
    O(kvm_regs, r12); O(kvm_regs, r13); O(kvm_regs, r14); O(kvm_regs, r15); O(kvm_regs, rip); O(kvm_regs, rflags);

    S(kvm_segment);
    O(kvm_segment, base); O(kvm_segment, limit); O(kvm_segment, selector); O(kvm_segment, type);
    O(kvm_segment, present); O(kvm_segment, dpl); O(kvm_segment, db); O(kvm_segment, s); O(kvm_segment, l);
    O(kvm_segment, g); O(kvm_segment, avl); O(kvm_segment, unusable); O(kvm_segment, padding);

    S(kvm_dtable);
    O(kvm_dtable, base); O(kvm_dtable, limit); O(kvm_dtable, padding);

    S(kvm_sregs);
    O(kvm_sregs, cs); O(kvm_sregs, ds); O(kvm_sregs, es); O(kvm_sregs, fs); O(kvm_sregs, gs); O(kvm_sregs, ss);
    O(kvm_sregs, tr); O(kvm_sregs, ldt); O(kvm_sregs, gdt); O(kvm_sregs, idt); O(kvm_sregs, cr0); O(kvm_sregs, cr2);
    O(kvm_sregs, cr3); O(kvm_sregs, cr4); O(kvm_sregs, cr8); O(kvm_sregs, efer); O(kvm_sregs, apic_base);
    O(kvm_sregs, interrupt_bitmap);
    O(kvm_sregs, cs.base); O(kvm_sregs, cs.limit); O(kvm_sregs, cs.selector); O(kvm_sregs, cs.type);
    O(kvm_sregs, cs.present); O(kvm_sregs, cs.dpl); O(kvm_sregs, cs.db); O(kvm_sregs, cs.s); O(kvm_sregs, cs.l);
    O(kvm_sregs, cs.g); O(kvm_sregs, cs.avl); O(kvm_sregs, cs.unusable); O(kvm_sregs, cs.padding);
    O(kvm_sregs, gdt.base); O(kvm_sregs, gdt.limit); O(kvm_sregs, gdt.padding);
    printf("sizeof kvm_sregs.interrupt_bitmap %zu\n", sizeof(((struct kvm_sregs *)0)->interrupt_bitmap));

    S(kvm_dirty_log);
    O(kvm_dirty_log, slot); O(kvm_dirty_log, padding1); O(kvm_dirty_log, dirty_bitmap);

    S(kvm_clear_dirty_log);
    O(kvm_clear_dirty_log, slot); O(kvm_clear_dirty_log, num_pages); O(kvm_clear_dirty_log, first_page);
    O(kvm_clear_dirty_log, dirty_bitmap);

    S(kvm_enable_cap);
    O(kvm_enable_cap, cap); O(kvm_enable_cap, flags); O(kvm_enable_cap, args); O(kvm_enable_cap, pad);

    S(kvm_cpuid_entry2);
    O(kvm_cpuid_entry2, function); O(kvm_cpuid_entry2, index); O(kvm_cpuid_entry2, flags);
    O(kvm_cpuid_entry2, eax); O(kvm_cpuid_entry2, ebx); O(kvm_cpuid_entry2, ecx); O(kvm_cpuid_entry2, edx);
    O(kvm_cpuid_entry2, padding);

    S(kvm_cpuid2);
    O(kvm_cpuid2, nent); O(kvm_cpuid2, padding);

    /* kvm_run: only the head the Java layout declares; the exit union is anonymous in C. */
    O(kvm_run, request_interrupt_window); O(kvm_run, immediate_exit); O(kvm_run, padding1);
    O(kvm_run, exit_reason); O(kvm_run, ready_for_interrupt_injection); O(kvm_run, if_flag); O(kvm_run, flags);
    O(kvm_run, cr8); O(kvm_run, apic_base);
    O(kvm_run, hw); O(kvm_run, hw.hardware_exit_reason);
    O(kvm_run, fail_entry); O(kvm_run, fail_entry.hardware_entry_failure_reason); O(kvm_run, fail_entry.cpu);
    O(kvm_run, io); O(kvm_run, io.direction); O(kvm_run, io.size); O(kvm_run, io.port); O(kvm_run, io.count);
    O(kvm_run, io.data_offset);
    O(kvm_run, internal); O(kvm_run, internal.suberror); O(kvm_run, internal.ndata); O(kvm_run, internal.data);
    O(kvm_run, padding);
    printf("sizeof kvm_run.io %zu\n", sizeof(((struct kvm_run *)0)->io));
    printf("sizeof kvm_run.fail_entry %zu\n", sizeof(((struct kvm_run *)0)->fail_entry));
    printf("sizeof kvm_run.internal %zu\n", sizeof(((struct kvm_run *)0)->internal));
    printf("sizeof kvm_run.padding %zu\n", sizeof(((struct kvm_run *)0)->padding));

    I(KVM_GET_API_VERSION); I(KVM_CREATE_VM); I(KVM_CHECK_EXTENSION); I(KVM_GET_VCPU_MMAP_SIZE);
    I(KVM_GET_SUPPORTED_CPUID);
    I(KVM_CREATE_VCPU); I(KVM_GET_DIRTY_LOG); I(KVM_SET_USER_MEMORY_REGION); I(KVM_ENABLE_CAP);
    I(KVM_CLEAR_DIRTY_LOG);
    I(KVM_RUN); I(KVM_GET_REGS); I(KVM_SET_REGS); I(KVM_GET_SREGS); I(KVM_SET_SREGS); I(KVM_SET_CPUID2); I(KVM_GET_TSC_KHZ);

    printf("const KVM_CAP_USER_MEMORY %d\n", KVM_CAP_USER_MEMORY);
    printf("const KVM_CAP_NR_MEMSLOTS %d\n", KVM_CAP_NR_MEMSLOTS);
    printf("const KVM_CAP_EXT_CPUID %d\n", KVM_CAP_EXT_CPUID);
    printf("const KVM_CAP_IMMEDIATE_EXIT %d\n", KVM_CAP_IMMEDIATE_EXIT);
    printf("const KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 %d\n", KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
    printf("const KVM_MEM_LOG_DIRTY_PAGES %d\n", KVM_MEM_LOG_DIRTY_PAGES);
    printf("const KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE %d\n", KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
    printf("const KVM_DIRTY_LOG_INITIALLY_SET %d\n", KVM_DIRTY_LOG_INITIALLY_SET);
    printf("const KVM_EXIT_UNKNOWN %d\n", KVM_EXIT_UNKNOWN);
    printf("const KVM_EXIT_EXCEPTION %d\n", KVM_EXIT_EXCEPTION);
    printf("const KVM_EXIT_IO %d\n", KVM_EXIT_IO);
    printf("const KVM_EXIT_HLT %d\n", KVM_EXIT_HLT);
    printf("const KVM_EXIT_MMIO %d\n", KVM_EXIT_MMIO);
    printf("const KVM_EXIT_SHUTDOWN %d\n", KVM_EXIT_SHUTDOWN);
    printf("const KVM_EXIT_FAIL_ENTRY %d\n", KVM_EXIT_FAIL_ENTRY);
    printf("const KVM_EXIT_INTR %d\n", KVM_EXIT_INTR);
    printf("const KVM_EXIT_INTERNAL_ERROR %d\n", KVM_EXIT_INTERNAL_ERROR);
    printf("const KVM_EXIT_IO_IN %d\n", KVM_EXIT_IO_IN);
    printf("const KVM_EXIT_IO_OUT %d\n", KVM_EXIT_IO_OUT);
    printf("const KVM_API_VERSION %d\n", KVM_API_VERSION);
    return 0;
}
