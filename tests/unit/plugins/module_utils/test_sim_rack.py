"""Rack subnet safety, option checks and node comparison, without an engine."""

import ipaddress

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.pi_model import MODELS
from ansible_collections.pirack.cluster.plugins.module_utils.sim_rack import (
    NodeParamError,
    actual_node,
    address_holder,
    check_node,
    desired_node,
    differences,
    node_problems,
    port_holder,
    subnet_problem,
)
from hypothesis import given, settings
from hypothesis import strategies as st

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
        ({"cpus": -2.0}, "cpus -2.0 must be a number of CPUs of at least 0.01"),
        ({"cpus": float("nan")}, "cpus nan must be"),
        ({"ipv4_address": "10.99.0.255"}, "network, broadcast or gateway"),
        ({"ipv4_address": "10.99.0.1"}, "pick one from 10.99.0.2 on"),
        ({"ipv4_address": "fe80::1"}, "is not an IPv4 address"),
        ({"ssh_port": 65536}, "ssh_port 65536 must be a TCP port"),
        ({"ssh_bind": "127.0.0.1:22"}, "ssh_bind '127.0.0.1:22' is not an IP address"),
        ({"hostname": "pi_4"}, "hostname 'pi_4' is not a hostname"),
        ({"name": "p" * 64}, "is longer than 63 characters, and the node's hostname defaults to it"),
        ({"network": "rack net"}, "network 'rack net' is not a network name"),
        ({"image": "pirack/pi host"}, "image 'pirack/pi host' is not an image reference"),
        ({"labels": {"node": "x"}}, "'node' is set from the name option"),
        ({"lxcfs_dir": "lxcfs"}, "lxcfs_dir 'lxcfs' must be an absolute path"),
    ],
)
def test_desired_node_refuses_impossible_settings(change, message):
    with pytest.raises(NodeParamError, match=message):
        desired_node(dict(PARAMS, **change), host_cpus=2, lxcfs=False)


def test_a_long_name_is_fine_with_its_own_hostname_and_removal_checks_only_names():
    assert node_problems(dict(PARAMS, name="p" * 64, hostname="pi")) == []
    assert node_problems({"state": "absent", "name": "pi_c1", "network": "pirack"}) == []
    assert node_problems({"state": "absent", "name": "/pi", "network": "pirack"})[0].startswith("name '/pi'")


# Values a person (or a template gone wrong) could hand the module: the good
# ones often enough that whole valid nodes come out too.
GOOD_VALUES = {
    "name": ["pi-c1-master", "pirack-c2-worker5", "node.1"],
    "model": list(MODELS),
    "memory_mb": [None, 512, 1024, 2048, 4096],
    "cpus": [None, 0.5, 1.0, 2.0],
    "hostname": [None, "", "pi", "c1.rack"],
    "image": ["pirack/pi-host:bookworm", "localhost:5000/pi@sha256:abc"],
    "network": ["pirack", "it_net"],
    "subnet": ["10.99.0.0/24", "10.99.0.0/28", "10.99.0.0/20"],
    "ipv4_address": [None, "10.99.0.10", "10.99.0.14"],
    "ssh_port": [2210, 1, 65535],
    "ssh_bind": ["127.0.0.1", "0.0.0.0", "::1"],
    "authorized_key": ["/r/id.pub"],
    "lxcfs_dir": ["/var/lib/lxcfs", ""],
    "labels": [{}, {"cluster": "cluster1", "role": 3}],
}
WILD = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(), st.text(max_size=80),
                 st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2))
# A plausible node with up to three options replaced by anything at all.
PARAM_SETS = st.builds(
    lambda good, wild: {**good, **wild},
    st.fixed_dictionaries({key: st.sampled_from(values) for key, values in GOOD_VALUES.items()},
                          optional={"state": st.sampled_from(["present", "absent"])}),
    st.dictionaries(st.sampled_from(sorted(GOOD_VALUES)), WILD, max_size=3))
OPTIONS = set(GOOD_VALUES) | {"state"}


@settings(max_examples=400, deadline=None)
@given(params=PARAM_SETS, host_cpus=st.integers(1, 8))
def test_node_checks_never_raise_and_name_the_option_on_one_line(params, host_cpus):
    problems = node_problems(params, host_cpus)
    for problem in problems:
        assert "\n" not in problem and "\r" not in problem
        assert problem.split()[0].rstrip(":") in OPTIONS, problem
    try:
        check_node(params, host_cpus)
    except NodeParamError as exc:
        assert str(exc) == "; ".join(problems)
    else:
        assert problems == []


