#!/usr/bin/env bash
# Debian packages the tests drive for real: Chromium and its driver (the web
# UI test), redis-server (the worker's tests), sysbench (benchmark tests),
# docker-registry (docker_op's push test), busybox (the container density test),
# qemu-user-static and binfmt-support (the emulated armhf build of the
# multi-architecture test, and make multiarch), with their binfmt_misc entries
# registered (a machine without systemd running does not do it on install),
# prometheus (promtool checks and unit-tests the monitoring role's alert rules).
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
command -v promtool >/dev/null || want+=(prometheus)
[ -x /usr/bin/qemu-arm-static ] || want+=(qemu-user-static)
command -v update-binfmts >/dev/null || want+=(binfmt-support)
# The emulators the tests use, registered in the kernel (F: usable inside containers).
register_binfmt() {
    [ "$(id -u)" -eq 0 ] && command -v update-binfmts >/dev/null || return 0
    if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || return 0
    fi
    local entry
    for entry in qemu-arm qemu-aarch64; do
        [ -e "/proc/sys/fs/binfmt_misc/$entry" ] || update-binfmts --enable "$entry" >/dev/null 2>&1 || true
    done
}
if [ ${#want[@]} -eq 0 ]; then
    register_binfmt
    echo "test packages: present"
    exit 0
fi
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
# Likewise Prometheus on :9090: the tests want only its promtool.
if [[ " ${want[*]} " == *" prometheus "* ]]; then
    service prometheus stop >/dev/null 2>&1 || true
fi
register_binfmt
