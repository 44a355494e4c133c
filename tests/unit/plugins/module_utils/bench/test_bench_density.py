"""bench/density.py's decisions: options, /proc/meminfo, when the ramp stops,
the servers' command; a property test that options only raise DensityError.
(The ramp itself runs against a real engine in tests/integration.)"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.bench.density import (
    DensityError,
    breakdown,
    check_params,
    container_options,
    engine_name,
    meminfo,
    memory_stat,
    port_free,
    process_kind,
    server_command,
    smaps_pss_kb,
    stop_reason,
    variant_label,
)
from hypothesis import given, settings
from hypothesis import strategies as st

MEMINFO = "MemTotal:        1000000 kB\nMemFree:          200000 kB\nMemAvailable:     512000 kB\n"
SETTINGS = check_params({"image": "pirack/busybox:local"})


def test_defaults_leave_100_mb_and_have_no_count_limit() -> None:
    assert SETTINGS["memory_floor_mb"] == 100 and SETTINGS["max_containers"] == 0
    assert SETTINGS["port_base"] == 20000 and SETTINGS["tmpfs_size"] == "64k"


def test_meminfo_in_mib() -> None:
    assert meminfo(MEMINFO) == {"total_mb": pytest.approx(976.5625), "available_mb": 500.0}
    assert meminfo("MemTotal: x kB\n") == {"total_mb": None, "available_mb": None}


@pytest.mark.parametrize(("started", "available", "elapsed", "extra", "reason"), [
    (5, 500.0, 1.0, {}, None),
    (5, 100.0, 1.0, {}, "memory floor (100 MiB available, floor 100 MiB)"),
    (5, None, 1.0, {}, "failure: /proc/meminfo has no MemAvailable"),
    (3, 500.0, 1.0, {"max_containers": 3}, "max_containers (3)"),
    (3, 500.0, 60.0, {"max_seconds": 60}, "time limit (60 s)"),
])
def test_the_ramp_stops_at_the_first_limit(started: int, available: Any, elapsed: float,
                                           extra: dict, reason: Any) -> None:
    limits = check_params(dict({"image": "x"}, **extra))
    assert stop_reason(started, available, limits, elapsed) == reason


def test_each_server_writes_its_page_into_the_tmpfs_and_serves_it() -> None:
    command = server_command(20001)
    assert command[:3] == ["/bin/busybox", "sh", "-c"]
    assert "> /www/index.html" in command[3] and "httpd -f -p 20001 -h /www" in command[3]


def test_a_taken_port_is_seen() -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        assert not port_free(taken.getsockname()[1])


@pytest.mark.parametrize(("params", "option"), [
    ({"image": ""}, "image"),
    ({"image": "x", "memory_floor_mb": -1}, "memory_floor_mb"),
    ({"image": "x", "max_seconds": float("inf")}, "max_seconds"),
    ({"image": "x", "port_base": 80}, "port_base"),
    ({"image": "x", "port_base": 65000, "max_containers": 1000}, "max_containers"),
    ({"image": "x", "tmpfs_size": "64 kB"}, "tmpfs_size"),
    ({"image": "x", "network": "bridge"}, "network"),
    ({"image": "x", "log_driver": "Bad Driver"}, "log_driver"),
    ({"image": "x", "init": "yes"}, "init"),
])
def test_bad_options_are_named(params: dict, option: str) -> None:
    with pytest.raises(DensityError, match=rf"^{option}: "):
        check_params(params)


ANY = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
                st.lists(st.integers(), max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({"image": ANY}, optional={
    "memory_floor_mb": ANY, "max_containers": ANY | st.integers(0, 70000), "port_base": ANY
    | st.integers(0, 70000), "max_seconds": ANY, "ready_timeout": ANY, "tmpfs_size": ANY,
    "network": ANY | st.sampled_from(["host", "none"]), "log_driver": ANY, "init": ANY}))
def test_options_raise_only_the_density_error(params: dict) -> None:
    try:
        checked = check_params(params)
    except DensityError as exc:
        assert "\n" not in str(exc)
        return
    assert checked["port_base"] + checked["max_containers"] <= 65535
    assert stop_reason(0, 2e6, checked, 0.0) in (None, f"max_containers ({checked['max_containers']})")


def test_the_compared_settings_and_nothing_else_reach_the_engine() -> None:
    plain = container_options(SETTINGS, 3, 20003)
    assert plain == {"command": server_command(20003), "name": "pirack-density-3",
                     "labels": {"pirack.benchmark": "density"}, "network_mode": "host", "read_only": True,
                     "tmpfs": {"/www": "size=64k"}, "detach": True}
    lean = container_options(check_params({"image": "x", "network": "none", "log_driver": "none", "init": True}),
                             3, 20003)
    assert lean["network_mode"] == "none" and lean["init"] is True
    assert lean["log_config"] == {"Type": "none", "Config": {}}
    unchanged = ("command", "name", "labels", "read_only", "tmpfs", "detach")
    assert {k: lean[k] for k in unchanged} == {k: plain[k] for k in unchanged}


@pytest.mark.parametrize(("comm", "kind"), [
    ("containerd-shim", "shim"), ("containerd-shim-runc-v2", "shim"), ("containerd", "containerd"),
    ("dockerd", "dockerd"), ("conmon", "conmon"), ("podman", "podman"), ("docker-init", "init"),
    ("catatonit", "init"), ("busybox", "servers"), ("sshd", "board"), ("systemd", "board"),
])
def test_processes_are_counted_by_kind(comm: str, kind: str) -> None:
    assert process_kind(comm) == kind


def test_pss_and_memory_stat_are_read_in_their_units() -> None:
    rollup = "55d0c0000000-7ffd1b5fe000 ---p 00000000 00:00 0    [rollup]\nRss:  3460 kB\nPss:  1187 kB\n"
    assert smaps_pss_kb(rollup) == 1187 and smaps_pss_kb("Rss: 1 kB\n") is None
    v2 = "anon 1048576\nfile 2097152\nkernel_stack 16384\npercpu 4096\nslab_unreclaimable 8192\nsock 0\nx y\n"
    assert memory_stat(v2) == {"anon": 1048576, "file": 2097152, "kernel_stack": 16384, "percpu": 4096,
                               "slab_unreclaimable": 8192, "sock": 0}
    # cgroup v1 says rss and cache, and total_* again for the subtree: the first wins.
    assert memory_stat("cache 4096\nrss 8192\ntotal_rss 999999\n") == {"file": 4096, "anon": 8192}


def test_one_containers_cost_is_split_by_process_kind_and_memory_class() -> None:
    before = {"pss_kb": {"dockerd": 40000, "containerd": 20000, "board": 30000},
              "memory_stat": {"anon": 100 << 20, "kernel_stack": 1 << 20, "percpu": 0}, "used_kb": 200000}
    peak = {"pss_kb": {"dockerd": 45000, "containerd": 22000, "board": 30000, "shim": 250000, "servers": 30000},
            "memory_stat": {"anon": 400 << 20, "kernel_stack": 21 << 20, "percpu": 10 << 20},
            "used_kb": 200000 + 100 * 3500}
    cost = breakdown(before, peak, 100)
    assert cost["containers"] == 100 and cost["total_kb"] == 3500.0
    assert cost["processes_kb"] == {"board": 0.0, "containerd": 20.0, "dockerd": 50.0, "servers": 300.0,
                                    "shim": 2500.0}
    assert cost["memory_stat_kb"] == {"anon": 3072.0, "kernel_stack": 204.8, "percpu": 102.4}
    assert cost["outside_processes_kb"] == 3500.0 - 2870.0
    assert breakdown(before, peak, 0) == {"containers": 0}


def test_the_engine_and_the_settings_name_a_ramp() -> None:
    docker = {"Version": "20.10.24+dfsg1", "Components": [{"Name": "Engine", "Version": "20.10.24+dfsg1"}]}
    podman = {"Version": "4.3.1", "Components": [{"Name": "Podman Engine", "Version": "4.3.1"}]}
    assert engine_name(docker) == "docker 20.10.24+dfsg1" and engine_name(podman) == "podman 4.3.1"
    assert engine_name({}) == "docker ?"
    assert variant_label({"engine": "docker 20.10", "network": "host", "log_driver": "", "init": False}) == (
        "docker, network host, log default")
    assert variant_label({"engine": "podman 4.3.1", "network": "none", "log_driver": "none", "init": True}) == (
        "podman, network none, log none, init")
