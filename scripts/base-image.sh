#!/usr/bin/env bash
# Make sure a Debian bookworm base image exists for one CPU architecture: for
# this machine's own, `debian:bookworm` (the simulated Pi hosts' and the
# coin-miner's base); for every architecture, also the name Docker Hub gives
# that architecture's official image (amd64/, arm64v8/, arm32v7/debian:bookworm),
# which the coin-miner role builds each architecture's images from. A normal
# machine pulls it; an offline one (no registry, only a Debian mirror) builds
# it with debootstrap (--arch, under qemu-user-static for another
# architecture) and loads it for its platform, so a Dockerfile that says
# `FROM debian:bookworm` builds unchanged on both.
#
# An image already there under that name for another platform is refused in
# one line before anything is made: an ARM board given an amd64 base builds
# images that die with "exec format error".
#
# The mirror is the one this machine's own apt sources name (deb822
# /etc/apt/sources.list.d/*.sources, then sources.list), since that is the
# one known to answer here; PIRACK_DEBIAN_MIRROR overrides it.
#   base-image.sh                    make sure this machine's architecture's image exists
#   base-image.sh --arch armhf       the same for armhf (arm64, amd64, ...)
#   base-image.sh --print-mirror     only say which mirror would be used
#   base-image.sh [--arch A] --print-names   only say the names and platform it makes
set -euo pipefail

DEFAULT_MIRROR=http://deb.debian.org/debian
# Tests point this at a folder laid out like /etc/apt.
APT_DIR="${PIRACK_APT_DIR:-/etc/apt}"
HERE="$(cd "$(dirname "$0")" && pwd)"

