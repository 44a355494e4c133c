"""Issue 22 item 13: the first server of an HA cluster re-installed alone
(reflashed, or reset) rejoins the members that kept running instead of
starting a new etcd with cluster-init. Run by Ansible on localhost stand-ins
for three servers, each with a data directory of its own: the server entry
point under --check --diff, whose diff of config.yaml is what k3s would read
(k3s itself cannot run here; the run then stops at the binary)."""

from __future__ import annotations

from pathlib import Path

import yaml
from localplay import run


def groups(tmp: Path) -> str:
    hosts = "\n".join(f"        s{n}: {{pirack_node_address: 127.0.0.{n}, pirack_k3s_data_dir: {tmp}/s{n}}}"
                      for n in (1, 2, 3))
    return f"""\
  children:
    masters:
      hosts:
{hosts}
    cluster1:
      vars: {{pirack_cluster: cluster1}}
      hosts: {{s1: , s2: , s3: }}
"""


def play(tmp: Path) -> str:
    return f"""\
- name: The first server of three
  hosts: s1
  gather_facts: true
  tasks:
    - name: The server entry point
      ansible.builtin.include_role:
        name: pirack.cluster.k3s
        tasks_from: server
      vars:
        k3s_install_dir: {tmp}/bin
        k3s_config_dir: {tmp}/etc
        k3s_token: not-a-real-token
        k3s_kubeconfig: ""
        k3s_server_min_memory_mb: 1
        k3s_docker_forward: false
"""


def config(tmp: Path, members: tuple[str, ...]) -> dict:
    """s1's config.yaml as the run would write it, with ``members`` holding a token file."""
    for member in members:
        (tmp / member / "server").mkdir(parents=True)
        (tmp / member / "server" / "token").write_text(f"K10cafe::server:{member}-secret\n")
    done = run(tmp, groups(tmp), play(tmp), "--check", "--diff")
    out = done.stdout
    assert "Write k3s's configuration, token, registries, unit and forward rules" in out, out + done.stderr
    diff = out.split(f"+++ after: {tmp}/etc/config.yaml")[1].split("\n\n")[0]
    return yaml.safe_load("\n".join(line[1:] for line in diff.splitlines() if line.startswith("+")))


def test_the_first_server_starts_the_cluster_when_no_server_runs_it(tmp_path: Path) -> None:
    first = config(tmp_path, ())
    assert first["cluster-init"] is True and "server" not in first, first


def test_the_first_server_reinstalled_alone_rejoins_the_members(tmp_path: Path) -> None:
    rejoining = config(tmp_path, ("s2", "s3"))
    assert "cluster-init" not in rejoining, rejoining
    assert rejoining["server"] == "https://127.0.0.2:6443", rejoining


def test_a_member_first_server_keeps_its_config(tmp_path: Path) -> None:
    member = config(tmp_path, ("s1", "s2", "s3"))
    assert member["cluster-init"] is True and "server" not in member, member
