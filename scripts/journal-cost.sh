#!/usr/bin/env bash
# journal-cost.sh — the journal's cost on a KVM migration, journaled against --no-journal.
#
# Pairs of in-process migrations (memhog, legacy, destination preallocated), the two runs of a pair
# in alternating order (J N, then N J, ...) so that neither kind always runs right after the
# other's memory is freed. Per run: the migration's time (totalTimeMs of --json) and the whole
# process's CPU time and wall time (/usr/bin/time). Prints each kind's median and range and the
# median and range of the per-pair ratios J/N, with the machine's load average before and after.
#
# What to quote is the CPU time, not the wall time: the journal's cost is CPU on threads beside the
# migration (JIT compilation of Chronicle's and the Disruptor's code, ~0.6 s; the consumer thread's
# idle polling, ~0.3 s; Chronicle's start on the main thread, ~0.2 s), which an idle second core
# absorbs and a loaded machine does not, so wall-time ratios differ from one session to the next
# (0.97, then 1.06-1.40). Measured 2026-12-03, 1G, 6 pairs, load 32-41 on 2 cores: +1.25 s of process
# CPU a pair (0.57-2.01), ratio 1.24 (1.10-1.40), 3.5-4.9 k events a run; where it goes, thread by
# thread: scripts/thread-cpu.py -- ./ballast run ... (kvm-backend/README.md, "Known problems").
# Since then KVM and QEMU runs journal with a blocking consumer (no idle polling: its thread used
# 0.06-0.07 s a 1G run instead of 0.30-0.38 s); these figures are from before that change.
#
# usage: scripts/journal-cost.sh [--mem 1G] [--pairs 8] [--cpus 0,1]
#   --cpus pins both kinds to those CPUs (taskset), e.g. 0 to give the journal's consumer thread
#   no core of its own.
set -euo pipefail
mem=1G
pairs=8
cpus=
while (($#)); do
    case $1 in
        --mem) mem=$2; shift 2 ;;
        --pairs) pairs=$2; shift 2 ;;
        --cpus) cpus=$2; shift 2 ;;
        *) echo "usage: $0 [--mem 1G] [--pairs N] [--cpus LIST]" >&2; exit 2 ;;
    esac
done
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
work=$(mktemp -d /tmp/journal-cost.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$root/ballast" --version > /dev/null
pin=()
[[ -n $cpus ]] && pin=(taskset -c "$cpus")
run=("${pin[@]}" /usr/bin/time -f '%U %S %e' -o "$work/time" "$root/ballast" run --backend kvm --mem "$mem" --workload memhog --policy legacy --seed 1 --prealloc)

one() { # kind index -> "migration_ms cpu_s wall_s"
    local kind=$1 i=$2
    if [[ $kind == J ]]; then
        "${run[@]}" --journal "$work/j$i" --json "$work/$kind$i.json" > /dev/null 2>&1
        rm -rf "$work/j$i"
    else
        "${run[@]}" --no-journal --json "$work/$kind$i.json" > /dev/null 2>&1
    fi
    python3 - "$work/$kind$i.json" "$work/time" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
u, s, e = map(float, open(sys.argv[2]).read().split()[-3:])
assert r["verify"]["ok"], "the migration did not verify"
print("%.1f %.2f %.2f" % (r["totalTimeMs"], u + s, e))
EOF
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
one J 0 > /dev/null; one N 0 > /dev/null # warm-up: page cache, the AOT cache, the host's memory
: > "$work/pairs"
for i in $(seq 1 "$pairs"); do
    if ((i % 2)); then j=$(one J "$i"); n=$(one N "$i"); else n=$(one N "$i"); j=$(one J "$i"); fi
    echo "$j $n" >> "$work/pairs"
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/pairs" <<'EOF'
import statistics as st, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
names = ["migration ms", "process CPU s", "process wall s"]
for k, name in enumerate(names):
    j = [r[k] for r in rows]; n = [r[k + 3] for r in rows]
    ratio = [a / b for a, b in zip(j, n)]
    print("%-15s journal median %8.2f [%.2f..%.2f]  no journal median %8.2f [%.2f..%.2f]  ratio per pair median %.3f [%.3f..%.3f]" % (
        name, st.median(j), min(j), max(j), st.median(n), min(n), max(n), st.median(ratio), min(ratio), max(ratio)))
print("pairs: %d" % len(rows))
EOF
