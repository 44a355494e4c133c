# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker Swarm membership and node state, as pure functions over Engine API answers.

The swarm_member, swarm_node and swarm_info modules read the engine
(``/info``, ``/nodes/{id}``), hand the answers to these functions, and act
only on what they say differs: idempotence and check mode come from the
comparison, and the functions are tested on recorded answers without an
engine.
"""

from __future__ import annotations

from typing import Any, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.errors import SwarmError

# Engine words for a node's place in its swarm.
ROLES = ("manager", "worker")
AVAILABILITIES = ("active", "pause", "drain")
# LocalNodeState values in which a join or init can only fail.
STUCK_STATES = ("pending", "error", "locked")


def shape_membership(info: dict[str, Any]) -> dict[str, Any]:
    """This engine's place in a swarm, from ``GET /info``.

    ``managers`` are the ``addr:port`` of the managers the engine knows:
    a board whose list lacks its cluster's manager is in another swarm.
    """
    swarm = info.get("Swarm") or {}
    return {
        "state": swarm.get("LocalNodeState") or "inactive",
        "node_id": swarm.get("NodeID") or "",
        "node_address": swarm.get("NodeAddr") or "",
        "managers": sorted(m.get("Addr") for m in swarm.get("RemoteManagers") or [] if m.get("Addr")),
        "is_manager": bool(swarm.get("ControlAvailable")),
        "error": swarm.get("Error") or "",
        # Managers only: the pools overlay networks take their subnets from.
        "default_addr_pool": list((swarm.get("Cluster") or {}).get("DefaultAddrPool") or []),
    }


def shape_node(raw: dict[str, Any]) -> dict[str, Any]:
    """One ``docker node ls`` row, from ``GET /nodes/{id}`` or the node list."""
    spec = raw.get("Spec") or {}
    status = raw.get("Status") or {}
    manager = raw.get("ManagerStatus") or {}
    return {
        "id": raw.get("ID"),
        "hostname": (raw.get("Description") or {}).get("Hostname"),
        "role": spec.get("Role"),
        "availability": spec.get("Availability"),
        "labels": dict(spec.get("Labels") or {}),
        "state": status.get("State"),
        "address": status.get("Addr"),
        "leader": bool(manager.get("Leader")),
    }


def merge_labels(current: dict[str, str], wanted: dict[str, str], owned_prefix: Optional[str]) -> dict[str, str]:
    """The labels a node should end with.

    ``wanted`` is set over ``current``. Labels whose key starts with
    ``owned_prefix`` belong to the caller: one it no longer wants is removed.
    Other labels (someone set them by hand) stay. ``None`` owns nothing
    (only add and change); ``""`` owns every label (``wanted`` is the set).
    """
    kept = {key: value for key, value in current.items()
            if owned_prefix is None or not key.startswith(owned_prefix)}
    kept.update(wanted)
    return kept


def desired_spec(spec: dict[str, Any], role: Optional[str] = None, availability: Optional[str] = None,
                 labels: Optional[dict[str, str]] = None, owned_prefix: Optional[str] = None) -> dict[str, Any]:
    """The node spec with the requested role, availability and labels; what is not asked stays."""
    out = dict(spec)
    if role is not None:
        out["Role"] = role
    if availability is not None:
        out["Availability"] = availability
    if labels is not None or owned_prefix is not None:
        out["Labels"] = merge_labels(dict(spec.get("Labels") or {}), labels or {}, owned_prefix)
    return out


def spec_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{before, after}`` holding only the node settings that differ (Ansible's diff)."""
    keys = {"Role": "role", "Availability": "availability", "Labels": "labels"}
    old = {name: before.get(key) or ({} if key == "Labels" else None) for key, name in keys.items()}
    new = {name: after.get(key) or ({} if key == "Labels" else None) for key, name in keys.items()}
    changed = [name for name in keys.values() if old[name] != new[name]]
    return {"before": {name: old[name] for name in changed}, "after": {name: new[name] for name in changed}}


