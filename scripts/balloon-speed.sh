#!/usr/bin/env bash
# balloon-speed.sh — seed 001's claim on the KVM backend: balloon inflate and deflate with messages
# as PFN arrays against bitmaps (time, messages, host madvise calls), interleaved repeats after a
# warm-up, medians and ranges, and the per-repeat ratio bitmap/pfn (scripts/BalloonSpeed.java).
#
# usage: scripts/balloon-speed.sh [--sizes 1024,2048,4096] [--repeat 5] [--fresh]     (sizes in MiB)
#   --fresh: the guest does not write its pages before inflating them (the host has nothing to free)
set -euo pipefail
sizes=1024,2048,4096
repeat=5
pages=touched
while (($#)); do
    case $1 in
        --sizes) sizes=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --fresh) pages=fresh; shift ;;
        *) echo "usage: $0 [--sizes MIB,MIB,...] [--repeat N] [--fresh]" >&2; exit 2 ;;
    esac
done
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
"$root/ballast" --version > /dev/null   # builds cli/target/app when the sources changed
java=${BALLAST_JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
# shellcheck disable=SC2046
exec "$java" $(cat "$root/cli/target/app/jvm-flags") -cp "$root/cli/target/app/lib/*" \
    "$root/scripts/BalloonSpeed.java" "$sizes" "$repeat" "$pages"
