"""Which daemon.json ``hosts`` open the Docker API to the network: every entry
that is not a local socket, unless clients must show a verified certificate."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.pirack.cluster.plugins.filter.docker_daemon import FilterModule, docker_unprotected_hosts
from hypothesis import given
from hypothesis import strategies as st

TLS = {"tlsverify": True, "tlscacert": "/etc/docker/ca.pem", "tlscert": "/etc/docker/cert.pem",
       "tlskey": "/etc/docker/key.pem"}


def test_registered() -> None:
    assert FilterModule().filters() == {"docker_unprotected_hosts": docker_unprotected_hosts}


@pytest.mark.parametrize("options", [
    {}, None, {"hosts": []}, {"hosts": None}, {"hosts": ["unix:///var/run/docker.sock"]},
    {"hosts": ["fd://"]}, {"hosts": ["fd://", "unix:///run/docker-rootless.sock"]},
    {"hosts": [""]}, {"hosts": " unix:///var/run/docker.sock "},
])
def test_local_sockets_are_safe(options: dict) -> None:
    assert docker_unprotected_hosts(options) == []


@pytest.mark.parametrize("address", [
    "0.0.0.0:2375", ":2375", "tcp://0.0.0.0:2375", "192.168.1.10:2375", "tcp://[::]:2376",
    "ssh://pi@board", "npipe:////./pipe/docker_engine", "UNIX:///var/run/docker.sock", "localhost:2375",
])
def test_every_other_address_is_refused(address: str) -> None:
    """The old check only knew tcp://; dockerd treats a bare host:port as TCP."""
    assert docker_unprotected_hosts({"hosts": ["fd://", address]}) == [address]
    assert docker_unprotected_hosts({"hosts": address}) == [address]


def test_network_addresses_with_verified_tls_are_accepted() -> None:
    assert docker_unprotected_hosts({"hosts": ["fd://", "0.0.0.0:2376"], **TLS}) == []


@pytest.mark.parametrize("missing", ["tlsverify", "tlscacert", "tlscert", "tlskey"])
def test_tls_without_every_part_is_not_verification(missing: str) -> None:
    options = {"hosts": ["tcp://0.0.0.0:2376"], **TLS}
    del options[missing]
    assert docker_unprotected_hosts(options) == ["tcp://0.0.0.0:2376"]
    options[missing] = False if missing == "tlsverify" else " "
    assert docker_unprotected_hosts(options) == ["tcp://0.0.0.0:2376"]


def test_tls_without_verification_is_not_enough() -> None:
    """``tls: true`` encrypts but lets any client in."""
    options = {"hosts": ["tcp://0.0.0.0:2376"], "tls": True, **TLS, "tlsverify": "maybe"}
    assert docker_unprotected_hosts(options) == ["tcp://0.0.0.0:2376"]
    assert docker_unprotected_hosts({**options, "tlsverify": "true"}) == []


@pytest.mark.parametrize("options, message", [
    ("hosts: [0.0.0.0:2375]", "expected a mapping"),
    ({"hosts": {"tcp": "0.0.0.0"}}, "hosts: expected a list"),
])
def test_malformed_settings_name_the_option(options: object, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        docker_unprotected_hosts(options)


@given(st.lists(st.text(max_size=30), max_size=5))
def test_only_local_schemes_pass(hosts: list[str]) -> None:
    exposed = docker_unprotected_hosts({"hosts": hosts})
    for host in hosts:
        local = not host.strip() or host.strip().startswith(("unix://", "fd://"))
        assert (host in exposed) != local
