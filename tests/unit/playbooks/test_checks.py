"""The checks that run before any board is touched, run as a user runs them:
ansible-playbook on this machine only (nothing connects to a board, no engine).

- playbooks/preflight.yml (site.yml's first play) against the reference
  inventory and against inventories with one mistake each;
- docker_engine's assert.yml against daemon settings that open the API.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
       "ANSIBLE_NOCOLOR": "1"}

SOUND = """
all:
  vars: {pirack_orchestrator: swarm}
  children:
    masters:
      hosts:
        c1-master: {pirack_node_address: 10.0.1.10}
        c2-master: {pirack_node_address: 10.0.2.10}
    workers:
      hosts:
        c1-worker1: {pirack_node_address: 10.0.1.11}
        c2-worker1: {pirack_node_address: 10.0.2.11}
    cluster1:
      vars: {pirack_cluster: cluster1}
      hosts: {c1-master: , c1-worker1: }
    cluster2:
      vars: {pirack_cluster: cluster2}
      hosts: {c2-master: , c2-worker1: }
"""


def playbook(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ansible-playbook", *args], cwd=ROOT, env=ENV, capture_output=True, text=True,
                          timeout=120, check=False)


def preflight(tmp_path: Path, inventory: str, *extra: str) -> subprocess.CompletedProcess:
    path = tmp_path / "hosts.yml"
    path.write_text(inventory)
    return playbook("playbooks/preflight.yml", "-i", str(path), *extra)


def test_the_reference_rack_passes() -> None:
    result = playbook("playbooks/preflight.yml", "-i", "inventories/pi-rack")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_sound_inventory_passes_under_a_limit(tmp_path: Path) -> None:
    result = preflight(tmp_path, SOUND, "--limit", "cluster2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "c2-master" in result.stdout


@pytest.mark.parametrize("old, new, expected", [
    ("c2-worker1: {pirack_node_address: 10.0.2.11}\n    cluster1",
     "c2-worker1: {pirack_node_address: 10.0.2.11}\n    wrokers:\n"
     "      hosts: {c2-worker2: {pirack_node_address: 10.0.2.12}}\n    cluster1",
     ["group wrokers (c2-worker2): not a group the collection knows; did you mean workers?",
      "c2-worker2: in no role group; put it under masters or workers"]),
    ("hosts: {c2-master: , c2-worker1: }", "hosts: {c2-master: , c2-worker1: , c2-worker9: }",
     ["c2-worker9: in no role group; put it under masters or workers"]),
    ("        c2-master: {pirack_node_address: 10.0.2.10}\n", "",
     ["cluster2: no master among c2-master, c2-worker1; put one of them under masters"]),
    ("c2-worker1: {pirack_node_address: 10.0.2.11}\n", "c2-worker1: {pirack_node_address: 10.0.2.11}\n"
     "        c2-worker2: {pirack_node_address: 10.0.2.12}\n",
     []),
    ("c1-worker1: {pirack_node_address: 10.0.1.11}", "c1-worker1: {pirack_node_address: 10.0.2.11}",
     ["c1-worker1, c2-worker1: share pirack_node_address 10.0.2.11; give each board its own address"]),
    ("c1-worker1: {pirack_node_address: 10.0.1.11}",
     "c1-worker1: {pirack_node_address: 10.0.1.11, pirack_orchestrator: k3s}",
     ["cluster1: mixes orchestrators (k3s on c1-worker1; swarm on c1-master)"]),
], ids=["misspelled-group", "no-role-group", "no-master", "not-in-a-cluster", "same-address", "mixed"])
def test_each_mistake_is_named(tmp_path: Path, old: str, new: str, expected: list[str]) -> None:
    assert old in SOUND
    broken = SOUND.replace(old, new)
    if not expected:  # a worker in workers but in no cluster group
        expected = ["c2-worker2: in no cluster group; put it in one clusterN group",
                    "c2-worker2: pirack_cluster is not set; set it in group_vars/clusterN.yml"]
    result = preflight(tmp_path, broken)
    assert result.returncode == 2, result.stdout
    text = " ".join((result.stdout + result.stderr).split())
    for line in expected:
        assert line in text
    assert "(got swarm)" not in text


def test_two_masters_in_a_cluster(tmp_path: Path) -> None:
    broken = SOUND.replace("c1-master: {pirack_node_address: 10.0.1.10}\n",
                           "c1-master: {pirack_node_address: 10.0.1.10}\n        c1-worker1:\n")
    result = preflight(tmp_path, broken)
    assert result.returncode == 2
    text = " ".join(result.stdout.split())
    assert "cluster1: 2 masters (c1-master, c1-worker1); keep one under masters" in text
    assert "c1-worker1: in both masters and workers; keep it in one of them" in text


PROBE = """
- name: Run docker_engine's checks only
  hosts: localhost
  gather_facts: false
  vars:
    docker_engine_board: {{architecture: arm64}}
    docker_engine_daemon_options: {options}
  tasks:
    - name: The role's assertions
      ansible.builtin.include_role:
        name: pirack.cluster.docker_engine
        tasks_from: assert.yml
"""


@pytest.mark.parametrize("options, refused", [
    ('{"hosts": ["fd://", "0.0.0.0:2375"]}', "0.0.0.0:2375"),
    ('{"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": true, "tlscacert": /ca.pem}', "tcp://0.0.0.0:2376"),
    ('{"hosts": ["fd://", "unix:///run/docker.sock"]}', None),
    ('{"hosts": ["0.0.0.0:2376"], "tlsverify": true, "tlscacert": /ca.pem, "tlscert": /c.pem, "tlskey": /k.pem}',
     None),
])
def test_docker_engine_refuses_an_open_api(tmp_path: Path, options: str, refused: str | None) -> None:
    probe = tmp_path / "probe.yml"
    probe.write_text(textwrap.dedent(PROBE.format(options=options)))
    result = playbook(str(probe), "-i", "localhost,", "-c", "local")
    text = " ".join(result.stdout.split())
    if refused:
        assert result.returncode == 2, text
        assert f"docker_engine_daemon_options.hosts has {refused}: dockerd listens on the network" in text
    else:
        assert result.returncode == 0, text
