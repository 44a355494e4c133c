# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The everyday Docker operations, and the shapes their answers take.

The shaping functions are pure (engine JSON in, plain dicts out) so the same
fields come back whatever SDK version a host has (python3-docker 5.0.3 on a
Pi, 7.x on a laptop) and so they can be tested on recorded engine answers.
The operation functions take a connected client and are the only I/O here;
the docker_op and docker_host_info modules stay thin wrappers around them.
"""

from __future__ import annotations

import io
import os
import tarfile
from datetime import datetime, timezone
from typing import Any, Optional

try:
    from docker.errors import ImageNotFound, NotFound
except ImportError:  # pragma: no cover - docker_client reports the missing SDK
    ImageNotFound = NotFound = LookupError  # type: ignore[assignment,misc]

MIB = 1024 * 1024

PRUNABLE = ("containers", "images", "networks", "volumes")


class OperationError(Exception):
    """An operation could not do what was asked; ``details`` go into the result."""

    def __init__(self, msg: str, **details: Any) -> None:
        super().__init__(msg)
        self.details = details


def short_id(value: Optional[str]) -> Optional[str]:
    """The 12-character id ``docker ps`` shows, without the ``sha256:`` prefix."""
    if not value:
        return value
    return value.split(":", 1)[-1][:12]


def iso_time(epoch: Optional[int]) -> Optional[str]:
    """Engine list answers carry Unix seconds; people and JSON want ISO 8601."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).isoformat()


def split_image(reference: str) -> tuple[str, str]:
    """Split ``repo[:tag]`` into repo and tag (default ``latest``).

    A colon after the last slash is a tag; one before it is a registry port
    (``registry.local:5000/coin/worker``), which a plain split would break.
    Digests (``@sha256:...``) are kept on the repository side.
    """
    if "@" in reference:
        return reference, ""
    name, sep, tag = reference.rpartition(":")
    if sep and "/" not in tag:
        return name, tag
    return reference, "latest"


def shape_container(raw: dict) -> dict:
    """One ``docker ps`` row from an engine container-list entry."""
    names = raw.get("Names") or []
    return {
        "id": short_id(raw.get("Id")),
        "name": names[0].lstrip("/") if names else None,
        "image": raw.get("Image"),
        "command": raw.get("Command"),
        "state": raw.get("State"),
        "status": raw.get("Status"),
        "created": iso_time(raw.get("Created")),
        "ports": [
            {k: p[k] for k in ("IP", "PrivatePort", "PublicPort", "Type") if k in p}
            for p in raw.get("Ports") or []
        ],
    }


def shape_image(raw: dict) -> dict:
    """One ``docker images`` row from an engine image-list entry."""
    tags = [t for t in raw.get("RepoTags") or [] if t != "<none>:<none>"]
    return {
        "id": short_id(raw.get("Id")),
        "tags": tags,
        "size_mb": round((raw.get("Size") or 0) / MIB, 1),
        "created": iso_time(raw.get("Created")),
    }


def shape_stats(name: str, raw: dict) -> dict:
    """CPU and memory use the way ``docker stats`` computes them.

    CPU percent is the container's share of the host's CPU time between the
    two samples the engine returns, scaled by the number of CPUs. Memory
    subtracts the page cache (cgroup v1 ``cache``, v2 ``inactive_file``),
    otherwise a 1 GB Pi looks full as soon as a container reads a file.
    """
    cpu = raw.get("cpu_stats") or {}
    pre = raw.get("precpu_stats") or {}
    cpu_delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - \
        (pre.get("cpu_usage") or {}).get("total_usage", 0)
    system_delta = (cpu.get("system_cpu_usage") or 0) - (pre.get("system_cpu_usage") or 0)
    ncpu = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
    cpu_percent = 0.0
    if cpu_delta > 0 and system_delta > 0:
        cpu_percent = round(cpu_delta / system_delta * ncpu * 100.0, 2)

    mem = raw.get("memory_stats") or {}
    detail = mem.get("stats") or {}
    cache = detail.get("total_inactive_file", detail.get("inactive_file", detail.get("cache", 0)))
    usage = max((mem.get("usage") or 0) - (cache or 0), 0)
    limit = mem.get("limit") or 0
    return {
        "name": name,
        "cpu_percent": cpu_percent,
        "memory_mb": round(usage / MIB, 1),
        "memory_limit_mb": round(limit / MIB, 1),
        "memory_percent": round(usage / limit * 100.0, 2) if limit else 0.0,
        "pids": (raw.get("pids_stats") or {}).get("current"),
    }


