#!/usr/bin/env python3
"""Figures of Linux's free page hint driver on the KVM guest (README, "Linux's hint driver on KVM").

  scripts/kvm-hint-driver.py drivers  [--mem 4G] [--repeat 3]   # Linux's driver against the idealised one
  scripts/kvm-hint-driver.py pressure [--mem 1G] [--repeat 3]   # a host's hint run under memory pressure

Each case is one `./ballast run --backend kvm ...` process; the cases run interleaved (round r runs every case
once, each round starting one case later), and the tables show the median [min-max] over the rounds.
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(mem, workload, policy, journal):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [os.path.join(ROOT, "ballast"), "run", "--backend", "kvm", "--mem", mem, "--workload", workload,
           "--policy", policy, "--json", out] + (["--journal", journal] if journal else ["--no-journal"])
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("failed (%d): %s\n%s%s" % (p.returncode, " ".join(cmd), p.stdout, p.stderr))
    d = json.load(open(out))
    os.unlink(out)
    if not d["verify"]["ok"]:
        sys.exit("verify failed: " + " ".join(cmd))
    return d


def events(journal):
    p = subprocess.run([os.path.join(ROOT, "ballast"), "inspect", journal, "--events", "0:100000000"],
                       cwd=ROOT, capture_output=True, text=True, check=True)
    ev = {"HOST_HINT_RUN": [], "ALLOC_STALL": 0, "ALLOC_WAITED": [], "SHRINK": 0}
    for line in p.stdout.splitlines():
        m = re.search(r" (HOST_HINT_RUN|ALLOC_STALL|ALLOC_WAITED|SHRINK) (.*)$", line)
        if not m:
            continue
        f = dict(kv.split("=", 1) for kv in m.group(2).split())
        if m.group(1) == "HOST_HINT_RUN":
            ev["HOST_HINT_RUN"].append((int(f["durationNs"]) / 1e6, int(f["discardedPages"]), int(f["stalls"])))
        elif m.group(1) == "ALLOC_STALL":
            ev["ALLOC_STALL"] += 1
        elif m.group(1) == "ALLOC_WAITED":
            ev["ALLOC_WAITED"].append(int(f["waitNs"]) / 1e6)
        else:
            ev["SHRINK"] += 1
    return ev


def med(xs, fmt="%.0f"):
    return (fmt + " [" + fmt + "–" + fmt + "]") % (statistics.median(xs), min(xs), max(xs))


def main():
    a = argparse.ArgumentParser()
    a.add_argument("what", choices=["drivers", "pressure"])
    a.add_argument("--mem")
    a.add_argument("--repeat", type=int, default=3)
    o = a.parse_args()
    if o.what == "drivers":
        mem = o.mem or "4G"
        cases = [(w + k, "hint") for w in ("idle", "memhog")
                 for k in (",hint-driver=ideal", ",hint-driver=linux", ",hint-driver=linux,init-on-alloc=1")]
    else:
        mem = o.mem or "1G"
        cases = [("idle,pressure=%d%%,hint-run=1,discard-hinted=1,hint-driver=%s" % (p, d), "hint")
                 for p in (0, 50, 95) for d in ("ideal", "linux", "linux-acked")]
    res = {c: [] for c in cases}
    tmp = tempfile.mkdtemp(prefix="ballast-hint-")
    run(mem, cases[0][0], cases[0][1], None)  # warm-up: the launcher's build and the page cache
    for r in range(o.repeat):
        for i in range(len(cases)):
            c = cases[(i + r) % len(cases)]
            j = os.path.join(tmp, "r%d-%d" % (r, i)) if o.what == "pressure" else None
            d = run(mem, c[0], c[1], j)
            res[c].append((d, events(j) if j else None))
            print("  %s %s: %.0f ms" % (c[0], c[1], d["totalTimeMs"]), file=sys.stderr)
    if o.what == "drivers":
        print("| workload | policy | time ms | sent MiB | zero pages | free pages skipped | resent | hint ranges |")
        print("|---|---|--:|--:|--:|--:|--:|--:|")
        for c in cases:
            ds = [d for d, _ in res[c]]
            print("| `%s` | %s | %s | %s | %s | %s | %s | %s |" % (
                c[0], c[1], med([d["totalTimeMs"] for d in ds]),
                med([d["transferredBytes"] / 2**20 for d in ds], "%.1f"),
                med([d["pages"]["zero"] for d in ds]), med([d["pages"]["skippedFree"] for d in ds]),
                med([d["pages"]["resent"] for d in ds]), med([d["hints"]["ranges"] for d in ds])))
    else:
        print("| P | driver | host's hint run ms | released MiB | stalls in it | stalls in all | longest wait ms | shrinker: blocks | migration ms |")
        print("|--:|---|--:|--:|--:|--:|--:|--:|--:|")
        for c in cases:
            ds = res[c]
            runs = [e["HOST_HINT_RUN"][0] for _, e in ds]
            waits = [max(e["ALLOC_WAITED"]) if e["ALLOC_WAITED"] else 0.0 for _, e in ds]
            p = re.search(r"pressure=(\d+)%", c[0]).group(1)
            dv = re.search(r"hint-driver=([a-z-]+)", c[0]).group(1)
            print("| %s %% | `%s` | %s | %s | %s | %s | %s | %s | %s |" % (
                p, dv, med([x[0] for x in runs], "%.1f"), med([x[1] / 256 for x in runs]),
                med([x[2] for x in runs]), med([e["ALLOC_STALL"] for _, e in ds]), med(waits, "%.1f"),
                med([e["SHRINK"] for _, e in ds]), med([d["totalTimeMs"] for d, _ in ds])))


if __name__ == "__main__":
    main()
