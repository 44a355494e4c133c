"""Issue 22 item 7: the registry's port has one name. The registry role
serves on pirack_registry_port, containerd (the k3s role's registries.yaml)
and the coin-miner's pushes and pulls go to it: setting it once moves all
three. Evaluated by Ansible from the roles' own defaults on a localhost
stand-in for a master."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from localplay import ROOT, run

GROUPS = """\
    pirack_registry_port: 5050
  children:
    masters:
      hosts:
        m1: {pirack_node_address: 10.0.1.10}
    cluster1:
      vars: {pirack_cluster: cluster1}
      hosts: {m1: }
"""


def test_one_port_setting_moves_the_registry_containerd_and_the_coinminer(tmp_path: Path) -> None:
    defaults = [str(ROOT / "roles" / role / "defaults" / "main.yml") for role in ("registry", "k3s", "coinminer")]
    shown = ("{{ {'serves': registry_port | int, 'trusted': k3s_registries,"
             " 'coinminer': coinminer_registry} | to_json }}")
    play = [{"hosts": "m1", "gather_facts": False, "vars_files": defaults,
             "tasks": [{"name": "show", "ansible.builtin.debug": {"msg": shown}}]}]
    done = run(tmp_path, GROUPS, yaml.safe_dump(play, sort_keys=False, width=1000),
               env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    shown = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["m1"]["msg"]
    shown = json.loads(shown) if isinstance(shown, str) else shown
    assert shown == {"serves": 5050, "trusted": ["10.0.1.10:5050"], "coinminer": "10.0.1.10:5050"}, shown
