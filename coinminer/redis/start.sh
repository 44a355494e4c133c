#!/bin/sh
# Start the coin-miner's redis: `start.sh [redis-server options...]`.
#
# With a password file (REDIS_PASSWORD_FILE, default /run/secrets/redis_password,
# where Swarm mounts a secret named redis_password), redis requires that
# password and keeps protected mode on: a client without it gets NOAUTH. The
# password reaches redis-server on its standard input, hex-escaped, so it is in
# no argument list (ps), environment (docker inspect) or file we write.
# Without the file, redis runs as the original app's did: open to every
# client that can reach it, which is only safe on a network of its own.
set -eu
conf="${REDIS_CONF:-/etc/redis/coinminer.conf}"
file="${REDIS_PASSWORD_FILE:-/run/secrets/redis_password}"

if [ -z "${REDIS_PASSWORD_FILE:-}" ] && [ ! -e "$file" ]; then
    echo "redis: no password file at $file: any client that reaches port 6379 may use redis" >&2
    exec redis-server "$conf" "$@" --protected-mode no
fi
# The password is the file's first line, CR and LF removed (as the services read it).
hex=$(head -n 1 "$file" | tr -d '\r\n' | od -An -v -tx1 | tr -d ' \n')
if [ -z "$hex" ]; then
    echo "redis: password file $file is empty or unreadable" >&2
    exit 1
fi
escaped=$(printf '%s' "$hex" | sed 's/../\\x&/g')
exec redis-server "$conf" "$@" - <<CONFIG
requirepass "$escaped"
CONFIG
