/*
 * The Ballast guest program. Freestanding, runs entirely at CPL 3 in 64-bit long mode set up
 * by the host (no privileged instruction, no interrupt, no FPU/SSE state: built with
 * -mgeneral-regs-only so that regs + sregs are the whole vCPU state).
 *
 * It serves commands from the host through the shared-memory command ring and answers on the
 * reply ring (abi.h). Between commands it runs a workload over its own page allocator, a balloon
 * driver and a free page hint driver, which talk to the host's devices through the request ring.
 * It exits to the host only through port I/O: PORT_DOORBELL when the host asked to be woken,
 * PORT_SLEEP when it has nothing to do until a command or its next workload tick, and PORT_PANIC
 * when it cannot go on. Its whole state lives in the system slot (this image's data and bss and
 * the areas the control block names), so a migration carries it with the vCPU state.
 */
#include "abi.h"

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef int s32;

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

static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (u64)hi << 32 | lo; }
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
static void fill_page(u64 pfn, u8 byte) {
    u64 v = byte * 0x0101010101010101ULL;
    volatile u64 *w = (volatile u64 *)(pfn * PAGE_SIZE);
    for (int i = 0; i < PAGE_WORDS; i++) w[i] = v;
}

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

/* ---- RAM page indexes and bitmaps over them ---- */

static u64 total_pages;
static u64 *freemap, *heldmap, *balmap, *repmap;
static u32 *objs;
static u64 free_pages, held_pages, balloon_pages;
static u64 wl[WL_COUNT];
static u8 poison;

static u64 pfn_of(u64 index) {
    for (u32 i = 0; i < nblocks; i++)
        if (index - blocks[i].first_index < blocks[i].pages) return blocks[i].first_pfn + index - blocks[i].first_index;
    panic(PANIC_BAD_CONTROL, index);
    return 0;
}

static u32 block_of_index(u64 index) {
    for (u32 i = 0; i < nblocks; i++)
        if (index - blocks[i].first_index < blocks[i].pages) return i;
    panic(PANIC_BAD_CONTROL, index);
    return 0;
}

static inline int bit_get(const u64 *m, u64 i) { return (int)((m[i >> 6] >> (i & 63)) & 1); }

static u64 ones(u64 from_bit, u64 to_bit) { /* mask of bits [from_bit, to_bit) of one word, to_bit <= 64 */
    u64 hi = to_bit >= 64 ? ~0ULL : (1ULL << to_bit) - 1;
    return hi & ~((1ULL << from_bit) - 1);
}

static void range_set(u64 *m, u64 from, u64 to) {
    while (from < to) {
        u64 w = from >> 6, b = from & 63, e = to - (from - b) >= 64 ? 64 : to - (from - b);
        m[w] |= ones(b, e);
        from += e - b;
    }
}

static void range_clr(u64 *m, u64 from, u64 to) {
    while (from < to) {
        u64 w = from >> 6, b = from & 63, e = to - (from - b) >= 64 ? 64 : to - (from - b);
        m[w] &= ~ones(b, e);
        from += e - b;
    }
}

static inline u64 ctz(u64 v) { u64 n = 0; __asm__("tzcnt %1, %0" : "=r"(n) : "r"(v)); return n; }

static u64 popcount(u64 v) {
    v = v - ((v >> 1) & 0x5555555555555555ULL);
    v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
    v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (v * 0x0101010101010101ULL) >> 56;
}

/* The first index in [from, limit) whose bit is (set ? 1 : 0), or limit. */
static u64 next_bit(const u64 *m, u64 from, u64 limit, int set) {
    while (from < limit) {
        u64 w = m[from >> 6];
        if (!set) w = ~w;
        w &= ~((1ULL << (from & 63)) - 1);
        if (w) {
            u64 i = (from & ~63ULL) + ctz(w);
            return i < limit ? i : limit;
        }
        from = (from & ~63ULL) + 64;
    }
    return limit;
}

/* ---- a seeded PRNG (splitmix64) ---- */

static u64 rnd_state;
static u64 rnd(void) { rnd_state += GOLDEN; return mix64(rnd_state); }
static u64 rnd_below(u64 n) { return n ? rnd() % n : 0; }

/* ---- the clock: the TSC, scaled by the rate the host gave ---- */

static u64 tsc_khz;
static u64 now_us(void) {
    u64 t = rdtsc();
    return t / tsc_khz * 1000 + t % tsc_khz * 1000 / tsc_khz;
}

static u64 now_ns(void) {
    u64 t = rdtsc();
    return t / tsc_khz * 1000000 + t % tsc_khz * 1000000 / tsc_khz;
}

/* ---- the page allocator: aligned blocks of 2^k pages, next-fit over the free map ---- */

static u32 alloc_block;
static u64 alloc_cursor;

/* An aligned free block of size pages in RAM block b at or after from, or -1. */
static long find_free(u32 b, u64 from, u64 size) {
    u64 base = blocks[b].first_index, end = base + blocks[b].pages;
    if (from < base) from = base;
    u64 i = base + ((from - base + size - 1) & ~(size - 1));
    while (i + size <= end) {
        u64 f = next_bit(freemap, i, end, 1);
        if (f >= end) return -1;
        if (f > i) { i = base + ((f - base + size - 1) & ~(size - 1)); continue; }
        u64 c = next_bit(freemap, i, i + size, 0);
        if (c == i + size) return (long)i;
        i = base + (((c - base) & ~(size - 1)) + size);
    }
    return -1;
}

static long alloc_pages(int order) {
    u64 size = 1ULL << order;
    if (free_pages < size) return -1;
    for (u32 pass = 0; pass <= nblocks; pass++) {
        long f = find_free(alloc_block, alloc_cursor, size);
        if (f >= 0) {
            range_clr(freemap, (u64)f, (u64)f + size);
            range_clr(repmap, (u64)f, (u64)f + size); /* allocated: no longer reported */
            free_pages -= size;
            alloc_cursor = (u64)f + size;
            return f;
        }
        alloc_block = (alloc_block + 1) % nblocks;
        alloc_cursor = blocks[alloc_block].first_index;
    }
    return -1;
}

