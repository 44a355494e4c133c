"""playbooks/status.yml (and so the summary site.yml ends with) as a user runs
it, on a rack whose boards are this machine (local connection) plus one
that cannot be reached: nothing here needs a Docker engine or a board. The
cluster says k3s, so the service read (pirack.cluster.app_info) goes to the
cluster's kubeconfig on the controller (absent here: the screen says it
cannot be read) and never asks this machine's Docker engine."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}

INVENTORY = f"""
all:
  vars:
    ansible_python_interpreter: {sys.executable}
    ansible_become: false
    pirack_orchestrator: k3s
    coinminer_webui_port: 1
  children:
    masters:
      hosts:
        m1: {{ansible_connection: local, pirack_node_address: 127.0.0.9, pirack_pi_model: pi4}}
    workers:
      hosts:
        w1: {{ansible_host: 127.0.0.1, ansible_port: 1, ansible_host_key_checking: false,
              pirack_node_address: 10.0.0.2}}
        w2: {{ansible_connection: local, pirack_node_address: 10.0.0.3}}
    cluster1:
      vars: {{pirack_cluster: cluster1}}
      hosts: {{m1: , w1: , w2: }}
"""

# A run whose first play loses w1 (unreachable) and w2 (a failed task), as a
# site.yml run can, then ends with the summary.
RUN = f"""
- name: A stage that loses two boards
  hosts: all
  gather_facts: false
  tasks:
    - name: Fail on w2
      ansible.builtin.fail:
        msg: boom
      when: inventory_hostname == 'w2'

- name: The summary
  ansible.builtin.import_playbook: {ROOT}/playbooks/summary.yml
"""


def screen(tmp_path: Path, playbook: str, *extra: str) -> tuple[int, str]:
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    result = subprocess.run(["ansible-playbook", playbook, "-i", str(tmp_path / "hosts.yml"), *extra],
                            cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300, check=False)
    return result.returncode, " ".join(result.stdout.split())


def test_status_names_the_unreachable_board(tmp_path: Path) -> None:
    rc, out = screen(tmp_path, str(ROOT / "playbooks" / "status.yml"))
    assert "- w1 cluster1 - unreachable" in out
    # Each board that answers says how it is, as board_health read it on this
    # machine: no thermal zone or Pi firmware here, so those are unknown.
    assert re.search(r"- m1 cluster1 pi4 up SoC (unknown|[\d.]+ °C); throttled (unknown|now: .*?); "
                     r"disk [\d.]+ [KMGT]?i?B free \([\d.]+ % used\); clock (NOT )?synchronised", out), out
    assert "cluster1 (k3s): 2 of 3 boards up; not answering: w1" in out
    assert "web UI http://127.0.0.9:1/ does not answer" in out
    assert "services: cannot be read from m1" in out
    assert "registry 127.0.0.9:5000" in out
    assert "kubectl --kubeconfig ~/.kube/pirack-cluster1.yaml get nodes" in out
    assert rc in (0, 4), out  # 4: the unreachable board stays in the recap


@pytest.mark.parametrize("check", [[], ["--check"]], ids=["run", "check"])
def test_the_summary_after_a_run_that_lost_boards(tmp_path: Path, check: list[str]) -> None:
    """The old summary said "failed" for any board an earlier play had dropped."""
    (tmp_path / "run.yml").write_text(RUN)
    rc, out = screen(tmp_path, str(tmp_path / "run.yml"), *check)
    assert "- w1 cluster1 - unreachable" in out
    assert "- w2 cluster1 - up (dropped earlier in this run)" in out
    assert rc != 0  # the summary never hides the failures before it


def test_status_under_a_limit(tmp_path: Path) -> None:
    rc, out = screen(tmp_path, str(ROOT / "playbooks" / "status.yml"), "--limit", "w2")
    assert "- w2 cluster1 - up" in out
    assert "cluster1 (k3s): 1 of 1 boards up" in out
    assert "- m1 cluster1" not in out
    assert rc == 0, out


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """A fake HTTP server on a loopback address of its own; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.9", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def send_json(handler: BaseHTTPRequestHandler, answer: object) -> None:
    body = json.dumps(answer).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class WebUi(BaseHTTPRequestHandler):
    """/json as a coin-miner web UI that has run long enough to know its rate."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        send_json(self, {"coins": 7, "hashes": 1234, "now": 1000.0, "workers": 2, "rate": 31.5})

    def log_message(self, *_: object) -> None:
        pass


def test_a_web_ui_that_knows_its_rate_costs_no_wait(tmp_path: Path) -> None:
    """Issue 15: the status screen read the counter twice, ten seconds apart,
    on every run; a web UI that reports its own rate is read once."""
    with serving(WebUi) as port:
        rc, out = screen(tmp_path, str(ROOT / "playbooks" / "status.yml"), "-e", f"coinminer_webui_port={port}")
    assert f"web UI http://127.0.0.9:{port}/ hash rate 31.5 hashes/s, 7 coins" in out, out
    wait = out.split("TASK [Let the miners work for ten seconds", 1)[1].split("TASK [", 1)[0]
    assert "skipping" in wait and "ok:" not in wait, wait
    assert rc in (0, 4), out


class Prometheus(BaseHTTPRequestHandler):
    """/api/v1/alerts behind a basic-auth login, as the monitoring role's
    Prometheus answers once it has one (issue 23): 401 without it."""

    login = "Basic " + base64.b64encode(b"pirack:s3cret-from-the-secrets-folder").decode()

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.headers.get("Authorization") != self.login:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="prometheus"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        alert = {"labels": {"alertname": "SocHot", "board": "w2"}, "state": "firing"}
        send_json(self, {"status": "success", "data": {"alerts": [alert]}})

    def log_message(self, *_: object) -> None:
        pass


@pytest.mark.parametrize("password", [None, "s3cret-from-the-secrets-folder"], ids=["no-login", "login"])
def test_alerts_through_prometheus_login(tmp_path: Path, password: str | None) -> None:
    """The screen shows Prometheus the rack's login when the secrets folder
    has one (and only then), and lists the alerts it answers."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    if password is not None:
        (secrets / "prometheus.password").write_text(password)
    with serving(Prometheus) as port:
        rc, out = screen(tmp_path, str(ROOT / "playbooks" / "status.yml"),
                         "-e", f"monitoring_prometheus_port={port} pirack_secrets_dir={secrets}")
    monitoring = f"monitoring http://127.0.0.9:{port}/consoles/pirack.html"
    if password is None:
        assert monitoring not in out and "alerts firing" not in out, out
    else:
        assert f"' {monitoring}' - ' alerts firing: SocHot (w2)'" in out, out
    assert password is None or password not in out
    assert rc in (0, 4), out
