# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node work for the k8s_node* modules: reading nodes, patching them, draining.

Pure functions take and return the JSON form of API objects (the same dicts
``kubectl get -o json`` prints and the API serves), so they are tested on
recorded API JSON. ``NodeService`` is the thin part that talks to the API.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.errors import DrainError, NodeError, one_line
from ansible_collections.pirack.cluster.plugins.module_utils.k8s.client import (
    API_ERRORS,
    ApiException,
    api_error_text,
    is_tls_error,
    json_answer,
    k8s_client,
    server_text,
)
from ansible_collections.pirack.cluster.plugins.module_utils.wait import wait_for

ROLE_LABEL_PREFIX = "node-role.kubernetes.io/"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
# The mark a drain by this collection leaves next to spec.unschedulable, so a
# later run lifts its own cordons and never one an operator made by hand.
CORDON_MARK = "pirack.io/cordoned-by"
CORDON_OWNER = "pirack.cluster"
# What the k8s_node module may ask of a node's schedulability.
CORDON_REQUESTS = ("cordon", "uncordon", "drain", "undrain")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


# ---------------------------------------------------------------- checking options

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
NODE_NAME_RE = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_LABEL_NAME_RE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")


def node_name_problem(name: Any, option: str = "name") -> Optional[str]:
    """Why ``name`` cannot be a Kubernetes node name, or None.

    Node names are DNS subdomains; checking here means a typo fails at once,
    naming the option, instead of as a 404 or a URL the API cannot route.
    """
    if not isinstance(name, str) or len(name) > 253 or not NODE_NAME_RE.fullmatch(name):
        return (f"{option} must be a node name (lowercase letters, digits, '-' and '.', "
                f"at most 253 characters), got {name!r}")
    return None


def _qualified_name_problem(key: Any) -> Optional[str]:
    """Why ``key`` is not a label or taint key ([prefix/]name), or None."""
    if not isinstance(key, str) or not key:
        return "must be a non-empty string"
    prefix, _, name = key.rpartition("/")
    if "/" in key and (len(prefix) > 253 or not NODE_NAME_RE.fullmatch(prefix)):
        return "has a prefix that is not a DNS subdomain"
    if not name or len(name) > 63 or not _LABEL_NAME_RE.fullmatch(name):
        return ("needs a name of at most 63 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit")
    return None


def label_value(value: Any) -> Optional[str]:
    """The string a label option value stands for (YAML gives ints, floats
    and booleans too); None for a value that cannot be a label value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        text = str(value)
        if len(text) <= 63 and _LABEL_NAME_RE.fullmatch(text):
            return text
    return None


def _each_problem(value: Any, option: str, kind: type, expected: str,
                  item_problems: Callable[[str, Any, Any], list[str]]) -> list[str]:
    """The problems of a list or mapping option: none when it is null, one
    when it is not of its kind, else those item_problems(option, key or
    index, item) finds in each item."""
    if value is None:
        return []
    if not isinstance(value, kind):
        return [f"{option} must be {expected}, got {type(value).__name__}"]
    return [problem for key, item in (value.items() if isinstance(value, dict) else enumerate(value))
            for problem in item_problems(option, key, item)]


def _label_problems(option: str, key: Any, value: Any) -> list[str]:
    bad_key = _qualified_name_problem(key)
    if bad_key:
        return [f"{option}: key {key!r} {bad_key}"]
    if value is not None and label_value(value) is None:
        return [f"{option}.{key} must be at most 63 letters, digits, '-', '_' or '.' "
                f"(or null to remove it), got {value!r}"]
    return []


def label_problems(labels: Any, option: str = "labels") -> list[str]:
    """Every bad label in the option, one line each; empty when all are fine."""
    return _each_problem(labels, option, dict, "a mapping of label names to values", _label_problems)


def _taint_problems(option: str, index: Any, taint: Any) -> list[str]:
    where = f"{option}[{index}]"
    if not isinstance(taint, dict):
        return [f"{where} must be a mapping with key and effect, got {type(taint).__name__}"]
    problems = []
    bad_key = _qualified_name_problem(taint.get("key"))
    if bad_key:
        problems.append(f"{where}.key {taint.get('key')!r} {bad_key}")
    if taint.get("effect") not in TAINT_EFFECTS:
        problems.append(f"{where}.effect must be one of {', '.join(TAINT_EFFECTS)}, "
                        f"got {taint.get('effect')!r}")
    value = taint.get("value")
    if value is not None and (not isinstance(value, str) or label_value(value) is None):
        problems.append(f"{where}.value must be at most 63 letters, digits, '-', '_' or '.', "
                        f"got {value!r}")
    if taint.get("state", "present") not in ("present", "absent"):
        problems.append(f"{where}.state must be present or absent, got {taint.get('state')!r}")
    return problems


def taint_problems(taints: Any, option: str = "taints") -> list[str]:
    """Every bad taint in the option, one line each; empty when all are fine."""
    return _each_problem(taints, option, list, "a list of taints", _taint_problems)


def seconds_problem(params: dict[str, Any], option: str, low: int, high: int,
                    optional: bool = False) -> Optional[str]:
    """Why an option is not a whole number of seconds in [low, high], or None.

    The upper bound is not arbitrary caution: an int too large for a float
    crashes the deadline arithmetic of the poll loop.
    """
    value = params.get(option)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"{option} must be a whole number of seconds from {low} to {high}, got {value!r}"
    return None


def _mapping(value: Any, what: str) -> dict[str, Any]:
    """``value`` when it is a mapping, {} when absent; a NodeError naming
    ``what`` otherwise, so a malformed API object never becomes a traceback."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise NodeError(f"{what} is not a mapping but a {type(value).__name__}")
    return value