/* The allocator's normal path: alloc_pages, and under init_on_alloc (WF_INIT_ON_ALLOC; not under poisoning, which
   takes precedence as in Linux) the block is zeroed before it is handed out, a write like any other. */
static long alloc_zeroed(int order) {
    long i = alloc_pages(order);
    if (i >= 0 && (wl[WL_FLAGS] & WF_INIT_ON_ALLOC) && !poison) {
        u64 pfn = pfn_of((u64)i);
        for (u64 k = 0; k < (1ULL << order); k++) fill_page(pfn + k, 0);
    }
    return i;
}

/* Gives pages back to the allocator; under poisoning they are filled with the poison byte first. */
static void report_soon(void);

static void free_range(u64 index, u64 n) {
    if (poison)
        for (u64 k = 0; k < n; k++) fill_page(pfn_of(index + k), poison);
    range_set(freemap, index, index + n);
    free_pages += n;
    report_soon();
}

static void write_page(u64 index) {
    u32 v = versions[index] + 1;
    if (v == 0) v = 1;
    stamp_page(pfn_of(index), v);
    versions[index] = v;
    CTL_U64(CTL_STAT_PAGES_WRITTEN_OFF) += 1;
}

/* ---- the workload's live allocations: a ring of (index << 5 | order), oldest first ---- */

static u64 obj_head, obj_count, obj_pages;

static void keep(u64 index, int order) {
    if (obj_count == total_pages) panic(PANIC_NO_MEMORY, obj_count);
    objs[(obj_head + obj_count) % total_pages] = (u32)(index << 5 | (u64)order);
    obj_count++;
    obj_pages += 1ULL << order;
}

static u64 alloc_write(u64 pages, int lo, int hi) {
    u64 done = 0;
    while (done < pages) {
        int order = lo + (int)rnd_below((u64)(hi - lo + 1));
        while (order > 0 && (1ULL << order) > pages - done) order--;
        long i = alloc_zeroed(order);
        while (i < 0 && order > 0) i = alloc_zeroed(--order);
        if (i < 0) break;
        for (u64 k = 0; k < (1ULL << order); k++) write_page((u64)i + k);
        keep((u64)i, order);
        done += 1ULL << order;
    }
    return done;
}

static void free_oldest(u64 keep_pages) {
    while (obj_count > 0 && obj_pages > keep_pages) {
        u32 r = objs[obj_head];
        obj_head = (obj_head + 1) % total_pages;
        obj_count--;
        obj_pages -= 1ULL << (r & 31);
        free_range(r >> 5, 1ULL << (r & 31));
    }
}

static void free_newest(u64 count) {
    while (count-- > 0 && obj_count > 0) {
        obj_count--;
        u32 r = objs[(obj_head + obj_count) % total_pages];
        obj_pages -= 1ULL << (r & 31);
        free_range(r >> 5, 1ULL << (r & 31));
    }
}

static void random_writes(u64 pages) {
    while (pages-- > 0 && obj_count > 0) {
        u32 r = objs[(obj_head + rnd_below(obj_count)) % total_pages];
        write_page((r >> 5) + rnd_below(1ULL << (r & 31)));
    }
}

/* ---- the request ring (guest -> host) and the devices' used page ---- */

static struct ring req_ring;
static volatile u8 *balloon_bufs;
static u64 used_pfn = ~0ULL;
static u64 used_seen; /* the highest USED_CONSUMED the guest has read */

/* Rings the doorbell if the host waits for requests. */
static void req_flush(void) {
    full_fence();
    if (CTL_U32(CTL_HOST_WANTS_REQUESTS_OFF)) {
        CTL_U32(CTL_HOST_WANTS_REQUESTS_OFF) = 0;
        outb(PORT_DOORBELL, 1);
    }
}

/* Posts a request; returns its ring index. */
static u32 req_post(u32 op, u64 id, const u64 *args) {
    struct ring *r = &req_ring;
    u32 tail = *ring_u32(r, RING_TAIL_OFF);
    while (tail - ring_head_acquire(r) >= RING_CAPACITY) { req_flush(); cpu_relax(); }
    struct entry e = {.op = op, .id = id};
    for (int i = 0; i < ENT_NARGS; i++) e.args[i] = args ? args[i] : 0;
    write_entry(ring_entry(r, tail), &e);
    __atomic_store_n((u32 *)ring_u32(r, RING_TAIL_OFF), tail + 1, __ATOMIC_RELEASE);
    CTL_U64(CTL_STAT_REQUESTS_OFF) += 1;
    return tail;
}

static u64 used_consumed(void) {
    if (used_pfn == ~0ULL) return used_seen;
    volatile u64 *w = (volatile u64 *)(used_pfn * PAGE_SIZE);
    if (w[USED_MAGIC_WORD] == USED_MAGIC) {
        u64 v = w[USED_CONSUMED_WORD];
        if (v > used_seen) used_seen = v;
    }
    return used_seen;
}

/* Waits until the host has finished request index idx (mod 2^32). */
static void wait_done(u32 idx) {
    while ((s32)((u32)used_consumed() - idx) <= 0) { req_flush(); cpu_relax(); }
}

/* ---- the balloon driver ---- */

static u32 buf_next;
static u64 buf_msg[BALLOON_BUFS]; /* 1 + ring index of the message in each buffer, 0 when free */
static u32 pfn_buf = ~0U, pfn_n;
static int pfn_inflate;
static u32 last_msg;

static u32 take_buf(void) {
    u32 b = buf_next;
    buf_next = (buf_next + 1) % BALLOON_BUFS;
    if (buf_msg[b]) wait_done((u32)(buf_msg[b] - 1));
    buf_msg[b] = 0;
    return b;
}

