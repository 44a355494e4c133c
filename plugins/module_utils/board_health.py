# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Raspberry Pi's health, read where the board reports it.

The SoC temperature (``/sys/class/thermal/thermal_zone0/temp``), the
firmware's throttling and under-voltage flags, now and since boot
(``/sys/devices/platform/soc/soc:firmware/get_throttled``, else ``vcgencmd
get_throttled``), the root filesystem's size, free space and read-only flag,
and whether the kernel clock is synchronised. A reading the board does not
have is None ("unknown"), never a made-up number.

One file, two users, so the facts are read one way: the ``board_health``
module imports it for the status screen, and the monitoring role installs it
on each board as the node exporter's textfile collector (run as a script, it
writes the readings the node exporter lacks in Prometheus' text format, and
on the master each service's running and desired replicas and the registry
certificate's expiry). It therefore uses the Python standard library only.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
from typing import Any, Optional

THERMAL_ZONE = "class/thermal/thermal_zone0/temp"
THROTTLED = "devices/platform/soc/soc:firmware/get_throttled"
# The firmware's bits: the low four are "now", the same four 16 bits up "since boot".
THROTTLE_FLAGS = ("under_voltage", "freq_capped", "throttled", "soft_temp_limit")
SINCE_BOOT_SHIFT = 16
# adjtimex(2) answers TIME_ERROR while the clock is not synchronised.
TIME_ERROR = 5
TEXTFILE = "/var/lib/prometheus/node-exporter/pirack.prom"


def parse_throttled(text: str) -> Optional[dict[str, Any]]:
    """``get_throttled`` as sysfs (``50005``) or vcgencmd (``throttled=0x50005``)
    writes it -> the word and the flags set now and since boot; None when the
    text is not a hex word."""
    word = text.strip().rpartition("=")[2].strip()
    try:
        value = int(word, 16)
    except ValueError:
        return None
    if value < 0:
        return None
    return {
        "word": value,
        "now": [f for bit, f in enumerate(THROTTLE_FLAGS) if value >> bit & 1],
        "since_boot": [f for bit, f in enumerate(THROTTLE_FLAGS) if value >> (bit + SINCE_BOOT_SHIFT) & 1],
    }


def parse_temperature(text: str) -> Optional[float]:
    """A thermal zone's ``temp`` (millidegrees Celsius) -> degrees, or None."""
    try:
        return round(int(text.strip()) / 1000.0, 1)
    except ValueError:
        return None


def filesystem(stat: Any) -> dict[str, Any]:
    """An ``os.statvfs`` result -> size, free space for users and the read-only flag."""
    size = stat.f_blocks * stat.f_frsize
    avail = stat.f_bavail * stat.f_frsize
    return {
        "size_bytes": size,
        "avail_bytes": avail,
        "used_percent": round(100.0 * (size - avail) / size, 1) if size else None,
        "readonly": bool(stat.f_flag & os.ST_RDONLY),
    }


def swarm_replicas(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``GET /services?status=true`` of a Swarm manager -> each service's
    running and desired tasks."""
    rows = []
    for service in services:
        status = service.get("ServiceStatus") or {}
        rows.append({"service": (service.get("Spec") or {}).get("Name", "?"),
                     "running": int(status.get("RunningTasks") or 0),
                     "desired": int(status.get("DesiredTasks") or 0)})
    return sorted(rows, key=lambda row: row["service"])


def k8s_replicas(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deployments, StatefulSets and DaemonSets (``kubectl get -o json``
    items) -> each one's ready and desired pods, as ``namespace/name``."""
    rows = []
    for item in items:
        meta, spec, status = item.get("metadata") or {}, item.get("spec") or {}, item.get("status") or {}
        if item.get("kind") == "DaemonSet":
            desired, running = status.get("desiredNumberScheduled"), status.get("numberReady")
        else:
            desired, running = spec.get("replicas", 1), status.get("readyReplicas")
        rows.append({"service": f"{meta.get('namespace', 'default')}/{meta.get('name', '?')}",
                     "running": int(running or 0), "desired": int(desired or 0)})
    return sorted(rows, key=lambda row: row["service"])


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_text(health: dict[str, Any], replicas: Optional[list[dict[str, Any]]] = None,
                    certificates: Optional[dict[str, Optional[float]]] = None) -> str:
    """The readings the node exporter does not have, in Prometheus' text
    format. The temperature and the clock are left to its thermal_zone and
    timex collectors; a reading that is None is left out (unknown)."""
    out = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, Any]]) -> None:
        if samples:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")
            out.extend(f"{name}{labels} {value}" for labels, value in samples)

    throttled = health.get("throttled")
    if throttled is not None:
        metric("pirack_board_throttle_flag", "gauge",
               "The firmware's get_throttled flags: 1 when set, now or since boot.",
               [(f'{{flag="{flag}",when="{when}"}}', int(flag in throttled[when]))
                for when in ("now", "since_boot") for flag in THROTTLE_FLAGS])
    fs = health.get("rootfs")
    if fs is not None:
        mount = f'{{mountpoint="{_escape(health.get("root", "/"))}"}}'
        metric("pirack_board_rootfs_size_bytes", "gauge", "Size of the board's root filesystem.",
               [(mount, fs["size_bytes"])])
        metric("pirack_board_rootfs_avail_bytes", "gauge", "Space left on the root filesystem for users.",
               [(mount, fs["avail_bytes"])])
        metric("pirack_board_rootfs_readonly", "gauge", "1 when the root filesystem is mounted read-only.",
               [(mount, int(fs["readonly"]))])
    if replicas is not None:
        metric("pirack_service_replicas", "gauge",
               "Tasks of each service of the cluster, running (ready) and desired.",
               [(f'{{service="{_escape(row["service"])}",state="{state}"}}', row[state])
                for row in replicas for state in ("running", "desired")])
    if certificates:
        metric("pirack_certificate_expiry_seconds", "gauge", "When the certificate expires (unix time).",
               [(f'{{path="{_escape(path)}"}}', int(expiry)) for path, expiry in sorted(certificates.items())
                if expiry is not None])
    return "\n".join(out) + "\n" if out else ""


