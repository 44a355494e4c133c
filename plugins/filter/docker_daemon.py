# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filter: the Docker engine addresses anyone on the network could use.

Whoever reaches the engine's API is root on the board. dockerd reads every
``hosts`` entry that is not ``unix://`` or ``fd://`` as a network address (a
bare ``0.0.0.0:2375`` is TCP too), so the only safe rule is an allow-list of
the local schemes, with network addresses accepted only when clients must
present a certificate the engine verifies. Pure, so the rule is unit-tested
without a board.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

# dockerd's own local schemes (case-sensitive, as dockerd parses them).
LOCAL_SCHEMES = ("unix://", "fd://")
TLS_FILES = ("tlscacert", "tlscert", "tlskey")


def tls_verified(options: Mapping[str, Any]) -> bool:
    """Clients must present a certificate signed by the configured CA."""
    try:
        verify = boolean(options.get("tlsverify", False), strict=True)
    except TypeError:
        return False
    return verify and all(isinstance(options.get(key), str) and options[key].strip() for key in TLS_FILES)


def docker_unprotected_hosts(options: Any) -> list[str]:
    """The ``hosts`` entries of daemon.json options that open the API to the
    network without TLS verification; empty when the engine is safe."""
    if options is None:
        return []
    if not isinstance(options, Mapping):
        raise AnsibleFilterError("docker_engine_daemon_options: expected a mapping of daemon.json settings")
    hosts = options.get("hosts", [])
    if hosts is None:
        return []
    if isinstance(hosts, str):
        hosts = [hosts]
    if not isinstance(hosts, list):
        raise AnsibleFilterError("docker_engine_daemon_options.hosts: expected a list of addresses")
    # dockerd trims each entry; an empty one means its default unix socket.
    exposed = [str(h) for h in hosts if str(h).strip() and not str(h).strip().startswith(LOCAL_SCHEMES)]
    return [] if tls_verified(options) else exposed


class FilterModule:
    """Docker daemon settings."""

    def filters(self) -> dict[str, Any]:
        return {"docker_unprotected_hosts": docker_unprotected_hosts}
