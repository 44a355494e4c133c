"""Shaping of engine answers (recorded JSON) and the image-reference rules."""

from __future__ import annotations

import io
import os
import tarfile

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils import docker_ops

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
    assert row == {"id": "abababababab", "tags": [], "size_mb": 3.0, "created": "1970-01-01T00:00:00+00:00"}


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
    ("busybox", ("busybox", "latest")),
    ("busybox:1.36", ("busybox", "1.36")),
    ("registry.local:5000/coin/worker", ("registry.local:5000/coin/worker", "latest")),
    ("registry.local:5000/coin/worker:v2", ("registry.local:5000/coin/worker", "v2")),
    ("busybox@sha256:" + "0" * 64, ("busybox@sha256:" + "0" * 64, "")),
])
def test_split_image(reference: str, expected: tuple[str, str]) -> None:
    assert docker_ops.split_image(reference) == expected


def test_decode_survives_invalid_utf8() -> None:
    assert docker_ops.decode(b"ok \xff") == "ok \ufffd"
    assert docker_ops.decode(None) == ""


def test_missing_option_names_the_option() -> None:
    with pytest.raises(docker_ops.OperationError, match="op=logs needs: name"):
        docker_ops.op_logs(None, {"op": "logs"}, False)


def test_rootfs_tar_has_paths_relative_to_the_root(tmp_path: os.PathLike) -> None:
    root = os.path.join(tmp_path, "rootfs")
    os.makedirs(os.path.join(root, "bin"))
    with open(os.path.join(root, "bin", "busybox"), "wb") as handle:
        handle.write(b"\x7fELF")
    with tarfile.open(fileobj=io.BytesIO(docker_ops.rootfs_tar(root))) as tar:
        assert sorted(tar.getnames()) == ["bin", "bin/busybox"]


def test_every_operation_is_dispatchable() -> None:
    assert set(docker_ops.OPS) == {"ps", "images", "pull", "run", "stop", "rm", "logs", "stats",
                                   "exec", "prune", "info", "import"}