static void post_balloon(int inflate, u64 mode, u32 b, u64 count, u64 base) {
    u64 a[ENT_NARGS] = {(u64)inflate, mode, b, count, base, 0};
    last_msg = req_post(REQ_BALLOON, 0, a);
    buf_msg[b] = (u64)last_msg + 1;
}

static void balloon_flush(void) {
    if (pfn_buf != ~0U) post_balloon(pfn_inflate, BM_PFNS, pfn_buf, pfn_n, 0);
    pfn_buf = ~0U;
    pfn_n = 0;
    req_flush();
}

/* Tells the host about pages [index, index+n) of one RAM block (PFNs may wait in the buffer until balloon_flush). */
static void balloon_tell(int inflate, u64 index, u64 n) {
    u64 pfn = pfn_of(index);
    if (wl[WL_FLAGS] & WF_BALLOON_BITMAP) {
        for (u64 o = 0; o < n; o += BALLOON_BITS_MAX) {
            u64 k = n - o < BALLOON_BITS_MAX ? n - o : BALLOON_BITS_MAX;
            u32 b = take_buf();
            volatile u64 *w = (volatile u64 *)(balloon_bufs + (u64)b * PAGE_SIZE);
            for (u64 i = 0; i < BALLOON_BITS_MAX / 64; i++) w[i] = i * 64 + 64 <= k ? ~0ULL : i * 64 < k ? ones(0, k - i * 64) : 0;
            post_balloon(inflate, BM_BITMAP, b, k, pfn + o);
        }
    } else {
        for (u64 o = 0; o < n; o++) {
            if (pfn_buf != ~0U && (pfn_inflate != inflate || pfn_n == BALLOON_PFNS_MAX)) balloon_flush();
            if (pfn_buf == ~0U) { pfn_buf = take_buf(); pfn_inflate = inflate; pfn_n = 0; }
            ((volatile u32 *)(balloon_bufs + (u64)pfn_buf * PAGE_SIZE))[pfn_n++] = (u32)(pfn + o);
        }
    }
}

/* Inflates by up to pages, largest blocks first; returns the pages inflated. Returns only once the
   host has taken every message (as Linux's tell_host waits on the inflate queue): until then the
   host may still give a page back (madvise), and a page deflated and written before that would be
   discarded under the guest. Deflate without MUST_TELL_HOST does not wait for the host at all, so
   this wait is what keeps it safe. */
static u64 inflate(u64 pages) {
    u64 done = 0;
    int order = 18;
    while (done < pages && order >= 0) {
        if ((1ULL << order) > pages - done) { order--; continue; }
        long i = alloc_pages(order);
        if (i < 0) { order--; continue; }
        u64 n = 1ULL << order;
        range_set(balmap, (u64)i, (u64)i + n);
        balloon_pages += n;
        balloon_tell(1, (u64)i, n);
        done += n;
    }
    balloon_flush();
    if (done) wait_done(last_msg);
    return done;
}

/* Deflate messages the host hears about late (no MUST_TELL_HOST). */
#define LATE_MAX 64
static struct { u64 due, index, n; } late[LATE_MAX];
static u32 late_head, late_count;

static void send_late(void) {
    balloon_tell(0, late[late_head].index, late[late_head].n);
    late_head = (late_head + 1) % LATE_MAX;
    late_count--;
}

/* Takes the lowest run of up to pages out of the balloon (one RAM block); returns how many, first at *first. */
static u64 deflate_run(u64 pages, u64 *first) {
    u64 i = next_bit(balmap, 0, total_pages, 1);
    if (i >= total_pages) return 0;
    u32 b = block_of_index(i);
    u64 bend = blocks[b].first_index + blocks[b].pages;
    u64 end = next_bit(balmap, i, bend, 0);
    if (end - i > pages) end = i + pages;
    u64 n = end - i;
    if (wl[WL_FLAGS] & WF_MUST_TELL_HOST) {
        balloon_tell(0, i, n);
        /* The last PFNs may still sit in the unposted buffer: post them, then wait for that, the last
           message. Waiting on what balloon_tell returned (the last message posted before the flush)
           let the guest reuse the last partial batch before the host knew. */
        balloon_flush();
        wait_done(last_msg); /* the host knows before the guest touches the pages */
    } else {
        if (late_count == LATE_MAX) send_late();
        u32 t = (late_head + late_count) % LATE_MAX;
        late[t].due = now_us() + wl[WL_LATE_US];
        late[t].index = i;
        late[t].n = n;
        late_count++;
    }
    range_clr(balmap, i, end);
    balloon_pages -= n;
    *first = i;
    return n;
}

static int balloon_step(u64 now) {
    int did = 0;
    while (late_count > 0 && late[late_head].due <= now) { send_late(); did = 1; }
    if (did) balloon_flush();
    return did;
}

/* ---- the free page hint driver ---- */

static u64 hint_id;
static int hint_reporting;
static u32 hint_block;
static u64 hint_scan;
static u64 hint_args[ENT_NARGS];
static int hint_n;
static u64 run_start, run_pages;

static void hint_emit(void) {
    if (!run_pages) return;
    hint_args[2 * hint_n] = pfn_of(run_start);
    hint_args[2 * hint_n + 1] = run_pages;
    run_pages = 0;
    if (++hint_n == ENT_NARGS / 2) {
        req_post(REQ_HINT, hint_id, hint_args);
        for (int i = 0; i < ENT_NARGS; i++) hint_args[i] = 0;
        hint_n = 0;
    }
}

static void hint_flush(void) {
    hint_emit();
    if (hint_n) req_post(REQ_HINT, hint_id, hint_args);
    for (int i = 0; i < ENT_NARGS; i++) hint_args[i] = 0;
    hint_n = 0;
    req_flush();
}

