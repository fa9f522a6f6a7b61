#!/usr/bin/env python3
"""How fast the real guest's free page hint driver reported, read from a QEMU run's journal (`--backend qemu`, `tap
--qmp`): between dirty-log syncs 1 and 2, QEMU's `remaining` (query-migrate, polled every 100 ms) falls by the pages
QEMU sent and by the pages hints cleared from its bitmap; the pages sent are the journal's page records. What is left
over is the hints'. Prints the pages hinted, from the first to the last poll that saw some, and the rate, which the
simulator takes as `hint-rate=` (MiB/s).

    scripts/qemu-hint-rate.py runs/q1g-idle/hint
"""
import bisect, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    if len(sys.argv) != 2:
        print("usage: qemu-hint-rate.py JOURNAL", file=sys.stderr)
        return 2
    out = subprocess.run([os.path.join(ROOT, "ballast"), "inspect", sys.argv[1], "--events", "0:100000000"],
                         capture_output=True, text=True, check=True).stdout
    status, pages = [], []
    for line in out.splitlines():
        f = line.split()
        if len(f) < 4 or not f[1].startswith("t="):
            continue
        t = float(f[1][2:-2])
        if f[2] == "QEMU_STATUS":
            status.append((t, int(f[3].split("=")[1]), int(f[4].split("=")[1])))
        elif f[2] == "QEMU_PAGE":
            pages.append(t)
    hinted, first, last, prev = 0, None, None, None
    for s in status:
        if prev and prev[1] == s[1] == 1:
            sent = bisect.bisect(pages, s[0]) - bisect.bisect(pages, prev[0])
            h = (prev[2] - s[2]) // 4096 - sent
            if h > 0:
                hinted += h
                first = first if first is not None else prev[0]
                last = s[0]
        prev = s
    if not hinted:
        print("no pages cleared by hints between syncs 1 and 2")
        return 1
    secs = (last - first) / 1e3
    print(f"{hinted} pages hinted from {first / 1e3:.1f} s to {last / 1e3:.1f} s: {hinted / secs:.0f} pages/s, "
          f"hint-rate={hinted / secs * 4096 / 2**20:.0f}M/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
