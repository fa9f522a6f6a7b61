/*
 * Ballast's /init for a stock Linux guest under QEMU: a static program, the only file of the initramfs besides the
 * virtio modules. It mounts /proc and /sys, loads the modules listed in /ballast/modules (in that order, with
 * finit_module), reports whether the balloon negotiated free page hinting, and runs the workload the kernel command
 * line names:
 *
 *   ballast.workload=idle | memhog | compile | random-write | balloon | deflate-race   (or memhog:MIB, the old form)
 *   ballast.seed=N ballast.used=PAGES ballast.hog=PAGES ballast.ws=PAGES ballast.churn=BYTES/S ballast.rate=BYTES/S
 *   ballast.step=PAGES ballast.every=US
 *
 * Every page the workload uses is stamped: its 512 words are a function of the page's address, the page's generation
 * (how often it was rewritten) and the seed, and the generation of every page is kept in a table (itself in guest
 * memory, so it migrates with the pages). The workload keeps running (rewrites at `rate`, `compile`'s churn frees and
 * reallocates pages, `deflate-race` takes new pages as the balloon deflates) until the host writes the line "CHECK"
 * to the serial console; then it stops and checks every stamp, and prints
 *
 *   BALLAST VERDICT ok=1 checked=N mismatched=0 first=-
 *
 * (ok=0 and the first mismatched address when a stamp is wrong: a lost write). Lines for the host start with
 * "BALLAST ". The host sends CHECK to the destination after the migration has completed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define WORDS (PAGE / 8)
#define MAX_REGIONS 4096
#define MIB (1UL << 20)

static void load_modules(void) {
    FILE *list = fopen("/ballast/modules", "r");
    char name[128], path[256];
    if (!list) {
        printf("BALLAST ERROR no /ballast/modules\n");
        return;
    }
    while (fscanf(list, "%127s", name) == 1) {
        snprintf(path, sizeof path, "/ballast/%s.ko", name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)) {
            printf("BALLAST ERROR loading module %s: %s\n", name, strerror(errno));
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    fclose(list);
}

static int read_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0) {
        return -1;
    }
    buf[n] = 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) {
        buf[--n] = 0;
    }
    return (int) n;
}

/* A /proc file's field in kB ("MemFree:  1234 kB"), 0 when absent. */
static unsigned long field_kib(const char *path, const char *key) {
    static char buf[8192];
    if (read_file(path, buf, sizeof buf) < 0) {
        return 0;
    }
    const char *p = strstr(buf, key);
    return p ? strtoul(p + strlen(key), NULL, 10) : 0;
}

/*
 * The operating system's footprint, measured inside the guest before any workload: the memory the kernel manages
 * (MemTotal) less what is free and what /init itself holds (its resident set), and MemTotal itself (the RAM the
 * kernel keeps for its image and reservations at boot is not in it); and the free memory the kernel keeps for its
 * own reserves (vm.min_free_kbytes: an allocation that cannot reclaim, as the hint driver's, fails below it). In KiB.
 */
static void report_os(void) {
    static char minfree[64];
    unsigned long total = field_kib("/proc/meminfo", "MemTotal:"), memfree = field_kib("/proc/meminfo", "MemFree:");
    unsigned long self = field_kib("/proc/self/status", "VmRSS:");
    unsigned long used = total > memfree + self ? total - memfree - self : 0;
    unsigned long min = read_file("/proc/sys/vm/min_free_kbytes", minfree, sizeof minfree) > 0
            ? strtoul(minfree, NULL, 10) : 0;
    printf("BALLAST OS used_kib=%lu mem_total_kib=%lu mem_free_kib=%lu init_rss_kib=%lu min_free_kib=%lu\n", used,
            total, memfree, self, min);
}

/* The balloon is virtio device id 5; its features file is a string of '0'/'1', bit 0 first. */
static void report_balloon(void) {
    for (int attempt = 0; attempt < 100; attempt++) {
        DIR *d = opendir("/sys/bus/virtio/devices");
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            char path[512], value[256];
            snprintf(path, sizeof path, "/sys/bus/virtio/devices/%s/device", e->d_name);
            if (read_file(path, value, sizeof value) <= 0 || strtol(value, NULL, 0) != 5) {
                continue;
            }
            snprintf(path, sizeof path, "/sys/bus/virtio/devices/%s/features", e->d_name);
            if (read_file(path, value, sizeof value) > 3) {
                printf("BALLAST balloon features=%s free_page_hint=%c\n", value, value[3]);
                closedir(d);
                return;
            }
        }
        if (d) {
            closedir(d);
        }
        usleep(50 * 1000);
    }
    printf("BALLAST balloon absent\n");
}

