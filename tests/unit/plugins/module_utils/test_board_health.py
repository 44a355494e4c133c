"""module_utils/board_health.py: the firmware's throttled word, the thermal
zone, the filesystem numbers, the replica counts of both orchestrators and
the collector's Prometheus text, over files and answers as boards write them;
then the collector run as the script the monitoring role installs, on a
sysfs folder of a hot, throttled board."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils import board_health
from ansible_collections.pirack.cluster.plugins.module_utils.board_health import (
    filesystem,
    k8s_replicas,
    parse_temperature,
    parse_throttled,
    prometheus_text,
    read_health,
    swarm_replicas,
)
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(("text", "now", "since_boot"), [
    ("0\n", [], []),
    ("throttled=0x0\n", [], []),
    ("50000\n", [], ["under_voltage", "throttled"]),  # sysfs writes hex without 0x
    ("throttled=0x50005\n", ["under_voltage", "throttled"], ["under_voltage", "throttled"]),
    ("e000e", ["freq_capped", "throttled", "soft_temp_limit"],
     ["freq_capped", "throttled", "soft_temp_limit"]),
    ("80008", ["soft_temp_limit"], ["soft_temp_limit"]),
])
def test_throttled_word_as_sysfs_and_vcgencmd_write_it(text: str, now: list, since_boot: list) -> None:
    answer = parse_throttled(text)
    assert answer is not None and (answer["now"], answer["since_boot"]) == (now, since_boot)
    assert answer["word"] == int(text.strip().rpartition("=")[2], 16)


@pytest.mark.parametrize("text", ["", "throttled=", "error=1 error_msg=\"Command not registered\"", "-5"])
def test_a_throttled_answer_that_is_no_word_is_unknown(text: str) -> None:
    assert parse_throttled(text) is None


@given(st.text(max_size=30))
def test_any_throttled_text_is_flags_or_unknown(text: str) -> None:
    answer = parse_throttled(text)
    assert answer is None or set(answer["now"] + answer["since_boot"]) <= set(board_health.THROTTLE_FLAGS)


def test_temperature_is_millidegrees() -> None:
    assert parse_temperature("47236\n") == 47.2
    assert parse_temperature("-5000") == -5.0
    assert parse_temperature("n/a") is None


def test_filesystem_numbers_and_the_read_only_flag() -> None:
    stat = SimpleNamespace(f_blocks=1000, f_bavail=50, f_frsize=4096, f_flag=os.ST_RDONLY)
    assert filesystem(stat) == {"size_bytes": 4096000, "avail_bytes": 204800, "used_percent": 95.0,
                                "readonly": True}
    assert filesystem(SimpleNamespace(f_blocks=0, f_bavail=0, f_frsize=4096, f_flag=0))["used_percent"] is None


def test_replicas_from_a_swarm_manager_and_from_k3s() -> None:
    services = [{"Spec": {"Name": "coinminer_worker"}, "ServiceStatus": {"RunningTasks": 3, "DesiredTasks": 5}},
                {"Spec": {"Name": "coinminer_rng"}, "ServiceStatus": {"RunningTasks": 2, "DesiredTasks": 2}}]
    assert swarm_replicas(services) == [{"service": "coinminer_rng", "running": 2, "desired": 2},
                                        {"service": "coinminer_worker", "running": 3, "desired": 5}]
    items = [
        {"kind": "Deployment", "metadata": {"namespace": "coinminer", "name": "worker"},
         "spec": {"replicas": 4}, "status": {"readyReplicas": 1}},
        {"kind": "Deployment", "metadata": {"namespace": "coinminer", "name": "webui"},
         "spec": {"replicas": 1}, "status": {}},  # none ready yet: no readyReplicas field
        {"kind": "DaemonSet", "metadata": {"namespace": "coinminer", "name": "rng"},
         "spec": {}, "status": {"desiredNumberScheduled": 3, "numberReady": 3}},
    ]
    assert k8s_replicas(items) == [{"service": "coinminer/rng", "running": 3, "desired": 3},
                                   {"service": "coinminer/webui", "running": 0, "desired": 1},
                                   {"service": "coinminer/worker", "running": 1, "desired": 4}]


def test_prometheus_text_leaves_out_what_is_unknown() -> None:
    unknown = {"temperature_c": None, "throttled": None, "root": "/", "rootfs": None,
               "clock_synchronised": None}
    assert prometheus_text(unknown) == ""
    health = dict(unknown, throttled=parse_throttled("50005"),
                  rootfs={"size_bytes": 100, "avail_bytes": 5, "used_percent": 95.0, "readonly": False})
    text = prometheus_text(health, [{"service": "coinminer_worker", "running": 3, "desired": 5}],
                           {"/etc/tls/registry.crt": 1900000000.0, "/missing.crt": None})
    lines = text.splitlines()
    assert 'pirack_board_throttle_flag{flag="under_voltage",when="now"} 1' in lines
    assert 'pirack_board_throttle_flag{flag="freq_capped",when="now"} 0' in lines
    assert 'pirack_board_throttle_flag{flag="throttled",when="since_boot"} 1' in lines
    assert 'pirack_board_rootfs_avail_bytes{mountpoint="/"} 5' in lines
    assert 'pirack_board_rootfs_readonly{mountpoint="/"} 0' in lines
    assert 'pirack_service_replicas{service="coinminer_worker",state="desired"} 5' in lines
    assert 'pirack_certificate_expiry_seconds{path="/etc/tls/registry.crt"} 1900000000' in lines
    assert "missing.crt" not in text
    assert all(line.startswith(("# HELP ", "# TYPE ", "pirack_")) for line in lines)


def hot_board(tmp_path: Path, temp: str = "85123\n", throttled: str = "50005\n") -> Path:
    """A sysfs folder as a hot, throttled Pi has it."""
    sysfs = tmp_path / "sys"
    (sysfs / "class/thermal/thermal_zone0").mkdir(parents=True)
    (sysfs / "class/thermal/thermal_zone0/temp").write_text(temp)
    firmware = sysfs / "devices/platform/soc/soc:firmware"
    firmware.mkdir(parents=True)
    (firmware / "get_throttled").write_text(throttled)
    return sysfs


def test_read_health_on_a_hot_board_and_on_a_board_without_the_files(tmp_path: Path) -> None:
    health = read_health(str(hot_board(tmp_path)), str(tmp_path))
    assert health["temperature_c"] == 85.1
    assert health["throttled"]["now"] == ["under_voltage", "throttled"]
    assert health["rootfs"]["size_bytes"] > 0 and health["rootfs"]["readonly"] is False
    assert health["clock_synchronised"] in (True, False)  # this machine's kernel answers
    bare = read_health(str(tmp_path / "empty"), str(tmp_path / "absent"))
    assert (bare["temperature_c"], bare["throttled"], bare["rootfs"]) == (None, None, None)


def test_the_collector_script_writes_the_textfile(tmp_path: Path) -> None:
    """The file the monitoring role copies onto each board, run as it runs there."""
    out = tmp_path / "textfile" / "pirack.prom"
    out.parent.mkdir()
    proc = subprocess.run([sys.executable, board_health.__file__, "--sysfs", str(hot_board(tmp_path)),
                           "--root", str(tmp_path), "--output", str(out),
                           "--certificate", str(tmp_path / "absent.crt")],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={"PATH": os.environ["PATH"]})  # no PYTHONPATH: stdlib only
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert 'pirack_board_throttle_flag{flag="throttled",when="now"} 1' in text
    assert f'pirack_board_rootfs_readonly{{mountpoint="{tmp_path}"}} 0' in text
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in out.parent.iterdir()] == ["pirack.prom"], "no temporary file left"
