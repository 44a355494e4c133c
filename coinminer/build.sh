#!/usr/bin/env bash
# Build the five coin-miner images (pirack/coinminer-<service>:TAG) from this
# folder: the four Python services from Dockerfile (build arguments SERVICE
# and PORT), redis from redis/Dockerfile. Docker's layer cache makes a re-run
# take seconds; the shared python3 layer is built once for all four.
#
#   coinminer/build.sh                      # BASE_IMAGE=debian:bookworm, TAG=latest
#   BASE_IMAGE=arm32v7/debian:bookworm TAG=armhf coinminer/build.sh rng worker
#
# Env: BASE_IMAGE, TAG, IMAGE_PREFIX (default pirack/coinminer-), SPEC (the
# app spec whose ports the services listen on, default ../apps/coinminer.yml,
# which the collection deploys). Arguments: the services to build (default:
# all). Prints one line per image.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
base="${BASE_IMAGE:-debian:bookworm}"
tag="${TAG:-latest}"
prefix="${IMAGE_PREFIX:-pirack/coinminer-}"
spec="${SPEC:-$here/../apps/coinminer.yml}"
services=("$@")
[ ${#services[@]} -gt 0 ] || services=(redis rng hasher worker webui)

# The port the spec gives a service (its first one): written there once.
port_of() {
    python3 - "$spec" "$1" <<'PY'
import sys
try:
    import yaml
    with open(sys.argv[1], encoding="utf-8") as f:
        print(int(yaml.safe_load(f)["services"][sys.argv[2]]["ports"][0]["port"]))
except Exception as exc:  # one line, whatever is missing: the file, PyYAML, the service or its port
    sys.exit(f"error: no port for {sys.argv[2]} in {sys.argv[1]} ({type(exc).__name__}: {exc})")
PY
}

for svc in "${services[@]}"; do
    # One Dockerfile for the four Python services (SERVICE and PORT build
    # arguments); redis has its own.
    case "$svc" in
        redis) args=(-f "$here/redis/Dockerfile") ;;
        rng|hasher|worker|webui)
            port="$(port_of "$svc")" || exit 2
            args=(-f "$here/Dockerfile" --build-arg "SERVICE=$svc" --build-arg "PORT=$port")
            ;;
        *)
            echo "error: unknown service '$svc' (redis, rng, hasher, worker or webui)" >&2
            exit 2
            ;;
    esac
    image="$prefix$svc:$tag"
    log="$(mktemp)"
    if docker build --build-arg "BASE_IMAGE=$base" -t "$image" "${args[@]}" "$here" >"$log" 2>&1; then
        echo "built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
        rm -f "$log"
    else
        cat "$log" >&2
        rm -f "$log"
        echo "error: building $image failed" >&2
        exit 1
    fi
done
