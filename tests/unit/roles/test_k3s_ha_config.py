"""The HA control plane (issue 12 item 14) as the k3s_server and k3s_agent
roles write it, for a cluster of three servers named in the inventory:
the first server starts the embedded etcd (cluster-init), the other two
join it through the fixed API address, and agents register through that
address too. The expressions are read from the roles' own task files and
evaluated by Ansible with the roles' defaults, so the test follows the
roles; k3s itself cannot run here (molecule/k3s says SKIP for that)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from localplay import ROOT, run

GROUPS = """\
    pirack_orchestrator: k3s
    pirack_k3s_api_address: 10.0.1.9
  children:
    masters:
      hosts:
        s1: {pirack_node_address: 10.0.1.10}
        s2: {pirack_node_address: 10.0.1.11}
        s3: {pirack_node_address: 10.0.1.12}
    workers:
      hosts:
        a1: {pirack_node_address: 10.0.1.20}
    cluster1:
      vars: {pirack_cluster: cluster1}
      hosts: {s1: , s2: , s3: , a1: }
"""


def task_vars(role: str, name: str) -> dict:
    """The ``vars`` of the task called ``name`` in the role's tasks/main.yml."""
    tasks = yaml.safe_load((ROOT / "roles" / role / "tasks" / "main.yml").read_text())
    return next(t for t in tasks if t.get("name") == name)["vars"]


def render(tmp_path: Path, hosts: str, role: str, first_expr: str, config: str, seed: int = 0) -> dict:
    """Each host's config as the role would compute it (JSON by host), with
    Python's string hashing seeded by ``seed``: a set-based pick of "the
    first server" (Ansible's intersect) changes with it, inventory order not."""
    defaults = [str(ROOT / "roles" / r / "defaults" / "main.yml") for r in ("k3s_common", role)]
    play = [{
        "hosts": hosts, "gather_facts": False, "vars_files": defaults,
        "tasks": [
            {"name": "first", "ansible.builtin.set_fact": {"k3s_server_first": first_expr}},
            {"name": "show", "ansible.builtin.debug": {"msg": "{{ {inventory_hostname: (" + config + ")} | to_json }}"},
             "vars": {"k3s_common_node_labels": {}}},
        ],
    }]
    done = run(tmp_path, GROUPS, yaml.safe_dump(play, sort_keys=False, width=1000),
               env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "PYTHONHASHSEED": str(seed)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    found: dict = {}
    for play_result in json.loads(done.stdout)["plays"]:
        for task in play_result["tasks"]:
            if task["task"]["name"] == "show":
                for result in task["hosts"].values():
                    found.update(json.loads(result["msg"]) if isinstance(result["msg"], str) else result["msg"])
    return found


def test_three_servers_form_one_etcd_cluster_and_agents_use_the_fixed_address(tmp_path: Path) -> None:
    server = task_vars("k3s_server", "Write the server configuration and token")["k3s_common_config"]
    first = "{{ inventory_hostname == (k3s_server_cluster_servers + [inventory_hostname]) | first }}"
    # The same first server on every run (found with seeds where it was not).
    for seed in range(4):
        configs = render(tmp_path, "masters", "k3s_server", first,
                         server.strip().removeprefix("{{").removesuffix("}}"), seed)
        assert configs["s1"].get("cluster-init") is True and "server" not in configs["s1"], (seed, configs["s1"])
        for joiner in ("s2", "s3"):
            assert "cluster-init" not in configs[joiner], (seed, configs[joiner])
            assert configs[joiner]["server"] == "https://10.0.1.9:6443", (seed, configs[joiner])
        for name, config in configs.items():
            assert "10.0.1.9" in config["tls-san"], (name, config["tls-san"])

    agent = task_vars("k3s_agent", "Write the agent configuration and token")["k3s_common_config"]
    agents = render(tmp_path, "workers", "k3s_agent", "false", agent.strip().removeprefix("{{").removesuffix("}}"))
    assert agents["a1"]["server"] == "https://10.0.1.9:6443", agents["a1"]
