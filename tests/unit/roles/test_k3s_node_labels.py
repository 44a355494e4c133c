"""The k3s role labels its nodes in the collection's one scheme, the one the
app module places services by on both orchestrators: pirack.role (a server
is the master, an agent a worker), pirack.cluster, pirack.model and
pirack.rack-position, in config.yaml's node-label list (a new node) and
through the API (a node that exists), where the keys of the earlier scheme
(pirack.io/*) go as null, so a node labelled by an earlier release loses
them once. The expressions are read from the role's task files and
evaluated by Ansible with the role's defaults."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from localplay import ROOT, run

TASKS = ROOT / "roles" / "k3s" / "tasks"

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

# k3s-ansible's groups and nothing of this collection's layout.
USER_GROUPS = """\
  children:
    server:
      hosts:
        cp1: {ansible_host: 192.168.7.10}
    agent:
      hosts:
        node1: {ansible_host: 192.168.7.21}
"""


def named(file: str, name: str) -> dict:
    return next(t for t in yaml.safe_load((TASKS / file).read_text()) if t.get("name") == name)


def labels(tmp_path: Path, groups: str, servers: str) -> dict:
    """Each host's (config labels, API labels) as the role computes them."""
    facts = named("facts.yml", "Record the release files and unit for this host")["ansible.builtin.set_fact"]
    api = named("node.yml", "Set the node's labels and lift the collection's cordon")["pirack.cluster.k8s_node"]
    play = [{
        "hosts": "all", "gather_facts": False,
        "vars_files": [str(ROOT / "roles" / "k3s" / "defaults" / "main.yml")],
        "tasks": [
            {"name": "mode", "ansible.builtin.set_fact": {
                "k3s_mode": "{{ 'server' if inventory_hostname in " + servers + " else 'agent' }}"}},
            {"name": "labels", "ansible.builtin.set_fact": {"k3s_node_labels": facts["k3s_node_labels"]}},
            {"name": "show", "ansible.builtin.debug": {
                "msg": "{{ {inventory_hostname: [k3s_node_labels.items() | map('join', '=') | sort, "
                       + api["labels"].strip().removeprefix("{{").removesuffix("}}") + "]} | to_json }}"}},
        ],
    }]
    done = run(tmp_path, groups, yaml.safe_dump(play, sort_keys=False, width=1000),
               env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    found: dict = {}
    for play_result in json.loads(done.stdout)["plays"]:
        for task in play_result["tasks"]:
            if task["task"]["name"] == "show":
                for result in task["hosts"].values():
                    found.update(json.loads(result["msg"]) if isinstance(result["msg"], str) else result["msg"])
    return found


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
