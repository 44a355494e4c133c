#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put the engine of a board into a Docker Swarm, or take it out."""

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_member
short_description: Start, join or leave a Docker Swarm on the engine of this host
version_added: 0.1.0
seealso:
  - module: pirack.cluster.swarm_node
  - module: pirack.cluster.swarm_info
description:
  - Makes the Docker engine of the host it runs on start a new swarm
    (O(state=initialized)), join an existing one (O(state=joined)) or leave its
    swarm (O(state=absent)), through the Docker SDK for Python.
  - An engine already where O(state) asks is left alone and reported unchanged;
    an engine in another swarm is not moved (make it leave first). Which
    swarm is the right one is the caller's decision; the
    C(pirack.cluster.swarm) role makes it from the inventory.
  - The join token is never shown. It is a C(no_log) option and goes to the
    engine only in the body of the API request.
  - Node settings (labels, role, availability) are the business of
    M(pirack.cluster.swarm_node), on a manager; M(pirack.cluster.swarm_info)
    reads the membership and the join tokens.
extends_documentation_fragment:
  - pirack.cluster.action_groups.docker
  - pirack.cluster.docker
attributes:
  check_mode:
    description: Reports whether the engine would init, join or leave, and does nothing.
    support: full
  diff_mode:
    description: Returns the membership state before and after.
    support: full
  idempotent:
    description: A second call with the same options reports no change.
    support: full
options:
  state:
    description:
      - V(initialized) starts a new swarm with this engine as its first manager,
        unless the engine already manages a swarm.
      - V(joined) joins the swarm of O(remote_addrs) with O(join_token), unless
        the engine is already in a swarm.
      - V(absent) leaves the swarm the engine is in, if any.
    type: str
    required: true
    choices: [initialized, joined, absent]
  listen_addr:
    description: Address the engine listens on for swarm traffic (C(addr:port)); for V(initialized) and V(joined).
    type: str
    default: 0.0.0.0:2377
  advertise_addr:
    description:
      - Address other nodes reach this one at (C(addr[:port])); for
        V(initialized) and V(joined). When not given, the engine picks one,
        which fails on a host with several addresses.
    type: str
  default_addr_pool:
    description:
      - For V(initialized), the address pools overlay networks take subnets
        from (CIDRs). Empty keeps the engine's default, 10.0.0.0/8 in /24s.
      - An existing swarm keeps its own pools.
    type: list
    elements: str
    default: []
  remote_addrs:
    description: For V(joined), managers of the swarm to join (C(addr:port)).
    type: list
    elements: str
  join_token:
    description:
      - For V(joined), the swarm's worker or manager join token; which one
        decides what the node becomes.
    type: str
  force:
    description:
      - For V(absent), leave even when this engine is a manager, which can take
        the swarm down with it (it does when this is its last manager).
    type: bool
    default: false
  reason:
    description:
      - For V(absent), why the board leaves, as the caller decided it (the
        C(pirack.cluster.swarm) role heals a board stuck C(pending), in
        C(error) or in another swarm). When the engine leaves, the module
        answers it as RV(reason) and as a warning, so the run says what it
        did by itself.
    type: str
"""

EXAMPLES = r"""
- name: Start the cluster's swarm on its master
  pirack.cluster.swarm_member:
    state: initialized
    advertise_addr: 10.99.0.10:2377
    default_addr_pool: [10.200.0.0/16]
  register: swarm_init

- name: Read the join tokens on the master
  pirack.cluster.swarm_info:
    join_tokens: true
  register: swarm_tokens
  no_log: true

- name: Join the other boards
  pirack.cluster.swarm_member:
    state: joined
    advertise_addr: "{{ pirack_node_address }}:2377"
    remote_addrs: [10.99.0.10:2377]
    join_token: "{{ hostvars['pirack-c1-master']['swarm_tokens']['join_tokens']['worker'] }}"
  no_log: true

