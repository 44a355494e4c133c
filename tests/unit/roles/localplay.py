"""Run a playbook written by a test against localhost stand-ins for a
rack's boards: every host of the inventory connects locally with this
Python, so a role's templates and expressions are evaluated by Ansible
itself without a board."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}


def run(cwd: Path, groups: str, play: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Write hosts.yml (``groups``: the YAML under ``all:`` after its
    connection vars, indented two spaces) and play.yml into ``cwd``, then run
    ansible-playbook there with ``args``."""
    (cwd / "hosts.yml").write_text(
        "all:\n  vars:\n    ansible_connection: local\n"
        f"    ansible_python_interpreter: {sys.executable}\n{groups}")
    (cwd / "play.yml").write_text(play)
    return subprocess.run(["ansible-playbook", "play.yml", "-i", "hosts.yml", *args], cwd=cwd,
                          env={**ENV, **(env or {})}, capture_output=True, text=True, timeout=300,
                          check=False)


# k3s-ansible's groups, addresses in ansible_host only, nothing of this
# collection's layout (the ``groups`` of run()).
USER_GROUPS = """\
  children:
    server:
      hosts:
        cp1: {ansible_host: 192.168.7.10}
    agent:
      hosts:
        node1: {ansible_host: 192.168.7.21}
"""


def role_task(role: str, file: str, name: str) -> dict:
    """The task called ``name`` in roles/<role>/tasks/<file>."""
    tasks = yaml.safe_load((ROOT / "roles" / role / "tasks" / file).read_text())
    return next(t for t in tasks if t.get("name") == name)


def expression(template: str) -> str:
    """A "{{ ... }}" template's expression, to embed in a test's own."""
    return template.strip().removeprefix("{{").removesuffix("}}")


def shown(done: subprocess.CompletedProcess) -> dict:
    """What each host's task named "show" printed (a run with the json
    stdout callback), merged; the run must have succeeded."""
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    found: dict = {}
    for play_result in json.loads(done.stdout)["plays"]:
        for task in play_result["tasks"]:
            if task["task"]["name"] == "show":
                for result in task["hosts"].values():
                    found.update(json.loads(result["msg"]) if isinstance(result["msg"], str) else result["msg"])
    return found
