"""The status screen, from the raw answers the status play collects."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.pirack.cluster.plugins.filter.status import (
    FilterModule,
    app_services,
    board_health,
    board_state,
    firing_alerts,
    hash_rate,
    rack_status,
)

UNREACHABLE = {"unreachable": True, "msg": "Failed to connect to the host via ssh: timed out", "changed": False}
PONG = {"ping": "pong", "changed": False}

# What pirack.cluster.app_info returns (the same on Swarm and k3s).
SERVICES = {"changed": False, "invocation": {"module_args": {"name": "coinminer"}}, "services": {
    "worker": {"running": 3, "desired": 4, "problems": ["rejected: No such image: 10.0.1.10:5000/pirack/w:v2"]},
    "rng": {"running": 6, "desired": 6, "problems": []},
}}


def web(hashes: int, now: float, coins: int = 3) -> dict:
    return {"status": 200, "json": {"hashes": hashes, "now": now, "coins": coins}}


REFUSED = {"status": -1, "msg": "Status code was -1 and not [200]: Request failed: <urlopen error refused>"}


def cluster(**changes: object) -> dict:
    base = {"name": "cluster1", "orchestrator": "swarm", "master": "c1-master", "address": "10.0.1.10",
            "webui_port": 8000, "services": SERVICES, "first": web(100, 1000.0),
            "second": web(350, 1010.0, coins=4), "registry": "10.0.1.10:5000",
            "kubeconfig": "~/.kube/pirack-cluster1.yaml", "context": "pirack-cluster1", "merged_into": ""}
    base.update(changes)
    return base


BOARDS = [{"name": "c1-master", "cluster": "cluster1", "model": "pi4", "state": "up"},
          {"name": "c1-worker1", "cluster": "cluster1", "model": None, "state": "unreachable"}]


def test_registered() -> None:
    assert set(FilterModule().filters()) == {"rack_status", "board_state"}


@pytest.mark.parametrize("first, again, state", [
    (PONG, None, "up"),
    (UNREACHABLE, None, "unreachable"),
    ({"failed": True, "msg": "python not found"}, None, "failed"),
    (None, UNREACHABLE, "unreachable (dropped earlier in this run)"),
    (None, PONG, "up (dropped earlier in this run)"),
    (None, None, "not checked"),
])
def test_board_state(first: dict | None, again: dict | None, state: str) -> None:
    """An unreachable board says so, not "failed" (the old summary did)."""
    assert board_state(first, again) == state


def test_app_services_read_running_desired_and_the_first_problem() -> None:
    assert app_services(SERVICES) == [
        {"name": "coinminer/rng", "running": 6, "desired": 6, "problem": ""},
        {"name": "coinminer/worker", "running": 3, "desired": 4,
         "problem": "rejected: No such image: 10.0.1.10:5000/pirack/w:v2"}]
    assert app_services({"services": {"x": "not a mapping"}}) == [
        {"name": "x", "running": 0, "desired": 0, "problem": ""}]
    assert app_services(None) == []


@pytest.mark.parametrize("first, second, rate", [
    (web(100, 1000.0), web(350, 1010.0), 25.0),
    (REFUSED, web(350, 1010.0), None),
    (web(100, 1000.0), web(100, 1000.0), None),
    (None, None, None),
    ({"status": 200, "json": {"hashes": 100, "now": 1000.0, "rate": 31.5}}, {"skipped": True}, 31.5),
    ({"status": 200, "json": {"hashes": 100, "now": 1000.0, "rate": None}}, web(150, 1010.0), 5.0),
])
def test_hash_rate(first: object, second: object, rate: float | None) -> None:
    assert hash_rate(first, second) == rate


def test_a_swarm_cluster_screen() -> None:
    assert rack_status([cluster()], BOARDS, "/srv/results/2026-12-01T03:00:00Z/report.html") == [
        "c1-master                cluster1   pi4       up",
        "c1-worker1               cluster1   -         unreachable",
        "cluster1 (swarm): 1 of 2 boards up; not answering: c1-worker1",
        "  coinminer/rng            6/6 running",
        "  coinminer/worker         3/4 running  <- not all running: rejected: No such image: "
        "10.0.1.10:5000/pirack/w:v2",
        "  web UI http://10.0.1.10:8000/  hash rate 25.0 hashes/s, 4 coins",
        "  registry 10.0.1.10:5000",
        "benchmark report: /srv/results/2026-12-01T03:00:00Z/report.html",
    ]


def test_a_k3s_cluster_screen_has_the_kubeconfig_and_kubectl_lines() -> None:
    lines = rack_status([cluster(orchestrator="k3s", merged_into="~/.kube/config")], BOARDS)
    assert "cluster1 (k3s): 1 of 2 boards up; not answering: c1-worker1" in lines
    assert "  coinminer/rng            6/6 running" in lines
    assert "  kubeconfig ~/.kube/pirack-cluster1.yaml" in lines
    assert "  kubectl --kubeconfig ~/.kube/pirack-cluster1.yaml get nodes" in lines
    assert "  kubectl --context pirack-cluster1 get nodes   (merged into ~/.kube/config)" in lines
    assert lines[-1] == "benchmark report: none yet (ansible-playbook pirack.cluster.benchmark)"


@pytest.mark.parametrize("services, why", [
    (None, "  services: cannot be read from c1-master"),
    (UNREACHABLE, "  services: cannot be read from c1-master (Failed to connect to the host via ssh: timed out)"),
    ({"failed": True, "msg": "this Docker engine is not a swarm manager (swarm state: inactive)\nmore"},
     "  services: cannot be read from c1-master (this Docker engine is not a swarm manager (swarm state: inactive))"),
    ({"changed": False, "services": {}}, "  services: none deployed"),
])
def test_services_that_cannot_be_read_say_so(services: object, why: str) -> None:
    assert why in rack_status([cluster(services=services)], BOARDS)


def test_a_web_ui_that_does_not_answer() -> None:
    lines = rack_status([cluster(first=REFUSED, second=REFUSED)], BOARDS)
    assert "  web UI http://10.0.1.10:8000/ does not answer" in lines


def test_not_lists() -> None:
    with pytest.raises(AnsibleFilterError, match="rack_status"):
        rack_status({"cluster1": {}}, BOARDS)  # type: ignore[arg-type]


def test_a_cluster_with_monitoring_shows_its_page() -> None:
    lines = rack_status([cluster(monitoring=True, prometheus="http://10.0.1.10:9090")], BOARDS)
    assert "  monitoring http://10.0.1.10:9090/consoles/pirack.html" in lines
    assert not any(line.startswith("  monitoring") for line in rack_status([cluster()], BOARDS))


HOT = {"changed": False, "temperature_c": 84.6, "root": "/",
       "throttled": {"word": 0x50005, "now": ["under_voltage", "throttled"],
                     "since_boot": ["under_voltage", "throttled"]},
       "rootfs": {"size_bytes": 64 << 20, "avail_bytes": 3 << 20, "used_percent": 95.3, "readonly": True},
       "clock_synchronised": False}
PLAIN_VM = {"changed": False, "temperature_c": None, "throttled": None, "root": "/",
            "rootfs": {"size_bytes": 30 << 30, "avail_bytes": 21474836480, "used_percent": 30.0, "readonly": False},
            "clock_synchronised": True}


@pytest.mark.parametrize("answer, line", [
    (HOT, "SoC 84.6 °C; throttled now: under_voltage, throttled, since boot: under_voltage, throttled; "
          "disk 3.0 MiB free (95.3 % used), READ-ONLY; clock NOT synchronised"),
    (PLAIN_VM, "SoC unknown; throttled unknown; disk 20.0 GiB free (30.0 % used); clock synchronised"),
    (dict(PLAIN_VM, throttled={"word": 0, "now": [], "since_boot": []}, rootfs=None, clock_synchronised=None),
     "SoC unknown; throttled now: no, since boot: no; disk unknown; clock unknown"),
    (UNREACHABLE, ""),
    (PONG, ""),  # an older status run's ping: no health to show
    (None, ""),
])
def test_board_health_line(answer: object, line: str) -> None:
    assert board_health(answer) == line


def alerts_answer(*alerts: tuple[str, str, dict]) -> dict:
    return {"status": 200, "json": {"status": "success", "data": {"alerts": [
        {"labels": {"alertname": name, **labels}, "state": state} for name, state, labels in alerts]}}}


def test_firing_alerts_are_named_with_where_they_fire() -> None:
    answer = alerts_answer(("SocHot", "firing", {"board": "w1"}), ("Throttled", "firing", {"board": "w1"}),
                           ("RootFilesystemFull", "firing", {"board": "m1", "mountpoint": "/"}),
                           ("ServiceBelowDesired", "firing", {"service": "coinminer_worker"}),
                           ("HashRateZero", "firing", {}), ("ClockNotSynchronised", "pending", {"board": "w2"}))
    assert firing_alerts(answer) == ["HashRateZero", "RootFilesystemFull (m1)",
                                     "ServiceBelowDesired (coinminer_worker)", "SocHot (w1)", "Throttled (w1)"]
    assert firing_alerts(alerts_answer()) == []
    assert firing_alerts(REFUSED) is None and firing_alerts(None) is None


def test_the_screen_shows_each_board_s_health_and_the_cluster_s_alerts() -> None:
    boards = [dict(BOARDS[0], health=HOT), dict(BOARDS[1], health=UNREACHABLE)]
    lines = rack_status([cluster(prometheus="http://10.0.1.10:9090", monitoring=True,
                                 alerts=alerts_answer(("SocHot", "firing", {"board": "c1-master"})))], boards)
    assert lines[0].startswith("c1-master                cluster1   pi4       up  SoC 84.6 °C; throttled now:")
    assert lines[1] == "c1-worker1               cluster1   -         unreachable"
    assert "  alerts firing: SocHot (c1-master)" in lines
    quiet = rack_status([cluster(prometheus="http://10.0.1.10:9090", monitoring=True, alerts=alerts_answer())], BOARDS)
    assert "  alerts firing: none" in quiet
    off = rack_status([cluster(prometheus="http://10.0.1.10:9090", monitoring=False, alerts=REFUSED)], BOARDS)
    assert not [line for line in off if "alerts" in line]
