#!/usr/bin/env bash
# Make sure a `debian:bookworm` image exists for the simulated Pi hosts and the
# coin-miner images. A normal machine pulls it; an offline one (no registry,
# only a Debian mirror) builds it with debootstrap and imports it under the
# same tag, so every Dockerfile that says `FROM debian:bookworm` builds
# unchanged on both.
#
# The mirror is the one this machine's own apt sources name (deb822
# /etc/apt/sources.list.d/*.sources, then sources.list), since that is the
# one known to answer here; PIRACK_DEBIAN_MIRROR overrides it.
#   base-image.sh                 make sure the image exists
#   base-image.sh --print-mirror  only say which mirror would be used
set -euo pipefail

TAG="${PIRACK_BASE_IMAGE:-debian:bookworm}"
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
if [ "${1:-}" = "--print-mirror" ]; then
    echo "$MIRROR"
    exit 0
fi

if docker image inspect "$TAG" >/dev/null 2>&1; then
    echo "base image $TAG: present"
    exit 0
fi
echo "base image $TAG: trying docker pull (up to 60 s)"
if timeout 60 docker pull -q "$TAG" >/dev/null 2>&1; then
    echo "base image $TAG: pulled"
    exit 0
fi

echo "base image $TAG: not pullable, building it with debootstrap from $MIRROR ($MIRROR_FROM; set PIRACK_DEBIAN_MIRROR to change it)"
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
bash "$HERE/progress.sh" "base image: debootstrap --variant=minbase bookworm (about a minute)" \
    debootstrap --variant=minbase bookworm "$root" "$MIRROR" || {
    echo "error: debootstrap failed; is $MIRROR reachable? (set PIRACK_DEBIAN_MIRROR)" >&2
    exit 1
}
# Keep images small and apt quiet, as the official image does.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
bash "$HERE/progress.sh" "base image: importing it into the engine as $TAG" \
    bash -c 'tar -C "$1" -c . | docker import -c "CMD [\"bash\"]" - "$2" >/dev/null' _ "$root" "$TAG"
echo "base image $TAG: built and imported"
