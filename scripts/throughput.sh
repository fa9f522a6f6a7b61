#!/usr/bin/env bash
# throughput.sh — a KVM migration's throughput against this machine's own, in one run.
#
# 1. This machine's memory copy and loopback TCP bandwidth (scripts/Bandwidth.java).
# 2. An in-process `legacy` migration of a written-full guest (memhog: 90 % of RAM written,
#    every page sent with its data), through the page stream over in-memory pipes.
# 3. The same migration to a `ballast dest` over loopback TCP.
# 4. The same in-process migration with and without its journal (the journal's overhead).
# Prints each throughput (bytes sent / migration time) and its ratio.
#
# usage: scripts/throughput.sh [--mem 4G]
set -euo pipefail
mem=4G
[[ ${1:-} == --mem ]] && mem=$2
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
java=${BALLAST_JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
work=$(mktemp -d /tmp/throughput.XXXXXX)
dest_pid=
cleanup() { [[ -n $dest_pid ]] && kill -TERM "$dest_pid" 2> /dev/null; wait 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$root/ballast" --version > /dev/null

"$java" "$root/scripts/Bandwidth.java" | tee "$work/bw"
memcpy=$(awk '/memcpy_MBps/ {print $2}' "$work/bw")
tcp=$(awk '/loopback_tcp_MBps/ {print $2}' "$work/bw")

rate() { # json -> MB/s
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.0f %.0f %d %s" % (r["transferredBytes"]/r["totalTimeMs"]/1e3, r["totalTimeMs"], r["transferredBytes"], r["verify"]["ok"]))' "$1"
}
run=("$root/ballast" run --backend kvm --mem "$mem" --workload memhog --policy legacy)

"${run[@]}" --no-journal --json "$work/inproc.json" > /dev/null
read -r inproc inproc_ms inproc_bytes inproc_ok < <(rate "$work/inproc.json")
"${run[@]}" --journal "$work/journal" --json "$work/journaled.json" > /dev/null
read -r jr jr_ms jr_bytes jr_ok < <(rate "$work/journaled.json")

"$root/ballast" dest --listen 127.0.0.1:0 > "$work/dest.log" 2>&1 &
dest_pid=$!
for _ in $(seq 1 600); do grep -q "listening on" "$work/dest.log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/dest.log")
"${run[@]}" --no-journal --dest "127.0.0.1:$port" --json "$work/tcp.json" > /dev/null
read -r overtcp tcp_ms tcp_bytes tcp_ok < <(rate "$work/tcp.json")

printf 'memory copy           %6s MB/s\n' "$memcpy"
printf 'loopback TCP          %6s MB/s\n' "$tcp"
printf 'in-process migration  %6s MB/s  (%s ms, %s bytes, verify %s) = %s of memory copy\n' "$inproc" "$inproc_ms" "$inproc_bytes" "$inproc_ok" \
    "$(python3 -c "print('%.1f %%' % (100*$inproc/$memcpy))")"
printf 'over loopback TCP     %6s MB/s  (%s ms, %s bytes, verify %s) = %s of loopback TCP\n' "$overtcp" "$tcp_ms" "$tcp_bytes" "$tcp_ok" \
    "$(python3 -c "print('%.1f %%' % (100*$overtcp/$tcp))")"
printf 'journal overhead      %s ms with journal / %s ms without = %s\n' "$jr_ms" "$inproc_ms" "$(python3 -c "print('%.3f' % ($jr_ms/$inproc_ms))")"
