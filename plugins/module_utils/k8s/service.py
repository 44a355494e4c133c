# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node work for the k8s_node* modules: reading nodes, patching them, draining.

Pure functions take and return the JSON form of API objects (the same dicts
``kubectl get -o json`` prints and the API serves), so they are tested on
recorded API JSON. ``NodeService`` is the thin part that talks to the API.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.k8s.client import (
    API_ERRORS,
    api_error_text,
    k8s_client,
)
from ansible_collections.pirack.cluster.plugins.module_utils.wait import wait_for

ROLE_LABEL_PREFIX = "node-role.kubernetes.io/"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


class NodeError(Exception):
    """A node operation failed; the message says which node and why."""


# ---------------------------------------------------------------- reading


def node_summary(node: dict[str, Any]) -> dict[str, Any]:
    """What a playbook needs to know about one node, flattened.

    ``k3s_version`` is the kubelet version string the node reports
    (``v1.31.4+k3s1``): that is what the running binary is, whatever the
    inventory asks for, so upgrades compare against it.
    """
    meta = node.get("metadata") or {}
    spec = node.get("spec") or {}
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}
    labels = meta.get("labels") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    ready = conditions.get("Ready", {})
    kubelet = info.get("kubeletVersion")
    return {
        "name": meta.get("name"),
        "ready": ready.get("status") == "True",
        "conditions": {t: c.get("status") for t, c in sorted(conditions.items())},
        "roles": sorted(k[len(ROLE_LABEL_PREFIX):] for k in labels if k.startswith(ROLE_LABEL_PREFIX)),
        "architecture": info.get("architecture") or labels.get("kubernetes.io/arch"),
        "os_image": info.get("osImage"),
        "kernel_version": info.get("kernelVersion"),
        "container_runtime": info.get("containerRuntimeVersion"),
        "kubelet_version": kubelet,
        "k3s_version": kubelet if kubelet and "+k3s" in kubelet else None,
        "labels": dict(sorted(labels.items())),
        "taints": list(spec.get("taints") or []),
        "unschedulable": bool(spec.get("unschedulable")),
        "capacity": dict(status.get("capacity") or {}),
        "allocatable": dict(status.get("allocatable") or {}),
        "addresses": {a.get("type"): a.get("address") for a in status.get("addresses") or []},
    }


def readiness_problems(nodes: Iterable[dict[str, Any]], expected: Iterable[str]) -> dict[str, str]:
    """Why each expected node is not Ready yet, by node name; empty when all are.

    Works on ``node_summary`` output plus the raw conditions, so the failure
    message can say "Ready=False: KubeletNotReady ..." rather than just "no".
    """
    by_name = {n["metadata"]["name"]: n for n in nodes}
    problems: dict[str, str] = {}
    for name in expected:
        node = by_name.get(name)
        if node is None:
            problems[name] = "not registered with the API server"
            continue
        conditions = {c.get("type"): c for c in (node.get("status") or {}).get("conditions") or []}
        ready = conditions.get("Ready")
        if ready is None:
            problems[name] = "no Ready condition reported yet"
        elif ready.get("status") != "True":
            detail = ": ".join(x for x in (ready.get("reason"), ready.get("message")) if x)
            problems[name] = f"Ready={ready.get('status')}" + (f" ({detail})" if detail else "")
    return problems


# ---------------------------------------------------------------- changing


def _taint_key(taint: dict[str, Any]) -> tuple:
    return (taint.get("key"), taint.get("effect"))


