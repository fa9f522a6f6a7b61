/*
 * The Ballast guest program. Freestanding, runs entirely at CPL 3 in 64-bit long mode set up
 * by the host (no privileged instruction, no interrupt, no FPU/SSE state: built with
 * -mgeneral-regs-only so that regs + sregs are the whole vCPU state).
 *
 * It serves commands from the host through the shared-memory command ring and answers on the
 * reply ring (abi.h). It exits to the host only through port I/O: PORT_DOORBELL when the host
 * asked to be woken for a reply, PORT_SLEEP when it has had nothing to do for a while, and
 * PORT_PANIC when it cannot go on.
 */
#include "abi.h"

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define SYS(off)  ((volatile u8 *)(SYS_GPA + (off)))
#define CTL_U32(off) (*(volatile u32 *)SYS(SYS_CTL_OFF + (off)))
#define CTL_U64(off) (*(volatile u64 *)SYS(SYS_CTL_OFF + (off)))

struct image_header {
    u64 magic;
    u32 abi;
    u32 pad;
    u64 load_gpa;
    u64 entry_gpa;
    u64 end_gpa;
    u64 file_end_gpa;
};

extern char __image_start[], __bss_end[], __file_end[];
void _start(void);

__attribute__((section(".header"), used))
const struct image_header image_header = {
    .magic = IMAGE_MAGIC,
    .abi = ABI_VERSION,
    .load_gpa = (u64)__image_start,
    .entry_gpa = (u64)_start,
    .end_gpa = (u64)__bss_end,
    .file_end_gpa = (u64)__file_end,
};

/* The host sets rsp to the top of the stack and rip here. */
__asm__(
    ".section .text.start, \"ax\"\n"
    ".globl _start\n"
    "_start:\n"
    "    and $-16, %rsp\n"
    "    call guest_main\n"
    "1:  mov $0x12, %dx\n"
    "    out %al, %dx\n"
    "    jmp 1b\n"
    ".previous\n");

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory"); }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void full_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

static void panic(u64 code, u64 arg) {
    CTL_U64(CTL_PANIC_ARG_OFF) = arg;
    CTL_U64(CTL_PANIC_CODE_OFF) = code;
    for (;;) outb(PORT_PANIC, (u8)code);
}

/* gcc may emit calls to these even when freestanding. */
void *memset(void *d, int c, u64 n) { u8 *p = d; while (n--) *p++ = (u8)c; return d; }
void *memcpy(void *d, const void *s, u64 n) { u8 *p = d; const u8 *q = s; while (n--) *p++ = *q++; return d; }

/* ---- RAM blocks and the version table ---- */

struct block { u64 first_pfn, pages, first_index; };
static struct block blocks[CTL_MAX_BLOCKS];
static u32 nblocks;
static volatile u32 *versions;

/* Index of a RAM page in the version table, or -1 when pfn is not RAM. */
static long page_index(u64 pfn) {
    for (u32 i = 0; i < nblocks; i++)
        if (pfn - blocks[i].first_pfn < blocks[i].pages) return (long)(blocks[i].first_index + pfn - blocks[i].first_pfn);
    return -1;
}

/* ---- page stamps (mirrored by dev.ballast.kvm.guest.PageStamp) ---- */

