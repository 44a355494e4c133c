"""Shaping of engine answers (recorded JSON) and the image-reference rules."""

from __future__ import annotations

import io
import json
import os
import tarfile

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils import docker_ops, errors

# Trimmed from GET /containers/json on a 20.10 engine.
CONTAINER = {
    "Id": "3f2a9c1b0d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4",
    "Names": ["/worker"],
    "Image": "dockercoins/worker:v1",
    "Command": "python worker.py",
    "Created": 1714557600,
    "State": "running",
    "Status": "Up 3 minutes",
    "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8000, "Type": "tcp"}],
    "Labels": {},
}

# GET /containers/{id}/stats?stream=false on cgroup v1 (has "cache").
STATS_V1 = {
    "cpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000, "percpu_usage": [1, 1, 1, 1]},
                  "system_cpu_usage": 20_000_000_000},
    "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000_000}, "system_cpu_usage": 12_000_000_000},
    "memory_stats": {"usage": 60 * 1024 * 1024, "limit": 1000 * 1024 * 1024,
                     "stats": {"cache": 10 * 1024 * 1024}},
    "pids_stats": {"current": 3},
}

# The same on cgroup v2: online_cpus given, page cache as inactive_file.
STATS_V2 = {
    "cpu_stats": {"cpu_usage": {"total_usage": 500}, "system_cpu_usage": 1500, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 500},
    "memory_stats": {"usage": 30 * 1024 * 1024, "limit": 0, "stats": {"inactive_file": 40 * 1024 * 1024}},
}


def test_shape_container_is_a_ps_row() -> None:
    row = docker_ops.shape_container(CONTAINER)
    assert row["id"] == "3f2a9c1b0d4e"
    assert row["name"] == "worker"
    assert row["state"] == "running"
    assert row["created"] == "2024-05-01T10:00:00+00:00"
    assert row["ports"] == [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8000, "Type": "tcp"}]


def test_shape_container_without_names_or_ports() -> None:
    row = docker_ops.shape_container({"Id": "abc", "State": "created"})
    assert row["name"] is None
    assert row["ports"] == []


def test_shape_image_hides_untagged_marker() -> None:
    row = docker_ops.shape_image({"Id": "sha256:" + "ab" * 32, "RepoTags": ["<none>:<none>"],
                                  "Size": 3 * 1024 * 1024, "Created": 0})
    assert row == {"id": "abababababab", "tags": [], "digests": [], "size_mb": 3.0,
                   "created": "1970-01-01T00:00:00+00:00"}


def test_an_inspected_image_says_its_platform() -> None:
    # Trimmed from GET /images/{name}/json of an image built for a 32-bit Pi.
    raw = {"Id": "sha256:" + "cd" * 32, "RepoTags": ["arm32v7/debian:bookworm"], "Size": 0, "Created": 0,
           "Os": "linux", "Architecture": "arm", "Variant": "v7"}
    assert docker_ops.shape_image(raw)["platform"] == "linux/arm/v7"
    assert docker_ops.shape_image(dict(raw, Architecture="amd64", Variant=None))["platform"] == "linux/amd64"
    # An arm64 config rarely says v8; an arm one without a variant is v7, as Docker reads them.
    assert docker_ops.shape_image(dict(raw, Architecture="arm64", Variant=None))["platform"] == "linux/arm64/v8"
    assert docker_ops.shape_image(dict(raw, Variant=None))["platform"] == "linux/arm/v7"


def test_stats_cgroup_v1_uses_percpu_count_and_subtracts_cache() -> None:
    row = docker_ops.shape_stats("worker", STATS_V1)
    # 1e9 of 8e9 system ns, on 4 CPUs -> 50 %.
    assert row["cpu_percent"] == 50.0
    assert row["memory_mb"] == 50.0
    assert row["memory_limit_mb"] == 1000.0
    assert row["memory_percent"] == 5.0
    assert row["pids"] == 3


def test_stats_cgroup_v2_and_no_limit_never_divide_by_zero() -> None:
    row = docker_ops.shape_stats("web", STATS_V2)
    assert row["cpu_percent"] == 100.0
    assert row["memory_mb"] == 0.0  # cache larger than usage must not go negative
    assert row["memory_percent"] == 0.0


def test_stats_first_sample_without_precpu_is_zero() -> None:
    assert docker_ops.shape_stats("x", {"cpu_stats": {}, "precpu_stats": {}})["cpu_percent"] == 0.0


def test_engine_info_from_an_old_engine_defaults_to_cgroup_v1() -> None:
    info = {"ServerVersion": "20.10.24+dfsg1", "Driver": "overlay2", "MemoryLimit": True,
            "MemTotal": 969_170_944, "Architecture": "armv7l", "LiveRestoreEnabled": True,
            "RegistryConfig": {"Mirrors": ["http://10.0.0.2:5000/"]}, "Swarm": {"LocalNodeState": "inactive"}}
    shaped = docker_ops.shape_engine_info(info)
    assert shaped["cgroup_version"] == "1"
    assert shaped["mem_total_mb"] == 924
    assert shaped["live_restore"] is True
    assert shaped["registry_mirrors"] == ["http://10.0.0.2:5000/"]
    assert shaped["warnings"] == []


