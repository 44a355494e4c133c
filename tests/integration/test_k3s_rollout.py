"""playbooks/k3s.yml's rollout, without k3s: batches per cluster, failures kept inside their cluster.

Runs tests/integration/k3s_rollout/probe.yml - the playbook's own plan and
gate task files and the same `hosts`/`serial` lines, the roles replaced by a
stand-in that fails where a test says - over local-connection hosts. No
engine and no board are touched; each probe run takes 10-30 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROBE = ROOT / "tests" / "integration" / "k3s_rollout" / "probe.yml"

# Three clusters as an operator might grow them: A with five workers,
# B with two, C with one; and A's workers listed out of cluster order.
RACK = {
    "masters": {"sa": "A", "sb": "B", "sc": "C"},
    "workers": {"a1": "A", "b1": "B", "a2": "A", "c1": "C", "a3": "A", "b2": "B", "a4": "A", "a5": "A"},
}


# An address nothing answers SSH on: the board is unreachable at once.
OFFLINE = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1}


def run_probe(
    tmp_path: Path, *extra: str, fail: tuple[str, ...] = (), offline: tuple[str, ...] = ()
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    inventory = {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "children": {group: {"hosts": {h: {"pirack_cluster": c, **(OFFLINE if h in offline else {})}
                                       for h, c in hosts.items()}}
                     for group, hosts in RACK.items()},
    }}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    report = tmp_path / "report.json"
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"), str(PROBE),
         "-e", json.dumps({"probe_report": str(report), "probe_fail": list(fail)}), *extra],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )
    assert report.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, json.loads(report.read_text())


def cluster_of(host: str) -> str:
    return {**RACK["masters"], **RACK["workers"]}[host]


def test_every_batch_takes_at_most_one_board_per_cluster(tmp_path: Path) -> None:
    proc, report = run_probe(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report["plan"]["servers"] == [["sa", "sb", "sc"]]
    assert report["plan"]["agents"] == [["a1", "b1", "c1"], ["a2", "b2"], ["a3"], ["a4"], ["a5"]]
    boards = report["boards"]
    assert all(b["done"] for b in boards.values())
    # The batch each board really ran in is the planned one: serial followed the plan.
    for batch in report["plan"]["servers"] + report["plan"]["agents"]:
        for host in batch:
            assert boards[host]["batch"] == batch
            assert len({cluster_of(h) for h in batch}) == len(batch)


def test_max_unavailable_two(tmp_path: Path) -> None:
    proc, report = run_probe(tmp_path, "-e", "k3s_agent_max_unavailable=2")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report["plan"]["agents"] == [["a1", "a2", "b1", "b2", "c1"], ["a3", "a4"], ["a5"]]
    assert report["boards"]["a4"]["batch"] == ["a3", "a4"]


def test_a_failed_agent_stops_its_cluster_only(tmp_path: Path) -> None:
    proc, report = run_probe(tmp_path, fail=("a1",))
    boards = report["boards"]
    # a1 ran and failed; A's later agents were left alone before the stand-in ran
    assert boards["a1"]["batch"] is not None and not boards["a1"]["done"]
    assert "a1 fails (probe_fail)" in boards["a1"]["error"]
    assert [boards[h]["batch"] for h in ("a2", "a3", "a4", "a5")] == [None] * 4
    assert boards["a2"]["error"].startswith("left as it is: a1 of A did not finish")
    assert all("did not finish earlier in this run" in boards[h]["error"] for h in ("a3", "a4", "a5"))
    # B and C finished although batches 3-5 held only failing A boards
    assert all(boards[h]["done"] for h in ("b1", "b2", "c1", "sb", "sc"))
    # and the run still fails, at its end, naming each board that did not finish
    assert proc.returncode != 0
    assert "a5 is not installed or upgraded: left as it is" in proc.stdout


def test_a_failed_server_keeps_its_agents_untouched_and_the_other_clusters_go_on(tmp_path: Path) -> None:
    proc, report = run_probe(tmp_path, fail=("sa",))
    boards = report["boards"]
    assert proc.returncode != 0
    assert all(boards[h]["batch"] is None for h in ("a1", "a2", "a3", "a4", "a5"))
    assert all(boards[h]["done"] for h in ("sb", "sc", "b1", "b2", "c1"))


def test_a_whole_failed_batch_does_not_end_the_run(tmp_path: Path) -> None:
    """Ansible ends the whole playbook when every host of a serial batch failed (site.yml's
    later plays included); failures are recorded, not raised, so the run reaches its end."""
    proc, report = run_probe(tmp_path, fail=("a2", "b2"))
    boards = report["boards"]
    assert proc.returncode != 0
    assert boards["c1"]["done"] and boards["b1"]["done"] and boards["a1"]["done"]
    assert not any(boards[h]["done"] for h in ("a2", "b2", "a3", "a4", "a5"))
    assert "PLAY [The closing play of playbooks/k3s.yml]" in proc.stdout


def test_an_unreachable_board_is_left_alone_with_its_cluster(tmp_path: Path) -> None:
    proc, report = run_probe(tmp_path, offline=("b1",))
    boards = report["boards"]
    assert boards["b1"]["error"].startswith("unreachable")
    assert boards["b2"]["batch"] is None and "b1 of B did not finish" in boards["b2"]["error"]
    assert all(boards[h]["done"] for h in ("sa", "a1", "a2", "a3", "a4", "a5", "sc", "c1"))
    assert proc.returncode != 0


def test_limit_plans_only_the_boards_in_the_run(tmp_path: Path) -> None:
    # localhost only for the probe's report; the plan itself needs no host beyond the limit
    proc, report = run_probe(tmp_path, "--limit", "workers,localhost")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report["plan"]["servers"] == []
    assert report["plan"]["agents"][0] == ["a1", "b1", "c1"]
    assert all(report["boards"][h]["done"] for h in RACK["workers"])
