"""swarm_member, swarm_node and swarm_info against two real, throwaway engines.

A swarm init or leave on the machine's own engine could break a rack or
another test running on it, so this test starts two private dockerd of its
own (own data, sockets, no bridge, no iptables rules) that talk swarm over
loopback ports, forms a two-node swarm with the modules, and deletes
everything afterwards. It needs root and dockerd; otherwise it skips.

The private engines still share the machine's network namespace, and a
swarm makes a docker_gwbridge bridge there: it is given an address pool of
its own and removed afterwards, and the test refuses to run where that
bridge already exists (the machine's engine is in a swarm). Because it
touches the machine's network all the same, `make test` leaves it out; run
it with `pytest -q tests/integration/test_docker_swarm.py`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TOKEN_PREFIX = "SWMTKN-"


@dataclass
class Engine:
    """One private dockerd: where its API listens and its swarm address."""

    host: str
    swarm_addr: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_engine(root: Path) -> subprocess.Popen:
    """A dockerd that shares nothing with the machine's: not its daemon.json,
    data, sockets, containerd namespace, bridge or firewall rules."""
    root.mkdir()
    (root / "daemon.json").write_text("{}\n", encoding="utf-8")
    with open(root / "dockerd.log", "wb") as log:
        return subprocess.Popen(
            ["dockerd", "--config-file", str(root / "daemon.json"), "--data-root", str(root / "data"),
             "--exec-root", str(root / "x"), "--pidfile", str(root / "pid"), "--host", f"unix://{root / 'sock'}",
             "--containerd-namespace", f"pirack-it-{root.name}",
             "--containerd-plugins-namespace", f"pirack-it-{root.name}-plugins",
             "--bridge", "none", "--iptables=false", "--ip-masq=false",
             # docker_gwbridge takes the first free pool; never 172.17/16, the
             # machine engine's docker0 (found when it took it and docker0 broke).
             "--default-address-pool", "base=10.97.0.0/16,size=24"],
            stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(name="engines", scope="module")
def fixture_engines() -> Iterator[list[Engine]]:
    """Two private engines, gone (processes and files) when the module's tests end."""
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        pytest.skip("needs root and dockerd to start private engines for a throwaway swarm")
    if os.path.exists("/sys/class/net/docker_gwbridge"):
        pytest.skip("docker_gwbridge exists here (an engine in a swarm): a private swarm would share it")
    # Short path: dockerd's sockets live under it and unix socket paths are short.
    base = Path(tempfile.mkdtemp(prefix="pirack-sw-", dir="/tmp"))
    processes = []
    try:
        engines = []
        for name in ("a", "b"):
            processes.append(_start_engine(base / name))
            engines.append(Engine(f"unix://{base / name / 'sock'}", f"127.0.0.1:{_free_port()}"))
        deadline = time.monotonic() + 60
        for engine, process in zip(engines, processes):
            while not os.path.exists(engine.host[len("unix://"):]):
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (Path(engine.host[len("unix://"):]).parent / "dockerd.log").read_text(errors="replace")
                    pytest.skip(f"a private dockerd did not start here: {log.strip().splitlines()[-1:]}")
                time.sleep(0.2)
        yield engines
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        subprocess.run(["umount", "-R", str(base)], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)
        # The private swarm's bridge in the machine's namespace (absent before: checked above).
        subprocess.run(["ip", "link", "delete", "docker_gwbridge"], capture_output=True, check=False)


