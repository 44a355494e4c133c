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

import contextlib
import json
import os
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any, Callable, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.errors import OperationError
from ansible_collections.pirack.cluster.plugins.module_utils.image_index import Platform, normalize
from ansible_collections.pirack.cluster.plugins.module_utils.image_ref import parse_image

try:
    from docker.errors import APIError, ImageNotFound, NotFound
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ReadTimeout
except ImportError:  # pragma: no cover - docker_client reports the missing SDK
    APIError = ImageNotFound = NotFound = LookupError  # type: ignore[assignment,misc]
    RequestsConnectionError = ReadTimeout = TimeoutError  # type: ignore[assignment,misc]

MIB = 1024 * 1024

PRUNABLE = ("containers", "images", "networks", "volumes")


def short_id(value: Optional[str]) -> Optional[str]:
    """The 12-character id ``docker ps`` shows, without the ``sha256:`` prefix."""
    if not value:
        return value
    return value.split(":", 1)[-1][:12]


def iso_time(epoch: Any) -> Optional[str]:
    """Engine list answers carry Unix seconds; people and JSON want ISO 8601.

    Inspect answers already carry an ISO 8601 string, returned as it is.
    """
    if epoch is None or isinstance(epoch, str):
        return epoch
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).isoformat()


def full_reference(reference: str) -> str:
    """``reference`` with the ``latest`` tag the engine assumes when it names none.

    Comparing and tagging need the reference the engine files an image
    under; a digest already names one image, so it gets no tag.
    """
    ref = parse_image(reference)
    if ref.tag or ref.digest:
        return str(ref)
    return str(ref._replace(tag="latest"))


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
    """One ``docker images`` row from an engine image-list entry.

    An inspected image (``op=images`` with ``image``) also says which
    platform it is for (``linux/arm/v7``, ``linux/arm64/v8``: with the
    architecture's default variant, as an index names it): a base image of
    the wrong architecture is found before a build, not by its "exec format
    error".
    """
    tags = [t for t in raw.get("RepoTags") or [] if t != "<none>:<none>"]
    row = {
        "id": short_id(raw.get("Id")),
        "tags": tags,
        "digests": list(raw.get("RepoDigests") or []),
        "size_mb": round((raw.get("Size") or 0) / MIB, 1),
        "created": iso_time(raw.get("Created")),
    }
    if raw.get("Architecture"):
        row["platform"] = str(normalize(Platform(raw.get("Os") or "linux", raw["Architecture"], raw.get("Variant"))))
    return row


def repo_digests(image: dict, reference: str) -> list[str]:
    """The digests a registry gave this image under ``reference``'s repository.

    ``RepoDigests`` holds ``name@digest`` for every repository the image
    was pushed to or pulled from; only the reference's own name counts.
    """
    name = parse_image(reference).name
    found = []
    for entry in image.get("RepoDigests") or []:
        ref = parse_image(entry)
        if ref.name == name and ref.digest:
            found.append(ref.digest)
    return found


def follow_stream(events: Iterable[Any]) -> tuple[dict, list[str]]:
    """Read a build, push or load progress stream to its end.

    The engine reports a failed build or push inside an HTTP 200 stream, so
    the SDK raises nothing: the ``error`` entry has to be looked for. Returns
    the ``aux`` values (image id, pushed digest) and the text lines.
    """
    aux: dict = {}
    lines: list[str] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        if event.get("error"):
            detail = " ".join(str(event["error"]).split())
            raise OperationError(detail, stdout_lines=lines[-20:])
        if isinstance(event.get("aux"), dict):
            aux.update(event["aux"])
        text = event.get("stream") or event.get("status")
        if text:
            lines.extend(line for line in str(text).splitlines() if line.strip())
    return aux, lines