static inline u64 mix64(u64 z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#define GOLDEN 0x9e3779b97f4a7c15ULL

/* Fletcher-style sum of every word but the checksum word, folded with the page's identity. */
static u64 stamp_checksum(const volatile u64 *w) {
    u64 a = 0, b = 0;
    for (int i = 0; i < PAGE_WORDS; i++) {
        u64 v = i == STAMP_CHECKSUM_WORD ? 0 : w[i];
        a += v;
        b += a;
    }
    return mix64(a) ^ b;
}

static void stamp_page(u64 pfn, u32 version) {
    volatile u64 *w = (volatile u64 *)(pfn * PAGE_SIZE);
    u64 seed = mix64(pfn * GOLDEN ^ ((u64)version << 32 | version));
    u64 a = 0, b = 0;
    u64 head[4] = {pfn, version, 0, STAMP_MAGIC};
    for (int i = 0; i < STAMP_PAYLOAD_WORD; i++) { a += head[i]; b += a; }
    for (int i = STAMP_PAYLOAD_WORD; i < PAGE_WORDS; i++) {
        u64 v = seed + (u64)i * GOLDEN;
        w[i] = v;
        a += v;
        b += a;
    }
    w[STAMP_PFN_WORD] = pfn;
    w[STAMP_VERSION_WORD] = version;
    w[STAMP_MAGIC_WORD] = STAMP_MAGIC;
    w[STAMP_CHECKSUM_WORD] = mix64(a) ^ b;
}

/* 1 when the page holds a valid stamp of (pfn, version). */
static int check_page(u64 pfn, u32 version) {
    const volatile u64 *w = (const volatile u64 *)(pfn * PAGE_SIZE);
    return w[STAMP_PFN_WORD] == pfn && w[STAMP_VERSION_WORD] == version && w[STAMP_MAGIC_WORD] == STAMP_MAGIC
        && w[STAMP_CHECKSUM_WORD] == stamp_checksum(w);
}

/* ---- rings ---- */

struct ring { volatile u8 *base; };
static struct ring cmd_ring = {SYS(SYS_CMD_RING_OFF)}, reply_ring = {SYS(SYS_REPLY_RING_OFF)};

static inline volatile u32 *ring_u32(struct ring *r, u32 off) { return (volatile u32 *)(r->base + off); }
static inline volatile u8 *ring_entry(struct ring *r, u32 index) {
    return r->base + RING_ENTRIES_OFF + (u64)(index & (RING_CAPACITY - 1)) * RING_ENTRY_SIZE;
}
static inline u32 ring_tail_acquire(struct ring *r) { return __atomic_load_n((u32 *)ring_u32(r, RING_TAIL_OFF), __ATOMIC_ACQUIRE); }
static inline u32 ring_head_acquire(struct ring *r) { return __atomic_load_n((u32 *)ring_u32(r, RING_HEAD_OFF), __ATOMIC_ACQUIRE); }

struct entry { u32 op, status; u64 id; u64 args[ENT_NARGS]; };

static void read_entry(volatile u8 *e, struct entry *out) {
    out->op = *(volatile u32 *)(e + ENT_OP_OFF);
    out->status = *(volatile u32 *)(e + ENT_STATUS_OFF);
    out->id = *(volatile u64 *)(e + ENT_ID_OFF);
    for (int i = 0; i < ENT_NARGS; i++) out->args[i] = *(volatile u64 *)(e + ENT_ARGS_OFF + 8 * i);
}

static void write_entry(volatile u8 *e, const struct entry *in) {
    *(volatile u32 *)(e + ENT_OP_OFF) = in->op;
    *(volatile u32 *)(e + ENT_STATUS_OFF) = in->status;
    *(volatile u64 *)(e + ENT_ID_OFF) = in->id;
    for (int i = 0; i < ENT_NARGS; i++) *(volatile u64 *)(e + ENT_ARGS_OFF + 8 * i) = in->args[i];
}

static void post_reply(const struct entry *reply) {
    struct ring *r = &reply_ring;
    u32 tail = *ring_u32(r, RING_TAIL_OFF);
    /* The host consumes replies; wait for room (it is woken below if it sleeps). */
    while (tail - ring_head_acquire(r) >= RING_CAPACITY) {
        if (CTL_U32(CTL_HOST_WANTS_DOORBELL_OFF)) { CTL_U32(CTL_HOST_WANTS_DOORBELL_OFF) = 0; outb(PORT_DOORBELL, 0); }
        cpu_relax();
    }
    write_entry(ring_entry(r, tail), reply);
    __atomic_store_n((u32 *)ring_u32(r, RING_TAIL_OFF), tail + 1, __ATOMIC_RELEASE);
    /* Dekker with the host: it stores WANTS_DOORBELL then loads our tail. */
    full_fence();
    if (CTL_U32(CTL_HOST_WANTS_DOORBELL_OFF)) {
        CTL_U32(CTL_HOST_WANTS_DOORBELL_OFF) = 0;
        outb(PORT_DOORBELL, 0);
    }
}

/* ---- commands ---- */

static void op_write_pages(const struct entry *c, struct entry *r) {
    u64 pfn = c->args[0], count = c->args[1], stride = c->args[2] ? c->args[2] : 1;
    u64 done = 0;
    for (u64 i = 0; i < count; i++, pfn += stride) {
        long idx = page_index(pfn);
        if (idx < 0) { r->status = ST_BAD_RANGE; r->args[1] = pfn; break; }
        u32 v = versions[idx] + 1;
        if (v == 0) v = 1;
        stamp_page(pfn, v);
        versions[idx] = v;
        done++;
    }
    r->args[0] = done;
    CTL_U64(CTL_STAT_PAGES_WRITTEN_OFF) += done;
}

static void verify_one(u64 pfn, long idx, struct entry *r) {
    u32 v = versions[idx];
    if (v == 0) return;
    r->args[0]++;
    if (!check_page(pfn, v)) {
        if (r->args[1]++ == 0) r->args[2] = pfn;
    }
}

static void op_verify_pages(const struct entry *c, struct entry *r) {
    u64 pfn = c->args[0], count = c->args[1], stride = c->args[2] ? c->args[2] : 1;
    r->args[0] = 0; r->args[1] = 0; r->args[2] = ~0UL;
    for (u64 i = 0; i < count; i++, pfn += stride) {
        long idx = page_index(pfn);
        if (idx < 0) { r->status = ST_BAD_RANGE; r->args[3] = pfn; break; }
        verify_one(pfn, idx, r);
    }
    CTL_U64(CTL_STAT_PAGES_VERIFIED_OFF) += r->args[0];
}

static void op_verify_all(struct entry *r) {
    r->args[0] = 0; r->args[1] = 0; r->args[2] = ~0UL;
    for (u32 b = 0; b < nblocks; b++)
        for (u64 p = 0; p < blocks[b].pages; p++)
            verify_one(blocks[b].first_pfn + p, (long)(blocks[b].first_index + p), r);
    CTL_U64(CTL_STAT_PAGES_VERIFIED_OFF) += r->args[0];
}

static void op_spin(const struct entry *c, struct entry *r) {
    u64 token = c->args[0], n = 0;
    volatile u64 *counter = &CTL_U64(CTL_SPIN_COUNTER_OFF);
    while (CTL_U64(CTL_SPIN_STOP_OFF) != token) {
        n++;
        *counter = n;
    }
    r->args[0] = n;
}

static void execute(const struct entry *c) {
    struct entry r = {.op = c->op, .status = ST_OK, .id = c->id};
    switch (c->op) {
    case OP_NOP:
        for (int i = 0; i < ENT_NARGS; i++) r.args[i] = c->args[i];
        break;
    case OP_WRITE_PAGES: op_write_pages(c, &r); break;
    case OP_VERIFY_PAGES: op_verify_pages(c, &r); break;
    case OP_VERIFY_ALL: op_verify_all(&r); break;
    case OP_SPIN: op_spin(c, &r); break;
    case OP_READ_VERSION: {
        long idx = page_index(c->args[0]);
        if (idx < 0) r.status = ST_BAD_RANGE; else r.args[0] = versions[idx];
        break;
    }
    case OP_EXITS:
        for (u64 i = 0; i < c->args[0]; i++) outb(PORT_NOP, 0);
        r.args[0] = c->args[0];
        break;
    default: r.status = ST_BAD_OP; break;
    }
    CTL_U64(CTL_STAT_COMMANDS_OFF) += 1;
    post_reply(&r);
}

static void check_ring(struct ring *r) {
    if (*ring_u32(r, RING_MAGIC_OFF) != RING_MAGIC || *ring_u32(r, RING_CAPACITY_OFF) != RING_CAPACITY
        || *ring_u32(r, RING_ENTRY_SIZE_OFF) != RING_ENTRY_SIZE)
        panic(PANIC_BAD_RING, (u64)r->base);
}

void guest_main(void) {
    if (CTL_U64(CTL_MAGIC_OFF) != CTL_MAGIC || CTL_U32(CTL_ABI_OFF) != ABI_VERSION) panic(PANIC_BAD_CONTROL, 0);
    nblocks = CTL_U32(CTL_NBLOCKS_OFF);
    if (nblocks == 0 || nblocks > CTL_MAX_BLOCKS) panic(PANIC_BAD_CONTROL, nblocks);
    u64 index = 0;
    for (u32 i = 0; i < nblocks; i++) {
        blocks[i].first_pfn = CTL_U64(CTL_BLOCKS_OFF + 16 * i) / PAGE_SIZE;
        blocks[i].pages = CTL_U64(CTL_BLOCKS_OFF + 16 * i + 8);
        blocks[i].first_index = index;
        index += blocks[i].pages;
    }
    versions = (volatile u32 *)CTL_U64(CTL_VERSIONS_GPA_OFF);
    check_ring(&cmd_ring);
    check_ring(&reply_ring);

    u64 idle = 0;
    for (;;) {
        struct ring *r = &cmd_ring;
        u32 head = *ring_u32(r, RING_HEAD_OFF);
        if (ring_tail_acquire(r) != head) {
            struct entry c;
            read_entry(ring_entry(r, head), &c);
            __atomic_store_n((u32 *)ring_u32(r, RING_HEAD_OFF), head + 1, __ATOMIC_RELEASE);
            execute(&c);
            idle = 0;
            continue;
        }
        if (++idle < CTL_U64(CTL_IDLE_SPINS_OFF)) { cpu_relax(); continue; }
        /* Dekker with the host: it stores tail then loads GUEST_SLEEPING. */
        CTL_U32(CTL_GUEST_SLEEPING_OFF) = 1;
        full_fence();
        if (ring_tail_acquire(r) == head) {
            CTL_U64(CTL_STAT_SLEEPS_OFF) += 1;
            outb(PORT_SLEEP, 0);
        }
        CTL_U32(CTL_GUEST_SLEEPING_OFF) = 0;
        idle = 0;
    }
}