def test_a_two_node_swarm_formed_changed_and_taken_down(module_runner, engines: list[Engine]) -> None:
    manager, worker = engines

    def on(engine: Engine, module: str, args: dict, **kwargs) -> dict:
        return module_runner(module, dict(args, docker_host=engine.host, timeout=30), **kwargs)

    assert on(manager, "swarm_info", {})["swarm"]["state"] == "inactive"
    refused = on(manager, "swarm_info", {"nodes": True})
    assert refused["failed"] and "not a swarm manager" in refused["msg"]

    init = {"state": "initialized", "listen_addr": manager.swarm_addr, "advertise_addr": manager.swarm_addr,
            "default_addr_pool": ["10.201.0.0/16"]}
    would = on(manager, "swarm_member", init, check_mode=True, diff=True)
    assert would["changed"] and would["diff"] == {"before": {"state": "inactive"}, "after": {"state": "active"}}
    assert on(manager, "swarm_info", {})["swarm"]["state"] == "inactive", "check mode must not init"
    started = on(manager, "swarm_member", init)
    assert started["changed"] and started["swarm"]["is_manager"], started
    assert started["swarm"]["default_addr_pool"] == ["10.201.0.0/16"]
    assert on(manager, "swarm_member", init)["changed"] is False

    unasked = on(manager, "swarm_info", {})
    assert "join_tokens" not in unasked
    tokens = on(manager, "swarm_info", {"join_tokens": True}, no_log=True)
    assert tokens["join_tokens"]["worker"].startswith(TOKEN_PREFIX), "no_log task gets the tokens"

    join = {"state": "joined", "listen_addr": worker.swarm_addr, "advertise_addr": worker.swarm_addr,
            "remote_addrs": [manager.swarm_addr], "join_token": tokens["join_tokens"]["worker"]}
    would_join = on(worker, "swarm_member", join, check_mode=True)
    assert would_join["changed"] and TOKEN_PREFIX not in str(would_join)
    joined = on(worker, "swarm_member", join)
    assert joined["changed"] and joined["swarm"]["managers"] == [manager.swarm_addr], joined
    assert TOKEN_PREFIX not in str(joined)
    assert on(worker, "swarm_member", join)["changed"] is False
    worker_id = joined["swarm"]["node_id"]

    refused = on(worker, "swarm_node", {"node": worker_id, "availability": "drain"})
    assert refused["failed"] and "a worker of a swarm, not a swarm manager" in refused["msg"]

    label = {"node": worker_id, "role": "worker", "labels": {"pirack.role": "worker", "pirack.model": "pi4"},
             "labels_owned_prefix": "pirack."}
    would_label = on(manager, "swarm_node", label, check_mode=True, diff=True)
    assert would_label["changed"] and would_label["diff"]["after"] == {"labels": label["labels"]}
    assert on(manager, "swarm_node", label)["changed"] is True
    assert on(manager, "swarm_node", label)["changed"] is False
    relabel = dict(label, labels={"pirack.role": "worker"})
    assert on(manager, "swarm_node", relabel)["node"]["labels"] == {"pirack.role": "worker"}

    drain = {"node": worker_id, "availability": "drain"}
    assert on(manager, "swarm_node", drain)["node"]["availability"] == "drain"
    assert on(manager, "swarm_node", drain)["changed"] is False
    nodes = on(manager, "swarm_info", {"nodes": True})["nodes"]
    assert sorted(n["role"] for n in nodes) == ["manager", "worker"]
    assert [n["labels"] for n in nodes if n["id"] == worker_id] == [{"pirack.role": "worker"}]

    missing = on(manager, "swarm_node", {"node": "no-such-node", "availability": "active"})
    assert missing["failed"] and missing["msg"] == "node no-such-node: no node no-such-node in this swarm"

    leave = {"state": "absent", "force": True}
    assert on(worker, "swarm_member", leave, check_mode=True)["changed"] is True
    assert on(worker, "swarm_member", leave)["changed"] is True
    assert on(worker, "swarm_member", leave)["changed"] is False

    forget = {"node": worker_id, "state": "absent", "force": True}
    assert on(manager, "swarm_node", forget, check_mode=True)["changed"] is True
    assert on(manager, "swarm_node", forget)["changed"] is True
    assert on(manager, "swarm_node", forget)["changed"] is False
    assert worker_id not in [n["id"] for n in on(manager, "swarm_info", {"nodes": True})["nodes"]]

    manager_leave = on(manager, "swarm_member", {"state": "absent"})
    assert manager_leave["failed"] and "\n" not in manager_leave["msg"], "a manager leaves only with force"
    assert on(manager, "swarm_member", leave)["changed"] is True
    assert on(manager, "swarm_info", {})["swarm"]["state"] == "inactive"