def test_engine_info_reports_cgroup_v2() -> None:
    assert docker_ops.shape_engine_info({"CgroupVersion": "2"})["cgroup_version"] == "2"


@pytest.mark.parametrize(("reference", "expected"), [
    ("busybox", "busybox:latest"),
    ("busybox:1.36", "busybox:1.36"),
    ("registry.local:5000/coin/worker", "registry.local:5000/coin/worker:latest"),
    ("registry.local:5000/coin/worker:v2", "registry.local:5000/coin/worker:v2"),
    ("busybox@sha256:" + "0" * 64, "busybox@sha256:" + "0" * 64),
])
def test_full_reference_fills_in_latest_but_not_beside_a_digest(reference: str, expected: str) -> None:
    assert docker_ops.full_reference(reference) == expected


def test_full_reference_refuses_what_names_no_repository() -> None:
    with pytest.raises(ValueError, match="no repository"):
        docker_ops.full_reference("registry.local:5000/:v1")


def test_shape_image_of_an_inspect_answer_lists_the_registry_digests() -> None:
    row = docker_ops.shape_image({"Id": "sha256:" + "cd" * 32, "RepoTags": ["debian:bookworm"],
                                  "RepoDigests": ["debian@sha256:" + "1" * 64],
                                  "Created": "2026-11-30T10:00:00.123Z"})
    assert row["digests"] == ["debian@sha256:" + "1" * 64]
    assert row["created"] == "2026-11-30T10:00:00.123Z"


def test_repo_digests_only_of_the_references_repository() -> None:
    image = {"RepoDigests": ["10.99.6.10:5000/pirack/rng@sha256:aa", "pirack/rng@sha256:bb",
                             "10.99.6.10:5000/pirack/rng-old@sha256:cc"]}
    assert docker_ops.repo_digests(image, "10.99.6.10:5000/pirack/rng:latest") == ["sha256:aa"]
    assert docker_ops.repo_digests({}, "x") == []


class InspectOnly:
    """An engine that answers ``inspect_image`` from a recorded answer."""

    def __init__(self, answer: dict) -> None:
        self.api = self
        self.answer = answer

    def inspect_image(self, reference: str) -> dict:
        if reference not in self.answer["RepoTags"]:
            raise docker_ops.ImageNotFound(reference)
        return self.answer


def test_images_of_one_image_answer_the_digest_its_registry_gave_it() -> None:
    engine = InspectOnly({"Id": "sha256:" + "cd" * 32, "RepoTags": ["10.99.6.10:5000/pirack/rng:latest"],
                          "RepoDigests": ["pirack/rng@sha256:bb", "10.99.6.10:5000/pirack/rng@sha256:aa"]})
    answer = docker_ops.run_operation(engine, {"op": "images", "image": "10.99.6.10:5000/pirack/rng"}, False)
    assert answer["digest"] == "sha256:aa" and answer["images"][0]["id"] == "cd" * 6
    gone = docker_ops.run_operation(engine, {"op": "images", "image": "pirack/other"}, False)
    assert (gone["images"], gone["digest"]) == ([], None)


def test_follow_stream_collects_aux_and_lines() -> None:
    events = [{"stream": "Step 1/2 : FROM debian\n"}, {"status": "Pushing"}, "not a dict",
              {"aux": {"ID": "sha256:abc"}}, {"stream": "Successfully built abc\n\n"}]
    aux, lines = docker_ops.follow_stream(events)
    assert aux == {"ID": "sha256:abc"}
    assert lines == ["Step 1/2 : FROM debian", "Pushing", "Successfully built abc"]


def test_follow_stream_raises_the_engines_error_with_the_output_so_far() -> None:
    events = [{"stream": "Step 2/2 : RUN false\n"},
              {"errorDetail": {"code": 1}, "error": "The command '/bin/sh -c false'\nreturned 1"}]
    with pytest.raises(errors.OperationError) as err:
        docker_ops.follow_stream(events)
    assert str(err.value) == "The command '/bin/sh -c false' returned 1"
    assert err.value.details["stdout_lines"] == ["Step 2/2 : RUN false"]


