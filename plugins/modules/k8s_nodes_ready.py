#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until named Kubernetes nodes report Ready."""

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_nodes_ready
short_description: Wait until nodes of a k3s cluster are Ready
version_added: 0.1.0
seealso:
  - module: pirack.cluster.k8s_node
  - module: pirack.cluster.k8s_node_info
description:
  - Polls the API server until every node named in O(name) is registered and
    its Ready condition is True, or fails after O(timeout) seconds saying which
    nodes are not Ready and what their Ready condition says.
  - Runs on the controller against the kubeconfig the k3s_server role fetched.
options:
  name:
    description:
      - Nodes that must be Ready (for a Pi rack, the inventory host names). At
        least one; each a node name (lowercase letters, digits, V(-) and V(.)).
    type: list
    elements: str
    required: true
  timeout:
    description:
      - Seconds to wait in total (0 to 86400; 0 checks once). A Pi 3B+ agent
        pulling its first images over Wi-Fi can take several minutes.
      - An API server that refuses connections or answers 5xx is waited for
        (it may be restarting); a TLS failure or a refusal such as 401 fails at
        once, naming the server and the kubeconfig.
    type: int
    default: 300
  sleep:
    description: Seconds between two polls (1 to 3600).
    type: int
    default: 5
extends_documentation_fragment:
  - pirack.cluster.action_groups.k8s
  - pirack.cluster.k8s_auth
  - pirack.cluster.read_only
"""

EXAMPLES = r"""
- name: Wait for every board of cluster1 to be Ready
  pirack.cluster.k8s_nodes_ready:
    kubeconfig: ~/.kube/pirack-cluster1.yaml
    name: "{{ groups['cluster1'] }}"
    timeout: 600
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
nodes:
  description: The nodes asked for, as P(pirack.cluster.k8s_node_info#module) describes them.
  returned: success
  type: list
  elements: dict
elapsed:
  description: Seconds waited.
  returned: always
  type: float
not_ready:
  description: On failure, why each node is not Ready, by node name.
  returned: failure
  type: dict
  sample: {c1-worker2: "Ready=False (KubeletNotReady: container runtime network not ready)"}
"""

from typing import Any  # noqa: E402

from ansible_collections.pirack.cluster.plugins.module_utils.errors import NodeError  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.k8s.client import (  # noqa: E402
    core_api_from_module,
    k8s_argument_spec,
)
from ansible_collections.pirack.cluster.plugins.module_utils.k8s.service import (  # noqa: E402
    NodeService,
    node_name,
    node_name_problem,
    node_summary,
    readiness_problems,
    seconds_problem,
)
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.wait import wait_for  # noqa: E402


def option_problems(params: dict[str, Any]) -> list[str]:
    """Everything wrong with the options, one line each, before any API call."""
    names = params.get("name")
    if not isinstance(names, list) or not names:
        return ["name must list at least one node"]
    problems = [p for p in (node_name_problem(n, "name[]") for n in names) if p]
    problems += [p for p in (seconds_problem(params, "timeout", 0, 86400),
                             seconds_problem(params, "sleep", 1, 3600)) if p]
    return problems


def main() -> None:
    """Entry point: poll until Ready or explain why not."""
    module = build_module(
        k8s_argument_spec(
            name={"type": "list", "elements": "str", "required": True},
            timeout={"type": "int", "default": 300},
            sleep={"type": "int", "default": 5},
        ),
        supports_check_mode=True,
    )
    problems = option_problems(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    names = module.params["name"]
    service = NodeService(core_api_from_module(module), module.params["request_timeout"],
                          module.params["kubeconfig"])
    seen: dict[str, Any] = {"items": [], "api_error": None}

    def check() -> tuple[bool, dict[str, str]]:
        try:
            seen["items"] = service.list_nodes()
        except NodeError as exc:
            if not exc.retryable:
                raise
            # An API server that is itself still starting is a reason to wait.
            seen["api_error"] = str(exc)
            return False, {}
        seen["api_error"] = None
        problems = readiness_problems(seen["items"], names)
        return not problems, problems

    try:
        done, problems, elapsed = wait_for(check, module.params["timeout"], module.params["sleep"])
    except NodeError as exc:
        module.fail_json(msg=str(exc))
    if not done and seen["api_error"]:
        module.fail_json(msg=f"gave up waiting for {len(names)} nodes to be Ready after {elapsed:.0f}s: "
                             f"{seen['api_error']}", elapsed=round(elapsed, 1))
    if not done:
        detail = "; ".join(f"{name}: {why}" for name, why in sorted(problems.items()))
        module.fail_json(
            msg=f"{len(problems)} of {len(names)} nodes not Ready after {elapsed:.0f}s - {detail}",
            not_ready=problems, elapsed=round(elapsed, 1))
    wanted = set(names)
    nodes = sorted((node_summary(n) for n in seen["items"] if node_name(n) in wanted),
                   key=lambda n: n["name"])
    module.exit_json(changed=False, nodes=nodes, elapsed=round(elapsed, 1))


if __name__ == "__main__":
    main()
