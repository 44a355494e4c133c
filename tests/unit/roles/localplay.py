"""Run a playbook written by a test against localhost stand-ins for a
rack's boards: every host of the inventory connects locally with this
Python, so a role's templates and expressions are evaluated by Ansible
itself without a board."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
