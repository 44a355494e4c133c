"""docker_host_info against the machine's real engine: the facts it reports
and the board it reads from a device-tree file. Read-only: nothing is created."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.usefixtures("engine")


def test_real_engine_facts(module_runner, tmp_path: os.PathLike) -> None:
    path = os.path.join(tmp_path, "model")
    with open(path, "wb") as handle:
        handle.write(b"Raspberry Pi 4 Model B Rev 1.5\x00")
    result = module_runner("docker_host_info", {"device_tree_model": path}, check_mode=True)
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["engine"]["version"]
    assert result["cgroup_version"] in ("1", "2")
    assert os.path.exists("/sys/fs/cgroup/cgroup.controllers") == (result["cgroup_version"] == "2")
    assert result["pi_model"]["key"] == "pi4"
    assert result["architecture"] == os.uname().machine
    assert result["mem_total_mb"] > 0
    assert isinstance(result["containers"], list) and isinstance(result["images"], list)


def test_not_a_pi_reports_null_model(module_runner, tmp_path: os.PathLike) -> None:
    result = module_runner("docker_host_info", {"device_tree_model": os.path.join(tmp_path, "none"),
                                                "containers": False, "images": False})
    assert result["pi_model"] is None
    assert "containers" not in result and "images" not in result
