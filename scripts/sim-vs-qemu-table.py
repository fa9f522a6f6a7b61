#!/usr/bin/env python3
"""The README's sim-against-QEMU table from the JSON of `ballast compare --backend sim` and `--backend qemu` runs.

    scripts/sim-vs-qemu-table.py 1G:idle:sim.json:qemu.json 1G:memhog:sim2.json:qemu2.json ...
    scripts/sim-vs-qemu-table.py 1G:idle:sim.json:q-r1.json,q-r2.json,q-r3.json ...   # QEMU repeated

Each argument is SIZE:WORKLOAD:SIM_JSON:QEMU_JSON[,QEMU_JSON...]; every policy found in all the files gets a row. A
figure is the sim's, QEMU's and the sim's miss against QEMU in per cent; with several QEMU runs, QEMU's is their
median with the range in brackets, and the miss is against the median. Time is also given after QEMU's setup (from
`migrate` to its first page), which the simulator does not model (0.1 ms there).
"""
import json, statistics, sys


def by_policy(path):
    return {r["policy"]: r for r in json.load(open(path))}


def miss(s, q):
    return "—" if not q else f"{(s - q) / q * 100:+.0f} %"


def cell(sim, runs, fmt, get):
    q = [get(r) for r in runs]
    m = statistics.median(q)
    spread = f" ({fmt(min(q))}–{fmt(max(q))})" if len(q) > 1 else ""
    return f"{fmt(get(sim))} / {fmt(m)}{spread}, {miss(get(sim), m)}"


def main():
    print("| run | time sim / QEMU | after QEMU's setup | bytes sim / QEMU | data pages sim / QEMU "
          "| zero pages sim / QEMU | passes sim / QEMU | syncs sim / QEMU | QEMU verify | counts = query-migrate |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for arg in sys.argv[1:]:
        size, workload, sim, qemu = arg.split(":")
        s = by_policy(sim)
        qs = [by_policy(q) for q in qemu.split(",")]
        for p in [p for p in qs[0] if p in s and all(p in q for q in qs)]:
            a, runs = s[p], [q[p] for q in qs]
            secs = lambda v: f"{v:.2f} s"
            mb = lambda v: f"{v / 1e6:,.0f} MB"
            n = lambda v: f"{v:,.0f}"
            ints = lambda v: f"{v:g}"
            row = [f"{size} {workload} {p}",
                   cell(a, runs, secs, lambda r: r["totalTimeMs"] / 1e3),
                   cell(a, runs, secs, lambda r: (r["totalTimeMs"] - r.get("setupTimeMs", 0)) / 1e3),
                   cell(a, runs, mb, lambda r: r["transferredBytes"]),
                   cell(a, runs, n, lambda r: r["ram"]["normal"]),
                   cell(a, runs, n, lambda r: r["ram"]["duplicate"]),
                   f"{a['iterations']} / " + "/".join(str(r["iterations"]) for r in runs),
                   f"{a['ram']['dirty-sync-count']} / " + "/".join(str(r["ram"]["dirty-sync-count"]) for r in runs),
                   "ok" if all(r["verify"]["ok"] for r in runs) else "FAILED",
                   "yes" if all(r["vmm"]["agrees"] for r in runs) else "NO"]
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
