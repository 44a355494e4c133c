#!/usr/bin/env bash
# progress.sh LABEL COMMAND [ARGS...]
# Runs COMMAND with its output kept in a log, and while it runs prints, every
# PIRACK_PROGRESS_EVERY seconds (default 15), how long it has taken and the
# last line it wrote, so a step of several minutes (debootstrap, the first
# build of an image) never looks hung. On failure the end of the log is shown
# and COMMAND's exit code returned.
set -uo pipefail
label=$1
shift
every="${PIRACK_PROGRESS_EVERY:-15}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "$label"
start=$SECONDS
"$@" >"$log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq "$every"); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
        last="$(tail -c 4000 "$log" | tr '\r' '\n' | grep -v '^[[:space:]]*$' | tail -n 1 | cut -c 1-110)"
        echo "  ... $((SECONDS - start)) s: ${last:-working}"
    fi
done
wait "$pid"
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "error: '$*' failed after $((SECONDS - start)) s (exit $rc); its last lines:" >&2
    tail -n 30 "$log" >&2
fi
exit "$rc"