def join_token(tokens: dict[str, Any], role: str) -> Optional[str]:
    """The token of ``GET /swarm``'s ``JoinTokens`` that joins a node as ``role``."""
    return (tokens or {}).get("Manager" if role == "manager" else "Worker")


def refuse_stuck(membership: dict[str, Any], wanted: str) -> Optional[str]:
    """Why an engine cannot be made ``wanted`` (initialized or joined) as it is, or None."""
    if membership["state"] in STUCK_STATES:
        detail = f" ({membership['error']})" if membership["error"] else ""
        return (f"the engine's swarm state is {membership['state']}{detail}; make it leave first "
                f"(state=absent, force=true), then ask for state={wanted} again")
    if wanted == "initialized" and membership["state"] == "active" and not membership["is_manager"]:
        return ("the engine is a worker in another swarm (managers: "
                f"{', '.join(membership['managers']) or 'unknown'}); make it leave first")
    return None


def require_manager(membership: dict[str, Any]) -> None:
    """Node and token operations answer only on a manager; say so in one line elsewhere."""
    if not membership["is_manager"]:
        where = "a worker of a swarm" if membership["state"] == "active" else f"{membership['state']}, in no swarm"
        raise SwarmError(f"this engine is {where}, not a swarm manager; run the task on a manager (delegate_to)")


def _holds_raft(membership: dict[str, Any]) -> bool:
    """Whether this engine keeps a copy of its swarm's raft log: it manages
    the swarm, or (pending or in error, where the engine no longer says)
    it lists itself among the managers it knows."""
    own = membership["node_address"]
    return membership["is_manager"] or bool(own) and any(m.rpartition(":")[0] == own
                                                         for m in membership["managers"])


def membership_action(membership: dict[str, Any], expected_manager: str, first_manager: bool,
                      rebuild: bool = False) -> dict[str, str]:
    """What a board does with its engine's swarm before it starts or joins
    the one its inventory names, whose first manager is ``expected_manager``
    (``addr:port``); ``first_manager`` when the board is that manager.

    ``action`` is ``keep`` (nothing to undo), ``leave`` (leave by force,
    then start or join the right swarm; ``reason`` says why, for the run to
    say it) or ``refuse`` (``reason`` is what an operator must do). Read the
    membership once ``pending`` has had time to settle (swarm_info's
    ``pending_wait``): an engine is pending for a few seconds after it or its
    manager starts, and only one still pending is stuck.

    The first manager never leaves a swarm whose raft log it keeps: that log
    is the cluster's services, secrets and networks, the only copy when it
    is the only manager. ``rebuild`` (the inventory asks for a new swarm)
    lifts that. Any other board may leave: its cluster's swarm lives on the
    first manager, and the board joins it again.
    """
    state, known = membership["state"], membership["managers"]
    if state == "inactive" or (state == "active" and expected_manager in known):
        return {"action": "keep", "reason": ""}
    if state == "locked":
        return {"action": "refuse", "reason": "the engine's swarm is locked (autolock): unlock it with "
                                              "`docker swarm unlock` and the swarm's unlock key"}
    if state not in ("active", *STUCK_STATES):
        return {"action": "refuse", "reason": f"the engine reports an unknown swarm state {state!r}"}
    where = ", ".join(known) or "none"
    detail = f" ({membership['error']})" if membership["error"] else ""
    why = (f"it was in the swarm of manager(s) {where}, not the one of {expected_manager}" if state == "active"
           else f"its swarm state was {state}{detail}, with manager(s) {where}")
    if first_manager and _holds_raft(membership) and not rebuild:
        return {"action": "refuse", "reason": (
            f"the board holds its swarm's raft log (services, secrets, networks) and {why}; "
            f"set swarm_rebuild: true for it to leave that swarm and start a new one "
            f"(the app is then deployed again), or repair it by hand")}
    then = "start a new swarm" if first_manager else f"join the swarm of {expected_manager}"
    return {"action": "leave", "reason": f"left its swarm to {then}: {why}"}