def shape_engine_info(info: dict) -> dict:
    """The parts of ``docker info`` that matter on a rack of small boards."""
    registry = info.get("RegistryConfig") or {}
    return {
        "version": info.get("ServerVersion"),
        "storage_driver": info.get("Driver"),
        "logging_driver": info.get("LoggingDriver"),
        # Engines before API 1.41 predate cgroup v2 support and do not say.
        "cgroup_version": str(info.get("CgroupVersion") or "1"),
        "cgroup_driver": info.get("CgroupDriver"),
        "memory_limit_support": bool(info.get("MemoryLimit")),
        "swap_limit_support": bool(info.get("SwapLimit")),
        "live_restore": bool(info.get("LiveRestoreEnabled")),
        "architecture": info.get("Architecture"),
        "os": info.get("OperatingSystem"),
        "kernel": info.get("KernelVersion"),
        "cpus": info.get("NCPU"),
        "mem_total_mb": round((info.get("MemTotal") or 0) / MIB),
        "containers": info.get("Containers"),
        "containers_running": info.get("ContainersRunning"),
        "images": info.get("Images"),
        "registry_mirrors": list(registry.get("Mirrors") or []),
        "swarm_state": (info.get("Swarm") or {}).get("LocalNodeState"),
        "warnings": list(info.get("Warnings") or []),
    }


def decode(data: Any) -> str:
    """Engine output is bytes in any encoding a program chose; never crash on it."""
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""


def _find_container(client: Any, name: str) -> Optional[Any]:
    try:
        return client.containers.get(name)
    except NotFound:
        return None


def _image_id(client: Any, reference: str) -> Optional[str]:
    try:
        return client.api.inspect_image(reference)["Id"]
    except ImageNotFound:
        return None


def _require(params: dict, *names: str) -> None:
    """Fail with the option names when an operation lacks what it needs.

    The module's ``required_if`` already does this for Ansible users; this
    keeps the service usable (and its message the same) when called directly.
    """
    missing = [n for n in names if not params.get(n)]
    if missing:
        raise OperationError(f"op={params['op']} needs: {', '.join(missing)}")


def op_ps(client: Any, params: dict, check_mode: bool) -> dict:
    """List containers; ``all`` includes stopped ones, as ``docker ps -a``."""
    raw = client.api.containers(all=params.get("all", False), filters=params.get("filters") or None)
    containers = sorted((shape_container(c) for c in raw), key=lambda c: c["name"] or "")
    return {"changed": False, "containers": containers}


def op_images(client: Any, params: dict, check_mode: bool) -> dict:
    """List images, tagged ones first, like ``docker images``."""
    raw = client.api.images(all=params.get("all", False), filters=params.get("filters") or None)
    images = sorted((shape_image(i) for i in raw), key=lambda i: (not i["tags"], i["tags"], i["id"]))
    return {"changed": False, "images": images}


def op_info(client: Any, params: dict, check_mode: bool) -> dict:
    """Engine facts, shaped."""
    return {"changed": False, "engine": shape_engine_info(client.info())}


def op_logs(client: Any, params: dict, check_mode: bool) -> dict:
    """The last ``tail`` lines of a container's output."""
    _require(params, "name")
    container = _find_container(client, params["name"])
    if container is None:
        raise OperationError(f"no container named {params['name']}")
    text = decode(container.logs(stdout=True, stderr=True, tail=params.get("tail") or "all"))
    return {"changed": False, "container": params["name"], "lines": text.splitlines()}


def op_stats(client: Any, params: dict, check_mode: bool) -> dict:
    """One CPU/memory sample per running container (or the one named)."""
    if params.get("name"):
        container = _find_container(client, params["name"])
        if container is None:
            raise OperationError(f"no container named {params['name']}")
        targets = [container]
    else:
        targets = client.containers.list()
    stats = [shape_stats(c.name, c.stats(stream=False)) for c in targets]
    return {"changed": False, "stats": sorted(stats, key=lambda s: s["name"])}


