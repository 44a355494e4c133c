# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""When is a service ready: how many tasks (pods) should run, how many run
the current definition, and what stands in the way, on both orchestrators.

The one place the app engine counts readiness, for ``rollout`` (wait until
an apply has landed, on every board that is up, and name the boards down
it leaves for later) and ``status`` (the app_info module, the status
screen). Pure functions over the orchestrators' JSON answers, so every
judgement is tested on recorded answers; the drivers only fetch them.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Mapping

from ansible_collections.pirack.cluster.plugins.module_utils.k8s.service import node_name, readiness_problems
from ansible_collections.pirack.cluster.plugins.module_utils.node_labels import placement_label

# Swarm update states after which the engine will not finish a rollout by itself.
FAILED_UPDATE_STATES = ("paused", "rollback_started", "rollback_paused", "rollback_completed")


def boards_waiting(waiting: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Board -> the services waiting for it, from a rollout's service -> boards down."""
    boards: dict[str, list[str]] = {}
    for service, names in sorted(waiting.items()):
        for board in names:
            boards.setdefault(board, []).append(service)
    return dict(sorted(boards.items()))


# ---------------------------------------------------------------- Swarm


def _runs_there(node: dict[str, Any], placement: Mapping[str, str]) -> bool:
    """Whether a global service with ``placement`` belongs on ``node``:
    active (not drained or paused) and its labels matching."""
    spec = node.get("Spec") or {}
    labels = spec.get("Labels") or {}
    return spec.get("Availability") == "active" and all(
        labels.get(placement_label(k)) == v for k, v in placement.items())


def eligible_nodes(nodes: list[dict[str, Any]], placement: Mapping[str, str]) -> int:
    """How many nodes a global service runs on: ready, active, labels matching."""
    return sum(1 for node in nodes
               if (node.get("Status") or {}).get("State") == "ready" and _runs_there(node, placement))


def down_nodes(nodes: list[dict[str, Any]]) -> dict[str, str]:
    """Node ID -> hostname of every node the swarm reports ``down``: its
    heartbeats stopped (power, network), so no task can start there until
    it is back."""
    return {node["ID"]: (node.get("Description") or {}).get("Hostname") or node["ID"]
            for node in nodes if (node.get("Status") or {}).get("State") == "down"}


def swarm_boards_down(nodes: list[dict[str, Any]], placement: Mapping[str, str]) -> list[str]:
    """Hostnames of the down nodes a global service with ``placement`` belongs
    on: its tasks start there once they return (the swarm adds them)."""
    down = down_nodes(nodes)
    return sorted(down[node["ID"]] for node in nodes if node["ID"] in down and _runs_there(node, placement))


def _task_matches(task: dict[str, Any], template: dict[str, Any]) -> bool:
    """Whether a task was made from the service's current template (not an
    old one). ForceUpdate counts: a bumped one replaces every task."""
    spec = task.get("Spec") or {}
    return (all(spec.get(key) == template.get(key) for key in ("ContainerSpec", "Resources", "Placement"))
            and int(spec.get("ForceUpdate") or 0) == int(template.get("ForceUpdate") or 0))


def swarm_rollout(live: dict[str, Any], tasks: list[dict[str, Any]], expected: int,
                  down: Collection[str] = ()) -> dict[str, Any]:
    """Where one Swarm service's rollout stands, from its inspect dict and its tasks.

    ``done`` when exactly ``expected`` tasks of the current template run and
    no update is in flight; ``failed`` when the engine gave up on an update.
    Tasks on the nodes of ``down`` (IDs of nodes the swarm reports down) do
    not count either way: they cannot run until their board returns, and the
    swarm then starts them by itself. ``stuck`` names the tasks of the
    current template waiting on such a node while an update is in flight:
    the engine's updater waits for each task it starts, with no timeout.
    ``problems`` holds the task errors of the current template, newest first
    (older templates' failures are history, not this rollout's), the part
    of a failure a user can act on ("No such image", "no suitable node").
    """
    template = live["Spec"].get("TaskTemplate") or {}
    update = live.get("UpdateStatus") or {}
    mine = [t for t in tasks if _task_matches(t, template)]
    up = [t for t in tasks if t.get("NodeID") not in down]
    want_running = [t for t in up if t.get("DesiredState") == "running"]
    current = [t for t in want_running
               if (t.get("Status") or {}).get("State") == "running" and _task_matches(t, template)]
    in_flight = update.get("State") == "updating"
    # Newest first, one line per distinct reason: ten rejected tasks with
    # "No such image" are one problem, not ten.
    reasons: dict[str, int] = {}
    for task in sorted(mine, key=lambda t: (t.get("Status") or {}).get("Timestamp", ""), reverse=True):
        status = task.get("Status") or {}
        reason = status.get("Err") or status.get("Message")
        if status.get("State") not in ("running", "shutdown") and reason and task.get("NodeID") not in down:
            text = f"{status.get('State')}: {reason}"
            reasons[text] = reasons.get(text, 0) + 1
    problems = [f"{text} ({count} tasks)" if count > 1 else text for text, count in reasons.items()]
    return {
        "running": len(current),
        "expected": expected,
        "done": not in_flight and len(current) == expected == len(want_running),
        "failed": update.get("State") in FAILED_UPDATE_STATES,
        "stuck": sorted(t["ID"] for t in mine if in_flight and t.get("NodeID") in down
                        and (t.get("Status") or {}).get("State") != "running"),
        "update_state": update.get("State"),
        "update_message": update.get("Message"),
        "problems": problems[:3],
    }


def swarm_failure(service: str, rollout: dict[str, Any], why: str) -> str:
    """One line on a Swarm rollout that failed or timed out, with the engine's reasons."""
    text = (f"service {service}: {why}, {rollout['running']} of "
            f"{rollout['expected']} tasks running the current spec")
    if rollout["update_message"]:
        text += f"; update: {rollout['update_message']}"
    if rollout["problems"]:
        text += "; " + "; ".join(rollout["problems"])
    return text


def swarm_status(rollout: dict[str, Any]) -> dict[str, Any]:
    """A Swarm service's status row: running and desired tasks, and why they differ."""
    problems = list(rollout["problems"])
    if rollout["failed"]:
        problems.insert(0, f"update {rollout['update_state']}: {rollout['update_message']}")
    return {"running": rollout["running"], "desired": rollout["expected"], "problems": problems}


# ---------------------------------------------------------------- Kubernetes


def _runs_on(node: dict[str, Any], placement: Mapping[str, str]) -> bool:
    """Whether a Kubernetes node's labels satisfy a service's placement."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    return all(labels.get(placement_label(key)) == value for key, value in placement.items())


def k8s_boards_down(nodes: list[dict[str, Any]], placement: Mapping[str, str]) -> list[str]:
    """Names of the nodes that are not Ready and that a DaemonSet with
    ``placement`` belongs on: its pods start there when they are back."""
    names = [node_name(n) for n in nodes if node_name(n) and _runs_on(n, placement)]
    return sorted(readiness_problems(nodes, names))


def k8s_rollout(workload: dict[str, Any]) -> dict[str, Any]:
    """Where a Deployment's or DaemonSet's rollout stands, from its status.

    Done means the controller saw the newest spec and every wanted pod runs
    it and is available; no pod of an older spec is left over. A node that
    stops answering is not waited for: the node controller marks it NotReady
    and taints it ``node.kubernetes.io/unreachable:NoSchedule``, which a
    DaemonSet's pods do not tolerate, so the DaemonSet controller leaves it
    out of ``desiredNumberScheduled`` and of every count here; a
    Deployment's pods are replaced on the nodes that are up.
    """
    meta = workload.get("metadata") or {}
    status = workload.get("status") or {}
    seen = status.get("observedGeneration", 0) >= meta.get("generation", 1)
    if workload.get("kind") == "DaemonSet":
        expected = status.get("desiredNumberScheduled", 0)
        updated = status.get("updatedNumberScheduled", 0)
        available = status.get("numberAvailable", 0)
        total = status.get("currentNumberScheduled", 0)
    else:
        expected = (workload.get("spec") or {}).get("replicas", 1)
        updated = status.get("updatedReplicas", 0)
        available = status.get("availableReplicas", 0)
        total = status.get("replicas", 0)
    conditions = [f"{c.get('type')}={c.get('status')}: {c.get('reason')}: {c.get('message')}"
                  for c in status.get("conditions") or [] if c.get("status") != "True"]
    return {"done": seen and updated == expected and available == expected and total == expected,
            "expected": expected, "updated": updated, "available": available, "conditions": conditions}


def k8s_status(workload: Any) -> dict[str, Any]:
    """A Kubernetes service's status row, from its workload (None: the workload is gone)."""
    if workload is None:
        return {"running": 0, "desired": 0, "problems": ["no Deployment or DaemonSet"]}
    rollout = k8s_rollout(workload)
    return {"running": rollout["available"], "desired": rollout["expected"], "problems": rollout["conditions"]}


def pod_problems(pods: list[dict[str, Any]]) -> list[str]:
    """Why pods are not running, as the kubelet and scheduler say it."""
    problems = []
    for pod in pods:
        name = (pod.get("metadata") or {}).get("name")
        status = pod.get("status") or {}
        for cond in status.get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                problems.append(f"pod {name}: {cond.get('reason')}: {cond.get('message')}")
        for cstat in status.get("containerStatuses") or []:
            waiting = (cstat.get("state") or {}).get("waiting")
            if waiting:
                text = f"pod {name}: {waiting.get('reason')}"
                problems.append(f"{text}: {waiting['message']}" if waiting.get("message") else text)
    return list(dict.fromkeys(problems))[:3]
