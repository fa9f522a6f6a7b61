/*
 * Ballast's /init for a stock Linux guest under QEMU: a static program, the only file of the initramfs besides the
 * virtio modules. It mounts /proc and /sys, loads the modules listed in /ballast/modules (in that order, with
 * finit_module), reports whether the balloon negotiated free page hinting, runs the workload named on the kernel
 * command line (ballast.workload=idle | memhog:MIB), prints "BALLAST READY" on the console, and then idles.
 * Lines for the host start with "BALLAST ".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

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

static void memhog(long mib) {
    size_t bytes = (size_t) mib << 20;
    unsigned char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        printf("BALLAST ERROR memhog mmap %ld MiB: %s\n", mib, strerror(errno));
        return;
    }
    for (size_t i = 0; i < bytes; i += 4096) {
        p[i] = (unsigned char) (i >> 12 | 1);
    }
    munmap(p, bytes);
    printf("BALLAST memhog wrote and freed %ld MiB\n", mib);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    load_modules();
    report_balloon();

    char cmdline[4096];
    const char *workload = "idle";
    if (read_file("/proc/cmdline", cmdline, sizeof cmdline) > 0) {
        char *w = strstr(cmdline, "ballast.workload=");
        if (w) {
            workload = w + strlen("ballast.workload=");
            char *end = strchr(workload, ' ');
            if (end) {
                *end = 0;
            }
        }
    }
    if (strncmp(workload, "memhog:", 7) == 0) {
        memhog(strtol(workload + 7, NULL, 10));
    } else if (strcmp(workload, "idle") != 0) {
        printf("BALLAST ERROR unknown workload %s\n", workload);
    }
    printf("BALLAST READY workload=%s\n", workload);
    for (;;) {
        pause();
    }
}
