#!/usr/bin/env python3
"""The README's sim-against-QEMU table from the JSON of `ballast compare --backend sim` and `--backend qemu` runs.

    scripts/sim-vs-qemu-table.py 1G:idle:sim.json:qemu.json 1G:memhog:sim2.json:qemu2.json ...

Each argument is SIZE:WORKLOAD:SIM_JSON:QEMU_JSON; every policy found in both files gets a row. A figure is the sim's,
QEMU's and the sim's miss against QEMU in per cent.
"""
import json, sys


def by_policy(path):
    return {r["policy"]: r for r in json.load(open(path))}


def miss(s, q):
    return "—" if not q else f"{(s - q) / q * 100:+.0f} %"


def main():
    print("| run | time sim / QEMU (QEMU setup) | bytes sim / QEMU | data pages sim / QEMU | zero pages sim / QEMU "
          "| passes sim / QEMU | syncs sim / QEMU | QEMU verify | counts = query-migrate |")
    print("|---|---|---|---|---|---|---|---|---|")
    for arg in sys.argv[1:]:
        size, workload, sim, qemu = arg.split(":")
        s, q = by_policy(sim), by_policy(qemu)
        for p in [p for p in q if p in s]:
            a, b = s[p], q[p]
            row = [f"{size} {workload} {p}",
                   f"{a['totalTimeMs'] / 1e3:.2f} s / {b['totalTimeMs'] / 1e3:.2f} s ({b['setupTimeMs'] / 1e3:.1f} s), "
                   f"{miss(a['totalTimeMs'], b['totalTimeMs'])}",
                   f"{a['transferredBytes'] / 1e6:,.0f} MB / {b['transferredBytes'] / 1e6:,.0f} MB, "
                   f"{miss(a['transferredBytes'], b['transferredBytes'])}",
                   f"{a['ram']['normal']:,} / {b['ram']['normal']:,}, {miss(a['ram']['normal'], b['ram']['normal'])}",
                   f"{a['ram']['duplicate']:,} / {b['ram']['duplicate']:,}, "
                   f"{miss(a['ram']['duplicate'], b['ram']['duplicate'])}",
                   f"{a['iterations']} / {b['iterations']}",
                   f"{a['ram']['dirty-sync-count']} / {b['ram']['dirty-sync-count']}",
                   "ok" if b["verify"]["ok"] else "FAILED",
                   "yes" if b["vmm"]["agrees"] else "NO"]
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