# I/O: each reader gives None where the board lacks what it reads.

def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def read_throttled(sysfs: str = "/sys") -> Optional[dict[str, Any]]:
    """The firmware's flags from sysfs, else from ``vcgencmd get_throttled``."""
    text = _read(os.path.join(sysfs, THROTTLED))
    if text is None and sysfs == "/sys" and shutil.which("vcgencmd"):
        try:
            text = subprocess.run(["vcgencmd", "get_throttled"], capture_output=True, text=True,
                                  timeout=5, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            text = None
    return parse_throttled(text) if text is not None else None


def clock_synchronised() -> Optional[bool]:
    """Whether the kernel clock is synchronised (adjtimex with no change:
    what timedatectl's NTPSynchronized reports), None when it cannot be asked."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        buffer = ctypes.create_string_buffer(512)  # struct timex, modes 0: read only
        state = libc.adjtimex(buffer)
    except (OSError, AttributeError):
        return None
    return None if state < 0 else state != TIME_ERROR


def read_health(sysfs: str = "/sys", root: str = "/") -> dict[str, Any]:
    """Every reading of one board."""
    temperature = _read(os.path.join(sysfs, THERMAL_ZONE))
    try:
        rootfs: Optional[dict[str, Any]] = filesystem(os.statvfs(root))
    except OSError:
        rootfs = None
    return {
        "temperature_c": parse_temperature(temperature) if temperature is not None else None,
        "throttled": read_throttled(sysfs),
        "root": root,
        "rootfs": rootfs,
        "clock_synchronised": clock_synchronised(),
    }


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.path)


def read_replicas(orchestrator: str, docker_socket: str = "/var/run/docker.sock") -> Optional[list[dict[str, Any]]]:
    """Running and desired tasks of every service, from the Swarm manager's
    engine or the k3s server; None when this board cannot tell."""
    try:
        if orchestrator == "swarm":
            conn = _UnixConnection(docker_socket)
            conn.request("GET", "/services?status=true")
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            return swarm_replicas(json.loads(body)) if resp.status == 200 else None
        if orchestrator == "k3s":
            # The discovery cache in the temporary folder: the collector's
            # unit gives it no home to write in.
            cache = os.path.join(tempfile.gettempdir(), "pirack-kubectl")
            out = subprocess.run(["k3s", "kubectl", "--cache-dir", cache, "get",
                                  "deployments,statefulsets,daemonsets", "--all-namespaces", "-o", "json"],
                                 capture_output=True, text=True, timeout=20, check=True).stdout
            return k8s_replicas(json.loads(out).get("items") or [])
    except (OSError, ValueError, http.client.HTTPException, subprocess.SubprocessError):
        return None
    return None


def read_certificate_expiry(path: str) -> Optional[float]:
    """The certificate's notAfter (unix time), from ``openssl x509``."""
    try:
        out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", path], capture_output=True,
                             text=True, timeout=10, check=True).stdout
        return float(ssl.cert_time_to_seconds(out.strip().partition("=")[2]))
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def write_atomically(path: str, text: str) -> None:
    """Replace ``path`` in one rename: the node exporter never reads half a file."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".pirack-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv: Optional[list[str]] = None) -> int:
    """The textfile collector: ``python3 board_health.py --output FILE``."""
    parser = argparse.ArgumentParser(description="Write a board's health for the node exporter.")
    parser.add_argument("--output", default=TEXTFILE)
    parser.add_argument("--root", default="/", help="the mount point that counts as the SD card")
    parser.add_argument("--sysfs", default="/sys")
    parser.add_argument("--replicas", choices=["swarm", "k3s", "none"], default="none")
    parser.add_argument("--certificate", action="append", default=[])
    args = parser.parse_args(argv)
    replicas = read_replicas(args.replicas) if args.replicas != "none" else None
    certificates = {path: read_certificate_expiry(path) for path in args.certificate}
    # The node exporter's node_textfile_mtime_seconds says how fresh this is.
    write_atomically(args.output, prometheus_text(read_health(args.sysfs, args.root), replicas, certificates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
