# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An app spec on Docker Swarm: render, read back, apply, wait.

Rendering and reading back are pure functions over Engine API dicts, so the
unit tests check them field by field without an engine. ``SwarmApp`` does
the I/O through the low-level API of the Docker SDK, whose service calls are
the same in Debian's python3-docker 5.0.3 and in 7.2.

Two constraints of the rack shape every service: the kernel has no IPVS, so
services use DNS round robin (``dnsrr``) instead of a virtual IP, and ports
are published in ``host`` mode on the node running the task, because the
ingress routing mesh needs IPVS too.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.app_spec import (
    comparable,
    empty_service,
    format_size,
    parse_size,
    removal_order,
)

LABEL_APP = "pirack.app"
LABEL_SERVICE = "pirack.service"
# Node labels the swarm role sets from inventory, by spec placement key.
NODE_LABELS = {"role": "pirack.role", "model": "pirack.model", "cluster": "pirack.cluster"}
_PLACEMENT_OF_LABEL = {label: key for key, label in NODE_LABELS.items()}
# Update states after which the engine will not finish a rollout by itself.
FAILED_UPDATE_STATES = ("paused", "rollback_started", "rollback_paused", "rollback_completed")
# Task states that will never turn into "running".
TERMINAL_TASK_STATES = ("complete", "shutdown", "failed", "rejected", "orphaned", "remove")


def service_name(app: str, service: str) -> str:
    """Swarm name of a service: prefixed by the app, as ``docker stack`` does."""
    return f"{app}_{service}"


def network_name(app: str) -> str:
    """The overlay network every service of the app joins."""
    return f"{app}_default"


def volume_name(app: str, volume: str) -> str:
    """Name of the local volume a service's volume becomes on its node."""
    return f"{app}_{volume}"


def render_service(app: str, name: str, service: dict[str, Any]) -> dict[str, Any]:
    """The Engine API ServiceSpec for one normalized service."""
    container: dict[str, Any] = {
        "Image": service["image"],
        "Env": [f"{k}={v}" for k, v in service["env"].items()],
        "Mounts": [{"Type": "volume", "Source": volume_name(app, v["name"]), "Target": v["path"]}
                   for v in service["volumes"]],
    }
    if service["command"]:
        container["Command"] = list(service["command"])
    if service["args"]:
        container["Args"] = list(service["args"])
    resources: dict[str, Any] = {}
    for ours, theirs in (("limits", "Limits"), ("requests", "Reservations")):
        quantity = service["resources"][ours]
        block = {}
        if quantity["cpus"] is not None:
            block["NanoCPUs"] = round(quantity["cpus"] * 1000) * 1_000_000
        if quantity["memory"] is not None:
            block["MemoryBytes"] = parse_size(quantity["memory"])
        if block:
            resources[theirs] = block
    if service["mode"] == "global":
        mode: dict[str, Any] = {"Global": {}}
    else:
        mode = {"Replicated": {"Replicas": service["replicas"]}}
    return {
        "Name": service_name(app, name),
        "Labels": {LABEL_APP: app, LABEL_SERVICE: name},
        "TaskTemplate": {
            "ContainerSpec": container,
            "Resources": resources,
            "Placement": {"Constraints": [f"node.labels.{NODE_LABELS.get(k, k)}=={v}"
                                          for k, v in service["placement"].items()]},
            # The alias is what other services resolve: "rng", not "coinminer_rng".
            "Networks": [{"Target": network_name(app), "Aliases": [name]}],
        },
        "Mode": mode,
        # stop-first: a host-mode port is held by the old task until it stops.
        "UpdateConfig": {"Parallelism": 1, "Order": "stop-first", "FailureAction": "pause"},
        "EndpointSpec": {
            "Mode": "dnsrr",
            "Ports": [{"Protocol": p["protocol"], "TargetPort": p["port"],
                       "PublishedPort": p["published"], "PublishMode": "host"}
                      for p in service["ports"] if p["published"] is not None],
        },
    }