static void release_held(void) {
    u64 i = next_bit(heldmap, 0, total_pages, 1);
    while (i < total_pages) {
        u64 e = next_bit(heldmap, i, total_pages, 0);
        range_clr(heldmap, i, e);
        range_set(freemap, i, e); /* free pages that were never touched: still poison */
        free_pages += e - i;
        held_pages -= e - i;
        i = next_bit(heldmap, e, total_pages, 1);
    }
    report_soon();
}

/* ---- the hint driver as Linux writes it (drivers/virtio/virtio_balloon.c; WF_LINUX_HINTS) ----
   On a new command id it allocates blocks of 2^WL_HINT_ORDER pages through the allocator's normal path (zeroed
   under init_on_alloc) until an allocation fails, reports each block in an entry of its own and keeps it on its
   list; a stop ends the run and keeps the blocks, as does a new id; done gives them all back (freed as the guest
   frees: poisoned under poisoning). Its shrinker gives held blocks back, the newest first, when an allocation finds
   nothing free; with WF_HINTS_ACKED only blocks whose hint the host has taken (docs/findings.md, finding 1). */

#define HELD_MAX 32768
static u32 lheld[HELD_MAX];     /* first page index of each held block, oldest first */
static u32 lheld_req[HELD_MAX]; /* the request ring index of its hint */
static u32 lheld_n;

static int linux_hints(void) { return (wl[WL_FLAGS] & WF_LINUX_HINTS) != 0; }

static void hint_stopped(void) { CTL_U64(CTL_HINT_STOPPED_OFF) = hint_id; }

/* 1 + the request ring index of the last hint the host has taken (the devices' used page). */
static u32 hint_taken(void) {
    if (used_pfn == ~0ULL) return 0;
    volatile u64 *w = (volatile u64 *)(used_pfn * PAGE_SIZE);
    return w[USED_MAGIC_WORD] == USED_MAGIC ? (u32)w[USED_HINT_TAKEN_WORD] : 0;
}

static void give_back(u64 i, u64 size) {
    range_clr(heldmap, i, i + size);
    held_pages -= size;
    free_range(i, size);
}

static void linux_release_all(void) {
    u64 size = 1ULL << wl[WL_HINT_ORDER];
    while (lheld_n > 0) give_back(lheld[--lheld_n], size);
}

static void linux_hint_command(u64 id) {
    if (id == 0) {
        if (hint_reporting) hint_stopped();
        hint_reporting = 0;
    } else if (id == 1) {
        if (hint_reporting) hint_stopped();
        hint_reporting = 0;
        hint_id = 0;
        linux_release_all();
    } else if (id != hint_id) {
        hint_id = id;
        hint_reporting = (wl[WL_FLAGS] & WF_FREE_PAGE_HINT) != 0;
    }
}

/* Takes and reports up to 8 more blocks; 1 while there is more to do. */
static int linux_hint_step(void) {
    if (!hint_reporting) return 0;
    int order = (int)wl[WL_HINT_ORDER];
    u64 size = 1ULL << order;
    for (int k = 0; k < 8; k++) {
        long f = lheld_n < HELD_MAX ? alloc_zeroed(order) : -1;
        if (f < 0) {
            req_flush();
            hint_reporting = 0;
            hint_stopped();
            return 0;
        }
        u64 i = (u64)f;
        range_set(heldmap, i, i + size);
        held_pages += size;
        u64 a[ENT_NARGS] = {pfn_of(i), size, 0, 0, 0, 0};
        lheld_req[lheld_n] = req_post(REQ_HINT, hint_id, a);
        lheld[lheld_n++] = (u32)i;
    }
    req_flush();
    return 1;
}

/* The shrinker: gives held blocks back, the newest first, until pages are free or none is left that it may give;
   returns the pages given back. */
static u64 shrink(u64 pages) {
    if (!linux_hints() || lheld_n == 0) return 0;
    u64 size = 1ULL << wl[WL_HINT_ORDER];
    u32 top = lheld_n;
    if (wl[WL_FLAGS] & WF_HINTS_ACKED) {
        u32 taken = hint_taken();
        top = 0;
        while (top < lheld_n && (s32)(taken - lheld_req[top]) > 0) top++;
    }
    u32 k = top;
    u64 given = 0, a[ENT_NARGS] = {0};
    int n = 0;
    while (k > 0 && given < pages) {
        u64 i = lheld[--k];
        give_back(i, size);
        given += size;
        a[2 * n] = pfn_of(i);
        a[2 * n + 1] = size;
        if (++n == ENT_NARGS / 2) {
            req_post(REQ_SHRINK, 0, a);
            for (int j = 0; j < ENT_NARGS; j++) a[j] = 0;
            n = 0;
        }
    }
    if (n) req_post(REQ_SHRINK, 0, a);
    for (u32 j = top; j < lheld_n; j++) {
        lheld[k + j - top] = lheld[j];
        lheld_req[k + j - top] = lheld_req[j];
    }
    lheld_n -= top - k;
    CTL_U64(CTL_STAT_SHRUNK_PAGES_OFF) += given;
    if (given) req_flush();
    return given;
}

static void hint_command(u64 id) {
    id &= 0xFFFFFFFFULL;
    if (linux_hints()) {
        linux_hint_command(id);
        return;
    }
    if (id == 0) {
        hint_flush();
        if (hint_reporting) hint_stopped();
        hint_reporting = 0;
    } else if (id == 1) {
        hint_flush();
        hint_reporting = 0;
        hint_id = 0;
        release_held();
    } else {
        hint_flush();
        release_held();
        hint_id = id;
        hint_reporting = (wl[WL_FLAGS] & WF_FREE_PAGE_HINT) != 0;
        hint_block = 0;
        hint_scan = 0;
    }
}

