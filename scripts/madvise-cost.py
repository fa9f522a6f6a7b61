#!/usr/bin/env python3
"""What one madvise(MADV_DONTNEED) costs on this machine, for the simulator's BalloonCosts.releaseCallNs: the call on
a range no page of which is backed (never touched), per call, for 1 MiB ranges (a PFN array's) and 128 MiB ranges (a
bitmap message's); and, for comparison, per page of a range every page of which is backed, in a plain process
(the KVM device's memory adds KVM's notifier: scripts/balloon-speed.sh measures that, BalloonCosts.releaseNsPerBackedPage).
Interleaved rounds; prints medians [min-max].

usage: scripts/madvise-cost.py [rounds, default 7]"""
import mmap, statistics, sys, time

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
size = 1 << 30
m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
page = 4096
res = {"untouched 1 MiB": [], "untouched 128 MiB": [], "backed page": []}
for r in range(rounds + 1):
    m.madvise(mmap.MADV_DONTNEED, 0, size)
    for name, chunk in (("untouched 1 MiB", 1 << 20), ("untouched 128 MiB", 128 << 20)):
        t0 = time.perf_counter_ns()
        for off in range(0, size, chunk):
            m.madvise(mmap.MADV_DONTNEED, off, chunk)
        ns = (time.perf_counter_ns() - t0) / (size // chunk)
        if r: res[name].append(ns)
    span = 256 << 20
    for off in range(0, span, page):
        m[off] = 1
    t0 = time.perf_counter_ns()
    for off in range(0, span, 1 << 20):
        m.madvise(mmap.MADV_DONTNEED, off, 1 << 20)
    ns = (time.perf_counter_ns() - t0) / (span // page)
    if r: res["backed page"].append(ns)
for name, v in res.items():
    print(f"{name}: {statistics.median(v):.0f} [{min(v):.0f}-{max(v):.0f}] ns")