def read_service(app: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A live ServiceSpec in the normalized service shape, for comparison.

    Only what ``render_service`` sets is read; defaults the engine adds
    (restart policy, isolation, ...) are not ours and never cause a change.
    """
    view = empty_service()
    template = spec.get("TaskTemplate") or {}
    container = template.get("ContainerSpec") or {}
    view["image"] = container.get("Image")
    mode = spec.get("Mode") or {}
    if "Global" in mode:
        view["mode"] = "global"
    else:
        view["replicas"] = (mode.get("Replicated") or {}).get("Replicas", 1)
    view["ports"] = sorted(
        ({"port": p.get("TargetPort"), "published": p.get("PublishedPort") or None,
          "protocol": p.get("Protocol", "tcp")}
         for p in (spec.get("EndpointSpec") or {}).get("Ports") or []),
        key=lambda p: (p["port"], p["protocol"]))
    view["env"] = dict(sorted(item.split("=", 1) if "=" in item else (item, "")
                              for item in container.get("Env") or []))
    view["command"] = list(container["Command"]) if container.get("Command") else None
    view["args"] = list(container["Args"]) if container.get("Args") else None
    resources = template.get("Resources") or {}
    for ours, theirs in (("limits", "Limits"), ("requests", "Reservations")):
        block = resources.get(theirs) or {}
        if block.get("NanoCPUs"):
            view["resources"][ours]["cpus"] = round(block["NanoCPUs"] / 1_000_000) / 1000
        if block.get("MemoryBytes"):
            view["resources"][ours]["memory"] = format_size(block["MemoryBytes"])
    for constraint in (template.get("Placement") or {}).get("Constraints") or []:
        key, sep, value = constraint.partition("==")
        if sep and key.strip().startswith("node.labels."):
            label = key.strip()[len("node.labels."):]
            view["placement"][_PLACEMENT_OF_LABEL.get(label, label)] = value.strip()
    view["placement"] = dict(sorted(view["placement"].items()))
    prefix = volume_name(app, "")
    view["volumes"] = [{"name": m["Source"][len(prefix):] if m.get("Source", "").startswith(prefix)
                        else m.get("Source"), "path": m.get("Target"), "size": None}
                       for m in container.get("Mounts") or [] if m.get("Type") == "volume"]
    return view


def desired_view(service: dict[str, Any]) -> dict[str, Any]:
    """What ``read_service`` returns once ``service`` is deployed."""
    return comparable(service, drop_unpublished_ports=True, drop_volume_size=True)


def plan(model: dict[str, Any], current: dict[str, dict[str, Any]], state: str) -> list[dict[str, Any]]:
    """The actions that take the swarm from ``current`` to the model.

    ``current`` maps our service names to their inspected Engine API dicts.
    Services of the app that the spec no longer has are removed, so the
    spec is the whole truth about the app. A change of mode recreates the
    service: Swarm refuses to turn a replicated service into a global one.
    """
    app = model["name"]
    wanted = model["services"] if state == "present" else {}
    actions = []
    for name, service in wanted.items():
        after = desired_view(service)
        live = current.get(name)
        if live is None:
            actions.append({"service": name, "action": "create", "before": None, "after": after})
            continue
        before = read_service(app, live["Spec"])
        if before != after:
            action = "recreate" if before["mode"] != after["mode"] else "update"
            actions.append({"service": name, "action": action, "before": before, "after": after})
    removals = [{"service": name, "action": "remove",
                 "before": read_service(app, current[name]["Spec"]), "after": None}
                for name in set(current) - set(wanted)]
    return actions + removal_order(removals)


def eligible_nodes(nodes: list[dict[str, Any]], placement: dict[str, str]) -> int:
    """How many nodes a global service runs on: ready, active, labels matching."""
    count = 0
    for node in nodes:
        spec = node.get("Spec") or {}
        labels = spec.get("Labels") or {}
        if (spec.get("Availability") == "active" and (node.get("Status") or {}).get("State") == "ready"
                and all(labels.get(NODE_LABELS.get(k, k)) == v for k, v in placement.items())):
            count += 1
    return count


def _task_matches(task: dict[str, Any], template: dict[str, Any]) -> bool:
    """Whether a task was made from the service's current template (not an old one)."""
    spec = task.get("Spec") or {}
    return all(spec.get(key) == template.get(key) for key in ("ContainerSpec", "Resources", "Placement"))


def rollout_status(live: dict[str, Any], tasks: list[dict[str, Any]], expected: int) -> dict[str, Any]:
    """Where one service's rollout stands, from its inspect dict and its tasks.

    ``done`` when exactly ``expected`` tasks of the current template run and
    no update is in flight; ``failed`` when the engine gave up on an update.
    ``problems`` holds the latest task errors, the part of a failure a user
    can act on ("No such image", "no suitable node").
    """
    template = live["Spec"].get("TaskTemplate") or {}
    update = live.get("UpdateStatus") or {}
    want_running = [t for t in tasks if t.get("DesiredState") == "running"]
    current = [t for t in want_running if (t.get("Status") or {}).get("State") == "running"
               and _task_matches(t, template)]
    # Newest first, one line per distinct reason: ten rejected tasks with
    # "No such image" are one problem, not ten.
    reasons: dict[str, int] = {}
    for task in sorted(tasks, key=lambda t: (t.get("Status") or {}).get("Timestamp", ""), reverse=True):
        status = task.get("Status") or {}
        reason = status.get("Err") or status.get("Message")
        if status.get("State") not in ("running", "shutdown") and reason:
            text = f"{status.get('State')}: {reason}"
            reasons[text] = reasons.get(text, 0) + 1
    problems = [f"{text} ({count} tasks)" if count > 1 else text for text, count in reasons.items()]
    in_flight = update.get("State") == "updating"
    return {
        "running": len(current),
        "expected": expected,
        "done": not in_flight and len(current) == expected == len(want_running),
        "failed": update.get("State") in FAILED_UPDATE_STATES,
        "update_message": update.get("Message"),
        "problems": problems[:3],
    }


class SwarmApp:
    """Applies a normalized app to the swarm a ``docker.DockerClient`` manages."""

    def __init__(self, client: Any, check_mode: bool = False,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.api = client.api
        self.check_mode = check_mode
        self.sleep = sleep
        self.clock = clock

    def ensure_manager(self) -> None:
        """Fail early, and clearly, when the engine is not a swarm manager."""
        swarm = self.api.info().get("Swarm") or {}
        if not swarm.get("ControlAvailable"):
            state = swarm.get("LocalNodeState") or "inactive"
            raise SwarmAppError(
                f"this Docker engine is not a swarm manager (swarm state: {state}); "
                f"run the module on a manager node")

    def current(self, app: str) -> dict[str, dict[str, Any]]:
        """The app's live services, by spec service name."""
        found = self.api.services(filters={"label": f"{LABEL_APP}={app}"})
        return {s["Spec"]["Labels"].get(LABEL_SERVICE, s["Spec"]["Name"]): s for s in found}

    def _network(self, app: str) -> Optional[dict[str, Any]]:
        """The app network as the swarm (not this node's cache) knows it."""
        from docker.errors import NotFound

        try:
            return self.api.inspect_network(network_name(app), scope="swarm")
        except NotFound:
            return None

    def apply(self, model: dict[str, Any], state: str, wait: bool, timeout: int) -> dict[str, Any]:
        """Bring the swarm to the model (state present) or remove the app (absent)."""
        self.ensure_manager()
        app = model["name"]
        current = self.current(app)
        actions = plan(model, current, state)
        network = self._network(app)
        network_change = (state == "present") == (network is None)
        if self.check_mode:
            return {"actions": actions, "changed": bool(actions) or network_change}
        if state == "present" and network is None:
            self.api.create_network(network_name(app), driver="overlay", attachable=True,
                                    labels={LABEL_APP: app}, check_duplicate=True)
        for act in actions:
            name = act["service"]
            if act["action"] in ("remove", "recreate"):
                self.api.remove_service(current[name]["ID"])
            if act["action"] in ("create", "recreate"):
                self._create(render_service(app, name, model["services"][name]))
            elif act["action"] == "update":
                self._update(current[name], render_service(app, name, model["services"][name]))
        if wait and state == "present":
            self.wait(model, [a["service"] for a in actions if a["action"] != "remove"], timeout)
        if state == "absent" and network is not None:
            self._remove_network(network["Id"], timeout if wait else 0)
        return {"actions": actions, "changed": bool(actions) or network_change}

    def _create(self, spec: dict[str, Any]) -> None:
        self.api.create_service(task_template=spec["TaskTemplate"], name=spec["Name"], labels=spec["Labels"],
                                mode=spec["Mode"], update_config=spec["UpdateConfig"],
                                endpoint_spec=spec["EndpointSpec"])

    def _update(self, live: dict[str, Any], spec: dict[str, Any]) -> None:
        # The whole spec is sent (fetch_current_spec=False): the new template
        # replaces the old one and nothing of the old spec is merged in.
        # ForceUpdate is bumped so every change rolls new tasks: the engine
        # keeps an old task when only its placement or published ports
        # changed and its node still qualifies, which would leave the old
        # ports bound and the service never on its current template.
        template = dict(spec["TaskTemplate"])
        template["ForceUpdate"] = int((live["Spec"].get("TaskTemplate") or {}).get("ForceUpdate") or 0) + 1
        self.api.update_service(live["ID"], live["Version"]["Index"], task_template=template,
                                name=spec["Name"], labels=spec["Labels"], mode=spec["Mode"],
                                update_config=spec["UpdateConfig"], endpoint_spec=spec["EndpointSpec"],
                                fetch_current_spec=False)

    def _remove_network(self, network_id: str, timeout: int) -> None:
        """Remove the app network, then (when waiting) see it gone from this node.

        The swarm refuses while task containers are still attached, and once
        it has dropped the network this node keeps its copy until the last
        container stops (answering "not found" to a second removal). Waiting
        for the copy to go makes a re-run find nothing to do.
        """
        from docker.errors import APIError, NotFound

        deadline = self.clock() + timeout
        removed = False
        while True:
            try:
                if not removed:
                    self.api.remove_network(network_id)
                    removed = True
                if timeout <= 0:
                    return
                self.api.inspect_network(network_id)
            except NotFound:
                return
            except APIError as exc:
                if "not found" in str(exc.explanation or ""):
                    removed = True
                elif self.clock() >= deadline:
                    raise SwarmAppError(f"network {network_id} is still in use after "
                                        f"{timeout}s: {exc.explanation or exc}") from exc
            if self.clock() >= deadline:
                return
            self.sleep(1)

    def wait(self, model: dict[str, Any], names: list[str], timeout: int) -> None:
        """Poll until every named service runs its current template everywhere."""
        app = model["name"]
        deadline = self.clock() + timeout
        pending = list(names)
        status: dict[str, Any] = {}
        while pending:
            nodes = self.api.nodes()
            for name in list(pending):
                service = model["services"][name]
                live = self.api.inspect_service(service_name(app, name))
                tasks = self.api.tasks(filters={"service": live["ID"]})
                expected = (eligible_nodes(nodes, service["placement"]) if service["mode"] == "global"
                            else service["replicas"])
                status[name] = rollout_status(live, tasks, expected)
                if status[name]["failed"]:
                    raise SwarmAppError(_failure(app, name, status[name], "the update stopped"))
                if status[name]["done"]:
                    pending.remove(name)
            if not pending:
                return
            if self.clock() >= deadline:
                raise SwarmAppError("; ".join(_failure(app, n, status[n], f"not ready after {timeout}s")
                                              for n in pending))
            self.sleep(1)


def _failure(app: str, name: str, status: dict[str, Any], why: str) -> str:
    text = (f"service {service_name(app, name)}: {why}, {status['running']} of "
            f"{status['expected']} tasks running the current spec")
    if status["update_message"]:
        text += f"; update: {status['update_message']}"
    if status["problems"]:
        text += "; " + "; ".join(status["problems"])
    return text


class SwarmAppError(Exception):
    """The swarm could not be brought to the spec; the message says why."""
