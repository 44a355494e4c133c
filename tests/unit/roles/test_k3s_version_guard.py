"""The k3s role's version guard (issue 22 items 4 and 5), run by Ansible on
localhost stand-ins for a server and an agent, with the installed release as
the two-line script molecule/k3s uses (it answers --version as k3s does; k3s
itself cannot run here). A board moves one minor release at a time, as
Kubernetes' version skew policy asks, and a refused release is refused
before anything of the board's k3s would change: the runs are --check, so a
task that would write a file reports it, and none may before the refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from localplay import run

GROUPS = """\
  children:
    masters:
      hosts:
        s1: {pirack_node_address: 127.0.0.1}
    workers:
      hosts:
        a1: {pirack_node_address: 127.0.0.1}
    cluster1:
      vars: {pirack_cluster: cluster1}
      hosts: {s1: , a1: }
"""

INSTALLED = "v1.31.4+k3s1"


def play(tmp: Path, host: str, version: str, allow_skip: bool = False) -> str:
    return f"""\
- name: k3s {version} over {INSTALLED}
  hosts: {host}
  gather_facts: true
  tasks:
    - name: The role's entry point for the board
      ansible.builtin.include_role:
        name: pirack.cluster.k3s
      vars:
        k3s_version: {version}
        k3s_allow_minor_skip: {str(allow_skip).lower()}
        k3s_install_dir: {tmp}/bin
        k3s_config_dir: {tmp}/etc
        k3s_data_dir: {tmp}/data
        k3s_token: not-a-real-token
        k3s_kubeconfig: ""
        k3s_agent_drain_on_upgrade: false
        k3s_server_min_memory_mb: 1
        k3s_docker_forward: false
"""


def nothing_changed(out: str) -> bool:
    """No task reported a change (a would-be change, under --check)."""
    return "changed: [" not in out and " changed=0 " in out


def installed(tmp: Path) -> None:
    (tmp / "bin").mkdir()
    script = tmp / "bin" / "k3s"
    script.write_text(f"#!/bin/sh\necho 'k3s version {INSTALLED} (test file)'\n")
    script.chmod(0o755)


REFUSALS = {
    # one minor release skipped: said, with the release to go to first and the way to force it
    "v1.33.0+k3s1": ("Refuse to skip a minor release", "one minor release at a time", "v1.32 release first",
                     "k3s_allow_minor_skip"),
    "v1.30.9+k3s1": ("Refuse to go back to an older k3s", "does not support downgrades", "k3s_allow_downgrade"),
}


@pytest.mark.parametrize("host", ["s1", "a1"])
@pytest.mark.parametrize("version", list(REFUSALS))
def test_a_refused_release_is_refused_before_anything_would_change(tmp_path: Path, host: str, version: str) -> None:
    installed(tmp_path)
    done = run(tmp_path, GROUPS, play(tmp_path, host, version), "--check", "--diff")
    out = done.stdout + done.stderr
    task, *said = REFUSALS[version]
    assert done.returncode != 0, out
    # the task that failed: the last one named before the first failure
    assert out.split("fatal:")[0].rsplit("TASK [", 1)[1].startswith(f"pirack.cluster.k3s : {task}]"), out
    assert all(words in out for words in said), out
    assert nothing_changed(out), out


def test_the_next_minor_release_or_a_skip_allowed_goes_on_to_the_configuration(tmp_path: Path) -> None:
    """The other side of the guard: what it lets through reaches the files."""
    installed(tmp_path)
    for version, allow in (("v1.32.2+k3s1", False), ("v1.33.0+k3s1", True)):
        done = run(tmp_path, GROUPS, play(tmp_path, "a1", version, allow), "--check", "--diff")
        out = done.stdout + done.stderr
        assert "Refuse to skip a minor release" in out, (version, out)
        assert "one minor release at a time" not in out, (version, out)
        # The files k3s reads would change: what the refusals above must not reach.
        written = out.split("Write k3s's configuration, token, registries, unit and forward rules")[1]
        assert written.split("TASK [")[0].count("changed: [a1]") == 1, (version, out)


def test_the_environment_file_never_shows_under_diff_and_vvv(tmp_path: Path) -> None:
    """Issue 22 item 6: the unit's environment (a proxy URL with its password,
    K3S_* settings) is written like the token, never shown."""
    installed(tmp_path)
    secret = "Pr0xyS3cret"
    playbook = play(tmp_path, "a1", "v1.32.2+k3s1").replace(
        "        k3s_docker_forward: false\n",
        "        k3s_docker_forward: false\n"
        f"        k3s_environment: {{HTTPS_PROXY: 'http://rack:{secret}@proxy.lan:3128', K3S_DEBUG: 'true'}}\n")
    done = run(tmp_path, GROUPS, playbook, "--check", "--diff", "-vvv")
    out = done.stdout + done.stderr
    written = out.split("Write k3s's configuration, token, registries, unit and forward rules")[1].split("TASK [")[0]
    assert "changed: [a1]" in written, out
    assert secret not in out, out