def _items(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise NodeError(f"{what} is not a list but a {type(value).__name__}")
    return value


# ---------------------------------------------------------------- reading


def node_summary(node: dict[str, Any]) -> dict[str, Any]:
    """What a playbook needs to know about one node, flattened.

    ``k3s_version`` is the kubelet version string the node reports
    (``v1.31.4+k3s1``): that is what the running binary is, whatever the
    inventory asks for, so upgrades compare against it. ``cordoned_by`` is
    this collection's cordon mark, so a play can tell its own cordon from an
    operator's.
    """
    node = _mapping(node, "the node")
    meta = _mapping(node.get("metadata"), "the node's metadata")
    spec = _mapping(node.get("spec"), "the node's spec")
    status = _mapping(node.get("status"), "the node's status")
    info = _mapping(status.get("nodeInfo"), "the node's status.nodeInfo")
    labels = _mapping(meta.get("labels"), "the node's labels")
    annotations = _mapping(meta.get("annotations"), "the node's annotations")
    conditions = _conditions(status)
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
        "k3s_version": kubelet if isinstance(kubelet, str) and "+k3s" in kubelet else None,
        "labels": dict(sorted(labels.items())),
        "taints": list(_items(spec.get("taints"), "the node's taints")),
        "unschedulable": bool(spec.get("unschedulable")),
        "cordoned_by": annotations.get(CORDON_MARK),
        "capacity": dict(_mapping(status.get("capacity"), "the node's capacity")),
        "allocatable": dict(_mapping(status.get("allocatable"), "the node's allocatable")),
        "addresses": {a["type"]: a.get("address") for a in _items(status.get("addresses"), "the node's addresses")
                      if isinstance(a, dict) and isinstance(a.get("type"), str)},
    }


def _conditions(status: Any) -> dict[str, dict[str, Any]]:
    """A node's conditions by type; what is not a condition is left out."""
    found = status.get("conditions") if isinstance(status, dict) else None
    if not isinstance(found, list):
        return {}
    return {c["type"]: c for c in found if isinstance(c, dict) and isinstance(c.get("type"), str)}


