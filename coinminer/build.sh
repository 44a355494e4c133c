#!/usr/bin/env bash
# Build the five coin-miner images (pirack/coinminer-<service>:TAG) from this
# folder: the four Python services from Dockerfile (build arguments SERVICE
# and PORT), redis from redis/Dockerfile. Docker's layer cache makes a re-run
# take seconds; the shared python3 layer is built once for all four.
#
#   coinminer/build.sh                      # BASE_IMAGE=debian:bookworm, TAG=latest
#   BASE_IMAGE=arm32v7/debian:bookworm TAG=armhf coinminer/build.sh rng worker
#
# Env: BASE_IMAGE, TAG, IMAGE_PREFIX (default pirack/coinminer-). Arguments:
# the services to build (default: all). Prints one line per image.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
base="${BASE_IMAGE:-debian:bookworm}"
tag="${TAG:-latest}"
prefix="${IMAGE_PREFIX:-pirack/coinminer-}"
services=("$@")
[ ${#services[@]} -gt 0 ] || services=(redis rng hasher worker webui)

for svc in "${services[@]}"; do
    # One Dockerfile for the four Python services (SERVICE and PORT build
    # arguments); redis has its own.
    case "$svc" in
        redis) args=(-f "$here/redis/Dockerfile") ;;
        worker) args=(-f "$here/Dockerfile" --build-arg SERVICE=worker --build-arg PORT=8080) ;;
        rng|hasher|webui) args=(-f "$here/Dockerfile" --build-arg "SERVICE=$svc" --build-arg PORT=80) ;;
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