def op_pull(client: Any, params: dict, check_mode: bool) -> dict:
    """Pull an image; changed only when the local image id moved."""
    _require(params, "image")
    repo, tag = split_image(params["image"])
    reference = f"{repo}:{tag}" if tag else repo
    before = _image_id(client, reference)
    if check_mode:
        return {"changed": before is None, "image": reference, "id": short_id(before)}
    client.api.pull(repo, tag=tag or None)
    after = _image_id(client, reference)
    return {"changed": after != before, "image": reference, "id": short_id(after),
            "diff": {"before": {"id": before}, "after": {"id": after}}}


def op_run(client: Any, params: dict, check_mode: bool) -> dict:
    """Run a container: to completion (output and exit code) or detached.

    Created, started, waited for and removed in separate calls rather than
    through ``containers.run`` so a failing command still reports its exit
    code and output instead of an SDK exception. With a ``name`` that already
    exists nothing is created: rerunning a playbook must not pile up copies.
    """
    _require(params, "image")
    name = params.get("name")
    if name:
        existing = _find_container(client, name)
        if existing is not None:
            found = {"name": name, "id": short_id(existing.id), "state": existing.status}
            return {"changed": False, "container": found}
    if check_mode:
        return {"changed": True, "container": {"name": name, "image": params["image"]}}
    kwargs: dict[str, Any] = {"command": params.get("command"), "name": name,
                              "environment": params.get("env") or None, "detach": True}
    if params.get("network"):
        kwargs["network_mode"] = params["network"]
    container = client.containers.create(params["image"], **kwargs)
    container.start()
    if params.get("detach"):
        container.reload()
        return {"changed": True, "container": {"name": container.name, "id": short_id(container.id),
                                               "state": container.status}}
    try:
        status = container.wait(timeout=params.get("wait_timeout") or None)
        output = decode(container.logs(stdout=True, stderr=True))
    finally:
        if params.get("cleanup", True):
            container.remove(force=True)
    rc = status.get("StatusCode", -1)
    result = {"changed": True, "rc": rc, "stdout": output, "stdout_lines": output.splitlines(),
              "container": {"name": container.name, "id": short_id(container.id), "state": "exited"}}
    if rc != 0:
        raise OperationError(f"container exited with {rc}", **result)
    return result


def op_stop(client: Any, params: dict, check_mode: bool) -> dict:
    """Stop a container; already stopped (or absent, with ``missing_ok``) is no change."""
    _require(params, "name")
    container = _find_container(client, params["name"])
    if container is None:
        if params.get("missing_ok"):
            return {"changed": False, "container": {"name": params["name"], "state": "absent"}}
        raise OperationError(f"no container named {params['name']}")
    before = container.status
    if before != "running":
        return {"changed": False, "container": {"name": params["name"], "state": before}}
    if not check_mode:
        container.stop(timeout=params.get("stop_timeout", 10))
        container.reload()
    after = "exited" if check_mode else container.status
    return {"changed": True, "container": {"name": params["name"], "state": after},
            "diff": {"before": {"state": before}, "after": {"state": after}}}


def op_rm(client: Any, params: dict, check_mode: bool) -> dict:
    """Remove a container; ``force`` also removes a running one, as ``docker rm -f``."""
    _require(params, "name")
    container = _find_container(client, params["name"])
    if container is None:
        return {"changed": False, "container": {"name": params["name"], "state": "absent"}}
    before = container.status
    if before == "running" and not params.get("force"):
        raise OperationError(f"container {params['name']} is running; stop it first or set force=true")
    if not check_mode:
        container.remove(force=bool(params.get("force")))
    return {"changed": True, "container": {"name": params["name"], "state": "absent"},
            "diff": {"before": {"state": before}, "after": {"state": "absent"}}}


def op_exec(client: Any, params: dict, check_mode: bool) -> dict:
    """Run a command inside a running container; a non-zero exit fails."""
    _require(params, "name", "command")
    container = _find_container(client, params["name"])
    if container is None or container.status != "running":
        raise OperationError(f"no running container named {params['name']}")
    if check_mode:
        return {"changed": True, "container": params["name"]}
    rc, output = container.exec_run(params["command"], environment=params.get("env") or None)
    text = decode(output)
    result = {"changed": True, "rc": rc, "stdout": text, "stdout_lines": text.splitlines(),
              "container": params["name"]}
    if rc != 0:
        raise OperationError(f"command exited with {rc}", **result)
    return result


