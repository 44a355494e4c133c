#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Label, taint, cordon, drain, uncordon or delete a Kubernetes node."""

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_node
short_description: Label, taint, cordon, drain, uncordon or delete a k3s node
version_added: 0.1.0
description:
  - Manages one node of a cluster - its labels, its taints, whether new pods
    may be scheduled on it, and draining it before maintenance such as a k3s
    upgrade.
  - Draining evicts pods through the eviction API, so PodDisruptionBudgets are
    respected; an eviction a budget refuses (HTTP 429) is retried until
    O(drain_timeout), and the failure message names the pods still blocked.
  - Runs on the controller against the kubeconfig the k3s_server role fetched.
options:
  name:
    description: Node name (on a pirack cluster, the inventory host name).
    type: str
    required: true
  state:
    description:
      - V(present) manages the settings below; V(drained) also cordons the node
        and evicts its pods; V(absent) deletes the node object (run
        V(drained) first if it still has pods).
    type: str
    choices: [present, drained, absent]
    default: present
  labels:
    description:
      - Labels to set. A value of V(null) removes that label. Labels not named
        here are left alone.
    type: dict
  taints:
    description: Taints to add (O(taints[].state=present)) or remove (V(absent)), matched by key and effect.
    type: list
    elements: dict
    suboptions:
      key: {description: Taint key., type: str, required: true}
      value: {description: Taint value., type: str}
      effect:
        description: Taint effect.
        type: str
        required: true
        choices: [NoSchedule, PreferNoSchedule, NoExecute]
      state: {description: Add or remove., type: str, choices: [present, absent], default: present}
  schedulable:
    description:
      - V(false) cordons the node, V(true) uncordons it. Left unset, unchanged
        (except O(state=drained), which always cordons).
    type: bool
  drain_timeout:
    description: Seconds O(state=drained) may take, including retries refused by PodDisruptionBudgets.
    type: int
    default: 300
  drain_retry_delay:
    description: Seconds between two eviction attempts of a pod a budget protects.
    type: int
    default: 5
  grace_period:
    description: Termination grace period for evicted pods; the pod's own when unset.
    type: int
  ignore_daemonsets:
    description: Drain even though DaemonSet pods run on the node (they stay).
    type: bool
    default: true
  delete_emptydir_data:
    description: Drain even though pods lose their emptyDir data.
    type: bool
    default: false
  force:
    description: Drain even pods no controller will recreate.
    type: bool
    default: false
extends_documentation_fragment:
  - pirack.cluster.k8s_auth
attributes:
  check_mode:
    support: full
    description: Reports what would change; nothing is patched, evicted or deleted.
  diff_mode:
    support: full
    description: Shows labels, taints and schedulability before and after.
  idempotent:
    support: full
    description: A second run with the same options changes nothing and evicts nothing.
author:
  - pirack.cluster contributors (@pirack)
"""

EXAMPLES = r"""
- name: Label a worker with its board model
  pirack.cluster.k8s_node:
    kubeconfig: ~/.kube/pirack-cluster1.yaml
    name: c1-worker1
    labels:
      pirack.io/pi-model: pi3bplus
      obsolete-label: null
  delegate_to: localhost

- name: Drain a worker before upgrading it
  pirack.cluster.k8s_node:
    kubeconfig: ~/.kube/pirack-cluster1.yaml
    name: c1-worker1
    state: drained
    delete_emptydir_data: true
    drain_timeout: 600
  delegate_to: localhost

- name: Put it back in service
  pirack.cluster.k8s_node:
    kubeconfig: ~/.kube/pirack-cluster1.yaml
    name: c1-worker1
    schedulable: true
  delegate_to: localhost
