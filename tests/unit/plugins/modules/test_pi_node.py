"""pi_node against the real engine: create, re-run, check mode, remove."""

import subprocess

import pytest

NAME = "unit-pi-node"
NETWORK = "unit-pi-node"
SUBNET = "10.99.8.0/24"


@pytest.fixture(name="key")
def fixture_key(tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "id")], check=True)
    return str(tmp_path / "id.pub")


@pytest.fixture(name="node_args")
def fixture_node_args(engine, module_runner, key):
    """Arguments of one node; whatever the test did, the node is removed."""
    pi_image = module_runner("docker_op", {"op": "images", "name": "pirack/pi-host"})
    if not any("pirack/pi-host:bookworm" in i.get("tags", []) for i in pi_image.get("images", [])):
        pytest.skip("image pirack/pi-host:bookworm missing (make images builds it)")
    args = {"name": NAME, "model": "pi3bplus", "network": NETWORK, "subnet": SUBNET,
            "ipv4_address": "10.99.8.20", "ssh_port": 2920, "authorized_key": key}
    yield args
    module_runner("pi_node", {"name": NAME, "network": NETWORK, "state": "absent"})


def test_node_lifecycle(module_runner, node_args):
    planned = module_runner("pi_node", node_args, check_mode=True, diff=True)
    assert planned["changed"] is True and planned["diff"]["after"]["memory_mb"] == 1024

    created = module_runner("pi_node", node_args)
    assert created["changed"] is True, created
    assert created["node"]["status"] == "running"
    assert created["node"]["ipv4_address"] == "10.99.8.20"

    again = module_runner("pi_node", node_args)
    assert again["changed"] is False, again

    bigger = module_runner("pi_node", dict(node_args, model="pi4", memory_mb=2048), check_mode=True, diff=True)
    assert bigger["changed"] is True
    assert bigger["diff"]["after"]["recreated_for"] == ["memory_mb", "labels"]

    removed = module_runner("pi_node", {"name": NAME, "network": NETWORK, "state": "absent"})
    assert removed["changed"] is True
    assert module_runner("pi_node", {"name": NAME, "network": NETWORK, "state": "absent"})["changed"] is False


def test_bad_input_is_refused_in_one_line(module_runner, node_args):
    overlap = module_runner("pi_node", dict(node_args, network="unit-bad", subnet="172.18.5.0/24"))
    assert overlap["failed"] and "overlaps 172.16.0.0/12" in overlap["msg"]
    model = module_runner("pi_node", dict(node_args, model="pi7"))
    assert model["failed"] and "value of model must be one of" in model["msg"]
    memory = module_runner("pi_node", dict(node_args, memory_mb=2048))
    assert memory["failed"] and memory["msg"] == "a Raspberry Pi 3 Model B Plus has 1024 MiB of memory, not 2048"
    no_engine = module_runner("pi_node", dict(node_args, docker_host="unix:///nonexistent.sock"))
    assert no_engine["failed"] and "no Docker engine answers at unix:///nonexistent.sock" in no_engine["msg"]
    assert "\n" not in no_engine["msg"]