/* Reports up to 64 more free blocks; 1 while there is more to do. */
static int hint_step(void) {
    if (linux_hints()) return linux_hint_step();
    if (!hint_reporting) return 0;
    u64 size = 1ULL << wl[WL_HINT_ORDER];
    for (int k = 0; k < 64; k++) {
        long f = -1;
        while (hint_block < nblocks && (f = find_free(hint_block, hint_scan, size)) < 0) {
            hint_block++;
            hint_scan = hint_block < nblocks ? blocks[hint_block].first_index : 0;
        }
        if (f < 0) {
            hint_flush();
            hint_reporting = 0;
            hint_stopped();
            return 0;
        }
        u64 i = (u64)f;
        hint_scan = i + size;
        range_clr(freemap, i, i + size);
        range_clr(repmap, i, i + size);
        range_set(heldmap, i, i + size);
        free_pages -= size;
        held_pages += size;
        if (run_pages && run_start + run_pages == i && block_of_index(run_start) == hint_block && run_pages < (1ULL << 18)) {
            run_pages += size;
        } else {
            hint_emit();
            run_start = i;
            run_pages = size;
        }
    }
    hint_flush();
    return 1;
}

/* The earlier design: the whole free page bitmap, once, as ranges. The pages are not held. */
static void send_free_bitmap(u64 id) {
    if (!(wl[WL_FLAGS] & WF_FREE_BITMAP)) return;
    u64 a[ENT_NARGS] = {0};
    int n = 0;
    for (u32 b = 0; b < nblocks; b++) {
        u64 end = blocks[b].first_index + blocks[b].pages;
        u64 i = next_bit(freemap, blocks[b].first_index, end, 1);
        while (i < end) {
            u64 e = next_bit(freemap, i, end, 0);
            a[2 * n] = pfn_of(i);
            a[2 * n + 1] = e - i;
            if (++n == ENT_NARGS / 2) {
                req_post(REQ_FREE_BITMAP, id, a);
                for (int k = 0; k < ENT_NARGS; k++) a[k] = 0;
                n = 0;
            }
            i = next_bit(freemap, e, end, 1);
        }
    }
    if (n) req_post(REQ_FREE_BITMAP, id, a);
    req_post(REQ_FREE_BITMAP_END, id, 0);
    req_flush();
}

/* ---- free page reporting (mm/page_reporting.c, VIRTIO_BALLOON_F_REPORTING) ----
   When memory goes back to the allocator, reporting is due WL_REPORT_DELAY_US later. Then, batch
   by batch, the guest takes up to REPORT_CAPACITY aligned free blocks of 2^REPORT_ORDER pages that
   are not all reported out of the allocator (isolated: repmap set, freemap clear), posts them, and
   waits until the host has handled the report (the host discards them, or keeps them when it must
   keep the poison); then it gives them back to the allocator, marked reported. An allocation
   clears the mark, so a block is reported again only after it was used. */

static u64 report_due;   /* now_us() at which reporting runs; 0: not due */
static u32 report_block; /* the scan position of the batch in progress */
static u64 report_scan;
static u64 report_batch[REPORT_CAPACITY];
static u64 report_seq;

static int report_again;  /* memory was freed while a round was under way: another round after it */

/* Memory went back to the allocator. A round under way may have scanned past it already, so it asks for another
   round after this one (Linux's PAGE_REPORTING_REQUESTED, seen again when the work ends). */
static void report_soon(void) {
    if (!(wl[WL_FLAGS] & WF_REPORTING)) return;
    u64 now = now_us();
    if (report_due == 0) report_due = now + wl[WL_REPORT_DELAY_US] + 1;
    else if (now >= report_due) report_again = 1;
}

/* The next aligned all-free block of 2^REPORT_ORDER pages with a page not reported, or -1. */
static long next_reportable(void) {
    u64 size = 1ULL << REPORT_ORDER;
    while (report_block < nblocks) {
        long f = find_free(report_block, report_scan, size);
        while (f >= 0 && next_bit(repmap, (u64)f, (u64)f + size, 0) == (u64)f + size)
            f = find_free(report_block, (u64)f + size, size); /* all reported already */
        if (f >= 0) {
            report_scan = (u64)f + size;
            return f;
        }
        report_block++;
        report_scan = report_block < nblocks ? blocks[report_block].first_index : 0;
    }
    return -1;
}

/* Reports one batch if reporting is due; 1 while there is more to report. */
static int report_step(u64 now) {
    if (report_due == 0 || now < report_due) return 0;
    u64 size = 1ULL << REPORT_ORDER;
    u32 n = 0;
    while (n < REPORT_CAPACITY) {
        long f = next_reportable();
        if (f < 0) break;
        range_clr(freemap, (u64)f, (u64)f + size);
        range_set(repmap, (u64)f, (u64)f + size); /* isolated: the allocator cannot hand it out */
        free_pages -= size;
        report_batch[n++] = (u64)f;
    }
    if (n == 0) {
        report_due = report_again ? now + wl[WL_REPORT_DELAY_US] + 1 : 0;
        report_again = 0;
        report_block = 0;
        report_scan = blocks[0].first_index;
        return 0;
    }
    report_seq++;
    u64 a[ENT_NARGS] = {0};
    int k = 0;
    u32 last = 0;
    for (u32 i = 0; i < n; i++) {
        u64 start = report_batch[i], pages = size;
        while (i + 1 < n && report_batch[i + 1] == start + pages && block_of_index(report_batch[i + 1]) == block_of_index(start)) {
            pages += size;
            i++;
        }
        a[2 * k] = pfn_of(start);
        a[2 * k + 1] = pages;
        if (++k == ENT_NARGS / 2) {
            last = req_post(REQ_REPORT, report_seq, a);
            for (int j = 0; j < ENT_NARGS; j++) a[j] = 0;
            k = 0;
        }
    }
    if (k) last = req_post(REQ_REPORT, report_seq, a);
    req_flush();
    wait_done(last); /* the host has discarded them (or kept them): they may be handed out again */
    for (u32 i = 0; i < n; i++) range_set(freemap, report_batch[i], report_batch[i] + size);
    free_pages += (u64)n * size;
    return 1;
}