/* ---- settings from the kernel command line ---- */

static char cmdline[4096];

static const char *arg(const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "ballast.%s=", key);
    for (char *p = cmdline; (p = strstr(p, pat)) != NULL; p++) {
        if (p == cmdline || p[-1] == ' ') {
            return p + strlen(pat);
        }
    }
    return NULL;
}

static unsigned long num(const char *key, unsigned long dflt) {
    const char *v = arg(key);
    return v ? strtoul(v, NULL, 10) : dflt;
}

/* ---- stamps ---- */

static uint64_t seed;

static uint64_t mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t stamp_base(const void *page, uint32_t gen) {
    return mix((uint64_t) (uintptr_t) page ^ ((uint64_t) gen << 44) ^ seed);
}

static void stamp(void *page, uint32_t gen) {
    uint64_t *w = page, b = stamp_base(page, gen);
    for (unsigned long i = 0; i < WORDS; i++) {
        w[i] = b + i * 0xD6E8FEB86659FD93ULL;
    }
}

static int stamp_ok(const void *page, uint32_t gen) {
    const uint64_t *w = page;
    uint64_t b = stamp_base(page, gen);
    for (unsigned long i = 0; i < WORDS; i++) {
        if (w[i] != b + i * 0xD6E8FEB86659FD93ULL) {
            return 0;
        }
    }
    return 1;
}

/* A mapping whose every page is stamped; gen[i] is page i's generation (0: not in use). */
struct region {
    char *base;
    unsigned long pages;
    uint32_t *gen;
};

static struct region regions[MAX_REGIONS];
static int nregions;
static unsigned long stamped_pages;

static void *map(unsigned long bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* A new region of n stamped pages (generation 1), or NULL when memory ran out. */
static struct region *new_region(unsigned long n) {
    if (n == 0 || nregions == MAX_REGIONS) {
        return NULL;
    }
    struct region *r = &regions[nregions];
    r->base = map(n * PAGE);
    r->gen = map(n * sizeof(uint32_t));
    if (!r->base || !r->gen) {
        printf("BALLAST ERROR mmap of %lu pages: %s\n", n, strerror(errno));
        return NULL;
    }
    for (unsigned long i = 0; i < n; i++) {
        r->gen[i] = 1;
        stamp(r->base + i * PAGE, 1);
    }
    r->pages = n;
    nregions++;
    stamped_pages += n;
    return r;
}

/* Rewrites page i of r with its next generation. */
static void restamp(struct region *r, unsigned long i) {
    uint32_t g = r->gen[i] + 1;
    if (g == 0) {
        g = 1;
    }
    stamp(r->base + i * PAGE, g);
    r->gen[i] = g;
}

static uint64_t rng_state;

static uint64_t rnd(void) {
    rng_state += 0x9E3779B97F4A7C15ULL;
    return mix(rng_state);
}

static uint64_t now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000 + (uint64_t) t.tv_nsec / 1000;
}

static unsigned long free_pages(void) {
    struct sysinfo si;
    if (sysinfo(&si) != 0) {
        return 0;
    }
    return (unsigned long) ((uint64_t) si.freeram * si.mem_unit / PAGE);
}

/*
 * Writes (one byte a page) and frees up to `pages`, leaving 32 MiB and a sixteenth of the free memory free (the
 * kernel's reserves and the hog's page tables: with only 24 MiB left a 1 GiB guest ran out of memory and, its only
 * process being init, panicked); returns how many it wrote.
 */
static unsigned long memhog(unsigned long pages) {
    unsigned long avail = free_pages(), margin = 32 * MIB / PAGE + avail / 16;
    if (pages + margin > avail) {
        pages = avail > margin ? avail - margin : 0;
    }
    unsigned char *p = pages ? map(pages * PAGE) : NULL;
    if (!p) {
        return 0;
    }
    for (unsigned long i = 0; i < pages; i++) {
        p[i * PAGE] = (unsigned char) (i | 1);
    }
    munmap(p, pages * PAGE);
    return pages;
}

/*
 * With ballast.pfnmap=1 (scripts/os-footprint.py): which page frames the kernel has free, from /proc/kpageflags and
 * /proc/kpagecount, as runs "BALLAST FREE pfn+pages ..." (64 a line), then "BALLAST FREE END runs=N pages=M". A frame
 * is free when it heads a buddy block (KPF_BUDDY, set on a block's first page only) or follows a free frame with no
 * flags and no users of its own (the rest of the block). Not free: reserved, in use, no page at all, and frames with
 * no flags and no users after one in use (the rest of a block the kernel allocated without __GFP_COMP) or alone (a
 * per-CPU list's page, which MemFree does not count either).
 */
