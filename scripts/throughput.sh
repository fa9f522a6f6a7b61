#!/usr/bin/env bash
# throughput.sh — a KVM migration's throughput against this machine's own, in one run.
#
# 1. This machine's memory copy and loopback TCP bandwidth (scripts/Bandwidth.java).
# 2. An in-process `legacy` migration of a written-full guest (memhog: 90 % of RAM written,
#    every page sent with its data), through the page stream over in-memory pipes: once with the
#    destination's memory allocated as pages arrive (the default), once preallocated (--prealloc).
# 3. The same migration to a `ballast dest --prealloc` over loopback TCP, --repeat times to one
#    destination, each right after a measure of loopback TCP alone, and once to a lazily
#    allocating destination. The first migration meets a destination JVM that has not run its
#    receive path yet; the later ones, a destination that has served one, as a `ballast dest`
#    server does. Each is compared with the loopback TCP measured just before it.
# 4. The journal's overhead: in-process runs with and without the journal, interleaved, the
#    medians compared.
# Prints each throughput (bytes sent / migration time) and its ratio.
#
# usage: scripts/throughput.sh [--mem 4G] [--repeat 3]
set -euo pipefail
mem=4G
repeat=3
while (($#)); do
    case $1 in
        --mem) mem=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        *) echo "usage: $0 [--mem 4G] [--repeat N]" >&2; exit 2 ;;
    esac
done
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
java=${BALLAST_JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
work=$(mktemp -d /tmp/throughput.XXXXXX)
dest_pid=
stop_dest() { [[ -n $dest_pid ]] && kill -TERM "$dest_pid" 2> /dev/null && wait "$dest_pid" 2> /dev/null; dest_pid=; }
cleanup() { stop_dest; rm -rf "$work"; }
trap cleanup EXIT
"$root/ballast" --version > /dev/null

# Waits (at most 20 s) until the CPUs are at least 85 % idle over half a second: this machine's
# kernel hands a finished run's freed memory back to its host for a while, and a measure taken
# then reads low.
# SETTLE_TRIES and SETTLE_IDLE_PCT change the bounds (for the script's own test).
settle() {
    local tries=${SETTLE_TRIES:-40} idle=${SETTLE_IDLE_PCT:-85}
    for _ in $(seq 1 "$tries"); do
        read -r _ u n s i w q sq st _ < /proc/stat; a=$((u + n + s + w + q + sq + st)); b=$i
        sleep 0.5
        read -r _ u n s i w q sq st _ < /proc/stat; a2=$((u + n + s + w + q + sq + st)); b2=$i
        if (( (b2 - b) * 100 >= idle * (a2 - a + b2 - b) )); then return 0; fi
    done
    # Under set -e a last failed test would end the script here, silently: say so and measure anyway.
    echo "throughput.sh: the machine stayed busy (less than $idle % idle for $tries half-second tries); measuring anyway, expect lower figures" >&2
}
settle

"$java" "$root/scripts/Bandwidth.java" | tee "$work/bw"
memcpy=$(awk '/memcpy_MBps/ {print $2}' "$work/bw")
tcp=$(awk '/loopback_tcp_MBps/ {print $2}' "$work/bw")

rate() { # json -> "MB/s ms bytes verify"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.0f %.0f %d %s" % (r["transferredBytes"]/r["totalTimeMs"]/1e3, r["totalTimeMs"], r["transferredBytes"], r["verify"]["ok"]))' "$1"
}
pct() { python3 -c "print('%.1f %%' % (100*$1/$2))"; }
run=("$root/ballast" run --backend kvm --mem "$mem" --workload memhog --policy legacy)

start_dest() { # extra dest options...
    "$root/ballast" dest --listen 127.0.0.1:0 "$@" > "$work/dest.log" 2>&1 &
    dest_pid=$!
    for _ in $(seq 1 1200); do grep -q "listening on" "$work/dest.log" && break; sleep 0.1; done
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/dest.log")
}

"${run[@]}" --no-journal --json "$work/lazy.json" > /dev/null
read -r lazy lazy_ms lazy_bytes lazy_ok < <(rate "$work/lazy.json")
"${run[@]}" --no-journal --prealloc --json "$work/inproc.json" > /dev/null
read -r inproc inproc_ms inproc_bytes inproc_ok < <(rate "$work/inproc.json")

start_dest --prealloc "$mem"
tcp_rates=() tcp_refs=() tcp_ratios=() tcp_oks=()
for i in $(seq 1 "$repeat"); do
    # The destination prepares the next guest's memory after each migration: not while measuring.
    for _ in $(seq 1 600); do (($(grep -c "prepared the VM" "$work/dest.log") >= i)) && break; sleep 0.1; done
    settle
    ref=$("$java" "$root/scripts/Bandwidth.java" tcp | awk '/loopback_tcp_MBps/ {print $2}')
    "${run[@]}" --no-journal --dest "127.0.0.1:$port" --json "$work/tcp$i.json" > /dev/null
    read -r r r_ms _ r_ok < <(rate "$work/tcp$i.json")
    tcp_rates+=("$r") tcp_refs+=("$ref") tcp_oks+=("$r_ok")
    tcp_ratios+=("$(python3 -c "print('%.3f' % ($r/$ref))")")
done
stop_dest
start_dest
"${run[@]}" --no-journal --dest "127.0.0.1:$port" --json "$work/tcplazy.json" > /dev/null
read -r tcplazy tcplazy_ms _ tcplazy_ok < <(rate "$work/tcplazy.json")
stop_dest

# The journal's overhead: with and without, interleaved, destination preallocated (so the
# host's first touches of fresh memory do not decide which run is slower).
with=() without=()
for i in $(seq 1 "$repeat"); do
    "${run[@]}" --prealloc --journal "$work/journal-$i" --json "$work/j$i.json" > /dev/null
    with+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totalTimeMs"])' "$work/j$i.json")")
    rm -rf "$work/journal-$i"
    "${run[@]}" --prealloc --no-journal --json "$work/n$i.json" > /dev/null
    without+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totalTimeMs"])' "$work/n$i.json")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
