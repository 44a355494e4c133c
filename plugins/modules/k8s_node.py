#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Label, taint, cordon, drain, uncordon or delete a Kubernetes node."""

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_node
short_description: Label, taint, cordon, drain, uncordon or delete a k3s node
version_added: 0.1.0
seealso:
  - module: pirack.cluster.k8s_node_info
  - module: pirack.cluster.k8s_nodes_ready
description:
  - Manages one node of a cluster - its labels, its taints, whether new pods
    may be scheduled on it, and draining it before maintenance such as a k3s
    upgrade.
  - Draining evicts pods through the eviction API, so PodDisruptionBudgets are
    respected; an eviction a budget refuses (HTTP 429) is retried every
    O(drain_retry_delay) seconds until O(drain_timeout), and the failure
    message names the pods still blocked.
  - "The cordon a drain makes is marked: the same patch that sets
    C(spec.unschedulable) sets the annotation C(pirack.io/cordoned-by: pirack.cluster).
    O(state=undrained) lifts only a cordon carrying that mark, so a node left
    cordoned by a run that failed mid-upgrade is put back in service by the
    next good run, while a node an operator cordoned by hand stays cordoned."
  - Runs on the controller against the kubeconfig the k3s_server role fetched.
  - Every option is checked before the API is contacted; a bad value fails
    with one line naming the option, and nothing is changed.
options:
  name:
    description:
      - Node name (on a pirack cluster, the inventory host name); a DNS
        subdomain - lowercase letters, digits, V(-) and V(.).
    type: str
    required: true
  state:
    description:
      - V(present) manages the settings below.
      - V(drained) also cordons the node and evicts its pods. If the node was
        schedulable, the cordon is marked with the annotation
        C(pirack.io/cordoned-by=pirack.cluster); a node someone else had
        already cordoned is drained but gets no mark, so its cordon stays
        theirs. When the drain fails after the cordon, the module fails with
        C(changed=true) and the message says the node is left cordoned.
      - V(undrained) puts back in service a node that V(drained) took out of
        service - it sets C(spec.unschedulable=false) and removes the mark in
        one patch, but only when the mark is there. A node cordoned without the
        mark (by an operator, or by O(schedulable=false)) is left cordoned and
        the module warns. Without the mark and the cordon, nothing changes, so
        a play can use it on every run.
      - V(absent) deletes the node object (run V(drained) first if it still has
        pods).
    type: str
    choices: [present, drained, undrained, absent]
    default: present
  labels:
    description:
      - Labels to set. A value of V(null) removes that label. Labels not named
        here are left alone.
      - Keys and values follow the Kubernetes label syntax (checked before
        anything is sent); numbers are written as text and booleans as
        V(true)/V(false).
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
      - V(false) cordons the node, V(true) uncordons it, whoever cordoned it.
        Either way the collection's cordon mark is removed, because the cordon
        is now the explicit choice of whoever runs the task.
      - Left unset, unchanged. Cannot be combined with O(state=undrained), and
        O(state=drained) only with V(false).
    type: bool
  drain_timeout:
    description: Seconds O(state=drained) may take, including retries refused by PodDisruptionBudgets (0 to 86400).
    type: int
    default: 300
  drain_retry_delay:
    description:
      - Seconds between two eviction attempts of a pod a budget protects (1 to
        300). At least 1, so a budget that refuses is asked once a second per
        pod, not thousands of times.
    type: int
    default: 5
  grace_period:
    description: Termination grace period in seconds for evicted pods (0 to 86400); the pod's own when unset.
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
  - pirack.cluster.action_groups.k8s
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
"""

EXAMPLES = r"""
- name: Label a worker with its board model
  pirack.cluster.k8s_node:
    kubeconfig: ~/.kube/pirack-cluster1.yaml
    name: c1-worker1
    labels:
      pirack.model: pi3bplus
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