#define KPF_BUDDY (1ULL << 10)
static void report_free_pfns(void) {
    int flags = open("/proc/kpageflags", O_RDONLY), counts = open("/proc/kpagecount", O_RDONLY);
    if (flags < 0 || counts < 0) {
        printf("BALLAST FREE END error=no-kpageflags\n");
        return;
    }
    static uint64_t f[4096], c[4096];
    unsigned long pfn = 0, start = 0, runs = 0, pages = 0;
    int in_run = 0, on_line = 0;
    for (;;) {
        ssize_t nf = read(flags, f, sizeof f), nc = read(counts, c, sizeof c);
        if (nf <= 0 || nc <= 0) {
            break;
        }
        size_t n = (size_t) (nf < nc ? nf : nc) / 8;
        for (size_t i = 0; i < n; i++, pfn++) {
            int free = (f[i] & KPF_BUDDY) || (in_run && f[i] == 0 && c[i] == 0);
            if (free && !in_run) {
                start = pfn;
                in_run = 1;
            } else if (!free && in_run) {
                printf("%s %lu+%lu", on_line ? "" : "BALLAST FREE", start, pfn - start);
                pages += pfn - start;
                runs++;
                in_run = 0;
                if (++on_line == 64) {
                    printf("\n");
                    on_line = 0;
                }
            }
        }
        if (nc != nf) {
            lseek(nf < nc ? counts : flags, (off_t) pfn * 8, SEEK_SET);
        }
    }
    if (in_run) {
        printf("%s %lu+%lu", on_line ? "" : "BALLAST FREE", start, pfn - start);
        pages += pfn - start;
        runs++;
        on_line++;
    }
    if (on_line) {
        printf("\n");
    }
    printf("BALLAST FREE END runs=%lu pages=%lu\n", runs, pages);
    close(flags);
    close(counts);
}

/*
 * With ballast.memwatch=MS (scripts/qemu-hint-memwatch.py): every MS milliseconds after READY, what the kernel has
 * free, "BALLAST MEM t=MS free_kib=N zone=NAME:c0,c1,..,c10 ..." (MemFree, and /proc/buddyinfo's free blocks of each
 * order per zone), so that a run shows how much free memory the hint driver took and what it left.
 */
static void report_mem(uint64_t ms) {
    static char buf[4096];
    printf("BALLAST MEM t=%lu free_kib=%lu", (unsigned long) ms, field_kib("/proc/meminfo", "MemFree:"));
    if (read_file("/proc/buddyinfo", buf, sizeof buf) > 0) {
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
            char *zone = strstr(line, "zone");
            if (!zone) {
                continue;
            }
            zone += 4;
            while (*zone == ' ') {
                zone++;
            }
            char *end = zone;
            while (*end && *end != ' ') {
                end++;
            }
            printf(" zone=%.*s:", (int) (end - zone), zone);
            char *q = end;
            for (int o = 0; o < 11; o++) {
                unsigned long n = strtoul(q, &q, 10);
                printf(o ? ",%lu" : "%lu", n);
            }
        }
    }
    printf("\n");
}

/* Checks every stamp; prints the verdict. */
static void check(void) {
    unsigned long checked = 0, bad = 0;
    const char *first = NULL;
    for (int k = 0; k < nregions; k++) {
        struct region *r = &regions[k];
        for (unsigned long i = 0; i < r->pages; i++) {
            if (r->gen[i] == 0) {
                continue;
            }
            checked++;
            if (!stamp_ok(r->base + i * PAGE, r->gen[i])) {
                if (bad++ == 0) {
                    first = r->base + i * PAGE;
                }
            }
        }
    }
    if (bad == 0) {
        printf("BALLAST VERDICT ok=1 checked=%lu mismatched=0 first=-\n", checked);
    } else {
        printf("BALLAST VERDICT ok=0 checked=%lu mismatched=%lu first=%p\n", checked, bad, (const void *) first);
    }
}

/* Whether the host wrote a line starting with CHECK on the console (non-blocking, up to timeout_ms). */
static int host_says_check(int timeout_ms) {
    static char line[256];
    static size_t len;
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) <= 0 || !(pfd.revents & POLLIN)) {
        return 0;
    }
    char c[64];
    ssize_t n = read(0, c, sizeof c);
    for (ssize_t i = 0; i < n; i++) {
        if (c[i] == '\n' || c[i] == '\r') {
            line[len] = 0;
            len = 0;
            if (strncmp(line, "CHECK", 5) == 0) {
                return 1;
            }
        } else if (len + 1 < sizeof line) {
            line[len++] = c[i];
        }
    }
    return 0;
}