jm=$(median "${with[@]}")
nm=$(median "${without[@]}")

printf 'memory copy                     %6s MB/s\n' "$memcpy"
printf 'loopback TCP                    %6s MB/s\n' "$tcp"
printf 'in process, destination lazy    %6s MB/s  (%s ms, %s bytes, verify %s) = %s of memory copy\n' "$lazy" "$lazy_ms" "$lazy_bytes" "$lazy_ok" "$(pct "$lazy" "$memcpy")"
printf 'in process, --prealloc          %6s MB/s  (%s ms, %s bytes, verify %s) = %s of memory copy\n' "$inproc" "$inproc_ms" "$inproc_bytes" "$inproc_ok" "$(pct "$inproc" "$memcpy")"
printf 'loopback TCP, dest --prealloc   first %s MB/s = %s of loopback TCP (%s MB/s just before), verify %s\n' \
    "${tcp_rates[0]}" "$(pct "${tcp_rates[0]}" "${tcp_refs[0]}")" "${tcp_refs[0]}" "${tcp_oks[0]}"
if ((repeat > 1)); then
    printf '  to a dest that has served one  median %s MB/s = median %s of loopback TCP  (runs: %s MB/s; loopback: %s; ratios: %s; verify: %s)\n' \
        "$(median "${tcp_rates[@]:1}")" "$(median "${tcp_ratios[@]:1}")" "${tcp_rates[*]:1}" "${tcp_refs[*]:1}" "${tcp_ratios[*]:1}" "${tcp_oks[*]:1}"
fi
printf 'loopback TCP, dest lazy         %6s MB/s  (%s ms, verify %s) = %s of loopback TCP\n' "$tcplazy" "$tcplazy_ms" "$tcplazy_ok" "$(pct "$tcplazy" "$tcp")"
printf 'journal overhead                median %s ms with journal / %s ms without = %s  (with: %s; without: %s)\n' "$jm" "$nm" \
    "$(python3 -c "print('%.3f' % ($jm/$nm))")" "${with[*]}" "${without[*]}"