def archive_images(fileobj: IO[bytes]) -> list[dict]:
    """Image ids and tags in a ``docker save`` archive, from its manifest.json.

    Engines up to 24 name the config ``<hex>.json``, newer ones
    ``blobs/sha256/<hex>``; either way the hex is the image id. Raises
    ``ValueError`` when the file is no such archive.
    """
    try:
        with tarfile.open(fileobj=fileobj, mode="r:") as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                raise ValueError("manifest.json is not a file")
            manifest = json.load(member)
    except (tarfile.TarError, KeyError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not an image archive (docker save): {exc}") from exc
    if not isinstance(manifest, list):
        raise ValueError("not an image archive (docker save): manifest.json is not a list")
    images = []
    for entry in manifest:
        config = entry.get("Config") if isinstance(entry, dict) else None
        if not isinstance(config, str):
            raise ValueError("not an image archive (docker save): an entry has no Config")
        hexid = os.path.basename(config)
        hexid = hexid[:-len(".json")] if hexid.endswith(".json") else hexid
        images.append({"id": f"sha256:{hexid}", "tags": list(entry.get("RepoTags") or [])})
    return images


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


def op_ps(client: Any, params: dict, check_mode: bool) -> dict:
    """List containers; ``all`` includes stopped ones, as ``docker ps -a``."""
    raw = client.api.containers(all=params.get("all", False), filters=params.get("filters") or None)
    containers = sorted((shape_container(c) for c in raw), key=lambda c: c["name"] or "")
    return {"changed": False, "containers": containers}


def op_images(client: Any, params: dict, check_mode: bool) -> dict:
    """List images, tagged ones first, like ``docker images``.

    With ``image``, just that one, read by inspecting it (the engine's
    list filtered by reference leaves out the registry digests), and the
    digest its registry gave it under that name.
    """
    if params.get("image"):
        reference = full_reference(params["image"])
        try:
            raw = [client.api.inspect_image(reference)]
        except ImageNotFound:
            raw = []
        # The digest a registry gave it under this name: what a deploy pins to.
        digests = repo_digests(raw[0], reference) if raw else []
        return {"changed": False, "images": [shape_image(i) for i in raw], "digest": digests[0] if digests else None}
    raw = client.api.images(all=params.get("all", False), filters=params.get("filters") or None)
    images = sorted((shape_image(i) for i in raw), key=lambda i: (not i["tags"], i["tags"], i["id"]))
    return {"changed": False, "images": images}


def op_info(client: Any, params: dict, check_mode: bool) -> dict:
    """Engine facts, shaped."""
    return {"changed": False, "engine": shape_engine_info(client.info())}


def op_logs(client: Any, params: dict, check_mode: bool) -> dict:
    """The last ``tail`` lines of a container's output."""
    container = _find_container(client, params["name"])
    if container is None:
        raise OperationError(f"no container named {params['name']}")
    tail = params.get("tail")
    if tail == 0:
        # Some engines read tail=0 as "no limit"; none of the lines is none.
        return {"changed": False, "container": params["name"], "lines": []}
    text = decode(container.logs(stdout=True, stderr=True, tail="all" if tail is None else tail))
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


def registry_auth(params: dict) -> Optional[dict]:
    """The SDK's ``auth_config`` when the task gave registry credentials."""
    if params.get("username"):
        return {"username": params["username"], "password": params.get("password") or ""}
    return None


def _pull(client: Any, reference: str, params: dict) -> str:
    """Pull ``reference`` (a full reference) with the task's credentials; the image id after."""
    ref = parse_image(reference)
    platform = {"platform": params["platform"]} if params.get("platform") else {}
    client.api.pull(ref.name, tag=ref.digest or ref.tag, auth_config=registry_auth(params), **platform)
    after = _image_id(client, reference)
    if after is None:
        raise OperationError(f"op={params['op']}: the engine reported no error, yet has no image {reference}")
    return after


def op_pull(client: Any, params: dict, check_mode: bool) -> dict:
    """Pull an image; changed only when the local image id moved."""
    reference = full_reference(params["image"])
    before = _image_id(client, reference)
    if check_mode:
        return {"changed": before is None, "image": reference, "id": short_id(before)}
    after = _pull(client, reference, params)
    return {"changed": after != before, "image": reference, "id": short_id(after),
            "diff": {"before": {"id": before}, "after": {"id": after}}}


def op_run(client: Any, params: dict, check_mode: bool) -> dict:
    """Run a container: to completion (output and exit code) or detached.

    Created, started, waited for and removed in separate calls rather than
    through ``containers.run`` so a failing command still reports its exit
    code and output instead of an SDK exception. With a ``name`` that already
    exists nothing is created: rerunning a playbook must not pile up copies.
    The image is pulled first as ``pull`` says: when missing (as ``docker
    run`` does), always, or never.
    """
    name = params.get("name")
    if name:
        existing = _find_container(client, name)
        if existing is not None:
            found = {"name": name, "id": short_id(existing.id), "state": existing.status}
            return {"changed": False, "container": found}
    reference = full_reference(params["image"])
    policy = params.get("pull") or "missing"
    missing = _image_id(client, reference) is None
    if missing and policy == "never":
        raise OperationError(f"image: {reference} is not on this engine and pull=never")
    pulled = policy == "always" or missing
    if check_mode:
        return {"changed": True, "pulled": pulled, "container": {"name": name, "image": params["image"]}}
    if pulled:
        _pull(client, reference, params)
    kwargs: dict[str, Any] = {"command": params.get("command"), "name": name,
                              "environment": params.get("env") or None, "detach": True}
    if params.get("network"):
        kwargs["network_mode"] = params["network"]
    container = client.containers.create(params["image"], **kwargs)
    container.start()
    if params.get("detach"):
        container.reload()
        return {"changed": True, "pulled": pulled,
                "container": {"name": container.name, "id": short_id(container.id), "state": container.status}}
    cleanup = params.get("cleanup", True)
    timeout = params.get("wait_timeout")
    try:
        status = container.wait(timeout=timeout)
    except (ReadTimeout, RequestsConnectionError) as exc:
        # The SDK reports a wait that outlasts its timeout as a requests
        # error (ConnectionError on the unix socket). A foreground run nobody
        # waits for any more is killed, so it does not run on unobserved.
        output = decode(container.logs(stdout=True, stderr=True))
        with contextlib.suppress(APIError):  # it may have exited meanwhile
            if cleanup:
                container.remove(force=True)
            else:
                container.kill()
        what = "killed and removed" if cleanup else "killed"
        raise OperationError(f"op=run: the container did not exit within wait_timeout={timeout} s; it was {what}",
                             stdout=output, stdout_lines=output.splitlines(),
                             container={"name": container.name, "id": short_id(container.id),
                                        "state": "absent" if cleanup else "exited"}) from exc
    try:
        output = decode(container.logs(stdout=True, stderr=True))
    finally:
        if cleanup:
            container.remove(force=True)
    rc = status.get("StatusCode", -1)
    result = {"changed": True, "pulled": pulled, "rc": rc, "stdout": output, "stdout_lines": output.splitlines(),
              "container": {"name": container.name, "id": short_id(container.id),
                            "state": "absent" if cleanup else "exited"}}
    if rc != 0:
        raise OperationError(f"container exited with {rc}", **result)
    return result


def op_stop(client: Any, params: dict, check_mode: bool) -> dict:
    """Stop a container; already stopped (or absent, with ``missing_ok``) is no change."""
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


def rootfs_tar(path: str, fileobj: IO[bytes]) -> None:
    """Write a tar of a directory tree, paths relative to it (an image rootfs), to ``fileobj``."""
    with tarfile.open(fileobj=fileobj, mode="w") as tar:
        for entry in sorted(os.listdir(path)):
            tar.add(os.path.join(path, entry), arcname=entry)


def op_import(client: Any, params: dict, check_mode: bool) -> dict:
    """Make an image from a rootfs directory or tarball, as ``docker import``.

    For hosts that cannot pull (offline racks, CI): nothing happens when the
    image already exists, so a role can call this on every run. The archive
    is streamed to the engine from a file, never held in memory: a rootfs
    can be as large as the Pi's RAM.
    """
    reference = full_reference(params["image"])
    ref = parse_image(reference)
    existing = _image_id(client, reference)
    if existing is not None:
        return {"changed": False, "image": reference, "id": short_id(existing)}
    if check_mode:
        return {"changed": True, "image": reference, "id": None}
    src = params["src"]
    if not os.path.exists(src):
        raise OperationError(f"src {src} does not exist")
    changes = params.get("changes") or None
    if os.path.isdir(src):
        with tempfile.TemporaryFile() as data:
            rootfs_tar(src, data)
            data.seek(0)
            client.api.import_image_from_data(data, repository=ref.name, tag=ref.tag, changes=changes)
    else:
        with open(src, "rb") as data:
            client.api.import_image_from_data(data, repository=ref.name, tag=ref.tag, changes=changes)
    after = _image_id(client, reference)
    return {"changed": True, "image": reference, "id": short_id(after),
            "diff": {"before": {"id": None}, "after": {"id": after}}}


def op_build(client: Any, params: dict, check_mode: bool) -> dict:
    """Build an image from a context folder, as ``docker build``; changed when its id moved.

    The layer cache makes an unchanged build a second's work that ends in
    the same id, so a role can build on every run and report no change.
    Check mode cannot know what a build would give without building: it
    reports a change only when the image does not exist yet.

    With ``platform``, the image must come out for that platform. An image
    is for its base image's platform, and Debian's engine (20.10) does not
    hold a base of another one against the build: it is checked here, so an
    ARM board is never handed an amd64 image under an armhf name.
    """
    reference = full_reference(params["image"])
    if parse_image(reference).digest:
        raise OperationError(f"image: {reference} is pinned by digest; a build needs a tag")
    before = _image_id(client, reference)
    if check_mode:
        return {"changed": before is None, "image": reference, "id": short_id(before)}
    if not os.path.isdir(params["src"]):
        raise OperationError(f"src: {params['src']} is not a folder (the build context)")
    events = client.api.build(path=params["src"], dockerfile=params.get("dockerfile"), tag=reference,
                              buildargs=params.get("build_args") or None, network_mode=params.get("network"),
                              **({"platform": params["platform"]} if params.get("platform") else {}),
                              rm=True, forcerm=True, decode=True)
    aux, lines = follow_stream(events)
    after = aux.get("ID") or _image_id(client, reference)
    if params.get("platform"):
        made = shape_image(client.api.inspect_image(after)).get("platform")
        if made != params["platform"]:
            raise OperationError(f"platform: the build of {reference} gave an image for {made}, not for "
                                 f"{params['platform']}: its base image (FROM) is for {made}")
    return {"changed": after != before, "image": reference, "id": short_id(after), "stdout_lines": lines,
            "diff": {"before": {"id": before}, "after": {"id": after}}}


def op_tag(client: Any, params: dict, check_mode: bool) -> dict:
    """Give an image another name, as ``docker tag``; no change when it already has it."""
    source = full_reference(params["image"])
    target = full_reference(params["target"])
    ref = parse_image(target)
    if ref.digest:
        raise OperationError(f"target: {target} has a digest; a tag is a name, not a digest")
    source_id = _image_id(client, source)
    before = _image_id(client, target)
    result = {"image": source, "target": target, "id": short_id(source_id)}
    if source_id is not None and before == source_id:
        return dict(result, changed=False)
    if check_mode:
        return dict(result, changed=True)
    if source_id is None:
        raise OperationError(f"op=tag: no image {source} to tag")
    client.api.tag(source_id, ref.name, tag=ref.tag)
    return dict(result, changed=True, diff={"before": {"id": before}, "after": {"id": source_id}})


def _registry_digest(client: Any, reference: str, auth: Optional[dict]) -> Optional[str]:
    """The digest the registry serves for ``reference``, through the engine.

    The engine asks the registry with its own TLS trust (certs.d) and
    credentials, so the answer is the one a push or pull would see. Any
    refusal (tag unknown, registry empty or unreachable) reads as "not
    there": the push that follows reports the real error if there is one.
    """
    try:
        answer = client.api.inspect_distribution(reference, auth_config=auth)
    except APIError:
        return None
    return (answer.get("Descriptor") or {}).get("digest")


def op_push(client: Any, params: dict, check_mode: bool) -> dict:
    """Push an image unless the registry already serves it under that tag.

    The registry "has" the image when the digest it serves for the tag is
    one the image got from that repository (``RepoDigests``); a rebuilt
    image has none yet, so it is pushed. Returns the digest either way.
    """
    reference = full_reference(params["image"])
    ref = parse_image(reference)
    if ref.digest:
        raise OperationError(f"image: {reference} is pinned by digest; push a tag")
    auth = registry_auth(params)
    try:
        local = client.api.inspect_image(reference)
    except ImageNotFound:
        if check_mode:
            return {"changed": True, "image": reference, "digest": None}
        raise OperationError(f"op=push: no image {reference} to push") from None
    served = _registry_digest(client, reference, auth)
    result = {"image": reference, "id": short_id(local["Id"])}
    if served and served in repo_digests(local, reference):
        return dict(result, changed=False, digest=served)
    if check_mode:
        return dict(result, changed=True, digest=None)
    aux, _ = follow_stream(client.api.push(ref.name, tag=ref.tag, stream=True, decode=True, auth_config=auth))
    digest = aux.get("Digest")
    return dict(result, changed=True, digest=digest, diff={"before": {"digest": served}, "after": {"digest": digest}})


def save_stream(client: Any, references: list[str]) -> Iterable[bytes]:
    """The engine's ``docker save`` stream of one or several images.

    Several go in one request (``GET /images/get?names=...``), so the
    layers they share are written once; the SDK names only one image per
    call, so that request is made through its own HTTP session.
    """
    if len(references) == 1:
        return client.api.get_image(references[0])
    answer = client.api._get(client.api._url("/images/get"), params={"names": references}, stream=True)
    return client.api._stream_raw_result(answer, 2 * MIB, False)


def op_save(client: Any, params: dict, check_mode: bool) -> dict:
    """Write one image (``image``) or several (``images``) to a tar file, as
    ``docker save``; no change when the file holds each of them under its name.

    The file is written beside ``dest`` and renamed over it, so an
    interrupted save never leaves a truncated archive that looks current.
    """
    if not params.get("image") and not params.get("images"):
        raise OperationError("image: op=save needs it (or images)")
    references = [full_reference(r) for r in params.get("images") or [params["image"]]]
    dest = params["dest"]
    ids = [_image_id(client, reference) for reference in references]
    held: list[dict] = []
    if os.path.isfile(dest):
        # An unreadable old archive is one to overwrite, not an error.
        with open(dest, "rb") as existing, contextlib.suppress(ValueError):
            held = archive_images(existing)
    pairs = {(entry["id"], full_reference(tag)) for entry in held for tag in entry["tags"]}
    if params.get("images"):
        result = {"saved": references, "ids": [short_id(i) for i in ids], "dest": dest}
    else:
        result = {"image": references[0], "id": short_id(ids[0]), "dest": dest}
    if all(image_id is not None and (image_id, ref) in pairs for image_id, ref in zip(ids, references)):
        return dict(result, changed=False)
    if check_mode:
        return dict(result, changed=True)
    for image_id, reference in zip(ids, references):
        if image_id is None:
            raise OperationError(f"op=save: no image {reference} to save")
    partial = f"{dest}.part"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in save_stream(client, references):
                out.write(chunk)
        os.replace(partial, dest)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    before = [entry["id"] for entry in held] if params.get("images") else (held[0]["id"] if held else None)
    after = ids if params.get("images") else ids[0]
    return dict(result, changed=True, diff={"before": {"id": before}, "after": {"id": after}})


def op_load(client: Any, params: dict, check_mode: bool) -> dict:
    """Load the images of a ``docker save`` archive; no change when the engine has them.

    Every image of the archive counts as present when its id is known and
    each of its tags already names that id. The archive is streamed from
    the file to the engine.
    """
    src = params["src"]
    if not os.path.isfile(src):
        raise OperationError(f"src: {src} is not a file")
    with open(src, "rb") as archive:
        try:
            images = archive_images(archive)
        except ValueError as exc:
            raise OperationError(f"src: {src} is {exc}") from None
    tags = [tag for entry in images for tag in entry["tags"]]
    missing = [entry for entry in images
               if _image_id(client, entry["id"]) != entry["id"]
               or any(_image_id(client, tag) != entry["id"] for tag in entry["tags"])]
    result = {"loaded": tags, "ids": [short_id(entry["id"]) for entry in images]}
    if not missing:
        return dict(result, changed=False)
    if check_mode:
        return dict(result, changed=True)
    with open(src, "rb") as archive:
        follow_stream(client.api.load_image(archive))
    return dict(result, changed=True)


@dataclass(frozen=True)
class Operation:
    """One operation of docker_op: what runs it and which options it reads.

    ``needs`` are the options it cannot do without, ``takes`` the ones it
    reads besides; any other option set away from its default is refused
    before the engine is asked anything (``check_options``). ``reads_only``
    operations never report a change. docker_op's DOCUMENTATION names, for
    each option, exactly the operations this table gives it (a unit test
    holds the two together).
    """

    run: Callable[[Any, dict, bool], dict]
    needs: tuple[str, ...] = ()
    takes: tuple[str, ...] = ()
    reads_only: bool = False

    @property
    def options(self) -> tuple[str, ...]:
        return self.needs + self.takes


CREDENTIALS = ("username", "password")
OPERATIONS = {
    "ps": Operation(op_ps, takes=("all", "filters"), reads_only=True),
    "images": Operation(op_images, takes=("image", "all", "filters"), reads_only=True),
    "info": Operation(op_info, reads_only=True),
    "logs": Operation(op_logs, needs=("name",), takes=("tail",), reads_only=True),
    "stats": Operation(op_stats, takes=("name",), reads_only=True),
    "pull": Operation(op_pull, needs=("image",), takes=("platform", *CREDENTIALS)),
    "run": Operation(op_run, needs=("image",), takes=("name", "command", "env", "network", "detach", "cleanup",
                                                      "wait_timeout", "pull", *CREDENTIALS)),
    "stop": Operation(op_stop, needs=("name",), takes=("stop_timeout", "missing_ok")),
    "rm": Operation(op_rm, needs=("name",), takes=("force",)),
    "exec": Operation(op_exec, needs=("name", "command"), takes=("env",)),
    "prune": Operation(op_prune, takes=("prune",)),
    "import": Operation(op_import, needs=("image", "src"), takes=("changes",)),
    "build": Operation(op_build, needs=("image", "src"), takes=("dockerfile", "build_args", "network", "platform")),
    "tag": Operation(op_tag, needs=("image", "target")),
    "push": Operation(op_push, needs=("image",), takes=CREDENTIALS),
    "save": Operation(op_save, needs=("dest",), takes=("image", "images")),
    "load": Operation(op_load, needs=("src",)),
}
OPS = tuple(OPERATIONS)
# What an entry of docker_op's ``each`` may set over the task's: the things
# an operation acts on, which differ from one item to the next.
ENTRY_OPTIONS = ("name", "image", "target", "command", "env", "src", "dest", "dockerfile", "build_args",
                 "platform")


def check_options(params: dict, defaults: dict[str, Any], where: str = "") -> None:
    """Refuse, naming the option, what ``params['op']`` cannot do without and
    what it does not read (an option set away from its default in ``defaults``)."""
    op = params["op"]
    operation = OPERATIONS[op]
    for option in operation.needs:
        if params.get(option) is None:
            raise OperationError(f"{where}{option}: op={op} needs it")
    for option, default in defaults.items():
        if option not in operation.options and params.get(option) is not None and params.get(option) != default:
            users = [name for name, other in OPERATIONS.items() if option in other.options]
            raise OperationError(f"{where}{option}: op={op} does not take it (it is for op={', '.join(users)})")


def run_operation(client: Any, params: dict, check_mode: bool) -> dict:
    """Run ``params['op']``; every result names the op it answers. What it
    needs is checked here too, for callers other than the module."""
    check_options(params, {})
    result = OPERATIONS[params["op"]].run(client, params, check_mode)
    result["op"] = params["op"]
    return result