- name: Leave whatever swarm the board is in
  pirack.cluster.swarm_member:
    state: absent
    force: true
"""

RETURN = r"""
swarm:
  description: The engine's membership after the call (before it, in check mode).
  returned: always
  type: dict
  contains:
    state:
      description: C(inactive), C(pending), C(active), C(error) or C(locked).
      type: str
    node_id:
      description: This node's id in its swarm (empty when inactive).
      type: str
    node_address:
      description: The address the swarm knows this node by.
      type: str
    managers:
      description: C(addr:port) of the managers the engine knows.
      type: list
      elements: str
    is_manager:
      description: Whether this engine manages its swarm.
      type: bool
    error:
      description: The engine's reason for an C(error) state.
      type: str
    default_addr_pool:
      description: On a manager, the pools overlay networks take subnets from (empty elsewhere).
      type: list
      elements: str
  sample:
    {state: active, node_id: 9x1h2k3l4m5n6o7p8q9r0s1t2, node_address: 10.99.0.11,
     managers: ["10.99.0.10:2377"], is_manager: false, error: "", default_addr_pool: []}
reason:
  description: For O(state=absent) with O(reason), that reason, when the engine left (or would, in check mode).
  returned: when the engine left its swarm and O(reason) was given
  type: str
"""

from typing import Any  # noqa: E402

from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import (  # noqa: E402
    docker_argument_spec,
    exit_with_engine_result,
)
from ansible_collections.pirack.cluster.plugins.module_utils.errors import SwarmError  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.swarm_nodes import (  # noqa: E402
    refuse_stuck,
    shape_membership,
)


def argument_spec() -> dict:
    """The module's options on top of the shared connection options."""
    return docker_argument_spec(
        state={"type": "str", "required": True, "choices": ["initialized", "joined", "absent"]},
        listen_addr={"type": "str", "default": "0.0.0.0:2377"},
        advertise_addr={"type": "str"},
        default_addr_pool={"type": "list", "elements": "str", "default": []},
        remote_addrs={"type": "list", "elements": "str"},
        join_token={"type": "str", "no_log": True},
        force={"type": "bool", "default": False},
        reason={"type": "str"},
    )


REQUIRED_IF = [("state", "joined", ["remote_addrs", "join_token"])]


def converge(client: Any, params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Compare the membership with ``state`` and act only when they differ."""
    before = shape_membership(client.info())
    state = params["state"]
    if state == "absent":
        needed = before["state"] != "inactive"
    else:
        reason = refuse_stuck(before, state)
        if reason:
            raise SwarmError(reason)
        needed = before["state"] == "inactive"
    if not needed:
        return {"changed": False, "swarm": before}
    if not check_mode:
        if state == "initialized":
            client.api.init_swarm(advertise_addr=params["advertise_addr"], listen_addr=params["listen_addr"],
                                  default_addr_pool=params["default_addr_pool"] or None)
        elif state == "joined":
            client.api.join_swarm(params["remote_addrs"], params["join_token"], listen_addr=params["listen_addr"],
                                  advertise_addr=params["advertise_addr"])
        else:
            client.api.leave_swarm(force=params["force"])
    after = before if check_mode else shape_membership(client.info())
    wanted = "inactive" if state == "absent" else "active"
    result = {"changed": True, "swarm": after,
              "diff": {"before": {"state": before["state"]}, "after": {"state": wanted}}}
    if state == "absent" and params["reason"]:
        result["reason"] = params["reason"]
    return result


def main() -> None:
    """Entry point: validate, connect, converge, report."""
    module = build_module(argument_spec(), required_if=REQUIRED_IF, supports_check_mode=True)

    def work(client: Any) -> dict[str, Any]:
        result = converge(client, module.params, module.check_mode)
        if result.get("reason"):
            module.warn(result["reason"])
        return result

    exit_with_engine_result(module, work, f"state={module.params['state']}", (SwarmError,))


if __name__ == "__main__":
    main()
