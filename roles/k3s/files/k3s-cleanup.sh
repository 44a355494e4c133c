#!/bin/sh
# pirack.cluster.k3s_common: what k3s leaves running after its unit stopped,
# removed the way k3s's own k3s-killall.sh does it, so pods really end:
#   - each containerd shim started from <data-dir>/data/*/bin and every
#     process below it (the pods' containers, reparented to the shims);
#   - the mounts under /run/k3s, /var/lib/kubelet, the cni-* network
#     namespaces and the data directory;
#   - the cni-* network namespaces, the links enslaved to cni0, cni0 and
#     flannel's links;
#   - the iptables and ip6tables rules of k3s, its CNI and flannel (KUBE-*,
#     CNI-*, flannel in any case) and of pirack-k3s-forward, kept rules
#     restored as they were.
# Usage: k3s-cleanup.sh clean|report DATA_DIR
# Prints one "changed: ..." line per thing removed (or, with report, that
# would be removed); nothing printed means nothing was there. Fails on the
# first error, naming it.
set -eu

mode="${1:?usage: $0 clean|report DATA_DIR}"
data_dir="${2:?usage: $0 clean|report DATA_DIR}"
case "$mode" in clean|report) ;; *) echo "unknown mode $mode" >&2; exit 2 ;; esac

act() {
    # act DESCRIPTION COMMAND...: run the command (unless reporting), say so.
    what="$1"; shift
    echo "changed: $what"
    if [ "$mode" = clean ]; then "$@"; fi
}

# PIDs of the containerd shims this k3s started.
shims() {
    ps -e -o pid= -o args= | while read -r pid args; do
        case "$args" in
            "$data_dir"/data/*/bin/containerd-shim*) echo "$pid" ;;
        esac
    done
}

# PID and all its descendants, parents first.
tree() {
    echo "$1"
    for child in $(ps -e -o ppid= -o pid= | awk -v p="$1" '$1 == p { print $2 }'); do
        tree "$child"
    done
}

pids=""
for shim in $(shims); do
    pids="$pids $(tree "$shim" | tr '\n' ' ')"
done
if [ -n "${pids# }" ]; then
    echo "changed: killed the pods' containerd shims and their processes:$pids"
    if [ "$mode" = clean ]; then
        # A process that ended by itself since it was listed makes kill
        # complain; whether everything is gone is checked just below.
        # shellcheck disable=SC2086
        kill -9 $pids 2>/dev/null || true
        # Killed processes vanish once reaped; give that five seconds.
        tries=50
        while [ "$tries" -gt 0 ]; do
            alive=""
            for pid in $pids; do
                if kill -0 "$pid" 2>/dev/null; then alive="$alive $pid"; fi
            done
            [ -n "$alive" ] || break
            sleep 0.1
            tries=$((tries - 1))
        done
        if [ -n "$alive" ]; then echo "still running after kill -9:$alive" >&2; exit 1; fi
    fi
fi

# Mount points under the prefixes, deepest first (so nested mounts go first).
# The data directory itself may be the mount of a USB disk: only what is
# mounted below it goes.
mounts_under() {
    while read -r _ path _; do
        for prefix in "$@"; do
            case "$path" in "$prefix"*) echo "$path"; break ;; esac
        done
    done < /proc/self/mounts | sort -r -u
}

for path in $(mounts_under /run/k3s/ /var/lib/kubelet/ /run/netns/cni- "$data_dir/"); do
    act "unmounted $path" umount -f "$path"
done

if command -v ip >/dev/null 2>&1; then
    for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ { print $1 }'); do
        act "deleted network namespace $ns" ip netns delete "$ns"
    done

    for link in $(ip -o link show 2>/dev/null | awk -F': ' '/ master cni0 / { sub(/@.*/, "", $2); print $2 }'); do
        act "deleted link $link (a pod's end on cni0)" ip link delete "$link"
    done

    for link in cni0 flannel.1 flannel-v6.1 flannel-wg flannel-wg-v6 kube-ipvs0; do
        if ip link show dev "$link" >/dev/null 2>&1; then
            act "deleted link $link" ip link delete "$link"
        fi
    done
fi

# Rules (and chain declarations) naming k3s, its CNI or flannel are dropped;
# every other line of the save file is restored unchanged.
k3s_rules='KUBE-|CNI-|[Ff][Ll][Aa][Nn][Nn][Ee][Ll]|pirack-k3s'
for tool in iptables ip6tables; do
    command -v "$tool-save" >/dev/null 2>&1 || continue
    saved="$("$tool-save")"
    count="$(printf '%s\n' "$saved" | grep -c -E -e "$k3s_rules" || true)"
    if [ "$count" -gt 0 ]; then
        echo "changed: removed $count $tool lines of k3s, its CNI and flannel"
        if [ "$mode" = clean ]; then
            printf '%s\n' "$saved" | grep -v -E -e "$k3s_rules" | "$tool-restore"
        fi
    fi
done
