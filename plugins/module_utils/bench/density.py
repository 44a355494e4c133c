# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container density: how many minimal containers one board holds, and
what one of them costs.

The ramp starts one tiny static HTTP server after another (busybox httpd,
its page on a tmpfs, a read-only root; on the host network it must serve
its page, with no network it must be running), and records memory used and
start latency per container, until the board's available memory reaches a
floor, a start fails, or a count or time limit is hit. At the peak it reads
what the memory went to: the proportional set size of every process on the
board by kind (the engine, the per-container monitor, the servers) and the
board cgroup's memory.stat (anonymous memory, kernel stacks, page tables,
slab, per-CPU data, ...), each against the same reading before the first
container; then it removes every container it started.

The settings a run compares (network, log driver, init) are options, and
so is the engine: any engine that speaks the Docker API (dockerd, or podman's
``podman system service``) is ramped the same way. The decisions are pure
functions here; ``ramp`` is the thin layer that talks to the engine through
the Docker SDK client it is given.
"""

from __future__ import annotations

import http.client
import math
import os
import re
import socket
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

NETWORKS = ("host", "none")
# Process kinds of the breakdown, by command name; anything else on the
# board is "board" (systemd, sshd, the exporters: they do not grow).
PROCESS_KINDS = (
    ("containerd-shim", "shim"), ("conmon", "conmon"), ("dockerd", "dockerd"),
    ("containerd", "containerd"), ("podman", "podman"), ("docker-init", "init"),
    ("tini", "init"), ("catatonit", "init"), ("busybox", "servers"), ("httpd", "servers"),
)
# memory.stat keys of the breakdown (cgroup v2; v1 names map onto them).
MEMORY_CLASSES = ("anon", "file", "kernel_stack", "pagetables", "percpu", "sock", "shmem",
                  "slab_reclaimable", "slab_unreclaimable")
_V1_CLASSES = {"rss": "anon", "cache": "file", "shmem": "shmem"}
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
    network = params.get("network", "host")
    if network not in NETWORKS:
        raise DensityError(f"network: expected one of {', '.join(NETWORKS)}, got {network!r}")
    out["network"] = network
    log_driver = params.get("log_driver") or ""
    if not isinstance(log_driver, str) or not re.fullmatch(r"[a-z0-9_-]{0,32}", log_driver):
        raise DensityError(f"log_driver: expected a log driver name such as none or json-file, got {log_driver!r}")
    out["log_driver"] = log_driver
    init = params.get("init", False)
    if not isinstance(init, bool):
        raise DensityError(f"init: expected true or false, got {init!r}")
    out["init"] = init
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


def container_options(settings: Mapping[str, Any], index: int, port: int) -> Dict[str, Any]:
    """The create options of server ``index``: the compared settings and
    nothing else, so two runs differ only in what they compare."""
    options: Dict[str, Any] = {
        "command": server_command(port), "name": f"{NAME_PREFIX}{index}", "labels": {LABEL: LABEL_VALUE},
        "network_mode": settings["network"], "read_only": True,
        "tmpfs": {"/www": f"size={settings['tmpfs_size']}"}, "detach": True,
    }
    if settings["log_driver"]:
        options["log_config"] = {"Type": settings["log_driver"], "Config": {}}
    if settings["init"]:
        options["init"] = True
    return options


def engine_name(version: Mapping[str, Any]) -> str:
    """"docker 20.10.24" or "podman 4.3.1", from the engine's version answer
    (podman's Docker API names itself among the components)."""
    names = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [])
    kind = "podman" if "podman" in names.lower() else "docker"
    return f"{kind} {version.get('Version', '?')}"


def variant_label(settings: Mapping[str, Any]) -> str:
    """A ramp's compared settings in a few words, for tables and legends."""
    parts = [str(settings.get("engine") or "docker").split()[0], f"network {settings.get('network', 'host')}",
             f"log {settings.get('log_driver') or 'default'}"]
    if settings.get("init"):
        parts.append("init")
    return ", ".join(parts)


def process_kind(comm: str) -> str:
    """The breakdown's kind of a process, by its command name."""
    for prefix, kind in PROCESS_KINDS:
        if comm.startswith(prefix):
            return kind
    return "board"


def smaps_pss_kb(text: str) -> Optional[int]:
    """The Pss line of a /proc/<pid>/smaps_rollup, in KiB."""
    for line in text.splitlines():
        if line.startswith("Pss:"):
            fields = line.split()
            return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
    return None


def memory_stat(text: str) -> Dict[str, int]:
    """A cgroup's memory.stat in bytes by the breakdown's classes (cgroup
    v1's rss/cache named as v2's anon/file; v1 has no kernel classes)."""
    values: Dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 2 or not fields[1].isdigit():
            continue
        key = _V1_CLASSES.get(fields[0], fields[0])
        if key in MEMORY_CLASSES and key not in values:
            values[key] = int(fields[1])
    return values


