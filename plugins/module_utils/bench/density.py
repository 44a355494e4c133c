# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container density: how many minimal containers one board holds.

The ramp starts one tiny static HTTP server after another (busybox httpd on
the host network, its page on a tmpfs, a read-only root), waits until each
answers, and records memory used and start latency per container, until the
board's available memory reaches a floor, a start fails, or a count or time
limit is hit; then it removes every container it started. The decisions are
pure functions here; `ramp` is the thin layer that talks to the engine
through the Docker SDK client it is given.
"""

from __future__ import annotations

import http.client
import math
import re
import socket
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

LABEL = "pirack.benchmark"
LABEL_VALUE = "density"
NAME_PREFIX = "pirack-density-"
# The page each server writes into its tmpfs and serves.
PAGE = "ok"


class DensityError(ValueError):
    """A density option that cannot be used, in one line naming it."""


def _whole(option: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DensityError(f"{option}: expected a whole number from {low} to {high}, got {value!r}")
    return value


def _seconds(option: str, value: Any, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 < value <= high:
        raise DensityError(f"{option}: expected seconds above 0 and at most {high:g}, got {value!r}")
    return float(value)


def check_params(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The density module's options, checked before anything is started."""
    image = params.get("image")
    if not isinstance(image, str) or not image.strip():
        raise DensityError(f"image: expected the name of an image holding /bin/busybox, got {image!r}")
    out = {
        "image": image,
        "memory_floor_mb": _whole("memory_floor_mb", params.get("memory_floor_mb", 100), 0, 1 << 20),
        "max_containers": _whole("max_containers", params.get("max_containers", 0), 0, 100000),
        "port_base": _whole("port_base", params.get("port_base", 20000), 1024, 65000),
        "max_seconds": _seconds("max_seconds", params.get("max_seconds", 900.0), 86400.0),
        "ready_timeout": _seconds("ready_timeout", params.get("ready_timeout", 10.0), 600.0),
    }
    tmpfs = params.get("tmpfs_size", "64k")
    if not isinstance(tmpfs, str) or not re.fullmatch(r"[1-9][0-9]{0,5}[km]", tmpfs):
        raise DensityError(f"tmpfs_size: expected a size such as 64k or 1m, got {tmpfs!r}")
    out["tmpfs_size"] = tmpfs
    if out["max_containers"] and out["port_base"] + out["max_containers"] > 65535:
        raise DensityError(f"max_containers: {out['max_containers']} ports from port_base "
                           f"{out['port_base']} run past 65535")
    return out


def meminfo(text: str) -> Dict[str, Optional[float]]:
    """MemTotal and MemAvailable of a /proc/meminfo text, in MiB. On a
    simulated board lxcfs answers for the board's own memory limit."""
    values: Dict[str, Optional[float]] = {"total_mb": None, "available_mb": None}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if key in ("MemTotal", "MemAvailable") and fields and fields[0].isdigit():
            values["total_mb" if key == "MemTotal" else "available_mb"] = int(fields[0]) / 1024
    return values


def stop_reason(started: int, available_mb: Optional[float], settings: Mapping[str, Any],
                elapsed: float) -> Optional[str]:
    """Why the ramp stops before starting container `started + 1`, or None
    to go on: the memory floor, the count limit or the time limit."""
    if available_mb is None:
        return "failure: /proc/meminfo has no MemAvailable"
    if available_mb <= settings["memory_floor_mb"]:
        return f"memory floor ({available_mb:.0f} MiB available, floor {settings['memory_floor_mb']} MiB)"
    if settings["max_containers"] and started >= settings["max_containers"]:
        return f"max_containers ({settings['max_containers']})"
    if elapsed >= settings["max_seconds"]:
        return f"time limit ({settings['max_seconds']:g} s)"
    return None


def server_command(port: int) -> List[str]:
    """busybox sh writes the page into the tmpfs, then becomes httpd."""
    return ["/bin/busybox", "sh", "-c",
            f"echo {PAGE} > /www/index.html && exec /bin/busybox httpd -f -p {port} -h /www"]


def port_free(port: int) -> bool:
    """Whether nothing listens on `port` here (the servers use the host's
    network, so a port taken by anything else would fail the start)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def answers(port: int, timeout: float) -> bool:
    """Whether the server on `port` serves its page."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        return resp.status == 200 and resp.read().strip() == PAGE.encode()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def remove_all(client: Any) -> int:
    """Remove every density container on this engine (this run's, and any
    left by an interrupted one); returns how many."""
    removed = 0
    for container in client.containers.list(all=True, filters={"label": f"{LABEL}={LABEL_VALUE}"}):
        container.remove(force=True)
        removed += 1
    return removed


def ramp(client: Any, settings: Mapping[str, Any], read_meminfo: Callable[[], str],
         engine_errors: tuple, clock: Callable[[], float] = time.monotonic) -> Dict[str, Any]:
    """Start servers until stop_reason says stop or a start fails; always
    remove them all. Steps record, after each server answered, how many
    run, the memory used and how long that start took (create to first
    page served)."""
    leftovers = remove_all(client)
    first = meminfo(read_meminfo())
    steps = [{"containers": 0, "mem_used_mb": _used(first), "start_s": None}]
    started, port, stopped_by = 0, settings["port_base"], None
    began = clock()
    last = first
    try:
        while True:
            stopped_by = stop_reason(started, last["available_mb"], settings, clock() - began)
            if stopped_by:
                break
            while not port_free(port):
                port += 1
            if port > 65535:
                stopped_by = "failure: no free port left"
                break
            t0 = clock()
            try:
                container = client.containers.create(
                    settings["image"], command=server_command(port),
                    name=f"{NAME_PREFIX}{started + 1}", labels={LABEL: LABEL_VALUE},
                    network_mode="host", read_only=True,
                    tmpfs={"/www": f"size={settings['tmpfs_size']}"}, detach=True)
                container.start()
            except engine_errors as exc:
                stopped_by = f"failure: container {started + 1} did not start: {' '.join(str(exc).split())}"
                break
            while not answers(port, 1.0):
                if clock() - t0 > settings["ready_timeout"]:
                    break
                time.sleep(0.02)
            else:
                started += 1
                port += 1
                last = meminfo(read_meminfo())
                steps.append({"containers": started, "mem_used_mb": _used(last),
                              "start_s": round(clock() - t0, 4)})
                continue
            stopped_by = (f"failure: container {started + 1} did not serve its page within "
                          f"{settings['ready_timeout']:g} s")
            break
    finally:
        removed = remove_all(client)
    return {"containers": started, "stopped_by": stopped_by, "steps": steps,
            "mem_total_mb": first["total_mb"], "mem_available_mb": last["available_mb"],
            "removed": removed, "leftovers_removed": leftovers}


def _used(info: Mapping[str, Optional[float]]) -> Optional[float]:
    if info["total_mb"] is None or info["available_mb"] is None:
        return None
    return round(info["total_mb"] - info["available_mb"], 1)
