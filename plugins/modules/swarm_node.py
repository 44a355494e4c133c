#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A node of a Docker Swarm, as its managers see it: labels, role, availability, removal."""

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_node
short_description: Set a Docker Swarm node's labels, role and availability, or remove the node
version_added: 0.1.0
seealso:
  - module: pirack.cluster.swarm_member
  - module: pirack.cluster.swarm_info
description:
  - Runs on a manager of the swarm (delegate the task to it) and changes one
    node's spec there, through the Docker SDK for Python. It sets the node's
    labels, its role (promote or demote) and its availability (V(drain) moves
    its tasks to the other nodes).
  - The node is updated only when its spec differs from what is asked, in one
    request carrying the spec version read, so a concurrent change is refused
    by the engine instead of overwritten.
  - O(state=absent) removes the node from the manager's node list, for a board
    that has left the swarm (it moved to another cluster, or is gone for good).
extends_documentation_fragment:
  - pirack.cluster.action_groups.docker
  - pirack.cluster.docker
attributes:
  check_mode:
    description: Reports what would change and changes nothing.
    support: full
  diff_mode:
    description: Returns the settings that differ, before and after.
    support: full
  idempotent:
    description: A second call with the same options reports no change.
    support: full
options:
  node:
    description: The node's id or hostname.
    type: str
    required: true
  state:
    description:
      - V(present) sets what O(role), O(availability) and O(labels) ask; a node
        that is not in the swarm fails the task.
      - V(absent) removes the node; one already absent is no change.
    type: str
    choices: [present, absent]
    default: present
  role:
    description: V(manager) or V(worker); not given leaves the role as it is.
    type: str
    choices: [manager, worker]
  availability:
    description:
      - V(active) takes tasks, V(pause) keeps its tasks but takes no new ones,
        V(drain) moves its tasks elsewhere. Not given leaves it as it is.
    type: str
    choices: [active, pause, drain]
  labels:
    description: Node labels to set (added, or changed when their value differs).
    type: dict
  labels_owned_prefix:
    description:
      - Labels whose key starts with this prefix belong to this task, so one of
        them missing from O(labels) is removed. Labels with other keys (set by
        hand) are kept.
      - V("") owns every label (O(labels) becomes the whole set); not given
        removes nothing.
    type: str
  force:
    description: For O(state=absent), remove the node even when it is still up (its engine still thinks it is a member).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Label a board and make it a worker, on the cluster's manager
  pirack.cluster.swarm_node:
    node: "{{ swarm_node_id }}"
    role: worker
    labels:
      pirack.role: worker
      pirack.model: pi4
      pirack.cluster: cluster1
    labels_owned_prefix: pirack.
  delegate_to: pirack-c1-master

- name: Drain a board before maintenance
  pirack.cluster.swarm_node:
    node: pirack-c1-worker2
    availability: drain
  delegate_to: pirack-c1-master

- name: Forget a board that left
  pirack.cluster.swarm_node:
    node: 9x1h2k3l4m5n6o7p8q9r0s1t2
    state: absent
    force: true
  delegate_to: pirack-c1-master
"""

RETURN = r"""
node:
  description: The node after the call (before it, in check mode); null when absent.
  returned: always
  type: dict
  contains:
    id:
      description: Node id.
      type: str
    hostname:
      description: Hostname the node's engine reports.
      type: str
    role:
      description: C(manager) or C(worker).
      type: str
    availability:
      description: C(active), C(pause) or C(drain).
      type: str
    labels:
      description: Node labels.
      type: dict
    state:
      description: C(ready), C(down), C(unknown) or C(disconnected).
      type: str
    address:
      description: The node's address as the managers see it.
      type: str
    leader:
      description: Whether this node leads the managers.
      type: bool
  sample:
    {id: 9x1h2k3l4m5n6o7p8q9r0s1t2, hostname: pirack-c1-worker1, role: worker, availability: active,
     labels: {pirack.role: worker, pirack.model: pi3bplus, pirack.cluster: cluster1},
     state: ready, address: 10.99.0.11, leader: false}
"""

from typing import Any, Optional  # noqa: E402

from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import (  # noqa: E402
    docker_argument_spec,
    exit_with_engine_result,
)
from ansible_collections.pirack.cluster.plugins.module_utils.errors import SwarmError  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.swarm_nodes import (  # noqa: E402
    AVAILABILITIES,
    ROLES,
    desired_spec,
    require_manager,
    shape_membership,
    shape_node,
    spec_diff,
)

try:
    from docker.errors import NotFound
except ImportError:  # pragma: no cover - client_from_module reports the missing SDK
    NotFound = LookupError  # type: ignore[assignment,misc]


def argument_spec() -> dict:
    """The module's options on top of the shared connection options."""
    return docker_argument_spec(
        node={"type": "str", "required": True},
        state={"type": "str", "choices": ["present", "absent"], "default": "present"},
        role={"type": "str", "choices": list(ROLES)},
        availability={"type": "str", "choices": list(AVAILABILITIES)},
        labels={"type": "dict"},
        labels_owned_prefix={"type": "str"},
        force={"type": "bool", "default": False},
    )


def read_node(client: Any, node: str) -> Optional[dict[str, Any]]:
    """The node's ``GET /nodes/{id}`` answer (id or hostname), or None when the swarm has none."""
    try:
        return client.api.inspect_node(node)
    except NotFound:
        return None


def converge(client: Any, params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Read the node on this manager, compare, and update or remove only when needed."""
    require_manager(shape_membership(client.info()))
    raw = read_node(client, params["node"])
    if params["state"] == "absent":
        if raw is None:
            return {"changed": False, "node": None}
        if not check_mode:
            client.api.remove_node(raw["ID"], force=params["force"])
        return {"changed": True, "node": shape_node(raw) if check_mode else None,
                "diff": {"before": {"node": raw["ID"]}, "after": {"node": None}}}
    if raw is None:
        raise SwarmError(f"no node {params['node']} in this swarm")
    labels = {str(k): "" if v is None else str(v) for k, v in (params["labels"] or {}).items()}
    spec = raw.get("Spec") or {}
    wanted = desired_spec(spec, role=params["role"], availability=params["availability"],
                          labels=labels if params["labels"] is not None else None,
                          owned_prefix=params["labels_owned_prefix"])
    if wanted == spec:
        return {"changed": False, "node": shape_node(raw)}
    if check_mode:
        return {"changed": True, "node": shape_node(raw), "diff": spec_diff(spec, wanted)}
    client.api.update_node(raw["ID"], (raw.get("Version") or {}).get("Index"), wanted)
    return {"changed": True, "node": shape_node(client.api.inspect_node(raw["ID"])),
            "diff": spec_diff(spec, wanted)}


def main() -> None:
    """Entry point: validate, connect, converge, report."""
    module = build_module(argument_spec(), supports_check_mode=True)
    exit_with_engine_result(module, lambda client: converge(client, module.params, module.check_mode),
                            f"node {module.params['node']}", (SwarmError,))


if __name__ == "__main__":
    main()
