"""The k3s and swarm roles label their nodes in the collection's one scheme,
the one the app module places services by on both orchestrators:
pirack.role (a k3s server or Swarm manager is the master, every other
board a worker), pirack.cluster, pirack.model and, on k3s,
pirack.rack-position. k3s gets them in config.yaml's node-label list (a new
node) and through the API (a node that exists), where the keys of the
earlier scheme (pirack.io/*) go as null, so a node labelled by an earlier
release loses them once. The expressions are read from the roles' task
files and evaluated by Ansible with the roles' defaults."""

from __future__ import annotations

from pathlib import Path

import yaml
from localplay import ROOT, USER_GROUPS, expression, role_task, run, shown

ROLES = ROOT / "roles"

GROUPS = """\
  children:
    masters:
      hosts:
        s1: {pirack_node_address: 10.0.1.10, pirack_pi_model: pi4}
    workers:
      hosts:
        a1: {pirack_node_address: 10.0.1.20, pirack_pi_model: pi3bplus}
        a2: {pirack_node_address: 10.0.1.21}
    cluster1:
      vars: {pirack_cluster: cluster1}
      hosts: {s1: , a1: , a2: }
"""


def shown_by(tmp_path: Path, groups: str, play: list) -> dict:
    """The JSON each host's "show" task printed, merged."""
    return shown(run(tmp_path, groups, yaml.safe_dump(play, sort_keys=False, width=1000),
                     env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"}))


def labels(tmp_path: Path, groups: str, servers: str) -> dict:
    """Each host's (config labels, API labels) as the k3s role computes them."""
    facts = role_task("k3s", "facts.yml", "Record the release files and unit for this host")["ansible.builtin.set_fact"]
    api = role_task("k3s", "node.yml",
                    "Set the node's labels and lift the collection's cordon")["pirack.cluster.k8s_node"]
    play = [{
        "hosts": "all", "gather_facts": False,
        "vars_files": [str(ROLES / "k3s" / "defaults" / "main.yml")],
        "tasks": [
            {"name": "mode", "ansible.builtin.set_fact": {
                "k3s_mode": "{{ 'server' if inventory_hostname in " + servers + " else 'agent' }}"}},
            {"name": "labels", "ansible.builtin.set_fact": {"k3s_node_labels": facts["k3s_node_labels"]}},
            {"name": "show", "ansible.builtin.debug": {
                "msg": "{{ {inventory_hostname: [k3s_node_labels.items() | map('join', '=') | sort, "
                       + expression(api["labels"]) + "]} | to_json }}"}},
        ],
    }]
    return shown_by(tmp_path, groups, play)


RETIRED = {"pirack.io/cluster": None, "pirack.io/pi-model": None, "pirack.io/rack-position": None}


def test_the_collections_inventory_labels_the_server_master_and_the_agents_workers(tmp_path: Path) -> None:
    got = labels(tmp_path, GROUPS, "groups['masters']")
    assert got["s1"][0] == ["pirack.cluster=cluster1", "pirack.model=pi4", "pirack.rack-position=0",
                            "pirack.role=master"]
    assert got["a1"][0] == ["pirack.cluster=cluster1", "pirack.model=pi3bplus", "pirack.rack-position=1",
                            "pirack.role=worker"]
    # No model known: no pirack.model label.
    assert got["a2"][0] == ["pirack.cluster=cluster1", "pirack.rack-position=2", "pirack.role=worker"]
    assert got["a1"][1] == {**RETIRED, "pirack.role": "worker", "pirack.cluster": "cluster1",
                            "pirack.model": "pi3bplus", "pirack.rack-position": "1"}


def test_a_users_inventory_gets_the_same_scheme(tmp_path: Path) -> None:
    got = labels(tmp_path, USER_GROUPS, "groups['server']")
    assert got["cp1"][0] == ["pirack.cluster=default", "pirack.role=master"]
    assert got["node1"][0] == ["pirack.cluster=default", "pirack.role=worker"]
    assert got["node1"][1] == {**RETIRED, "pirack.role": "worker", "pirack.cluster": "default"}


def test_swarm_labels_the_manager_master_and_the_others_workers(tmp_path: Path) -> None:
    task = role_task("swarm", "labels.yml", "Give the node its labels and role")
    task_vars = {**task["vars"], "swarm_host_info": {"pi_model": {"key": None}},
                 "swarm_node_labels": "{{ {'pirack.rack': 'r2'} if inventory_hostname == 'a2' else {} }}"}
    show = "{{ {inventory_hostname: (" + expression(task["pirack.cluster.swarm_node"]["labels"]) + ")} | to_json }}"
    play = [{
        "hosts": "all", "gather_facts": False,
        "vars_files": [str(ROLES / "swarm" / "defaults" / "main.yml")],
        "tasks": [{"name": "show", "vars": task_vars, "ansible.builtin.debug": {"msg": show}}],
    }]
    got = shown_by(tmp_path, GROUPS, play)
    assert got == {"s1": {"pirack.role": "master", "pirack.model": "pi4", "pirack.cluster": "cluster1"},
                   "a1": {"pirack.role": "worker", "pirack.model": "pi3bplus", "pirack.cluster": "cluster1"},
                   "a2": {"pirack.role": "worker", "pirack.model": "unknown", "pirack.cluster": "cluster1",
                          "pirack.rack": "r2"}}