@settings(max_examples=400, deadline=None)
@given(params=PARAM_SETS, host_cpus=st.integers(1, 8), lxcfs=st.booleans())
def test_options_that_pass_the_checks_make_a_node_docker_accepts(params, host_cpus, lxcfs):
    params = dict(params, state="present")
    try:
        want = desired_node(params, host_cpus, lxcfs)
    except NodeParamError:
        return
    assert 0.01 <= want["cpus"] <= host_cpus
    assert want["memory_mb"] in MODELS[params["model"]].memory_mb
    assert 1 <= int(want["ssh"].rsplit(":", 1)[1]) <= 65535
    if want["ipv4_address"]:
        net = ipaddress.ip_network(params["subnet"])
        assert ipaddress.ip_address(want["ipv4_address"]) in list(net.hosts())[1:]
    assert len(want["hostname"]) <= 63


def test_taken_ports_and_addresses_are_named():
    ssh = {"IP": "127.0.0.1", "PublicPort": 2210, "PrivatePort": 22, "Type": "tcp"}
    web = {"IP": "0.0.0.0", "PublicPort": 8080, "Type": "tcp"}
    dns = {"IP": "127.0.0.1", "PublicPort": 53, "Type": "udp"}
    listing = [{"Id": "old", "Names": ["/pi-c1-master"], "Ports": [ssh]},
               {"Id": "web", "Names": ["/web"], "Ports": [web, dns]}]
    assert port_holder(listing, "127.0.0.1", 2210, exclude="old") is None
    assert port_holder(listing, "127.0.0.1", 2210) == "pi-c1-master"
    assert port_holder(listing, "127.0.0.1", 8080) == "web"
    assert port_holder(listing, "0.0.0.0", 2210, exclude="web") == "pi-c1-master"
    assert port_holder(listing, "127.0.0.2", 2210) is None and port_holder(listing, "127.0.0.1", 53) is None
    network = {"Containers": {"old": {"Name": "pi-c1-master", "IPv4Address": "10.99.0.10/24"}}}
    assert address_holder(network, "10.99.0.10") == "pi-c1-master"
    assert address_holder(network, "10.99.0.10", exclude="old") is None
    assert address_holder(network, None) is None and address_holder({}, "10.99.0.11") is None


def _inspect(want):
    """docker inspect output for a container created exactly as ``want``."""
    return {
        "Image": "sha256:abc",
        "Config": {"Hostname": want["hostname"], "Labels": dict(want["labels"], other="x")},
        "HostConfig": {
            "Memory": want["memory_mb"] * 1024 * 1024, "NanoCpus": int(want["cpus"] * 1e9),
            "PortBindings": {"22/tcp": [{"HostIp": "127.0.0.1", "HostPort": "2210"}]},
            "Binds": [f"{s}:{t}" for s, t in want["binds"].items()],
            "Tmpfs": dict(want["tmpfs"]),
        },
        "NetworkSettings": {"Networks": {"pirack": {"IPAMConfig": {"IPv4Address": "10.99.0.10"}}}},
    }


def test_a_board_with_a_sim_dir_has_a_pi_s_health_files_and_every_board_an_sd_card():
    """Issue 26: the thermal zone and get_throttled where a Pi has them, from
    a folder a test writes; the SD card a tmpfs a test can fill."""
    want = desired_node(dict(PARAMS, sim_dir="/r/boards/c1/"), 2, lxcfs=False)
    assert want["binds"]["/r/boards/c1/thermal"] == "/sys/class/thermal:rw"
    assert want["binds"]["/r/boards/c1/platform"] == "/sys/devices/platform:rw"
    assert want["tmpfs"]["/var/lib/pirack-sim/sdcard"] == "size=64m"
    assert not [b for b in desired_node(PARAMS, 2, lxcfs=False)["binds"] if b.startswith("/r/boards")]
    old = dict(_inspect(desired_node(PARAMS, 2, lxcfs=False)))
    old["HostConfig"] = dict(old["HostConfig"], Tmpfs={"/run": "rw", "/run/lock": "rw"})
    assert differences(actual_node(old, PARAMS["image"], "sha256:abc"),
                       desired_node(PARAMS, 2, lxcfs=False)) == ["tmpfs"], "a board from before gets its card"
    assert "sim_dir 'boards' must be an absolute path or empty" in node_problems(dict(PARAMS, sim_dir="boards"))


def test_unchanged_node_has_no_differences():
    want = desired_node(PARAMS, 2, lxcfs=True)
    have = actual_node(_inspect(want), PARAMS["image"], "sha256:abc")
    assert differences(have, want) == []


def test_changed_memory_and_image_are_reported():
    want = desired_node(PARAMS, 2, lxcfs=True)
    have = actual_node(_inspect(want), PARAMS["image"], "sha256:new")
    want_more = desired_node(dict(PARAMS, memory_mb=4096), 2, lxcfs=True)
    assert differences(have, want_more) == ["image", "memory_mb"]
