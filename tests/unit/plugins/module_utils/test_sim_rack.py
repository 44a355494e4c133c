"""Rack subnet safety and node comparison, without an engine."""

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.sim_rack import (
    actual_node,
    desired_node,
    differences,
    subnet_problem,
)

PARAMS = {
    "name": "pirack-c1-master", "model": "pi4", "memory_mb": 2048, "cpus": None,
    "hostname": None, "image": "pirack/pi-host:bookworm", "network": "pirack",
    "subnet": "10.99.0.0/24", "ipv4_address": "10.99.0.10", "ssh_port": 2210,
    "ssh_bind": "127.0.0.1", "authorized_key": "/r/id.pub", "lxcfs_dir": "/var/lib/lxcfs",
    "labels": {"cluster": "cluster1"},
}


def test_free_subnet_is_accepted():
    assert subnet_problem("10.99.0.0/24", ["172.17.0.0/16", "10.99.1.0/24"]) is None


@pytest.mark.parametrize(
    ("subnet", "others", "words"),
    [
        ("172.20.0.0/24", [], "overlaps 172.16.0.0/12, which the Docker engines inside"),
        ("192.168.5.0/24", [], "overlaps 192.168.0.0/16"),
        ("10.0.0.0/24", [], "overlaps 10.0.0.0/16"),
        ("10.99.0.0/16", ["10.99.7.0/24"], "overlaps 10.99.7.0/24, already used by a network"),
        ("10.99.0.1/24", [], "is not a network address"),
        ("10.99.0.0/30", [], "/28 or larger"),
    ],
)
def test_unsafe_subnets_are_named(subnet, others, words):
    assert words in subnet_problem(subnet, others)


def test_desired_node_follows_the_board_and_caps_cpus():
    want = desired_node(PARAMS, host_cpus=2, lxcfs=True)
    assert want["memory_mb"] == 2048 and want["cpus"] == 2.0
    assert want["binds"]["/var/lib/lxcfs/proc/meminfo"] == "/proc/meminfo:rw"
    assert want["binds"]["pirack-c1-master-docker"] == "/var/lib/docker:rw"
    assert want["labels"] == {"pirack.cluster": "cluster1", "pirack.model": "pi4",
                              "pirack.node": "pirack-c1-master"}
    assert "/var/lib/lxcfs/proc/meminfo" not in desired_node(PARAMS, 2, lxcfs=False)["binds"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cpus": 4.0}, "more than the 2 CPUs"),
        ({"ipv4_address": "10.98.0.5"}, "not inside subnet"),
        ({"memory_mb": 3000}, "not 3000"),
    ],
)
def test_desired_node_refuses_impossible_settings(change, message):
    with pytest.raises(ValueError, match=message):
        desired_node(dict(PARAMS, **change), host_cpus=2, lxcfs=False)


def _inspect(want):
    """docker inspect output for a container created exactly as ``want``."""
    return {
        "Image": "sha256:abc",
        "Config": {"Hostname": want["hostname"], "Labels": dict(want["labels"], other="x")},
        "HostConfig": {
            "Memory": want["memory_mb"] * 1024 * 1024, "NanoCpus": int(want["cpus"] * 1e9),
            "PortBindings": {"22/tcp": [{"HostIp": "127.0.0.1", "HostPort": "2210"}]},
            "Binds": [f"{s}:{t}" for s, t in want["binds"].items()],
        },
        "NetworkSettings": {"Networks": {"pirack": {"IPAMConfig": {"IPv4Address": "10.99.0.10"}}}},
    }


def test_unchanged_node_has_no_differences():
    want = desired_node(PARAMS, 2, lxcfs=True)
    have = actual_node(_inspect(want), PARAMS["image"], "sha256:abc")
    assert differences(have, want) == []


def test_changed_memory_and_image_are_reported():
    want = desired_node(PARAMS, 2, lxcfs=True)
    have = actual_node(_inspect(want), PARAMS["image"], "sha256:new")
    want_more = desired_node(dict(PARAMS, memory_mb=4096), 2, lxcfs=True)
    assert differences(have, want_more) == ["image", "memory_mb"]
