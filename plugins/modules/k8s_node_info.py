#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read Kubernetes nodes as structured facts."""

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_node_info
short_description: Read the nodes of a k3s cluster
version_added: 0.1.0
seealso:
  - module: pirack.cluster.k8s_node
  - module: pirack.cluster.k8s_nodes_ready
description:
  - Lists the nodes of a cluster with what a playbook decides on - whether each
    is Ready, its architecture, labels, taints, capacity and the k3s version its
    kubelet reports.
  - Runs on the controller against the kubeconfig the P(pirack.cluster.k3s_server#role)
    role fetched.
options:
  name:
    description:
      - Only return these nodes. Nodes named here that the cluster does not have
        are listed in RV(missing). Each must be a node name (lowercase letters,
        digits, V(-) and V(.)).
    type: list
    elements: str
    default: []
  label_selector:
    description:
      - Only return nodes whose labels match, in the API's selector syntax
        (V(pirack.cluster=cluster1)).
    type: str
extends_documentation_fragment:
  - pirack.cluster.action_groups.k8s
  - pirack.cluster.k8s_auth
  - pirack.cluster.read_only
"""

EXAMPLES = r"""
- name: Read the nodes of cluster1
  pirack.cluster.k8s_node_info:
    kubeconfig: ~/.kube/pirack-cluster1.yaml
  delegate_to: localhost
  register: nodes

- name: Show which k3s version each node runs
  ansible.builtin.debug:
    msg: "{{ nodes.nodes | items2dict(key_name='name', value_name='k3s_version') }}"
"""

RETURN = r"""
nodes:
  description: One entry per node, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Node name.
      type: str
    ready:
      description: Whether the Ready condition is True.
      type: bool
    conditions:
      description: Status of each condition, by condition type.
      type: dict
    roles:
      description: Roles from the node-role.kubernetes.io labels.
      type: list
      elements: str
    architecture:
      description: CPU architecture the kubelet reports (V(arm64), V(arm) or V(amd64)).
      type: str
    os_image:
      description: Operating system the kubelet reports.
      type: str
    kernel_version:
      description: Kernel version.
      type: str
    container_runtime:
      description: Container runtime and version.
      type: str
    kubelet_version:
      description: Kubelet version string.
      type: str
    k3s_version:
      description: The kubelet version when it is a k3s build (V(v1.31.4+k3s1)), else null.
      type: str
    labels:
      description: Node labels.
      type: dict
    taints:
      description: Node taints.
      type: list
      elements: dict
    unschedulable:
      description: Whether the node is cordoned.
      type: bool
    cordoned_by:
      description:
        - The value of the node's C(pirack.io/cordoned-by) annotation -
          V(pirack.cluster) when a drain by P(pirack.cluster.k8s_node#module)
          cordoned it, null when nobody marked it (an operator's cordon, or none).
      type: str
    capacity:
      description: Resource capacity - cpu, memory, pods.
      type: dict
    allocatable:
      description: Resources left for pods.
      type: dict
    addresses:
      description: Addresses by type - InternalIP, Hostname.
      type: dict
  sample:
    - name: c1-worker1
      ready: true
      architecture: arm64
      k3s_version: v1.31.4+k3s1
      labels: {pirack.model: pi3bplus}
      capacity: {cpu: "4", memory: 929476Ki, pods: "110"}
missing:
  description: Names asked for in O(name) that the cluster has no node for.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.pirack.cluster.plugins.module_utils.errors import NodeError  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.k8s.client import (  # noqa: E402
    core_api_from_module,
    k8s_argument_spec,
)
from ansible_collections.pirack.cluster.plugins.module_utils.k8s.service import (  # noqa: E402
    NodeService,
    node_name_problem,
    node_summary,
)
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402


def main() -> None:
    """Entry point: list, filter, summarise."""
    module = build_module(
        k8s_argument_spec(
            name={"type": "list", "elements": "str", "default": []},
            label_selector={"type": "str"},
        ),
        supports_check_mode=True,
    )
    problems = [p for p in (node_name_problem(n, "name[]") for n in module.params["name"]) if p]
    if problems:
        module.fail_json(msg="; ".join(problems))
    service = NodeService(core_api_from_module(module), module.params["request_timeout"],
                          module.params["kubeconfig"])
    try:
        items = service.list_nodes(module.params["label_selector"])
        nodes = sorted((node_summary(n) for n in items), key=lambda n: str(n["name"]))
    except NodeError as exc:
        module.fail_json(msg=str(exc))
    wanted = set(module.params["name"])
    if wanted:
        nodes = [n for n in nodes if n["name"] in wanted]
    missing = sorted(wanted - {n["name"] for n in nodes})
    module.exit_json(changed=False, nodes=nodes, missing=missing)


if __name__ == "__main__":
    main()