def desired_node_state(
    node: dict[str, Any],
    labels: Optional[dict[str, Optional[str]]],
    taints: Optional[list[dict[str, Any]]],
    schedulable: Optional[bool],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (before, after) view of the settings the module manages.

    A label value of None removes that label; a taint with ``state: absent``
    removes the taint with that key and effect. Options left as None are not
    managed, so they show the same before and after.
    """
    meta = node.get("metadata") or {}
    spec = node.get("spec") or {}
    before = {
        "labels": dict(sorted((meta.get("labels") or {}).items())),
        "taints": sorted((dict(t) for t in spec.get("taints") or []), key=_taint_key),
        "unschedulable": bool(spec.get("unschedulable")),
    }
    after_labels = dict(before["labels"])
    for key, value in (labels or {}).items():
        if value is None:
            after_labels.pop(key, None)
        else:
            after_labels[key] = str(value)
    after_taints = {_taint_key(t): t for t in before["taints"]}
    for taint in taints or []:
        wanted = {k: taint[k] for k in ("key", "value", "effect") if taint.get(k) is not None}
        if taint.get("state", "present") == "absent":
            after_taints.pop(_taint_key(wanted), None)
        else:
            old = after_taints.get(_taint_key(wanted), {})
            # timeAdded is set by the API for NoExecute taints; keep it so an
            # unchanged taint does not look changed.
            if old.get("timeAdded"):
                wanted["timeAdded"] = old["timeAdded"]
            after_taints[_taint_key(wanted)] = wanted
    after = {
        "labels": dict(sorted(after_labels.items())),
        "taints": sorted(after_taints.values(), key=_taint_key),
        "unschedulable": before["unschedulable"] if schedulable is None else not schedulable,
    }
    return before, after


def node_patch(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The strategic-merge patch that turns ``before`` into ``after``.

    Removed labels are sent as null (the API deletes them); taints have no
    merge key, so the whole list is sent whenever it changes.
    """
    patch: dict[str, Any] = {}
    if before["labels"] != after["labels"]:
        labels: dict[str, Optional[str]] = {k: v for k, v in after["labels"].items()
                                            if before["labels"].get(k) != v}
        labels.update({k: None for k in before["labels"] if k not in after["labels"]})
        patch["metadata"] = {"labels": labels}
    spec: dict[str, Any] = {}
    if before["taints"] != after["taints"]:
        spec["taints"] = after["taints"]
    if before["unschedulable"] != after["unschedulable"]:
        spec["unschedulable"] = after["unschedulable"]
    if spec:
        patch["spec"] = spec
    return patch


def drain_plan(
    pods: Iterable[dict[str, Any]],
    ignore_daemonsets: bool,
    delete_emptydir_data: bool,
    force: bool,
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Split a node's pods into (to evict, skipped, blockers), as kubectl drain does.

    DaemonSet pods would be recreated on the same node and mirror (static)
    pods cannot be evicted, so both are skipped; pods nobody recreates
    (no controller) and pods losing emptyDir data need an explicit yes.
    """
    evict: list[dict[str, Any]] = []
    skipped: list[str] = []
    blockers: list[str] = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        ref = f"{meta.get('namespace')}/{meta.get('name')}"
        phase = (pod.get("status") or {}).get("phase")
        owners = meta.get("ownerReferences") or []
        if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
            skipped.append(f"{ref} (static pod)")
            continue
        if any(o.get("kind") == "DaemonSet" for o in owners):
            if ignore_daemonsets:
                skipped.append(f"{ref} (DaemonSet)")
            else:
                blockers.append(f"{ref} is managed by a DaemonSet (set ignore_daemonsets)")
            continue
        finished = phase in ("Succeeded", "Failed")
        if not owners and not force and not finished:
            blockers.append(f"{ref} has no controller and would be lost (set force)")
            continue
        volumes = (pod.get("spec") or {}).get("volumes") or []
        if not finished and not delete_emptydir_data and any("emptyDir" in v for v in volumes):
            blockers.append(f"{ref} uses emptyDir data that would be lost (set delete_emptydir_data)")
            continue
        evict.append(pod)
    return evict, skipped, blockers


def pod_ref(pod: dict[str, Any]) -> str:
    """``namespace/name`` of a pod, the way kubectl names it in messages."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


# ---------------------------------------------------------------- API side


class NodeService:
    """Node reads and writes over a ``CoreV1Api``; every call has a timeout."""

    def __init__(self, core: Any, request_timeout: int) -> None:
        self.core = core
        self.timeout = request_timeout

    def _json(self, obj: Any) -> Any:
        return self.core.api_client.sanitize_for_serialization(obj)

    def list_nodes(self, label_selector: Optional[str] = None) -> list[dict[str, Any]]:
        """Every node (or those matching the selector), as API JSON."""
        kwargs: dict[str, Any] = {"_request_timeout": self.timeout}
        if label_selector:
            kwargs["label_selector"] = label_selector
        try:
            result = self.core.list_node(**kwargs)
        except API_ERRORS as exc:
            raise NodeError(f"listing nodes failed: {api_error_text(exc)}") from exc
        return self._json(result).get("items") or []

    def get_node(self, name: str) -> Optional[dict[str, Any]]:
        """One node as API JSON, or None if the cluster has no such node."""
        try:
            return self._json(self.core.read_node(name, _request_timeout=self.timeout))
        except API_ERRORS as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise NodeError(f"reading node {name} failed: {api_error_text(exc)}") from exc

    def patch_node(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Apply a strategic-merge patch and return the node as it now is."""
        try:
            return self._json(self.core.patch_node(name, patch, _request_timeout=self.timeout))
        except API_ERRORS as exc:
            raise NodeError(f"patching node {name} failed: {api_error_text(exc)}") from exc

    def delete_node(self, name: str) -> None:
        """Remove the node object; a node already gone is not an error."""
        try:
            self.core.delete_node(name, _request_timeout=self.timeout)
        except API_ERRORS as exc:
            if getattr(exc, "status", None) != 404:
                raise NodeError(f"deleting node {name} failed: {api_error_text(exc)}") from exc

    def pods_on_node(self, name: str) -> list[dict[str, Any]]:
        """Pods scheduled to a node, in every namespace."""
        try:
            result = self.core.list_pod_for_all_namespaces(
                field_selector=f"spec.nodeName={name}", _request_timeout=self.timeout)
        except API_ERRORS as exc:
            raise NodeError(f"listing pods on node {name} failed: {api_error_text(exc)}") from exc
        return self._json(result).get("items") or []

    def evict(self, pod: dict[str, Any], grace_period: Optional[int]) -> tuple[str, str]:
        """Ask the API to evict one pod.

        Returns ``("evicted"|"gone"|"blocked", detail)``. 429 is how the API
        says a PodDisruptionBudget forbids the eviction right now: that is a
        reason to retry, not to fail.
        """
        meta = pod["metadata"]
        body = k8s_client.V1Eviction(
            api_version="policy/v1",
            kind="Eviction",
            metadata=k8s_client.V1ObjectMeta(name=meta["name"], namespace=meta["namespace"]),
            delete_options=k8s_client.V1DeleteOptions(grace_period_seconds=grace_period),
        )
        try:
            self.core.create_namespaced_pod_eviction(
                meta["name"], meta["namespace"], body, _request_timeout=self.timeout)
        except API_ERRORS as exc:
            if getattr(exc, "status", None) == 404:
                return "gone", ""
            if getattr(exc, "status", None) == 429:
                return "blocked", api_error_text(exc)
            raise NodeError(f"evicting {pod_ref(pod)} failed: {api_error_text(exc)}") from exc
        return "evicted", ""

    def drain(
        self,
        name: str,
        timeout: float,
        sleep: float,
        grace_period: Optional[int] = None,
        ignore_daemonsets: bool = True,
        delete_emptydir_data: bool = False,
        force: bool = False,
    ) -> dict[str, Any]:
        """Evict every evictable pod from a node and wait until they are gone.

        Evictions a PodDisruptionBudget refuses are retried every ``sleep``
        seconds until ``timeout``; the failure message lists what still
        blocks, so the user knows which budget to look at.
        """
        pods = self.pods_on_node(name)
        to_evict, skipped, blockers = drain_plan(pods, ignore_daemonsets, delete_emptydir_data, force)
        if blockers:
            raise NodeError(f"cannot drain node {name}: " + "; ".join(blockers))
        pending = {p["metadata"]["uid"]: p for p in to_evict}
        evicted: dict[str, str] = {}
        blocked: dict[str, str] = {}

        def step() -> tuple[bool, list[str]]:
            for uid, pod in list(pending.items()):
                outcome, detail = self.evict(pod, grace_period)
                if outcome == "blocked":
                    blocked[uid] = detail
                    continue
                blocked.pop(uid, None)
                evicted[uid] = pod_ref(pod)
                del pending[uid]
            if pending:
                return False, [f"{pod_ref(pending[u])} (eviction refused: {blocked[u]})" for u in pending]
            left = [pod_ref(p) for p in self.pods_on_node(name) if p["metadata"]["uid"] in evicted]
            return not left, [f"{ref} (still terminating)" for ref in left]

        done, waiting, elapsed = wait_for(step, timeout, sleep)
        if not done:
            raise NodeError(f"draining node {name} timed out after {elapsed:.0f}s; waiting for: "
                            + ", ".join(waiting))
        return {"evicted": sorted(evicted.values()), "skipped": sorted(skipped),
                "elapsed": round(elapsed, 1)}