def prune_candidates(client: Any, what: list[str]) -> dict[str, list[str]]:
    """What a prune would delete, so check mode can tell without deleting.

    Mirrors the engine's rules: stopped containers, dangling images, volumes
    no container uses, user networks without endpoints.
    """
    found: dict[str, list[str]] = {}
    if "containers" in what:
        found["containers"] = [short_id(c["Id"]) for c in client.api.containers(all=True)
                               if c.get("State") in ("exited", "created", "dead")]
    if "images" in what:
        found["images"] = [short_id(i["Id"]) for i in client.api.images(filters={"dangling": True})]
    if "volumes" in what:
        found["volumes"] = [v["Name"] for v in
                            (client.api.volumes(filters={"dangling": True}).get("Volumes") or [])]
    if "networks" in what:
        found["networks"] = [n["Name"] for n in client.api.networks()
                             if n["Name"] not in ("bridge", "host", "none") and not n.get("Containers")
                             and n.get("Scope") == "local"]
    return found


def op_prune(client: Any, params: dict, check_mode: bool) -> dict:
    """Delete what nothing uses, as ``docker <kind> prune``; report what went."""
    what = params.get("prune") or ["containers", "images"]
    candidates = prune_candidates(client, what)
    if check_mode:
        return {"changed": any(candidates.values()), "deleted": candidates, "reclaimed_mb": None}
    deleted: dict[str, list[str]] = {}
    reclaimed = 0
    calls = {"containers": (client.api.prune_containers, "ContainersDeleted"),
             "images": (client.api.prune_images, "ImagesDeleted"),
             "volumes": (client.api.prune_volumes, "VolumesDeleted"),
             "networks": (client.api.prune_networks, "NetworksDeleted")}
    for kind in what:
        call, key = calls[kind]
        answer = call()
        items = answer.get(key) or []
        if kind == "images":
            items = [short_id(i.get("Deleted") or i.get("Untagged")) for i in items]
        elif kind == "containers":
            items = [short_id(i) for i in items]
        deleted[kind] = items
        reclaimed += answer.get("SpaceReclaimed") or 0
    return {"changed": any(deleted.values()), "deleted": deleted, "reclaimed_mb": round(reclaimed / MIB, 1)}


def rootfs_tar(path: str) -> bytes:
    """A tar of a directory tree with paths relative to it: an image rootfs.

    Built in memory because the images this is for (a busybox with one
    binary) are a megabyte or two, and it spares the host a temp file.
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for entry in sorted(os.listdir(path)):
            tar.add(os.path.join(path, entry), arcname=entry)
    return buf.getvalue()


def op_import(client: Any, params: dict, check_mode: bool) -> dict:
    """Make an image from a rootfs directory or tarball, as ``docker import``.

    For hosts that cannot pull (offline racks, CI): nothing happens when the
    image already exists, so a role can call this on every run.
    """
    _require(params, "image", "src")
    repo, tag = split_image(params["image"])
    reference = f"{repo}:{tag}"
    existing = _image_id(client, reference)
    if existing is not None:
        return {"changed": False, "image": reference, "id": short_id(existing)}
    if check_mode:
        return {"changed": True, "image": reference, "id": None}
    src = params["src"]
    if not os.path.exists(src):
        raise OperationError(f"src {src} does not exist")
    if os.path.isdir(src):
        data = rootfs_tar(src)
    else:
        with open(src, "rb") as tarball:
            data = tarball.read()
    client.api.import_image_from_data(data, repository=repo, tag=tag, changes=params.get("changes") or None)
    after = _image_id(client, reference)
    return {"changed": True, "image": reference, "id": short_id(after),
            "diff": {"before": {"id": None}, "after": {"id": after}}}


OPERATIONS = {
    "ps": op_ps, "images": op_images, "info": op_info, "logs": op_logs, "stats": op_stats,
    "pull": op_pull, "run": op_run, "stop": op_stop, "rm": op_rm, "exec": op_exec,
    "prune": op_prune, "import": op_import,
}


OPS = tuple(OPERATIONS)


def run_operation(client: Any, params: dict, check_mode: bool) -> dict:
    """Dispatch ``params['op']``; every result names the op it answers."""
    result = OPERATIONS[params["op"]](client, params, check_mode)
    result["op"] = params["op"]
    return result
