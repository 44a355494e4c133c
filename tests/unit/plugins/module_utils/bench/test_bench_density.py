"""bench/density.py's decisions: options, /proc/meminfo, when the ramp stops,
the servers' command; a property test that options only raise DensityError.
(The ramp itself runs against a real engine in tests/integration.)"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.bench.density import (
    DensityError,
    check_params,
    meminfo,
    port_free,
    server_command,
    stop_reason,
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
])
def test_bad_options_are_named(params: dict, option: str) -> None:
    with pytest.raises(DensityError, match=rf"^{option}: "):
        check_params(params)


ANY = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
                st.lists(st.integers(), max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({"image": ANY}, optional={
    "memory_floor_mb": ANY, "max_containers": ANY | st.integers(0, 70000), "port_base": ANY
    | st.integers(0, 70000), "max_seconds": ANY, "ready_timeout": ANY, "tmpfs_size": ANY}))
def test_options_raise_only_the_density_error(params: dict) -> None:
    try:
        checked = check_params(params)
    except DensityError as exc:
        assert "\n" not in str(exc)
        return
    assert checked["port_base"] + checked["max_containers"] <= 65535
    assert stop_reason(0, 2e6, checked, 0.0) in (None, f"max_containers ({checked['max_containers']})")