/* ---- allocations under memory pressure ---- */

/* Allocates as the kernel does before it gives up: the normal path, then the hint driver's shrinker, then (with
   DEFLATE_ON_OOM) the balloon gives back OOM_DEFLATE_PAGES at a time. -1 when that is not enough. */
static long alloc_reclaiming(int order) {
    long i = alloc_zeroed(order);
    while (i < 0 && shrink(1ULL << order) > 0) i = alloc_zeroed(order);
    while (i < 0 && (wl[WL_FLAGS] & WF_DEFLATE_ON_OOM) && balloon_pages > 0) {
        u64 f, n = deflate_run(OOM_DEFLATE_PAGES, &f);
        if (!n) break;
        free_range(f, n);
        balloon_flush();
        i = alloc_zeroed(order);
    }
    return i;
}

/* pressure (WL_PRESSURE_PAGES): on top of the workload an application allocates and writes that many pages at
   PRESSURE_RATE_BPS, holds them PRESSURE_HOLD_US, frees them all and starts again. Its allocations reclaim
   (alloc_reclaiming); one that still fails is a stall: the application waits for its next tick and tries again. The
   guest posts each stall (REQ_ALLOC_STALL) and, once the allocation got its memory, how long it waited
   (REQ_ALLOC_WAITED). */
#define PRESSURE_MAX 32768
static u32 pr_blocks[PRESSURE_MAX]; /* index << 5 | order */
static u32 pr_n;
static u64 pr_pages, pr_credit, pr_held_us, pr_stall_since_ns, pr_stalls;
static int pr_stalling;

static void pressure_tick(u64 dt_us) {
    u64 target = wl[WL_PRESSURE_PAGES];
    if (target == 0) return;
    if (pr_pages >= target || pr_n == PRESSURE_MAX) {
        pr_held_us += dt_us;
        if (pr_held_us < PRESSURE_HOLD_US) return;
        for (u32 k = 0; k < pr_n; k++) free_range(pr_blocks[k] >> 5, 1ULL << (pr_blocks[k] & 31));
        pr_n = 0;
        pr_pages = 0;
        pr_held_us = 0;
        pr_credit = 0;
        return;
    }
    pr_credit += (u64)PRESSURE_RATE_BPS * dt_us / 1000000;
    while (pr_credit >= PAGE_SIZE && pr_pages < target && pr_n < PRESSURE_MAX) {
        u64 want = pr_credit / PAGE_SIZE;
        if (want > target - pr_pages) want = target - pr_pages;
        int order = 9;
        while (order > 0 && (1ULL << order) > want) order--;
        long i = alloc_zeroed(order);
        while (i < 0 && order > 0) i = alloc_zeroed(--order);
        if (i < 0) i = alloc_reclaiming(order);
        if (i < 0) {
            pr_stalls++;
            CTL_U64(CTL_STAT_ALLOC_STALLS_OFF) = pr_stalls;
            if (!pr_stalling) { pr_stalling = 1; pr_stall_since_ns = now_ns(); }
            u64 a[ENT_NARGS] = {(u64)order, pr_stalls, free_pages, 0, 0, 0};
            req_post(REQ_ALLOC_STALL, 0, a);
            req_flush();
            pr_credit = 0;
            return;
        }
        if (pr_stalling) {
            u64 waited = now_ns() - pr_stall_since_ns;
            pr_stalling = 0;
            CTL_U64(CTL_STAT_STALL_NS_OFF) += waited;
            if (waited > CTL_U64(CTL_STAT_STALL_MAX_NS_OFF)) CTL_U64(CTL_STAT_STALL_MAX_NS_OFF) = waited;
            u64 a[ENT_NARGS] = {(u64)order, waited, pr_stalls, 0, 0, 0};
            req_post(REQ_ALLOC_WAITED, 0, a);
            req_flush();
        }
        for (u64 k = 0; k < (1ULL << order); k++) write_page((u64)i + k);
        pr_blocks[pr_n++] = (u32)((u64)i << 5 | (u64)order);
        pr_pages += 1ULL << order;
        pr_credit -= (1ULL << order) * PAGE_SIZE;
    }
}

/* ---- workloads ---- */

#define TICK_US 1000
static int wl_running;
static u64 last_tick_us, write_credit, churn_credit, since_deflate_us, compile_base;

static void prologue(struct entry *r) {
    u64 kind = wl[WL_KIND];
    switch (kind) {
    case WK_IDLE: case WK_RANDOM_WRITE:
        alloc_write(wl[WL_USED_PAGES], 0, 9);
        break;
    case WK_MEMHOG: {
        alloc_write(wl[WL_USED_PAGES], 0, 9);
        u64 before = obj_count;
        u64 want = wl[WL_HOG_PAGES] < free_pages ? wl[WL_HOG_PAGES] : free_pages;
        alloc_write(want, 0, 10);
        free_newest(obj_count - before); /* the hog exits */
        break;
    }
    case WK_COMPILE:
        compile_base = alloc_write(wl[WL_USED_PAGES], 0, 9);
        alloc_write(wl[WL_WS_PAGES], 0, 4);
        break;
    case WK_BALLOON: case WK_DEFLATE_RACE:
        inflate(total_pages > wl[WL_KEEP_PAGES] ? total_pages - wl[WL_KEEP_PAGES] : 0);
        alloc_write(wl[WL_USED_PAGES], 0, 9);
        break;
    default:
        break;
    }
    wl_running = kind != WK_NONE;
    last_tick_us = now_us();
    r->args[0] = total_pages - free_pages - held_pages - balloon_pages;
    r->args[1] = free_pages;
    r->args[2] = balloon_pages;
}

