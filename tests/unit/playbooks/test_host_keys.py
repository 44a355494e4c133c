"""Which SSH options Ansible really uses for each inventory: the real rack
checks host keys against the known_hosts file it names; only the simulated
rack, whose keys the collection made, skips the check.

The options are read from the ssh command Ansible runs (-vvv) against a
closed local port, so nothing logs in anywhere.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import jinja2

ROOT = Path(__file__).resolve().parents[3]


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ssh_options(inventory: Path, host: str) -> list[str]:
    """The -o options of the ssh command Ansible builds for ``host``, in order."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    env.pop("ANSIBLE_HOST_KEY_CHECKING", None)
    result = subprocess.run(
        ["ansible", host, "-i", str(inventory), "-m", "ansible.builtin.ping", "-vvv",
         "-e", "ansible_host=127.0.0.1", "-e", f"ansible_port={closed_port()}",
         "-e", "ansible_ssh_retries=0", "-e", "ansible_timeout=5"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    command = next(line for line in result.stdout.splitlines() if "SSH: EXEC ssh" in line)
    return re.findall(r"-o (?:'|\")?([A-Za-z]+=[^ '\"]+)", command)


def first(options: list[str], name: str) -> str | None:
    """ssh uses the first value it is given for an option."""
    return next((o.split("=", 1)[1] for o in options if o.startswith(name + "=")), None)


def test_the_real_rack_checks_host_keys() -> None:
    options = ssh_options(ROOT / "inventories" / "pi-rack", "c1-master")
    assert first(options, "StrictHostKeyChecking") == "accept-new"
    assert first(options, "UserKnownHostsFile") == str(ROOT / "inventories" / "pi-rack" / "known_hosts")
    assert "StrictHostKeyChecking=no" not in options
    assert "UserKnownHostsFile=/dev/null" not in options


def test_the_simulated_rack_trusts_the_keys_it_made(tmp_path: Path) -> None:
    """The inventory the sim_rack role writes, rendered as the role renders it."""
    template = (ROOT / "roles" / "sim_rack" / "templates" / "hosts.yml.j2").read_text()
    plan = [{"name": "sim-master", "role": "master", "cluster": "cluster1", "ssh_port": 2201,
             "ipv4_address": "10.99.0.10", "model": "pi4"}]
    (tmp_path / "hosts.yml").write_text(jinja2.Template(template).render(
        sim_rack_name="sim", sim_rack_state_dir=str(tmp_path), sim_rack_orchestrator="swarm",
        sim_rack_plan=plan))
    options = ssh_options(tmp_path / "hosts.yml", "sim-master")
    assert first(options, "StrictHostKeyChecking") == "no"
    assert first(options, "UserKnownHostsFile") == "/dev/null"
