#!/usr/bin/env bash
# qemu-backports.sh — a newer QEMU from Debian's backports, unpacked into a cache, never installed.
#
# Downloads qemu-system-x86, qemu-system-common, qemu-system-data and seabios of SUITE (default: the system's
# release + "-backports", e.g. bookworm-backports) with a private apt configuration (its own source list, package
# lists and cache under the work directory: the system's apt sources and state are not touched), unpacks them with
# dpkg-deb -x into ${XDG_CACHE_HOME:-~/.cache}/ballast/qemu-builds/VERSION, checks that every library the binary
# needs is on this system, and prints the binary's path for Ballast's --qemu:
#
#   scripts/qemu-backports.sh                      # prints e.g. ~/.cache/ballast/qemu-builds/10.0.2/usr/bin/qemu-system-x86_64
#   ./ballast run --backend qemu --qemu "$(scripts/qemu-backports.sh | tail -1)" --mem 256M --policy hint
#   scripts/hint-memdiff.py --qemu "$(scripts/qemu-backports.sh | tail -1)" --mem 256M ...
#
# The archive is the one the system's own apt sources name (its first Debian URI); QEMU finds its firmware
# (seabios, linuxboot) relative to its binary, so no -L is needed. Not run by CI. Needs apt-get and dpkg-deb.
set -euo pipefail

suite=""
while [ $# -gt 0 ]; do
    case "$1" in
        --suite) suite="$2"; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "qemu-backports: unknown option $1 (--suite SUITE)" >&2; exit 2 ;;
    esac
done

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$suite" ] || suite="${codename}-backports"
[ "$suite" != "-backports" ] || { echo "qemu-backports: no VERSION_CODENAME in /etc/os-release; pass --suite" >&2; exit 2; }

# the Debian archive this system already uses (deb822 or one-line format)
uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v -- '-security' | head -1 || true)
[ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' | grep -v -- '-security' | head -1 || true)
[ -n "$uri" ] || { echo "qemu-backports: no Debian archive in the system's apt sources" >&2; exit 1; }

work=$(mktemp -d /tmp/qemu-backports.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" > "$work/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Get::List-Cleanup=0")

apt-get "${apt_opts[@]}" -qq update >&2
version_of() {  # the suite's version of a package (not the installed one)
    apt-cache "${apt_opts[@]}" madison "$1" | awk -v s="$suite" '$0 ~ s {print $3; exit}'
}
qv=$(version_of qemu-system-x86)
[ -n "$qv" ] || { echo "qemu-backports: $suite has no qemu-system-x86" >&2; exit 1; }
pkgs=("qemu-system-x86=$qv" "qemu-system-common=$qv" "qemu-system-data=$qv")
sv=$(version_of seabios)
[ -z "$sv" ] || pkgs+=("seabios=$sv")

upstream=${qv#*:}; upstream=${upstream%%+*}; upstream=${upstream%%-*}
dest="${XDG_CACHE_HOME:-$HOME/.cache}/ballast/qemu-builds/$upstream"
bin="$dest/usr/bin/qemu-system-x86_64"
if [ ! -x "$bin" ]; then
    (cd "$work/debs" && apt-get "${apt_opts[@]}" -qq download "${pkgs[@]}" >&2 2>"$work/download.err") \
        || { cat "$work/download.err" >&2; exit 1; }
    mkdir -p "$dest.partial"
    for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$dest.partial"; done
    if [ -z "$sv" ] && [ ! -e "$dest.partial/usr/share/seabios/bios-256k.bin" ]; then
        echo "qemu-backports: $suite has no seabios; QEMU will look for its BIOS in the system's /usr/share/qemu" >&2
    fi
    rm -rf "$dest"; mv "$dest.partial" "$dest"
fi
missing=$(ldd "$bin" | awk '/not found/ {print $1}')
if [ -n "$missing" ]; then
    echo "qemu-backports: $bin needs libraries this system lacks: $missing" >&2
    echo "  (apt-get install the Debian packages that ship them, or apt-get download them into the same cache)" >&2
    exit 1
fi
"$bin" --version | head -1 >&2
echo "$bin"
