#!/usr/bin/env bash
# Make sure a Docker engine answers, and that lxcfs serves per-container
# /proc/meminfo so `free -m` on a simulated Pi shows the board's memory.
# On a machine without an engine (CI starts on one), install Debian's
# docker.io and start dockerd in the background; that needs root.
set -euo pipefail

log=/var/log/pirack-dockerd.log
need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: $1 — install Docker (https://docs.docker.com/engine/install/) or run this as root" >&2
        exit 1
    fi
}
apt_install() {
    need_root "missing packages: $*"
    if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! docker info >/dev/null 2>&1; then
    if ! command -v dockerd >/dev/null; then
        echo "docker engine: not installed, installing Debian's docker.io"
        apt_install docker.io
    fi
    if ! docker info >/dev/null 2>&1; then
        need_root "no Docker engine answers"
        if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
            systemctl start docker
        else
            echo "docker engine: starting dockerd in the background (log: $log)"
            nohup dockerd >"$log" 2>&1 &
        fi
        for _ in $(seq 1 60); do
            docker info >/dev/null 2>&1 && break
            sleep 1
        done
    fi
    docker info >/dev/null 2>&1 || { echo "error: dockerd did not start; see $log" >&2; exit 1; }
fi
echo "docker engine: $(docker version --format '{{.Server.Version}}') answers"

# lxcfs is a nicety for the simulated rack (free -m on a simulated Pi shows the
# board's memory); the memory limit itself is enforced by the cgroup either
# way, so nothing in this part may fail the script.
lxcfs_dir=/var/lib/lxcfs
start_lxcfs() {
    [ "$(id -u)" -eq 0 ] && [ -e /dev/fuse ] || return 0
    command -v lxcfs >/dev/null || apt_install lxcfs || return 0
    # A FUSE mount whose daemon died ("Transport endpoint is not connected")
    # survives on a reused machine; detach it before mounting afresh.
    if ! stat "$lxcfs_dir" >/dev/null 2>&1 && grep -q " $lxcfs_dir " /proc/mounts; then
        echo "lxcfs: detaching a stale mount at $lxcfs_dir"
        umount -l "$lxcfs_dir" || return 0
    fi
    mkdir -p "$lxcfs_dir" || return 0
    nohup lxcfs "$lxcfs_dir" >/var/log/pirack-lxcfs.log 2>&1 &
    for _ in $(seq 1 10); do [ -r "$lxcfs_dir/proc/meminfo" ] && break; sleep 0.5; done
}
[ -r "$lxcfs_dir/proc/meminfo" ] || start_lxcfs || true
if [ -r "$lxcfs_dir/proc/meminfo" ]; then
    echo "lxcfs: serving $lxcfs_dir (free -m on a simulated Pi shows its limit)"
else
    echo "lxcfs: not available (free -m on a simulated Pi shows the host's memory; the limit still applies)"
fi