- name: Put it back in service if a drain of ours cordoned it (an operator's cordon stays)
  pirack.cluster.k8s_node:
    kubeconfig: ~/.kube/pirack-cluster1.yaml
    name: c1-worker1
    state: undrained
  delegate_to: localhost

- name: Uncordon it whoever cordoned it
  pirack.cluster.k8s_node:
    kubeconfig: ~/.kube/pirack-cluster1.yaml
    name: c1-worker1
    schedulable: true
  delegate_to: localhost
"""

RETURN = r"""
node:
  description:
    - The node after the change, as P(pirack.cluster.k8s_node_info#module) describes it
      (its C(cordoned_by) is V(pirack.cluster) while the collection's cordon mark is on it).
    - Empty when the node was deleted.
  returned: always
  type: dict
cordon:
  description:
    - Whether the node is cordoned after the task, and by whom.
    - V(none) - schedulable; V(ours) - cordoned with the collection's mark;
      V(other) - cordoned without it (an operator, or O(schedulable=false)).
  returned: always, except when O(state=absent)
  type: str
  sample: ours
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

from typing import Any, Optional  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.errors import DrainError, NodeError  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.k8s.client import (  # noqa: E402
    core_api_from_module,
    k8s_argument_spec,
)
from ansible_collections.pirack.cluster.plugins.module_utils.k8s.service import (  # noqa: E402
    CORDON_MARK,
    CORDON_OWNER,
    NodeService,
    desired_node_state,
    drain_plan,
    label_problems,
    node_name_problem,
    node_patch,
    node_summary,
    seconds_problem,
    taint_problems,
)
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402

DAY = 86400


def option_problems(params: dict[str, Any]) -> list[str]:
    """Everything wrong with the options, one line each, before any API call.

    Pure, so property tests throw random values at it; the argument spec has
    already checked types when the module runs.
    """
    problems = [p for p in (
        node_name_problem(params.get("name")),
        seconds_problem(params, "drain_timeout", 0, DAY),
        seconds_problem(params, "drain_retry_delay", 1, 300),
        seconds_problem(params, "grace_period", 0, DAY, optional=True),
    ) if p]
    problems += label_problems(params.get("labels")) + taint_problems(params.get("taints"))
    state, schedulable = params.get("state"), params.get("schedulable")
    if state == "undrained" and schedulable is not None:
        problems.append("schedulable cannot be combined with state=undrained, which decides it from the cordon mark")
    if state == "drained" and schedulable is True:
        problems.append("schedulable=true contradicts state=drained, which cordons the node")
    return problems


def cordon_request(params: dict[str, Any]) -> Optional[str]:
    """What the options ask of schedulability, in service.cordon_after's terms."""
    if params["state"] == "drained":
        return "drain"
    if params["state"] == "undrained":
        return "undrain"
    if params["schedulable"] is None:
        return None
    return "uncordon" if params["schedulable"] else "cordon"


def cordon_owner(state: dict[str, Any]) -> str:
    """none / ours / other, for the ``cordon`` return value."""
    if not state["unschedulable"]:
        return "none"
    return "ours" if state["cordoned_by"] == CORDON_OWNER else "other"


class NodeManager:
    """Reads the node, compares with the request, acts unless in check mode.

    ``result`` is kept current after every action, so a failure part-way
    reports what was already changed.
    """

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
            raise NodeError(f"node {self.params['name']} is not registered with the cluster "
                            "(has its k3s agent joined?)")
        else:
            self.present(node)
        return self.result

    def absent(self, node: Any) -> None:
        if node is None:
            return
        self.result["diff"] = {"before": {"name": self.params["name"]}, "after": {}}
        if not self.module.check_mode:
            self.service.delete_node(self.params["name"])
        self.result["changed"] = True

    def present(self, node: dict[str, Any]) -> None:
        name = self.params["name"]
        before, after = desired_node_state(node, self.params["labels"], self.params["taints"],
                                           cordon_request(self.params))
        patch = node_patch(before, after)
        to_evict: list = []
        if self.params["state"] == "drained":
            pods = self.service.pods_on_node(name)
            to_evict = drain_plan(pods, self.params["ignore_daemonsets"],
                                  self.params["delete_emptydir_data"], self.params["force"])[0]
        self.result["diff"] = {"before": before, "after": after}
        self.result["cordon"] = cordon_owner(after)
        if self.params["state"] == "undrained" and after["unschedulable"]:
            self.module.warn(f"node {name} stays cordoned: it carries no {CORDON_MARK}={CORDON_OWNER} mark, "
                             "so someone else cordoned it; uncordon it with schedulable=true if that is wanted")
        if self.module.check_mode:
            self.result["changed"] = bool(patch or to_evict)
            self.result["node"] = node_summary(node)
            return
        if patch:
            node = self.service.patch_node(name, patch)
            self.result["changed"] = True
        self.result["node"] = node_summary(node)
        if to_evict:
            try:
                self.result["drain"] = self.service.drain(
                    name,
                    timeout=self.params["drain_timeout"],
                    retry_interval=self.params["drain_retry_delay"],
                    grace_period=self.params["grace_period"],
                    ignore_daemonsets=self.params["ignore_daemonsets"],
                    delete_emptydir_data=self.params["delete_emptydir_data"],
                    force=self.params["force"],
                )
            except NodeError as exc:
                evicted = exc.evicted if isinstance(exc, DrainError) else []
                self.result["changed"] = self.result["changed"] or bool(evicted)
                self.result["drain"] = {"evicted": evicted}
                raise NodeError(f"{exc}; node {name} is left cordoned{self._how_to_lift(after)}") from exc
            self.result["changed"] = True

    @staticmethod
    def _how_to_lift(after: dict[str, Any]) -> str:
        if after["cordoned_by"] == CORDON_OWNER:
            return f" (marked {CORDON_MARK}={CORDON_OWNER}; state=undrained on a later run lifts it)"
        return " (it was cordoned before this run, so it carries no mark of ours)"


def main() -> None:
    """Entry point."""
    module = build_module(
        k8s_argument_spec(
            name={"type": "str", "required": True},
            state={"type": "str", "choices": ["present", "drained", "undrained", "absent"], "default": "present"},
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
    problems = option_problems(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    service = NodeService(core_api_from_module(module), module.params["request_timeout"],
                          module.params["kubeconfig"])
    manager = NodeManager(module, service)
    try:
        result = manager.run()
    except NodeError as exc:
        module.fail_json(msg=str(exc), **manager.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
