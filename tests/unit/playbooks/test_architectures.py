"""playbooks/architectures.yml, run as a user runs it, on this machine only:
boards whose architecture the inventory already holds are not asked
(the refusal is checked on those), and boards that are asked are this
machine itself (ansible_connection local), read by board_info."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
       "ANSIBLE_NOCOLOR": "1"}

RACK = """
all:
  vars:
    pirack_orchestrator: swarm
    ansible_connection: local
    ansible_python_interpreter: '{{{{ ansible_playbook_python }}}}'
  children:
    masters:
      hosts:
        c1-master: {{pirack_node_address: 10.0.1.10, {master}}}
    workers:
      hosts:
        c1-worker1: {{pirack_node_address: 10.0.1.11, {worker}}}
        c1-worker2: {{pirack_node_address: 10.0.1.12, {worker}}}
    cluster1:
      vars: {{pirack_cluster: cluster1}}
      hosts: {{c1-master: , c1-worker1: , c1-worker2: }}
"""
READ = "pirack_board_architecture: {arch}, pirack_board_runs: {runs}"


def architectures(tmp_path: Path, master: str, worker: str, *extra: str) -> subprocess.CompletedProcess:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(RACK.format(master=master, worker=worker))
    # A play after it shows what the stages would be given.
    show = tmp_path / "show.yml"
    show.write_text(f"""
- name: The checks
  ansible.builtin.import_playbook: {ROOT}/playbooks/architectures.yml
- name: Show what the stages get
  hosts: all
  gather_facts: false
  tasks:
    - name: Show
      ansible.builtin.debug:
        msg: >-
          ARCH {{{{ inventory_hostname }}}} {{{{ pirack_board_architecture }}}}
          {{{{ pirack_board_runs | to_json }}}}
""")
    return subprocess.run(["ansible-playbook", str(show), "-i", str(inventory), *extra], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=180, check=False)


def shown(result: subprocess.CompletedProcess) -> dict[str, tuple[str, list]]:
    found = {}
    for line in result.stdout.splitlines():
        if line.strip().startswith("msg: ARCH "):
            _, host, arch, runs = line.strip()[len("msg: "):].split(" ", 3)
            found[host] = (arch, json.loads(runs))
    return found


def test_a_64_bit_master_with_32_bit_workers_passes(tmp_path: Path) -> None:
    result = architectures(tmp_path, READ.format(arch="arm64", runs="[]"), READ.format(arch="armhf", runs="[]"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert shown(result) == {"c1-master": ("arm64", []), "c1-worker1": ("armhf", []), "c1-worker2": ("armhf", [])}


def test_an_architecture_nobody_builds_is_one_line_naming_the_masters(tmp_path: Path) -> None:
    result = architectures(tmp_path, READ.format(arch="amd64", runs="[]"), READ.format(arch="amd64", runs="[]"),
                           "-e", '{"pirack_extra_architectures": ["arm64"]}')
    assert result.returncode != 0
    assert "No board can build the images for 1 architecture(s):" in result.stdout
    assert ("arm64 (linux/arm64/v8): no board is arm64 and no master runs it (masters: c1-master); "
            "install qemu-user-static on a master, or leave arm64 out") in result.stdout, result.stdout[-3000:]
    assert "ARCH" not in result.stdout  # nothing after it ran


def test_a_master_that_runs_it_builds_it(tmp_path: Path) -> None:
    result = architectures(tmp_path, READ.format(arch="amd64", runs="[arm64]"),
                           READ.format(arch="amd64", runs="[]"), "-e", '{"pirack_extra_architectures": ["arm64"]}')
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize("limit", [[], ["--limit", "c1-master"]])
def test_boards_are_read_and_the_inventory_can_say_what_one_stands_for(tmp_path: Path, limit: list) -> None:
    # Nothing preset: each board is this machine, read by board_info (also
    # the ones --limit leaves out); the workers play 32-bit boards.
    result = architectures(tmp_path, "pirack_pi_model: pi4", "pirack_architecture: armhf", *limit)
    assert result.returncode == 0, result.stdout[-3000:]
    native = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                            check=True).stdout.strip()
    found = shown(result)
    assert found["c1-master"][0] == native
    assert isinstance(found["c1-master"][1], list)
    if not limit:
        assert found["c1-worker1"][0] == found["c1-worker2"][0] == "armhf"