# First http(s) URI of an enabled `deb` entry for a main suite (not
# -security, -updates, -backports) in the deb822 files.
deb822_mirror() {
    awk '
        function reset() { deb = 0; enabled = 1; uri = ""; main = 0 }
        function flush() {
            if (deb && enabled && main && uri ~ /^https?:\/\//) { print uri; done = 1; exit }
            reset()
        }
        BEGIN { reset() }
        FNR == 1 { flush() }
        /^[[:space:]]*#/ { next }
        /^[[:space:]]*$/ { flush(); next }
        tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
        tolower($1) == "enabled:" { enabled = (tolower($2) != "no") }
        tolower($1) == "uris:" { uri = $2 }
        tolower($1) == "suites:" {
            for (i = 2; i <= NF; i++) if ($i !~ /-(security|updates|backports)$/ && $i !~ /\//) main = 1
        }
        END { if (!done) flush() }
    ' "$@"
}

# The same from one-line `deb [options] URI suite components` entries.
one_line_mirror() {
    awk '
        $1 == "deb" {
            i = 2
            if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            if ($i ~ /^https?:\/\// && $(i + 1) !~ /-(security|updates|backports)$/) { print $i; exit }
        }
    ' "$@"
}

apt_mirror() {
    local sources=() lists=() f
    for f in "$APT_DIR"/sources.list.d/*.sources; do [ -r "$f" ] && sources+=("$f"); done
    for f in "$APT_DIR"/sources.list "$APT_DIR"/sources.list.d/*.list; do [ -r "$f" ] && lists+=("$f"); done
    local found=""
    if [ ${#sources[@]} -gt 0 ]; then found="$(deb822_mirror "${sources[@]}")"; fi
    if [ -z "$found" ] && [ ${#lists[@]} -gt 0 ]; then found="$(one_line_mirror "${lists[@]}")"; fi
    echo "${found%/}"
}

if [ -n "${PIRACK_DEBIAN_MIRROR:-}" ]; then
    MIRROR="$PIRACK_DEBIAN_MIRROR"
    MIRROR_FROM="PIRACK_DEBIAN_MIRROR"
else
    MIRROR="$(apt_mirror)"
    MIRROR_FROM="this machine's apt sources in $APT_DIR"
    if [ -z "$MIRROR" ]; then
        MIRROR="$DEFAULT_MIRROR"
        MIRROR_FROM="the default: no Debian mirror found in $APT_DIR"
    fi
fi
ARCH=""
ACTION=make
while [ $# -gt 0 ]; do
    case "$1" in
        --arch) ARCH="${2:-}"; shift 2 ;;
        --print-mirror) ACTION=print-mirror; shift ;;
        --print-names) ACTION=print-names; shift ;;
        *) echo "usage: base-image.sh [--arch ARCH] [--print-mirror | --print-names]" >&2; exit 2 ;;
    esac
done
if [ "$ACTION" = print-mirror ]; then
    echo "$MIRROR"
    exit 0
fi

NATIVE="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
ARCH="${ARCH:-$NATIVE}"
# Debian architecture: Docker platform, Docker Hub's namespace for that
# architecture's official images, qemu-user-static's binfmt entry.
case "$ARCH" in
    amd64) PLATFORM=linux/amd64;    HUB=amd64;   QEMU=qemu-x86_64 ;;
    arm64) PLATFORM=linux/arm64/v8; HUB=arm64v8; QEMU=qemu-aarch64 ;;
    armhf) PLATFORM=linux/arm/v7;   HUB=arm32v7; QEMU=qemu-arm ;;
    armel) PLATFORM=linux/arm/v5;   HUB=arm32v5; QEMU=qemu-arm ;;
    i386)  PLATFORM=linux/386;      HUB=i386;    QEMU=qemu-i386 ;;
    *) echo "error: --arch $ARCH: not one of amd64, arm64, armhf, armel, i386" >&2; exit 2 ;;
esac
ARCH_TAG="$HUB/debian:bookworm"
# This machine's own architecture also gets the plain name (PIRACK_BASE_IMAGE).
TAGS=("$ARCH_TAG")
if [ "$ARCH" = "$NATIVE" ]; then TAGS=("${PIRACK_BASE_IMAGE:-debian:bookworm}" "$ARCH_TAG"); fi
TAG="${TAGS[0]}"
if [ "$ACTION" = print-names ]; then
    echo "$PLATFORM ${TAGS[*]}"
    exit 0
fi

# os/architecture[/variant] of an image in the engine ("" when absent).
image_platform() {
    docker image inspect -f '{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}' "$1" 2>/dev/null || true
}
# linux/arm64 and linux/arm are linux/arm64/v8 and linux/arm/v7, as Docker reads them.
normal_platform() {
    case "$1" in linux/arm64) echo linux/arm64/v8 ;; linux/arm) echo linux/arm/v7 ;; *) echo "$1" ;; esac
}
# Refuse, in one line, a name that holds an image of another platform.
check_platform() {
    local found
    found="$(normal_platform "$(image_platform "$1")")"
    if [ -n "$found" ] && [ "$found" != "$PLATFORM" ]; then
        echo "error: base image $1 is for $found, not for $PLATFORM ($ARCH); remove it (docker rmi $1) and run again" >&2
        exit 1
    fi
    [ -n "$found" ]
}
# Give every name that has no image yet the image named $1.
tag_all() {
    local tag
    for tag in "${TAGS[@]}"; do
        if ! check_platform "$tag"; then docker tag "$1" "$tag"; fi
    done
}

present=1
for tag in "${TAGS[@]}"; do check_platform "$tag" || present=0; done
if [ "$present" = 1 ]; then
    echo "base image ${TAGS[*]} ($PLATFORM): present"
    exit 0
fi
for tag in "${TAGS[@]}"; do
    if check_platform "$tag"; then
        tag_all "$tag"
        echo "base image ${TAGS[*]} ($PLATFORM): present as $tag, named"
        exit 0
    fi
done
# Docker Hub's per-architecture name pulls that architecture's image and no
# other, whatever this machine is.
echo "base image $ARCH_TAG ($PLATFORM): trying docker pull (up to 60 s)"
if timeout 60 docker pull -q "$ARCH_TAG" >/dev/null 2>&1; then
    check_platform "$ARCH_TAG" >/dev/null
    tag_all "$ARCH_TAG"
    echo "base image ${TAGS[*]} ($PLATFORM): pulled"
    exit 0
fi

if [ "$ARCH" != "$NATIVE" ]; then
    entry="${PIRACK_BINFMT_DIR:-/proc/sys/fs/binfmt_misc}/$QEMU"
    if ! grep -qs '^enabled' "$entry"; then
        echo "error: base image for $ARCH: debootstrap runs $ARCH programs, and this machine has no $QEMU in binfmt_misc; install qemu-user-static and binfmt-support (Debian), or make the image on a $ARCH machine" >&2
        exit 1
    fi
fi
echo "base image $TAG ($PLATFORM): not pullable, building it with debootstrap --arch=$ARCH from $MIRROR ($MIRROR_FROM; set PIRACK_DEBIAN_MIRROR to change it)"
if ! command -v debootstrap >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: debootstrap is missing; install it with: sudo apt-get install debootstrap" >&2
        exit 1
    fi
    bash "$HERE/progress.sh" "base image: installing debootstrap" \
        env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
if [ "$ARCH" = "$NATIVE" ]; then took="about a minute"; else took="a few minutes: $ARCH under emulation"; fi
bash "$HERE/progress.sh" "base image: debootstrap --arch=$ARCH --variant=minbase bookworm ($took)" \
    debootstrap --arch="$ARCH" --variant=minbase bookworm "$root" "$MIRROR" || {
    echo "error: debootstrap failed; is $MIRROR reachable? (set PIRACK_DEBIAN_MIRROR)" >&2
    exit 1
}
# Keep images small and apt quiet, as the official image does.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
# docker import would call it amd64 on Debian's engine (20.10 ignores an
# import's platform): rootfs-image.py writes a `docker load` archive whose
# config names the platform.
bash "$HERE/progress.sh" "base image: loading it into the engine as $TAG ($PLATFORM)" \
    bash -c 'python3 "$4" "$1" "$2" "$3" bash | docker load >/dev/null' \
    _ "$root" "$TAG" "$PLATFORM" "$HERE/rootfs-image.py"
tag_all "$TAG"
echo "base image ${TAGS[*]} ($PLATFORM): built and imported"