def breakdown(before: Mapping[str, Any], peak: Mapping[str, Any], count: int) -> Dict[str, Any]:
    """What one container cost, in KiB, from readings before the first and
    at the peak: by process kind (PSS, so shared libraries are split among
    their users), by memory.stat class, the total used, and the part no
    process holds (kernel objects: namespaces, cgroups, mounts, stacks)."""
    if count <= 0:
        return {"containers": 0}

    def per(after: Optional[float], base: Optional[float], scale: float = 1.0) -> Optional[float]:
        if after is None or base is None:
            return None
        return round((after - base) / scale / count, 1)

    kinds = sorted(set(before.get("pss_kb", {})) | set(peak.get("pss_kb", {})))
    processes = {k: per(peak["pss_kb"].get(k, 0), before["pss_kb"].get(k, 0)) for k in kinds}
    classes = sorted(set(before.get("memory_stat", {})) & set(peak.get("memory_stat", {})))
    stat = {k: per(peak["memory_stat"][k], before["memory_stat"][k], 1024.0) for k in classes}
    total = per(peak.get("used_kb"), before.get("used_kb"))
    in_processes = sum(v for v in processes.values() if v is not None)
    return {"containers": count, "total_kb": total, "processes_kb": processes, "memory_stat_kb": stat,
            "outside_processes_kb": round(total - in_processes, 1) if total is not None else None}


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


def ready(container: Any, settings: Mapping[str, Any], port: int, clock: Callable[[], float],
          t0: float) -> bool:
    """Whether a started server is up within the ready timeout: serving its
    page on the host network, running without one."""
    while clock() - t0 <= settings["ready_timeout"]:
        if settings["network"] == "host":
            if answers(port, 1.0):
                return True
        else:
            container.reload()
            if container.status == "running":
                return True
            if container.status in ("exited", "dead"):
                return False
        time.sleep(0.02)
    return False


def ramp(client: Any, settings: Mapping[str, Any], read_meminfo: Callable[[], str],
         engine_errors: tuple, clock: Callable[[], float] = time.monotonic,
         read_board: Optional[Callable[[], Dict[str, Any]]] = None) -> Dict[str, Any]:
    """Start servers until stop_reason says stop or a start fails; always
    remove them all. Steps record, after each server was up, how many run,
    the memory used and how long that start took (create to up). With
    ``read_board``, the board is read before the first and at the peak,
    and the result has the breakdown of one container's cost."""
    leftovers = remove_all(client)
    first = meminfo(read_meminfo())
    steps = [{"containers": 0, "mem_used_mb": _used(first), "start_s": None}]
    started, port, stopped_by = 0, settings["port_base"], None
    before = read_board() if read_board else None
    began = clock()
    last = first
    result: Dict[str, Any] = {}
    try:
        while True:
            stopped_by = stop_reason(started, last["available_mb"], settings, clock() - began)
            if stopped_by:
                break
            if settings["network"] == "host":
                while not port_free(port):
                    port += 1
                if port > 65535:
                    stopped_by = "failure: no free port left"
                    break
            t0 = clock()
            try:
                container = client.containers.create(settings["image"],
                                                     **container_options(settings, started + 1, port))
                container.start()
            except engine_errors as exc:
                stopped_by = f"failure: container {started + 1} did not start: {' '.join(str(exc).split())}"
                break
            if not ready(container, settings, port, clock, t0):
                stopped_by = (f"failure: container {started + 1} was not up within "
                              f"{settings['ready_timeout']:g} s")
                break
            started += 1
            port += 1
            last = meminfo(read_meminfo())
            steps.append({"containers": started, "mem_used_mb": _used(last),
                          "start_s": round(clock() - t0, 4)})
        if read_board and before is not None:
            result["breakdown"] = breakdown(before, read_board(), started)
    finally:
        removed = remove_all(client)
    return dict(result, containers=started, stopped_by=stopped_by, steps=steps,
                mem_total_mb=first["total_mb"], mem_available_mb=last["available_mb"],
                removed=removed, leftovers_removed=leftovers,
                settings={k: settings[k] for k in ("network", "log_driver", "init")})


def read_board(memory_stat_files: List[str], meminfo_text: Callable[[], str]) -> Dict[str, Any]:
    """What the board's memory is spent on now: every process's PSS summed
    by kind (/proc/<pid>/smaps_rollup; processes that end while read are
    skipped), the board cgroup's memory.stat (the first file that reads)
    and the memory used (MemTotal - MemAvailable), in KiB."""
    pss: Dict[str, int] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as handle:
                comm = handle.read().strip()
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as handle:
                kb = smaps_pss_kb(handle.read())
        except OSError:
            continue
        if kb is not None:
            kind = process_kind(comm)
            pss[kind] = pss.get(kind, 0) + kb
    stat: Dict[str, int] = {}
    for path in memory_stat_files:
        try:
            with open(path, encoding="ascii", errors="replace") as handle:
                stat = memory_stat(handle.read())
            break
        except OSError:
            continue
    info = meminfo(meminfo_text())
    used = _used(info)
    return {"pss_kb": pss, "memory_stat": stat, "used_kb": used * 1024 if used is not None else None}


def _used(info: Mapping[str, Optional[float]]) -> Optional[float]:
    if info["total_mb"] is None or info["available_mb"] is None:
        return None
    return round(info["total_mb"] - info["available_mb"], 1)