def _archive(manifest: object) -> io.BytesIO:
    """A tar with a manifest.json, the shape ``docker save`` writes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def test_archive_images_of_an_engine_20_and_an_oci_layout() -> None:
    classic = _archive([{"Config": "ab" * 32 + ".json", "RepoTags": ["debian:bookworm"], "Layers": []}])
    assert docker_ops.archive_images(classic) == [{"id": "sha256:" + "ab" * 32, "tags": ["debian:bookworm"]}]
    oci = _archive([{"Config": "blobs/sha256/" + "cd" * 32, "RepoTags": None}])
    assert docker_ops.archive_images(oci) == [{"id": "sha256:" + "cd" * 32, "tags": []}]


@pytest.mark.parametrize("content", [b"", b"not a tar at all" * 100])
def test_archive_images_refuses_what_is_no_tar(content: bytes) -> None:
    with pytest.raises(ValueError, match="not an image archive"):
        docker_ops.archive_images(io.BytesIO(content))


@pytest.mark.parametrize("manifest", [{"Config": "x"}, [{"RepoTags": []}], ["x"]])
def test_archive_images_refuses_a_strange_manifest(manifest: object) -> None:
    with pytest.raises(ValueError, match="not an image archive"):
        docker_ops.archive_images(_archive(manifest))


def test_registry_auth_only_when_a_user_is_given() -> None:
    assert docker_ops.registry_auth({}) is None
    assert docker_ops.registry_auth({"username": "pi", "password": "x"}) == {"username": "pi", "password": "x"}


def test_decode_survives_invalid_utf8() -> None:
    assert docker_ops.decode(b"ok \xff") == "ok \ufffd"
    assert docker_ops.decode(None) == ""


def test_missing_option_names_the_option() -> None:
    with pytest.raises(errors.OperationError, match="^name: op=logs needs it$"):
        docker_ops.run_operation(None, {"op": "logs"}, False)


def test_an_option_of_another_operation_is_refused_naming_its_operations() -> None:
    defaults = {"force": False, "tail": None, "pull": "missing"}
    with pytest.raises(errors.OperationError, match=r"^force: op=stop does not take it \(it is for op=rm\)$"):
        docker_ops.check_options({"op": "stop", "name": "x", "force": True}, defaults)
    with pytest.raises(errors.OperationError, match=r"^each\[2\]\.tail: op=ps does not take it"):
        docker_ops.check_options({"op": "ps", "tail": 5}, defaults, "each[2].")
    # A default is no choice of the user's: the merged docker_run playbook passes force=false to every op.
    docker_ops.check_options({"op": "stop", "name": "x", "force": False, "pull": "missing"}, defaults)


class PullEngine:
    """Just what op_run asks of the SDK before it creates a container."""

    def __init__(self, images: set[str]) -> None:
        self.images = images
        self.pulls: list[tuple[str, str]] = []
        self.api = self
        self.containers = self

    def get(self, name: str) -> None:
        raise docker_ops.NotFound(f"no container {name}")

    def inspect_image(self, reference: str) -> dict:
        if reference not in self.images:
            raise docker_ops.ImageNotFound(f"no image {reference}")
        return {"Id": "sha256:" + "1" * 64}

    def pull(self, repository: str, tag: str, auth_config: object) -> None:
        self.pulls.append((repository, tag))
        self.images.add(f"{repository}:{tag}")


@pytest.mark.parametrize(("policy", "present", "pulled"), [
    ("missing", False, True), ("missing", True, False), ("always", True, True), ("never", True, False)])
def test_run_pulls_as_the_pull_option_says(policy: str, present: bool, pulled: bool) -> None:
    engine = PullEngine({"busybox:latest"} if present else set())
    result = docker_ops.op_run(engine, {"op": "run", "image": "busybox", "pull": policy}, True)
    assert (result["changed"], result["pulled"]) == (True, pulled)
    assert engine.pulls == [], "check mode pulls nothing"
    if pulled:
        docker_ops._pull(engine, "busybox:latest", {"op": "run"})
        assert engine.pulls == [("busybox", "latest")]


def test_run_with_pull_never_and_no_image_fails_before_creating_anything() -> None:
    engine = PullEngine(set())
    with pytest.raises(errors.OperationError, match=r"^image: busybox:latest is not on this engine and pull=never$"):
        docker_ops.op_run(engine, {"op": "run", "image": "busybox", "pull": "never"}, False)
    assert engine.pulls == []


def test_rootfs_tar_has_paths_relative_to_the_root(tmp_path: os.PathLike) -> None:
    root = os.path.join(tmp_path, "rootfs")
    os.makedirs(os.path.join(root, "bin"))
    with open(os.path.join(root, "bin", "busybox"), "wb") as handle:
        handle.write(b"\x7fELF")
    data = io.BytesIO()
    docker_ops.rootfs_tar(root, data)
    data.seek(0)
    with tarfile.open(fileobj=data) as tar:
        assert sorted(tar.getnames()) == ["bin", "bin/busybox"]


def test_every_operation_is_dispatchable() -> None:
    assert set(docker_ops.OPS) == {"ps", "images", "pull", "run", "stop", "rm", "logs", "stats",
                                   "exec", "prune", "info", "import", "build", "tag", "push", "save", "load"}