static void tick(u64 dt_us) {
    write_credit += wl[WL_RATE_BPS] * dt_us / 1000000;
    u64 pages = write_credit / PAGE_SIZE;
    write_credit %= PAGE_SIZE;
    if (wl[WL_KIND] == WK_COMPILE) {
        churn_credit += wl[WL_CHURN_BPS] * dt_us / 1000000;
        u64 n = churn_credit / PAGE_SIZE;
        churn_credit %= PAGE_SIZE;
        if (n) {
            alloc_write(n, 0, 4);
            free_oldest(compile_base + wl[WL_WS_PAGES]);
        }
    }
    random_writes(pages);
    pressure_tick(dt_us);
    if (wl[WL_KIND] == WK_DEFLATE_RACE) {
        since_deflate_us += dt_us;
        if (since_deflate_us >= wl[WL_EVERY_US]) {
            since_deflate_us = 0;
            u64 first, n = deflate_run(wl[WL_STEP_PAGES], &first);
            for (u64 k = 0; k < n; k++) {
                write_page(first + k);
                keep(first + k, 0);
            }
        }
    }
    CTL_U64(CTL_STAT_TICKS_OFF) += 1;
}

/* Microseconds from one tick to the next. A workload whose ticks only write at a rate (idle,
   memhog, random writes) needs none before its next page is due, so its guest sleeps until then,
   as a tickless kernel does: at 1 MiB/s a tick every 4 ms, not every 1 ms, each one an exit and
   a wake-up on a host that may be migrating the guest. */
static u64 tick_period_us(void) {
    u64 kind = wl[WL_KIND];
    if (kind != WK_IDLE && kind != WK_MEMHOG && kind != WK_RANDOM_WRITE) return TICK_US;
    if (wl[WL_PRESSURE_PAGES]) return TICK_US;
    u64 rate = wl[WL_RATE_BPS];
    if (rate == 0) return 100 * TICK_US;
    u64 us = (PAGE_SIZE - write_credit) * 1000000 / rate + 1;
    return us < TICK_US ? TICK_US : us > 100 * TICK_US ? 100 * TICK_US : us;
}

/* Runs the workload if a tick is due; returns microseconds until the next one (~0: none). */
static u64 workload_step(u64 now) {
    if (!wl_running) return ~0ULL;
    if (now < last_tick_us) last_tick_us = now; /* a new host's clock */
    u64 dt = now - last_tick_us;
    u64 period = tick_period_us();
    if (dt < period) return period - dt;
    if (dt > 10 * period) dt = 10 * period; /* paused, or a long command: no catching up */
    last_tick_us = now;
    tick(dt);
    return tick_period_us();
}

/* ---- the self-check ---- */

static int page_is(u64 pfn, u8 byte) {
    u64 v = byte * 0x0101010101010101ULL;
    const volatile u64 *w = (const volatile u64 *)(pfn * PAGE_SIZE);
    for (int i = 0; i < PAGE_WORDS; i++)
        if (w[i] != v) return 0;
    return 1;
}

static void bad(struct entry *r, u64 pfn, u64 kind) {
    if (r->args[1]++ == 0) { r->args[2] = pfn; r->args[3] = kind; }
}

static void self_check(struct entry *r) {
    r->args[0] = 0; r->args[1] = 0; r->args[2] = ~0UL; r->args[3] = 0;
    u64 in_use = 0, free = 0;
    for (u32 b = 0; b < nblocks; b++) {
        u64 first = blocks[b].first_index, end = first + blocks[b].pages;
        for (u64 i = first; i < end;) {
            u64 w = i >> 6;
            if ((i & 63) == 0 && i + 64 <= end) {
                u64 fr = freemap[w] | heldmap[w], bl = balmap[w];
                if ((fr | bl) == ~0ULL && !poison) { free += popcount(fr & ~bl); i += 64; continue; }
            }
            if (bit_get(balmap, i)) { i++; continue; }
            u64 pfn = blocks[b].first_pfn + i - first;
            if (bit_get(freemap, i) || bit_get(heldmap, i)) {
                free++;
                if (poison) {
                    r->args[0]++;
                    if (!page_is(pfn, poison)) bad(r, pfn, CHECK_POISON);
                }
            } else {
                in_use++;
                if (pfn == used_pfn) {
                    r->args[0]++;
                    const volatile u64 *u = (const volatile u64 *)(pfn * PAGE_SIZE);
                    if (used_seen && (u[USED_MAGIC_WORD] != USED_MAGIC || u[USED_CONSUMED_WORD] < used_seen)) bad(r, pfn, CHECK_USED);
                } else if (versions[i]) {
                    r->args[0]++;
                    if (!check_page(pfn, versions[i])) bad(r, pfn, CHECK_STAMP);
                }
            }
            i++;
        }
    }
    r->args[4] = in_use;
    r->args[5] = free;
    CTL_U64(CTL_STAT_PAGES_VERIFIED_OFF) += r->args[0];
}

/* ---- commands ---- */

