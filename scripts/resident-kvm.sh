#!/usr/bin/env bash
# resident-kvm.sh — the source VMM's resident guest memory over a KVM migration, without and with
# free page reporting and the host's discards of hinted pages (scripts/ResidentKvm.java): samples every
# 100 ms from the end of the setup.
#
# usage: scripts/resident-kvm.sh [--mem 1024] [--workload memhog] [--policy legacy] [--bandwidth 1000000000]
#                                [--variants none,reporting]
#   --mem in MiB, --bandwidth in bits per second (0: unlimited); --variants of none, reporting, hint-run
#   (the host's hint run with discards before the migration), discard-hinted, each with :POLICY if not --policy's
set -euo pipefail
mem=1024
workload=memhog
policy=legacy
bandwidth=1000000000
variants=none,reporting
while (($#)); do
    case $1 in
        --mem) mem=$2; shift 2 ;;
        --workload) workload=$2; shift 2 ;;
        --policy) policy=$2; shift 2 ;;
        --bandwidth) bandwidth=$2; shift 2 ;;
        --variants) variants=$2; shift 2 ;;
        *) echo "usage: $0 [--mem MIB] [--workload W] [--policy P] [--bandwidth BITS] [--variants V,...]" >&2; exit 2 ;;
    esac
done
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
"$root/ballast" --version > /dev/null   # builds cli/target/app when the sources changed
java=${BALLAST_JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
# shellcheck disable=SC2046
exec "$java" $(cat "$root/cli/target/app/jvm-flags") -cp "$root/cli/target/app/lib/*" \
    "$root/scripts/ResidentKvm.java" "$mem" "$workload" "$policy" "$bandwidth" "$variants"