static void quiet_console(void) {
    struct termios t;
    if (tcgetattr(0, &t) == 0) {
        t.c_lflag &= ~(ECHO | ECHONL);
        tcsetattr(0, TCSANOW, &t);
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    quiet_console();
    load_modules();
    report_balloon();
    report_os();

    read_file("/proc/cmdline", cmdline, sizeof cmdline);
    char workload[64] = "idle";
    const char *w = arg("workload");
    if (w) {
        size_t n = strcspn(w, " ");
        snprintf(workload, sizeof workload, "%.*s", (int) (n < sizeof workload ? n : sizeof workload - 1), w);
    }
    seed = num("seed", 1);
    rng_state = seed ^ 0x5DEECE66DULL;
    unsigned long used = num("used", 0), hog = num("hog", 0), ws = num("ws", 0);
    unsigned long rate = num("rate", 0), churn = num("churn", 0), step = num("step", 0), every = num("every", 20000);
    int compile = 0, race = 0;
    if (strncmp(workload, "memhog:", 7) == 0) { /* the old form: memhog:MIB, nothing stamped */
        hog = strtoul(workload + 7, NULL, 10) * MIB / PAGE;
        workload[6] = 0;
    } else if (strcmp(workload, "compile") == 0) {
        compile = 1;
    } else if (strcmp(workload, "deflate-race") == 0) {
        race = 1;
    } else if (strcmp(workload, "idle") != 0 && strcmp(workload, "memhog") != 0
            && strcmp(workload, "random-write") != 0 && strcmp(workload, "balloon") != 0) {
        printf("BALLAST ERROR unknown workload %s\n", workload);
    }

    struct region *u = used ? new_region(used) : NULL;
    struct region *wsr = compile && ws ? new_region(ws) : NULL;
    unsigned long hogged = hog ? memhog(hog) : 0;
    if (num("pfnmap", 0)) {
        report_free_pfns();
    }
    printf("BALLAST READY workload=%s stamped=%lu hogged=%lu free=%lu\n", workload, stamped_pages, hogged,
           free_pages());

    /* Until the host says CHECK: rewrites at `rate`, churn at `churn`, new pages every `every` us (deflate-race). */
    uint64_t t0 = now_us(), last = t0, next_grow = t0 + every;
    unsigned long memwatch = num("memwatch", 0);
    uint64_t next_mem = t0;
    double rewrite_due = 0, churn_due = 0;
    unsigned long slot = 0;
    for (;;) {
        if (host_says_check(5)) {
            break;
        }
        uint64_t t = now_us();
        if (memwatch && t >= next_mem) {
            report_mem((t - t0) / 1000);
            next_mem = t + memwatch * 1000;
        }
        double dt = (double) (t - last) / 1e6;
        last = t;
        if (u && rate) {
            rewrite_due += dt * (double) rate / PAGE;
            if (rewrite_due > (double) u->pages) {
                rewrite_due = (double) u->pages;
            }
            for (; rewrite_due >= 1; rewrite_due--) {
                restamp(u, rnd() % u->pages);
            }
        }
        if (wsr && churn) {
            /* free the oldest allocation of 1-16 pages (madvise gives them back) and allocate it anew */
            churn_due += dt * (double) churn / PAGE;
            if (churn_due > (double) wsr->pages) {
                churn_due = (double) wsr->pages;
            }
            while (churn_due >= 1) {
                unsigned long n = 1 + rnd() % 16;
                if (slot + n > wsr->pages) {
                    slot = 0;
                    n = n < wsr->pages ? n : wsr->pages;
                }
                madvise(wsr->base + slot * PAGE, n * PAGE, MADV_DONTNEED);
                for (unsigned long i = slot; i < slot + n; i++) {
                    restamp(wsr, i);
                }
                slot += n;
                churn_due -= (double) n;
            }
        }
        if (race && step && t >= next_grow) {
            next_grow = t + every;
            if (free_pages() > step + 16 * MIB / PAGE) {
                new_region(step);
            }
        }
    }
    printf("BALLAST CHECKING stamped=%lu after %lu ms\n", stamped_pages, (unsigned long) ((now_us() - t0) / 1000));
    check();
    for (;;) {
        pause();
    }
}
