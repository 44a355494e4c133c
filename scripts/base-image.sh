#!/usr/bin/env bash
# Make sure a `debian:bookworm` image exists for the simulated Pi hosts and the
# coin-miner images. A normal machine pulls it; an offline one (no registry,
# only a Debian mirror) builds it with debootstrap and imports it under the
# same tag, so every Dockerfile that says `FROM debian:bookworm` builds
# unchanged on both.
set -euo pipefail

TAG="${PIRACK_BASE_IMAGE:-debian:bookworm}"
MIRROR="${PIRACK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$TAG" >/dev/null 2>&1; then
    echo "base image $TAG: present"
    exit 0
fi
if timeout 60 docker pull -q "$TAG" >/dev/null 2>&1; then
    echo "base image $TAG: pulled"
    exit 0
fi

echo "base image $TAG: not pullable, building it with debootstrap from $MIRROR (about a minute)"
if ! command -v debootstrap >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: debootstrap is missing; install it with: sudo apt-get install debootstrap" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || {
    tail -20 "$root.log" >&2
    echo "error: debootstrap failed; is $MIRROR reachable? (set PIRACK_DEBIAN_MIRROR)" >&2
    exit 1
}
rm -f "$root.log"
# Keep images small and apt quiet, as the official image does.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import -c 'CMD ["bash"]' - "$TAG" >/dev/null
echo "base image $TAG: built and imported"
