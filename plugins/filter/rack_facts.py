# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters that hand the roles the collection's own tables: node labels,
image names and an app's ports.

A role that needs a label key, an image reference or a port asks here
instead of spelling the rule again in Jinja: the tables live in
module_utils (node_labels.py, image_ref.py) and in the app spec, and the app
module and the drivers read the same ones. Each filter has its YAML doc file
next to this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Optional

from ansible.errors import AnsibleFilterError
from ansible_collections.pirack.cluster.plugins.module_utils.image_ref import (
    is_valid_reference,
    parse_image,
    with_tag,
)
from ansible_collections.pirack.cluster.plugins.module_utils.node_labels import node_facts as facts_of_labels
from ansible_collections.pirack.cluster.plugins.module_utils.node_labels import node_labels as label_table


def node_labels(facts: Any, retire: bool = False) -> dict[str, Optional[str]]:
    """The labels of a node with these facts (role, model, cluster, position)."""
    if not isinstance(facts, Mapping):
        raise AnsibleFilterError(f"node_labels: expected a mapping of node facts, got {type(facts).__name__}")
    try:
        return label_table(facts, retire)
    except ValueError as exc:
        raise AnsibleFilterError(f"node_labels: {exc}") from None


def node_facts(labels: Any) -> dict[str, str]:
    """The facts (role, model, cluster, position) a node's labels carry."""
    if isinstance(labels, str) or not isinstance(labels, (Mapping, list)):
        raise AnsibleFilterError(f"node_facts: expected a mapping of node labels or a list of key=value, "
                                 f"got {type(labels).__name__}")
    return facts_of_labels(labels)


def _reference(filter_name: str, value: Any) -> str:
    if not isinstance(value, str) or not is_valid_reference(value):
        raise AnsibleFilterError(f"{filter_name}: expected an image reference such as pirack/coinminer-rng:1.0, "
                                 f"got {value!r}")
    return value


def image_with(reference: Any, tag: Optional[str] = None, registry: Optional[str] = None,
               digest: Optional[str] = None, untagged: bool = False) -> str:
    """``reference`` as the app module names it with this tag and registry,
    pinned to ``digest`` when one is given (without its tag when ``untagged``)."""
    ref = parse_image(with_tag(_reference("image_with", reference), tag or None, registry or None))
    if digest:
        ref = ref._replace(digest=digest)
    if untagged:
        ref = ref._replace(tag=None)
    return str(ref)


def image_name(reference: Any) -> str:
    """Registry and repository of ``reference``, without tag or digest."""
    return parse_image(_reference("image_name", reference)).name


def app_port(spec: Any, service: str, published: bool = False) -> int:
    """The port an app spec gives ``service``: the one its container listens on
    (its first port), or with ``published`` the host port it answers on."""
    services = spec.get("services") if isinstance(spec, Mapping) else None
    if not isinstance(services, Mapping) or service not in services:
        raise AnsibleFilterError(f"app_port: the spec has no service {service!r}")
    ports = [p for p in (services[service] or {}).get("ports") or [] if isinstance(p, Mapping)]
    found = [p.get("published") if published else p.get("port") for p in ports]
    found = [port for port in found if port is not None]
    if not found:
        raise AnsibleFilterError(f"app_port: service {service!r} {'publishes' if published else 'listens on'} "
                                 f"no port")
    return int(found[0])


class FilterModule:
    """Registers the filters under pirack.cluster."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"node_labels": node_labels, "node_facts": node_facts, "image_with": image_with,
                "image_name": image_name, "app_port": app_port}
