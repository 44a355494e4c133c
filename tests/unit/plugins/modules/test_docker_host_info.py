"""docker_host_info: board and cgroup detection from real kernel files; the
engine facts are tested in tests/integration/test_docker_host_info.py."""

from __future__ import annotations

import os

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.pi_model import parse_device_tree_model
from ansible_collections.pirack.cluster.plugins.modules.docker_host_info import (
    memory_cgroup_enabled,
    read_text,
)

# /proc/cgroups of Raspberry Pi OS buster (memory disabled by default) and of
# a kernel booted with cgroup_enable=memory.
PROC_CGROUPS_MEMORY_OFF = """#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t2\t1\t1
cpu\t3\t59\t1
memory\t0\t75\t0
"""
PROC_CGROUPS_MEMORY_ON = PROC_CGROUPS_MEMORY_OFF.replace("memory\t0\t75\t0", "memory\t9\t75\t1")


def test_cgroup_v1_memory_off_as_raspberry_pi_os_shipped_it() -> None:
    assert memory_cgroup_enabled(PROC_CGROUPS_MEMORY_OFF, None) is False


def test_cgroup_v1_memory_on() -> None:
    assert memory_cgroup_enabled(PROC_CGROUPS_MEMORY_ON, None) is True


def test_cgroup_v2_controllers_decide() -> None:
    assert memory_cgroup_enabled(PROC_CGROUPS_MEMORY_OFF, "cpuset cpu io memory pids\n") is True
    assert memory_cgroup_enabled(None, "cpuset cpu io pids\n") is False


def test_no_cgroup_information_means_not_enabled() -> None:
    assert memory_cgroup_enabled(None, None) is False


@pytest.mark.parametrize(("raw", "key", "revision"), [
    (b"Raspberry Pi 3 Model B Plus Rev 1.3\x00", "pi3bplus", "1.3"),
    (b"Raspberry Pi 4 Model B Rev 1.4\x00", "pi4", "1.4"),
    (b"Raspberry Pi 5 Model B Rev 1.0\x00", "pi5", "1.0"),
    (b"Raspberry Pi Compute Module 4 Rev 1.0\x00", "cm4", "1.0"),
])
def test_pi_model_from_a_device_tree_file(tmp_path: os.PathLike, raw: bytes, key: str, revision: str) -> None:
    """The file as the kernel writes it (NUL-terminated), read the way the module reads it."""
    path = os.path.join(tmp_path, "model")
    with open(path, "wb") as handle:
        handle.write(raw)
    model = parse_device_tree_model(read_text(path))
    assert model["key"] == key
    assert model["revision"] == revision
    assert "\x00" not in model["name"]


def test_missing_device_tree_is_not_a_pi(tmp_path: os.PathLike) -> None:
    assert read_text(os.path.join(tmp_path, "absent")) is None