def node_name(node: Any) -> Optional[str]:
    """The name of a node as the API serves it; None for a malformed entry."""
    meta = node.get("metadata") if isinstance(node, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else None


def readiness_problems(nodes: Iterable[dict[str, Any]], expected: Iterable[str]) -> dict[str, str]:
    """Why each expected node is not Ready yet, by node name; empty when all are.

    Looks at the raw conditions, so the failure message can say
    "Ready=False: KubeletNotReady ..." rather than just "no".
    """
    by_name = {node_name(n): n for n in nodes}
    problems: dict[str, str] = {}
    for name in expected:
        node = by_name.get(name)
        if node is None:
            problems[name] = "not registered with the API server"
            continue
        ready = _conditions(node.get("status")).get("Ready")
        if ready is None:
            problems[name] = "no Ready condition reported yet"
        elif ready.get("status") != "True":
            detail = ": ".join(str(x) for x in (ready.get("reason"), ready.get("message")) if x)
            problems[name] = f"Ready={ready.get('status')}" + (f" ({detail})" if detail else "")
    return problems


# ---------------------------------------------------------------- changing


def _taint_key(taint: dict[str, Any]) -> tuple:
    return (str(taint.get("key")), str(taint.get("effect")))


def cordon_after(unschedulable: bool, mark: Optional[str], request: Optional[str]) -> tuple[bool, Optional[str]]:
    """(unschedulable, cordon mark) after a request; the rules in one place.

    - ``cordon``/``uncordon`` (the schedulable option): an explicit choice by
      whoever runs the task, so the collection's mark is dropped either way.
    - ``drain``: cordons and marks the node, unless someone else had already
      cordoned it (unschedulable without our mark): that cordon stays theirs.
    - ``undrain``: lifts the cordon only when our mark is on it (a stale mark
      on a schedulable node is removed); anyone else's cordon stays.
    - None: unmanaged.
    """
    ours = mark == CORDON_OWNER
    if request == "cordon":
        return True, None if ours else mark
    if request == "uncordon":
        return False, None if ours else mark
    if request == "drain":
        return True, CORDON_OWNER if ours or not unschedulable else mark
    if request == "undrain":
        return (False, None) if ours else (unschedulable, mark)
    if request is None:
        return unschedulable, mark
    raise NodeError(f"unknown cordon request {request!r}; expected one of {', '.join(CORDON_REQUESTS)}")


def desired_node_state(
    node: dict[str, Any],
    labels: Optional[dict[str, Any]],
    taints: Optional[list[dict[str, Any]]],
    cordon: Optional[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (before, after) view of the settings the module manages.

    A label value of None removes that label; a taint with ``state: absent``
    removes the taint with that key and effect; ``cordon`` is one of
    ``CORDON_REQUESTS`` (see ``cordon_after``). Options left as None are not
    managed, so they show the same before and after. Bad options raise
    NodeError with every problem listed.
    """
    problems = label_problems(labels) + taint_problems(taints)
    if problems:
        raise NodeError("; ".join(problems))
    node = _mapping(node, "the node")
    meta = _mapping(node.get("metadata"), "the node's metadata")
    spec = _mapping(node.get("spec"), "the node's spec")
    annotations = _mapping(meta.get("annotations"), "the node's annotations")
    old_taints = _items(spec.get("taints"), "the node's taints")
    if not all(isinstance(t, dict) for t in old_taints):
        raise NodeError("the node's taints are not all mappings")
    mark = annotations.get(CORDON_MARK)
    before = {
        "labels": dict(sorted(_mapping(meta.get("labels"), "the node's labels").items())),
        "taints": sorted((dict(t) for t in old_taints), key=_taint_key),
        "unschedulable": bool(spec.get("unschedulable")),
        "cordoned_by": mark if isinstance(mark, str) else None,
    }
    after_labels = dict(before["labels"])
    for key, value in (labels or {}).items():
        if value is None:
            after_labels.pop(key, None)
        else:
            after_labels[key] = label_value(value)
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
    unschedulable, after_mark = cordon_after(before["unschedulable"], before["cordoned_by"], cordon)
    after = {
        "labels": dict(sorted(after_labels.items())),
        "taints": sorted(after_taints.values(), key=_taint_key),
        "unschedulable": unschedulable,
        "cordoned_by": after_mark,
    }
    return before, after


NODE_STATE_KEYS = ("labels", "taints", "unschedulable", "cordoned_by")


def node_patch(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The strategic-merge patch that turns ``before`` into ``after``.

    Removed labels are sent as null (the API deletes them); taints have no
    merge key, so the whole list is sent whenever it changes. The cordon mark
    travels in the same patch as spec.unschedulable, so the API never holds a
    cordon without its mark or a mark without its cordon.
    """
    for name, state in (("before", before), ("after", after)):
        if not isinstance(state, dict) or any(k not in state for k in NODE_STATE_KEYS) \
                or not isinstance(state["labels"], dict):
            raise NodeError(f"node_patch: {name} is not a desired_node_state view")
    patch: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    if before["labels"] != after["labels"]:
        labels: dict[str, Optional[str]] = {k: v for k, v in after["labels"].items()
                                            if before["labels"].get(k) != v}
        labels.update({k: None for k in before["labels"] if k not in after["labels"]})
        meta["labels"] = labels
    if before["cordoned_by"] != after["cordoned_by"]:
        meta["annotations"] = {CORDON_MARK: after["cordoned_by"]}
    if meta:
        patch["metadata"] = meta
    spec: dict[str, Any] = {}
    if before["taints"] != after["taints"]:
        spec["taints"] = after["taints"]
    if before["unschedulable"] != after["unschedulable"]:
        spec["unschedulable"] = after["unschedulable"]
    if spec:
        patch["spec"] = spec
    return patch


def drain_plan(
    pods: list[dict[str, Any]],
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
    for pod in _items(pods, "the pod list"):
        pod = _mapping(pod, "a pod")
        meta = _mapping(pod.get("metadata"), "a pod's metadata")
        ref = pod_ref(pod)
        if not isinstance(meta.get("name"), str) or not isinstance(meta.get("namespace"), str) \
                or not isinstance(meta.get("uid"), str):
            raise NodeError(f"pod {ref} has no name, namespace or uid")
        phase = _mapping(pod.get("status"), f"pod {ref} status").get("phase")
        owners = [o for o in _items(meta.get("ownerReferences"), f"pod {ref} ownerReferences")
                  if isinstance(o, dict)]
        if MIRROR_ANNOTATION in _mapping(meta.get("annotations"), f"pod {ref} annotations"):
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
        volumes = _items(_mapping(pod.get("spec"), f"pod {ref} spec").get("volumes"), f"pod {ref} volumes")
        if not finished and not delete_emptydir_data and any(isinstance(v, dict) and "emptyDir" in v
                                                             for v in volumes):
            blockers.append(f"{ref} uses emptyDir data that would be lost (set delete_emptydir_data)")
            continue
        evict.append(pod)
    return evict, skipped, blockers


def pod_ref(pod: dict[str, Any]) -> str:
    """``namespace/name`` of a pod, the way kubectl names it in messages."""
    meta = pod.get("metadata") if isinstance(pod, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


def pod_uid(pod: Any) -> Optional[str]:
    """A pod's uid from API JSON; None for a malformed entry."""
    meta = pod.get("metadata") if isinstance(pod, dict) else None
    return meta.get("uid") if isinstance(meta, dict) else None


# ---------------------------------------------------------------- API side


class NodeService:
    """Node reads and writes over a ``CoreV1Api``; every call has a timeout.

    Answers are read as raw JSON (``_preload_content=False``) and checked
    here, so a proxy's HTML page or a truncated body becomes one NodeError
    line naming the server, not a deserializer traceback.
    """

    def __init__(self, core: Any, request_timeout: int, kubeconfig: Optional[str] = None) -> None:
        self.core = core
        self.timeout = request_timeout
        self.server = server_text(core, kubeconfig)

    def _request(self, what: str, call: Callable[..., Any], *args: Any,
                 tolerate: tuple = (), **kwargs: Any) -> tuple[int, Any]:
        """Make one API call; returns (200, answer JSON), or (status, error
        text) for a status in ``tolerate``; anything else is a NodeError."""
        try:
            response = call(*args, _preload_content=False, _request_timeout=self.timeout, **kwargs)
        except ApiException as exc:
            status = getattr(exc, "status", None)
            if status in tolerate:
                return status, api_error_text(exc)
            raise NodeError(f"{what} failed: {self.server} answered {api_error_text(exc)}",
                            retryable=isinstance(status, int) and (status >= 500 or status == 429)) from exc
        except API_ERRORS as exc:
            raise NodeError(f"{what} failed: cannot reach {self.server}: {api_error_text(exc)}",
                            retryable=not is_tls_error(exc)) from exc
        except (ValueError, TypeError) as exc:
            # The client validates arguments itself (pydantic) with a multi-line message.
            raise NodeError(f"{what} failed: the Kubernetes client refused the request: "
                            f"{one_line(str(exc).splitlines()[0] if str(exc) else exc)}") from exc
        try:
            headers = getattr(response, "headers", None) or {}
            return 200, json_answer(response.data, headers.get("content-type"))
        except ValueError as exc:
            raise NodeError(f"{what} failed: {self.server} {exc}") from exc
        except API_ERRORS as exc:
            raise NodeError(f"{what} failed: the answer of {self.server} broke off: "
                            f"{api_error_text(exc)}", retryable=True) from exc

    def _item_list(self, what: str, answer: dict[str, Any]) -> list[dict[str, Any]]:
        items = answer.get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise NodeError(f"{what} failed: {self.server} answered a list without items")
        return items

    def list_nodes(self, label_selector: Optional[str] = None) -> list[dict[str, Any]]:
        """Every node (or those matching the selector), as API JSON."""
        kwargs: dict[str, Any] = {}
        if label_selector:
            kwargs["label_selector"] = label_selector
        _, answer = self._request("listing nodes", self.core.list_node, **kwargs)
        return self._item_list("listing nodes", answer)

    def get_node(self, name: str) -> Optional[dict[str, Any]]:
        """One node as API JSON, or None if the cluster has no such node."""
        code, answer = self._request(f"reading node {name}", self.core.read_node, name, tolerate=(404,))
        return None if code == 404 else answer

    def patch_node(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Apply a strategic-merge patch and return the node as it now is."""
        return self._request(f"patching node {name}", self.core.patch_node, name, patch)[1]

    def delete_node(self, name: str) -> None:
        """Remove the node object; a node already gone is not an error."""
        self._request(f"deleting node {name}", self.core.delete_node, name, tolerate=(404,))

    def pods_on_node(self, name: str) -> list[dict[str, Any]]:
        """Pods scheduled to a node, in every namespace."""
        what = f"listing pods on node {name}"
        _, answer = self._request(what, self.core.list_pod_for_all_namespaces,
                                  field_selector=f"spec.nodeName={name}")
        return self._item_list(what, answer)

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
        code, detail = self._request(f"evicting {pod_ref(pod)}", self.core.create_namespaced_pod_eviction,
                                     meta["name"], meta["namespace"], body, tolerate=(404, 429))
        if code == 404:
            return "gone", ""
        if code == 429:
            return "blocked", detail
        return "evicted", ""

    def drain(
        self,
        name: str,
        timeout: float,
        retry_interval: float,
        grace_period: Optional[int] = None,
        ignore_daemonsets: bool = True,
        delete_emptydir_data: bool = False,
        force: bool = False,
    ) -> dict[str, Any]:
        """Evict every evictable pod from a node and wait until they are gone.

        Evictions a PodDisruptionBudget refuses are retried every ``retry_interval``
        seconds until ``timeout``; the failure message lists what still
        blocks, so the user knows which budget to look at. A failure after
        some evictions is a DrainError carrying them.
        """
        pods = self.pods_on_node(name)
        to_evict, skipped, blockers = drain_plan(pods, ignore_daemonsets, delete_emptydir_data, force)
        if blockers:
            raise DrainError(f"cannot drain node {name}: " + "; ".join(blockers))
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
            left = [pod_ref(p) for p in self.pods_on_node(name) if pod_uid(p) in evicted]
            return not left, [f"{ref} (still terminating)" for ref in left]

        try:
            done, waiting, elapsed = wait_for(step, timeout, retry_interval)
        except NodeError as exc:
            raise DrainError(str(exc), sorted(evicted.values())) from exc
        if not done:
            raise DrainError(f"draining node {name} timed out after {elapsed:.0f}s; waiting for: "
                             + ", ".join(waiting), sorted(evicted.values()))
        return {"evicted": sorted(evicted.values()), "skipped": sorted(skipped),
                "elapsed": round(elapsed, 1)}
