#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read this engine's Docker Swarm membership, and on a manager its nodes and join tokens."""

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_info
short_description: Read the Docker Swarm membership of this host's engine, its nodes and join tokens
version_added: 0.1.0
seealso:
  - module: pirack.cluster.swarm_member
  - module: pirack.cluster.swarm_node
description:
  - Returns the engine's place in a swarm (state, node id, the managers it
    knows), through the Docker SDK for Python. An engine in no swarm is an
    answer (C(inactive)), not an error.
  - On a manager, also the swarm's nodes (O(nodes)) and its join tokens
    (O(join_tokens)).
  - The join tokens let anyone who holds one into the swarm. They are returned
    only when asked for, and only to a task that runs with C(no_log=true).
    Without it the module refuses, so a token can never reach the output, even
    at C(-vvv).
extends_documentation_fragment:
  - pirack.cluster.action_groups.docker
  - pirack.cluster.docker
  - pirack.cluster.read_only
options:
  nodes:
    description: Also list the swarm's nodes (on a manager only).
    type: bool
    default: false
  join_tokens:
    description:
      - Also return the worker and manager join tokens (on a manager only).
      - The task must run with C(no_log=true).
    type: bool
    default: false
  pending_wait:
    description:
      - Seconds to read the engine again while its state is C(pending), from 0
        (one read) to 3600. An engine is pending for a few seconds after it or
        its manager starts; one still pending after that is stuck (its manager
        is gone), which is what the C(pirack.cluster.swarm) role heals.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Ask the engine about its swarm
  pirack.cluster.swarm_info:
  register: swarm_state

- name: Read the join tokens on the master
  pirack.cluster.swarm_info:
    join_tokens: true
  register: swarm_tokens
  no_log: true

- name: List the nodes with their labels
  pirack.cluster.swarm_info:
    nodes: true
  register: swarm_nodes
  delegate_to: pirack-c1-master
"""

RETURN = r"""
swarm:
  description: The engine's membership (the same shape as RV(pirack.cluster.swarm_member#module:swarm)).
  returned: always
  type: dict
  sample:
    {state: active, node_id: 9x1h2k3l4m5n6o7p8q9r0s1t2, node_address: 10.99.0.10,
     managers: ["10.99.0.10:2377"], is_manager: true, error: "", default_addr_pool: [10.200.0.0/16]}
nodes:
  description: The swarm's nodes, sorted by hostname (the same shape as RV(pirack.cluster.swarm_node#module:node)).
  returned: when O(nodes=true)
  type: list
  elements: dict
join_tokens:
  description: The tokens that join a node as a worker or as a manager.
  returned: when O(join_tokens=true)
  type: dict
  contains:
    worker:
      description: Joins as a worker.
      type: str
    manager:
      description: Joins as a manager.
      type: str
"""

import time  # noqa: E402
import traceback  # noqa: E402
from typing import Any, Callable  # noqa: E402

from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import (  # noqa: E402
    ENGINE_ERRORS,
    client_from_module,
    docker_argument_spec,
)
from ansible_collections.pirack.cluster.plugins.module_utils.errors import SwarmError, exception_text  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.swarm_nodes import (  # noqa: E402
    join_token,
    require_manager,
    shape_membership,
    shape_node,
)
from ansible_collections.pirack.cluster.plugins.module_utils.wait import wait_for  # noqa: E402

# An hour: far past any engine's start, far below where the poll loop's deadline could overflow.
MAX_PENDING_WAIT = 3600


def argument_spec() -> dict:
    """The module's options on top of the shared connection options."""
    return docker_argument_spec(
        nodes={"type": "bool", "default": False},
        join_tokens={"type": "bool", "default": False},
        pending_wait={"type": "int", "default": 0},
    )


def read(client: Any, params: dict[str, Any], clock: Callable[[], float] = time.monotonic,
         sleeper: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """The membership (settled: not pending, or pending for ``pending_wait``
    seconds), plus nodes and tokens when asked (which needs a manager)."""
    def settled() -> tuple[bool, dict[str, Any]]:
        membership = shape_membership(client.info())
        return membership["state"] != "pending", membership

    _, membership, _ = wait_for(settled, params["pending_wait"], 2.0, clock, sleeper)
    result: dict[str, Any] = {"changed": False, "swarm": membership}
    if params["nodes"] or params["join_tokens"]:
        require_manager(membership)
    if params["nodes"]:
        result["nodes"] = sorted((shape_node(n) for n in client.api.nodes()), key=lambda n: n["hostname"] or "")
    if params["join_tokens"]:
        tokens = client.api.inspect_swarm().get("JoinTokens") or {}
        result["join_tokens"] = {"worker": join_token(tokens, "worker"), "manager": join_token(tokens, "manager")}
    return result


def main() -> None:
    """Entry point: refuse tokens to a task that could print them, connect, read."""
    module = build_module(argument_spec(), supports_check_mode=True)
    if not 0 <= module.params["pending_wait"] <= MAX_PENDING_WAIT:
        module.fail_json(msg=f"pending_wait: expected seconds from 0 to {MAX_PENDING_WAIT}, "
                             f"got {module.params['pending_wait']}")
    if module.params["join_tokens"] and not module.no_log:
        module.fail_json(msg="join_tokens: the tokens are secrets; set no_log: true on the task that asks for them")
    client = client_from_module(module)
    result: dict[str, Any] = {}
    try:
        result = read(client, module.params)
    except SwarmError as exc:
        module.fail_json(msg=str(exc))
    except ENGINE_ERRORS as exc:
        module.fail_json(msg=f"reading the swarm failed: {exception_text(exc)}", exception=traceback.format_exc())
    finally:
        client.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
