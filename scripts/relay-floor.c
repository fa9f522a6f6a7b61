/*
 * relay-floor: the cheapest relays one can put between a QEMU source and its destination, to calibrate what any
 * relay costs on a machine (scripts/tap-overhead.py --relay rw|splice). Not part of Ballast: it validates nothing.
 *
 *   relay-floor rw|splice|tee LISTEN_PORT FORWARD_PORT
 *
 * Listens on 127.0.0.1:LISTEN_PORT, prints "relay: listening", accepts one connection, connects to
 * 127.0.0.1:FORWARD_PORT and forwards every byte until the source closes.
 *   rw      read(2) into a 1 MiB buffer and write(2) it out: every byte through user space once, as any relay that
 *           looks at the stream (the tap) must do at least;
 *   splice  splice(2) through a pipe: no byte enters user space (a relay that looks at nothing);
 *   tee     splice(2) into a pipe, tee(2) it into a second pipe and read(2) that into a buffer, then splice the
 *           first pipe out: every byte seen in user space but never written from it (what the tap could do to
 *           save its write).
 * At the end it prints its own CPU time from the connection on (user and system seconds, and per GB relayed).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what) {
    perror(what);
    exit(1);
}

static double seconds(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[1], "rw") != 0 && strcmp(argv[1], "splice") != 0 && strcmp(argv[1], "tee") != 0)) {
        fprintf(stderr, "usage: relay-floor rw|splice|tee LISTEN_PORT FORWARD_PORT\n");
        return 2;
    }
    int teeing = strcmp(argv[1], "tee") == 0, splicing = teeing || strcmp(argv[1], "splice") == 0, one = 1;
    static char buf[1 << 20];
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    at.sin_port = htons(atoi(argv[2]));
    if (bind(ls, (struct sockaddr *)&at, sizeof at) != 0 || listen(ls, 1) != 0) die("listen");
    printf("relay: listening\n");
    fflush(stdout);
    int in = accept(ls, NULL, NULL);
    if (in < 0) die("accept");
    close(ls);
    int out = socket(AF_INET, SOCK_STREAM, 0);
    at.sin_port = htons(atoi(argv[3]));
    if (connect(out, (struct sockaddr *)&at, sizeof at) != 0) die("connect");
    setsockopt(out, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    long long total = 0;
    if (splicing) {
        int p[2], q[2];
        if (pipe(p) != 0 || pipe(q) != 0) die("pipe");
        fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
        fcntl(q[1], F_SETPIPE_SZ, 1 << 20);
        for (;;) {
            ssize_t n = splice(in, NULL, p[1], NULL, 1 << 20, SPLICE_F_MOVE);
            if (n < 0) die("splice from the source");
            if (n == 0) break;
            total += n;
            if (teeing) {
                if (tee(p[0], q[1], n, 0) != n) die("tee");
                for (ssize_t seen = 0; seen < n;) {
                    ssize_t r = read(q[0], buf, n - seen);
                    if (r <= 0) die("read the tee");
                    seen += r;
                }
            }
            for (ssize_t done = 0; done < n;) {
                ssize_t w = splice(p[0], NULL, out, NULL, n - done, SPLICE_F_MOVE);
                if (w <= 0) die("splice to the destination");
                done += w;
            }
        }
    } else {
        for (;;) {
            ssize_t n = read(in, buf, sizeof buf);
            if (n < 0) die("read");
            if (n == 0) break;
            total += n;
            for (ssize_t done = 0; done < n;) {
                ssize_t w = write(out, buf + done, n - done);
                if (w <= 0) die("write");
                done += w;
            }
        }
    }
    shutdown(out, SHUT_WR);
    getrusage(RUSAGE_SELF, &r1);
    double user = seconds(r1.ru_utime) - seconds(r0.ru_utime), sys = seconds(r1.ru_stime) - seconds(r0.ru_stime);
    printf("relay: %s %lld bytes, CPU user %.3f s, system %.3f s, %.3f s per GB\n", argv[1], total, user, sys,
           total ? (user + sys) / (total / 1e9) : 0.0);
    return 0;
}