"""

RETURN = r"""
node:
  description:
    - The node after the change, as P(pirack.cluster.k8s_node_info#module) describes it.
    - Empty when the node was deleted.
  returned: always
  type: dict
drain:
  description: What draining did.
  returned: when O(state=drained) and pods were evicted
  type: dict
  contains:
    evicted:
      description: Pods evicted, as namespace/name.
      type: list
      elements: str
    skipped:
      description: DaemonSet and static pods left in place.
      type: list
      elements: str
    elapsed:
      description: Seconds the drain took.
      type: float
"""

import traceback  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.k8s.client import (  # noqa: E402
    core_api_from_module,
    k8s_argument_spec,
)
from ansible_collections.pirack.cluster.plugins.module_utils.k8s.service import (  # noqa: E402
    NodeError,
    NodeService,
    desired_node_state,
    drain_plan,
    node_patch,
    node_summary,
)


class NodeManager:
    """Reads the node, compares with the request, acts unless in check mode."""

    def __init__(self, module: AnsibleModule, service: NodeService) -> None:
        self.module = module
        self.params = module.params
        self.service = service
        self.result: dict[str, Any] = {"changed": False, "node": {}}

    def run(self) -> dict[str, Any]:
        """Apply the requested state and return the module result."""
        node = self.service.get_node(self.params["name"])
        if self.params["state"] == "absent":
            self.absent(node)
        elif node is None:
            self.module.fail_json(msg=f"node {self.params['name']} is not registered with the cluster "
                                      "(has its k3s agent joined?)")
        else:
            self.present(node)
        return self.result

    def absent(self, node: Any) -> None:
        if node is None:
            return
        self.result["changed"] = True
        self.result["diff"] = {"before": {"name": self.params["name"]}, "after": {}}
        if not self.module.check_mode:
            self.service.delete_node(self.params["name"])

    def present(self, node: dict[str, Any]) -> None:
        draining = self.params["state"] == "drained"
        schedulable = False if draining else self.params["schedulable"]
        before, after = desired_node_state(node, self.params["labels"], self.params["taints"], schedulable)
        patch = node_patch(before, after)
        to_evict: list = []
        if draining:
            pods = self.service.pods_on_node(self.params["name"])
            to_evict = drain_plan(pods, self.params["ignore_daemonsets"],
                                  self.params["delete_emptydir_data"], self.params["force"])[0]
        self.result["changed"] = bool(patch or to_evict)
        self.result["diff"] = {"before": before, "after": after}
        if self.module.check_mode:
            self.result["node"] = node_summary(node)
            return
        if patch:
            node = self.service.patch_node(self.params["name"], patch)
        if to_evict:
            self.result["drain"] = self.service.drain(
                self.params["name"],
                timeout=self.params["drain_timeout"],
                sleep=self.params["drain_retry_delay"],
                grace_period=self.params["grace_period"],
                ignore_daemonsets=self.params["ignore_daemonsets"],
                delete_emptydir_data=self.params["delete_emptydir_data"],
                force=self.params["force"],
            )
        self.result["node"] = node_summary(node)


def main() -> None:
    """Entry point."""
    module = AnsibleModule(
        argument_spec=k8s_argument_spec(
            name={"type": "str", "required": True},
            state={"type": "str", "choices": ["present", "drained", "absent"], "default": "present"},
            labels={"type": "dict"},
            taints={
                "type": "list",
                "elements": "dict",
                "options": {
                    "key": {"type": "str", "required": True, "no_log": False},
                    "value": {"type": "str"},
                    "effect": {"type": "str", "required": True,
                               "choices": ["NoSchedule", "PreferNoSchedule", "NoExecute"]},
                    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                },
            },
            schedulable={"type": "bool"},
            drain_timeout={"type": "int", "default": 300},
            drain_retry_delay={"type": "int", "default": 5},
            grace_period={"type": "int"},
            ignore_daemonsets={"type": "bool", "default": True},
            delete_emptydir_data={"type": "bool", "default": False},
            force={"type": "bool", "default": False},
        ),
        supports_check_mode=True,
    )
    service = NodeService(core_api_from_module(module), module.params["request_timeout"])
    try:
        result = NodeManager(module, service).run()
    except NodeError as exc:
        module.fail_json(msg=str(exc), exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
