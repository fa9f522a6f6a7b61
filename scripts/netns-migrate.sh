#!/usr/bin/env bash
# netns-migrate.sh — two hosts on one machine: a KVM migration between two network namespaces.
#
# Creates namespaces bl-src-PID and bl-dst-PID joined by a veth pair (10.77.0.1 <-> 10.77.0.2),
# shapes both directions of the link with tc (a tbf token bucket at 10 Gbit/s unless told
# otherwise; with --delay or --loss, netem, which this machine's kernel lacks), starts `ballast dest` in the destination namespace (with a fresh shared
# secret, as a destination reachable beyond loopback requires), runs `ballast run --backend kvm
# --dest ...` in the source namespace with the arguments given after --, and removes everything
# it created on exit, also when interrupted.
#
# With --prealloc SIZE the destination makes the guest's VM, all of its memory allocated, before
# the migration starts (ballast dest --prealloc SIZE); the wait for it is not part of the run.
#
# usage: scripts/netns-migrate.sh [--rate 10gbit] [--delay 0ms] [--loss 0%] [--port 7400] [--prealloc SIZE] [--keep-log FILE] -- RUN-ARGS...
# e.g.   scripts/netns-migrate.sh --prealloc 4G -- --mem 4G --workload idle --policy hint --json out.json
set -euo pipefail

rate=10gbit delay= loss= port=7400 keeplog= prealloc=0
while (($#)); do
    case $1 in
        --rate) rate=$2; shift 2 ;;
        --delay) delay=$2; shift 2 ;;
        --loss) loss=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --keep-log) keeplog=$2; shift 2 ;;
        --prealloc) prealloc=$2; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "netns-migrate: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "netns-migrate: $*" >&2; exit 1; }
((EUID == 0)) || die "cannot run: network namespaces need root (run it with sudo)"
command -v ip > /dev/null || die "cannot run: no 'ip' command (Debian: apt-get install iproute2)"
command -v tc > /dev/null || die "cannot run: no 'tc' command (Debian: apt-get install iproute2)"
[[ -e /dev/kvm ]] || die "cannot run: /dev/kvm does not exist"

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
ballast=$root/ballast
src=bl-src-$$ dst=bl-dst-$$ vsrc=bls$$ vdst=bld$$
work=$(mktemp -d /tmp/netns-migrate.XXXXXX)
dest_pid=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [[ -n $dest_pid ]] && kill -TERM "$dest_pid" 2> /dev/null && wait "$dest_pid" 2> /dev/null || true
    ip netns del "$src" 2> /dev/null || true
    ip netns del "$dst" 2> /dev/null || true   # deleting a namespace deletes its end of the veth pair
    ip link del "$vsrc" 2> /dev/null || true
    [[ -n $keeplog && -f $work/dest.log ]] && cp "$work/dest.log" "$keeplog"
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Build first, outside the namespaces, so neither side races the other to build.
"$ballast" --version > /dev/null

ip netns add "$src"
ip netns add "$dst"
ip link add "$vsrc" type veth peer name "$vdst"
ip link set "$vsrc" netns "$src"
ip link set "$vdst" netns "$dst"
ip -n "$src" addr add 10.77.0.1/24 dev "$vsrc"
ip -n "$dst" addr add 10.77.0.2/24 dev "$vdst"
for ns in "$src" "$dst"; do ip -n "$ns" link set lo up; done
ip -n "$src" link set "$vsrc" up
ip -n "$dst" link set "$vdst" up
if [[ -n $delay || -n $loss ]]; then
    # latency and loss need netem (which shapes the rate too)
    shape=(netem rate "$rate")
    [[ -n $delay ]] && shape+=(delay "$delay")
    [[ -n $loss ]] && shape+=(loss "$loss")
    shape+=(limit 100000)
else
    # a token bucket at the link's rate; its bucket holds a few ms of traffic
    shape=(tbf rate "$rate" burst 4mb latency 20ms)
fi
for end in "$src:$vsrc" "$dst:$vdst"; do
    if ! err=$(ip netns exec "${end%%:*}" tc qdisc add dev "${end#*:}" root "${shape[@]}" 2>&1); then
        [[ $err == *"kind is unknown"* ]] && die "cannot run: this kernel has no '${shape[0]}' qdisc (sch_${shape[0]})${delay:+; --delay}${loss:+; --loss} needs netem"
        die "tc qdisc add ... ${shape[*]}: $err"
    fi
done
echo "netns-migrate: $src (10.77.0.1) <-> $dst (10.77.0.2), ${shape[*]}" >&2

head -c 32 /dev/urandom | base64 > "$work/secret"
chmod 600 "$work/secret"
ip netns exec "$dst" "$ballast" dest --listen "10.77.0.2:$port" --secret-file "$work/secret" --prealloc "$prealloc" > "$work/dest.log" 2>&1 &
dest_pid=$!
for _ in $(seq 1 600); do
    grep -q "listening on" "$work/dest.log" && break
    kill -0 "$dest_pid" 2> /dev/null || { cat "$work/dest.log" >&2; die "ballast dest did not start"; }
    sleep 0.1
done
grep -q "listening on" "$work/dest.log" || die "ballast dest did not start listening"

set +e
ip netns exec "$src" "$ballast" run --backend kvm --dest "10.77.0.2:$port" --secret-file "$work/secret" "$@"
rc=$?
set -e
sed 's/^/  dest| /' "$work/dest.log" >&2
exit "$rc"
