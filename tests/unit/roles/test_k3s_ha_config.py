"""The HA control plane (issue 12 item 14) as the k3s role's server and
agent entry points write it, for a cluster of three servers named in the inventory:
the first server starts the embedded etcd (cluster-init), the other two
join it through the fixed API address, and agents register through that
address too. The expressions are read from the role's own task files and
evaluated by Ansible with the role's defaults, so the test follows the
role; k3s itself cannot run here (molecule/k3s says SKIP for that). The
same for a user's inventory with k3s-ansible's groups and only
ansible_host: the agent finds its server from k3s_servers."""

from __future__ import annotations

from pathlib import Path

import yaml
from localplay import ROOT, USER_GROUPS, expression, role_task, run, shown

GROUPS = """\
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


# The tasks that write each entry point's config.yaml (with its token, units and forward rules).
SERVER_FILES = "Write the server configuration, token, units and forward rules"
AGENT_FILES = "Write the agent configuration, token, units and forward rules"


def task(entry: str, name: str) -> dict:
    """The task called ``name`` in the k3s role's tasks/<entry>.yml."""
    return role_task("k3s", f"{entry}.yml", name)


def render(tmp_path: Path, hosts: str, first: dict | str, config: str, seed: int = 0,
           groups: str = GROUPS, play_vars: dict | None = None) -> dict:
    """Each host's config as the role would compute it (JSON by host), with
    Python's string hashing seeded by ``seed``: a set-based pick of "the
    first server" (Ansible's intersect) changes with it, inventory order not.
    ``first``: the server entry's task that decides who starts the cluster,
    or the value of k3s_server_first (an agent's config does not read it)."""
    decide = first if isinstance(first, dict) else {"ansible.builtin.set_fact": {"k3s_server_first": first}}
    play = [{
        "hosts": hosts, "gather_facts": False, "vars_files": [str(ROOT / "roles" / "k3s" / "defaults" / "main.yml")],
        "tasks": [
            {"name": "first", **{key: decide[key] for key in ("ansible.builtin.set_fact", "vars") if key in decide}},
            # Task vars: above the defaults file, as a play's role variables are above a role's defaults.
            {"name": "show", "ansible.builtin.debug": {"msg": "{{ {inventory_hostname: (" + config + ")} | to_json }}"},
             "vars": {"k3s_node_labels": {}, **(play_vars or {})}},
        ],
    }]
    return shown(run(tmp_path, groups, yaml.safe_dump(play, sort_keys=False, width=1000),
                     env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "PYTHONHASHSEED": str(seed)}))


def test_three_servers_form_one_etcd_cluster_and_agents_use_the_fixed_address(tmp_path: Path) -> None:
    server = expression(task("server", SERVER_FILES)["vars"]["k3s_config"])
    first = task("server", "Record whether this server starts the cluster or joins it")
    # The same first server on every run (found with seeds where it was not).
    for seed in range(4):
        configs = render(tmp_path, "masters", first, server, seed)
        assert configs["s1"].get("cluster-init") is True and "server" not in configs["s1"], (seed, configs["s1"])
        for joiner in ("s2", "s3"):
            assert "cluster-init" not in configs[joiner], (seed, configs[joiner])
            assert configs[joiner]["server"] == "https://10.0.1.9:6443", (seed, configs[joiner])
        for name, config in configs.items():
            assert "10.0.1.9" in config["tls-san"], (name, config["tls-san"])

    agent = expression(task("agent", AGENT_FILES)["vars"]["k3s_config"])
    agents = render(tmp_path, "workers", "false", agent)
    assert agents["a1"]["server"] == "https://10.0.1.9:6443", agents["a1"]


def test_an_agent_of_a_users_inventory_joins_its_server_at_ansible_host(tmp_path: Path) -> None:
    """Issue 21: k3s_agent found no server outside `masters` and left the
    address empty without pirack_node_address."""
    agent = expression(task("agent", AGENT_FILES)["vars"]["k3s_config"])
    configs = render(tmp_path, "agent", "false", agent, groups=USER_GROUPS,
                     play_vars={"k3s_servers": "{{ groups['server'] }}"})
    assert configs["node1"]["server"] == "https://192.168.7.10:6443", configs
    assert configs["node1"]["node-ip"] == "192.168.7.21", configs
