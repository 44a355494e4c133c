#!/usr/bin/env bash
# Debian packages the tests drive for real: Chromium and its driver (the web
# UI test), redis-server (the worker's tests), sysbench (benchmark tests),
# docker-registry (docker_op's push test), busybox (the container density test).
# Installed only when missing, and only where we are root; otherwise the
# tests that need them skip with a one-line reason.
set -euo pipefail
want=()
command -v chromium >/dev/null || want+=(chromium)
command -v chromedriver >/dev/null || want+=(chromium-driver)
command -v redis-server >/dev/null || want+=(redis-server)
command -v sysbench >/dev/null || want+=(sysbench)
command -v docker-registry >/dev/null || want+=(docker-registry)
[ -x /bin/busybox ] || want+=(busybox)
[ ${#want[@]} -eq 0 ] && { echo "test packages: present"; exit 0; }
if [ "$(id -u)" -ne 0 ]; then
    echo "test packages: missing ${want[*]} (sudo apt-get install ${want[*]}); their tests will skip"
    exit 0
fi
echo "test packages: installing ${want[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
# The package starts a registry on :5000 of this machine; the push test runs
# its own on a free port, and nothing else here wants one.
if [[ " ${want[*]} " == *" docker-registry "* ]]; then
    service docker-registry stop >/dev/null 2>&1 || true
fi
