"""sim_board against the real engine: create, re-run, check mode, re-create,
and the ways a re-creation can fail without losing the board.

Names, subnet and ports are this file's own (it-pi-node*, 10.99.9.0/24, SSH
2950-2952), so a simulated rack or another test on the same engine neither
disturbs it nor is disturbed.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator

import pytest

NAME = "it-pi-node"
BLOCKER = "it-pi-node-blocker"
NETWORK = "it-pi-node"
SUBNET = "10.99.9.0/24"
ADDRESS, BLOCKER_ADDRESS = "10.99.9.20", "10.99.9.21"
PORT, BLOCKER_PORT, OTHER_PORT = 2950, 2951, 2952


@pytest.fixture(name="key")
def fixture_key(tmp_path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "id")], check=True)
    return str(tmp_path / "id.pub")


@pytest.fixture(name="node_args")
def fixture_node_args(engine, module_runner, key) -> Iterator[dict]:
    """Arguments of one node; whatever the test did, its containers, volumes
    and network are removed."""
    pi_image = module_runner("docker_op", {"op": "images", "filters": {"reference": "pirack/pi-host:bookworm"}})
    if not pi_image.get("images"):
        pytest.skip("image pirack/pi-host:bookworm missing (make images builds it)")
    args = {"name": NAME, "model": "pi3bplus", "network": NETWORK, "subnet": SUBNET,
            "ipv4_address": ADDRESS, "ssh_port": PORT, "authorized_key": key}
    yield args
    for name in (BLOCKER, f"{NAME}.replaced", NAME):
        module_runner("sim_board", {"name": name, "network": NETWORK, "state": "absent"})


def boards(module_runner) -> dict[str, str]:
    """Name -> id of every container made for this test's node (a parked one included)."""
    found = module_runner("docker_op", {"op": "ps", "all": True, "filters": {"label": f"pirack.node={NAME}"}})
    return {c["name"]: c["id"] for c in found["containers"]}


def test_node_lifecycle(module_runner, node_args):
    planned = module_runner("sim_board", node_args, check_mode=True, diff=True)
    assert planned["changed"] is True and planned["diff"]["after"]["memory_mb"] == 1024
    assert boards(module_runner) == {}

    created = module_runner("sim_board", node_args)
    assert created["changed"] is True, created
    assert created["node"]["status"] == "running"
    assert created["node"]["ipv4_address"] == ADDRESS

    again = module_runner("sim_board", node_args, diff=True)
    assert again["changed"] is False, again["diff"]

    bigger = module_runner("sim_board", dict(node_args, model="pi4", memory_mb=2048), check_mode=True, diff=True)
    assert bigger["changed"] is True
    assert bigger["diff"]["after"]["recreated_for"] == ["memory_mb", "labels"]

    removed = module_runner("sim_board", {"name": NAME, "network": NETWORK, "state": "absent"})
    assert removed["changed"] is True
    assert module_runner("sim_board", {"name": NAME, "network": NETWORK, "state": "absent"})["changed"] is False


def test_bad_input_never_costs_the_board(module_runner, node_args):
    assert module_runner("sim_board", node_args)["changed"] is True
    before = boards(module_runner)

    # The report that opened issue 13 item 8: cpus -2 removed the board and said changed=false.
    for bad, words in [({"cpus": -2}, "cpus -2.0 must be"), ({"cpus": 64}, "more than the"),
                       ({"ssh_port": 70000}, "ssh_port 70000"), ({"ssh_bind": "localhost:22"}, "ssh_bind"),
                       ({"ipv4_address": "10.99.9.1"}, "gateway"), ({"memory_mb": 2048}, "memory_mb: "),
                       ({"image": "pirack/no-such-image:1"}, "not found"),
                       ({"network": "it-bad", "subnet": "172.18.5.0/24"}, "overlaps 172.16.0.0/12")]:
        answer = module_runner("sim_board", dict(node_args, **bad))
        assert answer["failed"] and words in answer["msg"] and "\n" not in answer["msg"], (bad, answer)
        assert not answer.get("changed"), (bad, answer)
        assert boards(module_runner) == before, f"{bad} replaced or removed the board"

    no_engine = module_runner("sim_board", dict(node_args, docker_host="unix:///nonexistent.sock"))
    assert no_engine["failed"] and "no Docker engine answers at unix:///nonexistent.sock" in no_engine["msg"]
    assert "\n" not in no_engine["msg"]


def test_recreation_never_loses_the_board(module_runner, node_args):
    module_runner("sim_board", node_args)
    before = boards(module_runner)
    blocker = module_runner("sim_board", dict(node_args, name=BLOCKER, ipv4_address=BLOCKER_ADDRESS,
                                              ssh_port=BLOCKER_PORT))
    assert blocker["changed"] is True, blocker

    # A port or address another container holds is refused before anything happens.
    port = module_runner("sim_board", dict(node_args, ssh_port=BLOCKER_PORT))
    assert port["failed"] and f"ssh_port {BLOCKER_PORT} on 127.0.0.1 is already published by container " \
        f"{BLOCKER}" in port["msg"], port
    address = module_runner("sim_board", dict(node_args, ipv4_address=BLOCKER_ADDRESS))
    assert address["failed"] and f"already used on network {NETWORK} by container {BLOCKER}" in address["msg"]
    assert boards(module_runner) == before

    # A port something outside Docker holds shows only when the new container
    # starts: the old board comes back, running, under its own name.
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", OTHER_PORT))
        holder.listen()
        failed = module_runner("sim_board", dict(node_args, ssh_port=OTHER_PORT))
    assert failed["failed"] and "the old one was put back and restarted" in failed["msg"], failed
    assert boards(module_runner) == before
    kept = module_runner("sim_board", node_args)
    assert kept["changed"] is False and kept["node"]["status"] == "running", kept

    # Once the port is free the same change goes through: a new container
    # under the node's name, nothing parked left behind.
    moved = module_runner("sim_board", dict(node_args, ssh_port=OTHER_PORT))
    assert moved["changed"] is True and moved["node"]["status"] == "running", moved
    after = boards(module_runner)
    assert list(after) == [NAME] and after[NAME] != before[NAME]
