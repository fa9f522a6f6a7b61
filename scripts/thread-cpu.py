#!/usr/bin/env python3
"""thread-cpu.py — CPU time of each thread of a command, by thread name.

Runs the command, reads /proc/PID/task/*/schedstat (time on a CPU, in ns) and comm every 10 ms
while it runs, and keeps each thread's last reading (a thread that ends keeps what it had used;
what any thread used in its last <10 ms is missed). Prints, per thread name (a trailing number after # or - folded:
"GC Thread#3" counts as "GC Thread#N", "vcpu-1" as "vcpu-N"), the CPU seconds and the thread count, then the total and
the process's own total from /proc/PID/stat read at the end (user + system, its live threads
plus the ones that ended) as a check. CPU time, unlike wall time, does not depend on the load.

The command's output is discarded unless --inherit-output is given (then it goes where this script's goes, before
the table).

usage: scripts/thread-cpu.py [--json OUT] [--inherit-output] -- COMMAND [ARGS...]
"""
import json
import os
import re
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    out = None
    inherit = False
    while args[:1] in (["--json"], ["--inherit-output"]):
        if args[0] == "--json":
            out, args = args[1], args[2:]
        else:
            inherit, args = True, args[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    tick = os.sysconf("SC_CLK_TCK")
    sink = None if inherit else subprocess.DEVNULL
    p = subprocess.Popen(args, stdout=sink, stderr=sink)
    seen = {}  # tid -> (name, ns)
    proc_total = 0.0
    while True:
        try:
            with open(f"/proc/{p.pid}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()
            # utime, stime, cutime, cstime (fields 14..17): the process's own CPU so far
            proc_total = (int(st[11]) + int(st[12])) / tick
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
        try:
            tids = os.listdir(f"/proc/{p.pid}/task")
        except FileNotFoundError:
            tids = []
        for t in tids:
            try:
                with open(f"/proc/{p.pid}/task/{t}/comm") as f:
                    name = f.read().strip()
                with open(f"/proc/{p.pid}/task/{t}/schedstat") as f:
                    ns = int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
                continue
            seen[t] = (name, ns)
        if p.poll() is not None:
            break
        time.sleep(0.01)
    groups = {}
    for name, ns in seen.values():
        key = re.sub(r"(?<=[#-])\d+$", "N", name)
        cpu, n = groups.get(key, (0, 0))
        groups[key] = (cpu + ns / 1e9, n + 1)
    total = sum(c for c, _ in groups.values())
    rows = sorted(groups.items(), key=lambda kv: -kv[1][0])
    for key, (cpu, n) in rows:
        print("%-18s %7.3f s  %3d thread(s)" % (key, cpu, n), flush=True)
    print("%-18s %7.3f s  (process, at its last reading: %.2f s)" % ("total", total, proc_total))
    if out:
        with open(out, "w") as f:
            json.dump({"exit": p.returncode, "threads": {k: v[0] for k, v in rows}, "total": total}, f)
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
