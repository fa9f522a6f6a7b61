/*
 * kvm_probe: checks, with raw KVM and no Java, the facts the KVM backend relies on, and prints
 * one "name value" line each (KvmProbeTest runs it; the README quotes it).
 *
 *   gcc -O2 -o kvm_probe kvm_probe.c && ./kvm_probe
 *
 * Guest: identity-mapped long mode, 2 MiB pages with U/S set, code copied into guest RAM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define RAM (256ULL << 20)
#define PT 0x100000ULL      /* page tables */
#define GDT 0x108000ULL
#define TSS 0x109000ULL     /* + I/O bitmap */
#define CODE 0x200000ULL
#define DATA (16ULL << 20)  /* pages the guest writes, up to RAM */
#define PAGES 16384         /* 64 MiB */

static int kvm, vm, vcpu;
static struct kvm_run *run;
static uint8_t *ram;

static double now_us(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }
static void die(const char *what) { fprintf(stderr, "%s: %s\n", what, strerror(errno)); exit(1); }

/* Guest programs (position-independent, copied to CODE). */
extern const uint8_t out_loop[], out_loop_end[], write_loop[], write_loop_end[], count_loop[], count_loop_end[];
__asm__(".pushsection .rodata\n"
        "out_loop:\n"          /* forever: out %al, $0x10 */
        "1: out %al, $0x10\n jmp 1b\n"
        "out_loop_end:\n"
        "write_loop:\n"        /* forever: write one word into each of rsi pages from rdi, then out $0x10 */
        "2: mov %rdi, %rax\n mov %rsi, %rcx\n"
        "3: movq %rcx, (%rax)\n add $4096, %rax\n dec %rcx\n jnz 3b\n out %al, $0x10\n jmp 2b\n"
        "write_loop_end:\n"
        "count_loop:\n"        /* forever: count rdi down to 0 (2 instructions a turn), then out $0x10 */
        "4: mov %rdi, %rcx\n5: dec %rcx\n jnz 5b\n out %al, $0x10\n jmp 4b\n"
        "count_loop_end:\n"
        ".popsection\n");

static void setup(int cpl, int iopl, int bitmap, const uint8_t *code, size_t len, uint64_t rdi, uint64_t rsi) {
    if (vm) { close(vcpu); close(vm); munmap(ram, RAM); }
    vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    ram = mmap(0, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    struct kvm_userspace_memory_region r = {.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES, .memory_size = RAM,
                                            .userspace_addr = (uint64_t)ram};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0) die("KVM_SET_USER_MEMORY_REGION");
    uint64_t *pml4 = (uint64_t *)(ram + PT), *pdpt = pml4 + 512, *pd = pml4 + 1024;
    pml4[0] = (PT + 0x1000) | 7;
    pdpt[0] = (PT + 0x2000) | 7;
    for (uint64_t i = 0; i < RAM >> 21; i++) pd[i] = (i << 21) | 0x87;
    uint64_t *gdt = (uint64_t *)(ram + GDT);
    gdt[1] = 0x00AF9B000000FFFFULL; gdt[2] = 0x00CF93000000FFFFULL;
    gdt[3] = 0x00AFFB000000FFFFULL; gdt[4] = 0x00CFF3000000FFFFULL;
    gdt[5] = 0x67 | (TSS & 0xFFFFFF) << 16 | 0x8BULL << 40; /* TSS, limit set below */
    uint8_t *tss = ram + TSS;
    *(uint16_t *)(tss + 0x66) = 0x68;
    memset(tss + 0x68, 0xFF, 8193);
    if (bitmap) tss[0x68 + 2] &= ~1; /* port 0x10 */
    memcpy(ram + CODE, code, len);

    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) die("KVM_CREATE_VCPU");
    run = mmap(0, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[128]; } cpuid = {.c.nent = 128};
    if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0) die("KVM_GET_SUPPORTED_CPUID");
    if (ioctl(vcpu, KVM_SET_CPUID2, &cpuid) < 0) die("KVM_SET_CPUID2");
    struct kvm_sregs s;
    if (ioctl(vcpu, KVM_GET_SREGS, &s) < 0) die("KVM_GET_SREGS");
    s.cr0 = 0x80050033; s.cr3 = PT; s.cr4 = 0x20; s.efer = 0x500;
    struct kvm_segment cs = {.limit = 0xffffffff, .selector = cpl ? 0x1b : 0x08, .type = 11, .present = 1,
                             .dpl = cpl, .s = 1, .l = 1, .g = 1};
    struct kvm_segment ds = {.limit = 0xffffffff, .selector = cpl ? 0x23 : 0x10, .type = 3, .present = 1,
                             .dpl = cpl, .db = 1, .s = 1, .g = 1};
    struct kvm_segment tr = {.base = TSS, .limit = 0x68 + 8192, .selector = 0x28, .type = 11, .present = 1};
    s.cs = cs; s.ds = s.es = s.fs = s.gs = s.ss = ds; s.tr = tr;
    s.gdt.base = GDT; s.gdt.limit = 7 * 8 - 1;
    if (ioctl(vcpu, KVM_SET_SREGS, &s) < 0) die("KVM_SET_SREGS");
    struct kvm_regs g = {.rip = CODE, .rsp = CODE, .rflags = 0x2 | (uint64_t)iopl << 12, .rdi = rdi, .rsi = rsi};
    if (ioctl(vcpu, KVM_SET_REGS, &g) < 0) die("KVM_SET_REGS");
}