static void op_write_pages(const struct entry *c, struct entry *r) {
    u64 pfn = c->args[0], count = c->args[1], stride = c->args[2] ? c->args[2] : 1;
    u64 done = 0;
    for (u64 i = 0; i < count; i++, pfn += stride) {
        long idx = page_index(pfn);
        if (idx < 0) { r->status = ST_BAD_RANGE; r->args[1] = pfn; break; }
        write_page((u64)idx);
        done++;
    }
    r->args[0] = done;
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

static void op_balloon(const struct entry *c, struct entry *r) {
    if (c->args[0]) {
        r->args[0] = inflate(c->args[1]);
        return;
    }
    u64 done = 0, first = ~0ULL;
    while (done < c->args[1]) {
        u64 f, n = deflate_run(c->args[1] - done, &f);
        if (!n) break;
        if (first == ~0ULL) first = pfn_of(f);
        free_range(f, n);
        done += n;
    }
    balloon_flush();
    r->args[0] = done;
    r->args[1] = first;
}

static void execute(const struct entry *c) {
    u32 op = c->op & ~OP_NO_REPLY;
    struct entry r = {.op = c->op, .status = ST_OK, .id = c->id};
    switch (op) {
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
    case OP_PROLOGUE: prologue(&r); break;
    case OP_HINT_CMD: hint_command(c->args[0]); break;
    case OP_FREE_BITMAP: send_free_bitmap(c->args[0]); break;
    case OP_SELF_CHECK: self_check(&r); break;
    case OP_INJECT: {
        u64 a[ENT_NARGS] = {c->args[2], c->args[3], c->args[4], c->args[5], 0, 0};
        req_post((u32)c->args[0], c->args[1], a);
        req_flush();
        break;
    }
    case OP_STATS:
        r.args[0] = total_pages - free_pages - held_pages - balloon_pages;
        r.args[1] = free_pages;
        r.args[2] = held_pages;
        r.args[3] = balloon_pages;
        r.args[4] = obj_count;
        r.args[5] = CTL_U64(CTL_STAT_REQUESTS_OFF);
        break;
    case OP_BALLOON: op_balloon(c, &r); break;
    case OP_ALLOC_WRITE:
        r.args[0] = alloc_write(c->args[0], (int)c->args[1], (int)(c->args[2] < c->args[1] ? c->args[1] : c->args[2]));
        break;
    case OP_FREE_OLDEST:
        free_oldest(c->args[0]);
        r.args[0] = obj_pages;
        break;
    default: r.status = ST_BAD_OP; break;
    }
    CTL_U64(CTL_STAT_COMMANDS_OFF) += 1;
    if (!(c->op & OP_NO_REPLY)) post_reply(&r);
}

static void check_ring(struct ring *r) {
    if (*ring_u32(r, RING_MAGIC_OFF) != RING_MAGIC || *ring_u32(r, RING_CAPACITY_OFF) != RING_CAPACITY
        || *ring_u32(r, RING_ENTRY_SIZE_OFF) != RING_ENTRY_SIZE)
        panic(PANIC_BAD_RING, (u64)r->base);
}

static void init(void) {
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
    total_pages = index;
    versions = (volatile u32 *)CTL_U64(CTL_VERSIONS_GPA_OFF);
    check_ring(&cmd_ring);
    check_ring(&reply_ring);
    req_ring.base = (volatile u8 *)CTL_U64(CTL_REQ_RING_GPA_OFF);
    check_ring(&req_ring);
    balloon_bufs = (volatile u8 *)CTL_U64(CTL_BALLOON_BUF_GPA_OFF);
    freemap = (u64 *)CTL_U64(CTL_FREE_MAP_GPA_OFF);
    heldmap = (u64 *)CTL_U64(CTL_HELD_MAP_GPA_OFF);
    balmap = (u64 *)CTL_U64(CTL_BALLOON_MAP_GPA_OFF);
    objs = (u32 *)CTL_U64(CTL_OBJS_GPA_OFF);
    repmap = (u64 *)CTL_U64(CTL_REPORTED_MAP_GPA_OFF);
    tsc_khz = CTL_U64(CTL_TSC_KHZ_OFF);
    if (tsc_khz == 0) tsc_khz = 1000000;
    for (int i = 0; i < WL_COUNT; i++) wl[i] = CTL_U64(CTL_WL_OFF + 8 * i);
    if (wl[WL_HINT_ORDER] > 18) wl[WL_HINT_ORDER] = 18;
    poison = (u8)wl[WL_POISON];
    rnd_state = wl[WL_SEED];
    /* every page free; under poisoning, free pages hold the poison byte */
    for (u32 b = 0; b < nblocks; b++) {
        range_set(freemap, blocks[b].first_index, blocks[b].first_index + blocks[b].pages);
        if (poison)
            for (u64 p = 0; p < blocks[b].pages; p++) fill_page(blocks[b].first_pfn + p, poison);
    }
    free_pages = total_pages;
    alloc_cursor = blocks[0].first_index;
    /* the devices' page: the first page of RAM, in use for the guest's whole life */
    long u = alloc_pages(0);
    if (u < 0) panic(PANIC_NO_MEMORY, 0);
    used_pfn = pfn_of((u64)u);
    fill_page(used_pfn, 0);
    CTL_U64(CTL_USED_PFN_OFF) = used_pfn;
    report_soon(); /* as a booting kernel's frees of all memory make reporting due */
}

void guest_main(void) {
    init();
    u64 idle = ~0ULL >> 1;
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
        u64 now = now_us();
        used_consumed();
        int busy = balloon_step(now);
        busy |= hint_step();
        busy |= report_step(now);
        u64 next = workload_step(now);
        if (report_due != 0) {
            u64 due = report_due > now ? report_due - now : 0;
            if (due < next) next = due;
        }
        if (late_count > 0) {
            u64 due = late[late_head].due > now ? late[late_head].due - now : 0;
            if (due < next) next = due;
        }
        if (busy) continue;
        /* Spin a while after a command (the host may send the next one soon), then sleep until
           the next tick or a command. */
        if (++idle < CTL_U64(CTL_IDLE_SPINS_OFF) || (next != ~0ULL && next < 100)) { cpu_relax(); continue; }
        CTL_U64(CTL_SLEEP_NS_OFF) = next == ~0ULL ? 0 : next * 1000;
        /* Dekker with the host: it stores tail then loads GUEST_SLEEPING. */
        CTL_U32(CTL_GUEST_SLEEPING_OFF) = 1;
        full_fence();
        if (ring_tail_acquire(r) == head) {
            CTL_U64(CTL_STAT_SLEEPS_OFF) += 1;
            outb(PORT_SLEEP, 0);
        }
        CTL_U32(CTL_GUEST_SLEEPING_OFF) = 0;
    }
}
