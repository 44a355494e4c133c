"""A board that answers with another host key is refused under the real
rack's settings, and accepted under the simulated rack's.

A real sshd on a local port stands in for a board: first contact records its
key in the inventory's known_hosts (accept-new), then sshd restarts with a
new key, as an impostor on the LAN would answer. The inventory is
inventories/pi-rack/group_vars/all.yml itself, with one host pointed here.
No Docker engine is used.

sshd comes from PATH, /usr/sbin/sshd, or PIRACK_SSHD (an absolute path, e.g.
a wrapper that runs an sshd unpacked from Debian's openssh-server package).
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def find_sshd() -> str:
    sshd = os.environ.get("PIRACK_SSHD") or shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.path.isfile(sshd):
        pytest.skip("no sshd on this machine (apt-get install openssh-server, or PIRACK_SSHD=<path>)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("sshd")
        except KeyError:
            pytest.skip("no 'sshd' user, which sshd run as root needs (openssh-server creates it)")
    return sshd


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@contextmanager
def sshd(sshd_path: str, workdir: Path, port: int, host_key: Path) -> Iterator[None]:
    """sshd on 127.0.0.1:port with this host key, letting the test's key in."""
    config = workdir / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {workdir}/sshd.pid\n"
        f"AuthorizedKeysFile {workdir}/client.pub\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    server = subprocess.Popen([sshd_path, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"sshd did not start: {server.stderr.read() if server.stderr else ''}")
            time.sleep(0.1)
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


def ping(inventory: Path, control_dir: Path) -> subprocess.CompletedProcess:
    """Log in and run ``true`` (raw: no Python needed on the "board"), with a
    fresh SSH control directory so no earlier master connection is reused
    past the host-key check."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir)}
    env.pop("ANSIBLE_HOST_KEY_CHECKING", None)
    return subprocess.run(["ansible", "board", "-i", str(inventory), "-m", "ansible.builtin.raw", "-a", "true"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_a_changed_host_key_is_refused_on_the_real_rack_only(tmp_path: Path) -> None:
    sshd_path = find_sshd()
    port = free_port()
    keygen(tmp_path / "client")
    keygen(tmp_path / "host_a")
    keygen(tmp_path / "host_b")
    board = (f"    board: {{ansible_host: 127.0.0.1, ansible_port: {port}, ansible_user: {getpass.getuser()},"
             f" ansible_ssh_private_key_file: {tmp_path}/client}}\n")
    real = tmp_path / "pi-rack"
    (real / "group_vars").mkdir(parents=True)
    shutil.copy(ROOT / "inventories" / "pi-rack" / "group_vars" / "all.yml", real / "group_vars" / "all.yml")
    (real / "hosts.yml").write_text("all:\n  hosts:\n" + board)
    simulated = tmp_path / "simulated.yml"
    # The two lines the sim_rack role writes into its inventory.
    simulated.write_text("all:\n  vars:\n    ansible_host_key_checking: false\n"
                         "    ansible_ssh_common_args: -o UserKnownHostsFile=/dev/null\n  hosts:\n" + board)

    with sshd(sshd_path, tmp_path, port, tmp_path / "host_a"):
        first = ping(real, tmp_path / "cp1")
        assert first.returncode == 0, first.stdout + first.stderr
        recorded = (real / "known_hosts").read_text()
        assert (tmp_path / "host_a.pub").read_text().split()[1] in recorded  # host names may be hashed
        assert ping(simulated, tmp_path / "cp2").returncode == 0

    with sshd(sshd_path, tmp_path, port, tmp_path / "host_b"):
        impostor = ping(real, tmp_path / "cp3")
        assert impostor.returncode != 0
        assert "UNREACHABLE" in impostor.stdout
        assert "Host key verification failed" in impostor.stdout + impostor.stderr
        assert (real / "known_hosts").read_text() == recorded  # the new key was not written
        trusted = ping(simulated, tmp_path / "cp4")
        assert trusted.returncode == 0, trusted.stdout + trusted.stderr