static int run_once(void) {
    if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
    return run->exit_reason;
}

static void dirty_log(uint64_t *bitmap) {
    struct kvm_dirty_log d = {.slot = 0, .dirty_bitmap = bitmap};
    if (ioctl(vm, KVM_GET_DIRTY_LOG, &d) < 0) die("KVM_GET_DIRTY_LOG");
}

int main(void) {
    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("open /dev/kvm");
    static uint64_t bitmap[RAM / 4096 / 64];

    /* port I/O at CPL 3: IOPL 3 with every port closed in the TSS bitmap, then IOPL 0 with port 0x10 open */
    setup(3, 3, 0, out_loop, out_loop_end - out_loop, 0, 0);
    printf("iopl3_no_bitmap_out_exit %d\n", run_once());
    setup(3, 0, 1, out_loop, out_loop_end - out_loop, 0, 0);
    printf("iopl0_bitmap_out_exit %d\n", run_once());
    int n = 20000;
    double t0 = now_us();
    for (int i = 0; i < n; i++) run_once();
    printf("io_exit_us %.2f\n", (now_us() - t0) / n);

    /* a counting loop at CPL 3 and at CPL 0 */
    for (int cpl = 3; cpl >= 0; cpl -= 3) {
        uint64_t turns = cpl ? 100000000 : 20000;
        setup(cpl, 0, 1, count_loop, count_loop_end - count_loop, turns, 0);
        run_once(); /* first pass: page faults */
        t0 = now_us();
        int exit = run_once();
        printf("cpl%d_ns_per_instruction %.3f\n", cpl, (now_us() - t0) * 1e3 / (2.0 * turns));
        if (exit != KVM_EXIT_IO) printf("cpl%d_loop_exit %d\n", cpl, exit);
    }

    /* writes at CPL 3: first touch, rewrite, rewrite after a dirty-log read; the read itself */
    setup(3, 0, 1, write_loop, write_loop_end - write_loop, DATA, PAGES);
    dirty_log(bitmap);
    t0 = now_us();
    run_once();
    printf("first_touch_us_per_page %.2f\n", (now_us() - t0) / PAGES);
    t0 = now_us();
    run_once();
    printf("rewrite_us_per_page %.3f\n", (now_us() - t0) / PAGES);
    t0 = now_us();
    dirty_log(bitmap);
    printf("dirty_log_read_us_256MiB_slot_16384_dirty %.1f\n", now_us() - t0);
    long dirty = 0;
    for (size_t i = 0; i < sizeof bitmap / 8; i++) dirty += __builtin_popcountll(bitmap[i]);
    printf("dirty_pages_reported %ld\n", dirty);
    t0 = now_us();
    run_once();
    printf("rewrite_after_dirty_log_read_us_per_page %.2f\n", (now_us() - t0) / PAGES);
    dirty_log(bitmap);
    t0 = now_us();
    dirty_log(bitmap);
    printf("dirty_log_read_us_256MiB_slot_0_dirty %.1f\n", now_us() - t0);
    return 0;
}
