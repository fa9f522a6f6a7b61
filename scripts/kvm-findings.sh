#!/usr/bin/env bash
# kvm-findings.sh — findings 1 and 2 of docs/findings.md on a real guest: separate `ballast run --backend kvm`
# processes of a 64 MiB guest under memory pressure, Linux's hint driver as shipped against the acknowledged
# shrinker (linux-acked), counting the runs that break an invariant (exit 3).
#
# usage: scripts/kvm-findings.sh [--seeds 12] [--mem 64M]
#   prints, per variant: runs, runs that kept every invariant, runs that broke one, and the first violation of each.
set -euo pipefail
seeds=12
mem=64M
while (($#)); do
    case $1 in
        --seeds) seeds=$2; shift 2 ;;
        --mem) mem=$2; shift 2 ;;
        *) echo "usage: $0 [--seeds N] [--mem SIZE]" >&2; exit 2 ;;
    esac
done
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
# variant name, workload keys after idle,pressure=P%, policy
variants=(
    "finding-1 hint-driver=linux hint"
    "finding-2 hint-driver=linux,hint-run=1,discard-hinted=1 legacy"
    "both hint-driver=linux,hint-run=1,discard-hinted=1 hint"
    "changed hint-driver=linux-acked,hint-run=1,discard-hinted=1 hint"
)
for v in "${variants[@]}"; do
    read -r name keys policy <<< "$v"
    ok=0 bad=0 first=""
    for seed in $(seq 1 "$seeds"); do
        for p in 60 95; do
            set +e
            out=$("$root/ballast" run --backend kvm --mem "$mem" --workload "idle,pressure=$p%,$keys" --policy "$policy" \
                --seed "$seed" --no-journal 2>&1)
            rc=$?
            set -e
            case $rc in
                0) ok=$((ok + 1)) ;;
                3) bad=$((bad + 1)); [[ -n $first ]] || first="seed $seed, pressure $p%: $(grep -m1 -o 'invariant [0-9].*' <<< "$out")" ;;
                *) echo "$name: seed $seed pressure $p%: exit $rc" >&2; echo "$out" >&2; exit 1 ;;
            esac
        done
    done
    echo "$name ($keys, $policy): $((ok + bad)) runs, $ok kept every invariant, $bad broke one${first:+; first: $first}"
done
