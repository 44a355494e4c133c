# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app engine's Docker Swarm driver: render, read back, act, wait.

Rendering and reading back are pure functions over Engine API dicts, so the
unit tests check them field by field without an engine. ``SwarmDriver`` does
the I/O through the low-level API of the Docker SDK, whose service calls are
the same in Debian's python3-docker 5.0.3 and in 7.2.

Two constraints of the rack shape every service: the kernel has no IPVS, so
services use DNS round robin (``dnsrr``) instead of a virtual IP, and ports
are published in ``host`` mode on the node running the task, because the
ingress routing mesh needs IPVS too.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Collection
from typing import Any, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.app.plan import Driver, empty_service
from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import (
    DEFAULT_PARALLELISM,
    format_size,
    parse_size,
)
from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import (
    ENGINE_ERRORS,
    DockerException,
)
from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError, exception_text

try:
    from docker.errors import APIError, NotFound
except ImportError:  # pragma: no cover - client_from_module reports the missing SDK first
    APIError = NotFound = DockerException  # type: ignore[misc,assignment]

LABEL_APP = "pirack.app"
LABEL_SERVICE = "pirack.service"
LABEL_SECRET = "pirack.secret"
# Node labels the swarm role sets from inventory, by spec placement key.
NODE_LABELS = {"role": "pirack.role", "model": "pirack.model", "cluster": "pirack.cluster"}
_PLACEMENT_OF_LABEL = {label: key for key, label in NODE_LABELS.items()}
# Update states after which the engine will not finish a rollout by itself.
FAILED_UPDATE_STATES = ("paused", "rollback_started", "rollback_paused", "rollback_completed")


def service_name(app: str, service: str) -> str:
    """Swarm name of a service: prefixed by the app, as ``docker stack`` does."""
    return f"{app}_{service}"


def network_name(app: str) -> str:
    """The overlay network every service of the app joins."""
    return f"{app}_default"


def volume_name(app: str, volume: str) -> str:
    """Name of the local volume a service's volume becomes on its node."""
    return f"{app}_{volume}"


def secret_name(app: str, secret: str, digest: str) -> str:
    """The Docker secret holding one value of a secret; at most 64 characters.

    Docker secrets cannot change, so the digest of the value is part of the
    name: a new value is a new secret, and the services move to it.
    """
    return f"{app}_{secret}"[:51] + f"_{digest}"


def update_order(service: dict[str, Any]) -> str:
    """How a rolling update replaces a task: start the new one first wherever it can.

    start-first keeps a single-replica service running when its new task
    cannot start (the registry is down and the image not on the node): the
    update pauses and the old task goes on. A task that publishes a host-mode
    port or holds a local volume must stop first: the port is bound, and two
    stores on one volume would corrupt it.
    """
    stateful = service["volumes"] or any(p["published"] is not None for p in service["ports"])
    return "stop-first" if stateful else "start-first"


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
    if service["secrets"]:
        # Files in /run/secrets, readable by the image's own (non-root) user;
        # the driver adds each SecretID once the secret exists.
        container["Secrets"] = [{"SecretName": secret_name(app, n, d),
                                 "File": {"Name": n, "UID": "0", "GID": "0", "Mode": 0o444}}
                                for n, d in service["secrets"].items()]
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
        "UpdateConfig": {"Parallelism": service["update"]["parallelism"], "Order": update_order(service),
                         "FailureAction": "pause"},
        "EndpointSpec": {
            "Mode": "dnsrr",
            "Ports": [{"Protocol": p["protocol"], "TargetPort": p["port"],
                       "PublishedPort": p["published"], "PublishMode": "host"}
                      for p in service["ports"] if p["published"] is not None],
        },
    }


def replaces_tasks(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether an update from ``before`` to ``after`` (normalized views) must
    replace the running tasks: anything but the number of replicas and the
    update's parallelism differs (a stopped update included, so it resumes)."""
    def tasks(view: dict[str, Any]) -> dict[str, Any]:
        update = {k: v for k, v in (view.get("update") or {}).items() if k != "parallelism"}
        return dict(view, replicas=None, update=update)

    return tasks(before) != tasks(after)


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
    view["secrets"] = dict(sorted((ref.get("File", {}).get("Name"), str(ref.get("SecretName")).rpartition("_")[2])
                                  for ref in container.get("Secrets") or []))
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
    view["update"]["parallelism"] = (spec.get("UpdateConfig") or {}).get("Parallelism", DEFAULT_PARALLELISM)
    prefix = volume_name(app, "")
    view["volumes"] = [{"name": m["Source"][len(prefix):] if m.get("Source", "").startswith(prefix)
                        else m.get("Source"), "path": m.get("Target"), "size": None}
                       for m in container.get("Mounts") or [] if m.get("Type") == "volume"]
    return view


def desired_view(service: dict[str, Any]) -> dict[str, Any]:
    """What ``read_service`` returns once ``service`` is deployed.

    Swarm keeps no record of ports that are not published (dnsrr needs none)
    nor of a volume's size; comparing them would make every run "changed".
    ``allow_from`` has no Swarm form: every service of the app shares its
    (not attachable) network.
    """
    view = copy.deepcopy(service)
    view["allow_from"] = None
    view["ports"] = [p for p in view["ports"] if p["published"] is not None]
    for volume in view["volumes"]:
        volume["size"] = None
    return view


def _runs_there(node: dict[str, Any], placement: dict[str, str]) -> bool:
    """Whether a global service with ``placement`` belongs on ``node``:
    active (not drained or paused) and its labels matching."""
    spec = node.get("Spec") or {}
    labels = spec.get("Labels") or {}
    return spec.get("Availability") == "active" and all(
        labels.get(NODE_LABELS.get(k, k)) == v for k, v in placement.items())


def eligible_nodes(nodes: list[dict[str, Any]], placement: dict[str, str]) -> int:
    """How many nodes a global service runs on: ready, active, labels matching."""
    return sum(1 for node in nodes
               if (node.get("Status") or {}).get("State") == "ready" and _runs_there(node, placement))


def down_nodes(nodes: list[dict[str, Any]]) -> dict[str, str]:
    """Node ID -> hostname of every node the swarm reports ``down``: its
    heartbeats stopped (power, network), so no task can start there until
    it is back."""
    return {node["ID"]: (node.get("Description") or {}).get("Hostname") or node["ID"]
            for node in nodes if (node.get("Status") or {}).get("State") == "down"}


def boards_down(nodes: list[dict[str, Any]], placement: dict[str, str]) -> list[str]:
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


def rollout_status(live: dict[str, Any], tasks: list[dict[str, Any]], expected: int,
                   down: Collection[str] = ()) -> dict[str, Any]:
    """Where one service's rollout stands, from its inspect dict and its tasks.

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
        "update_message": update.get("Message"),
        "problems": problems[:3],
    }


def failure(app: str, name: str, status: dict[str, Any], why: str) -> str:
    """One line on a rollout that failed or timed out, with the engine's reasons."""
    text = (f"service {service_name(app, name)}: {why}, {status['running']} of "
            f"{status['expected']} tasks running the current spec")
    if status["update_message"]:
        text += f"; update: {status['update_message']}"
    if status["problems"]:
        text += "; " + "; ".join(status["problems"])
    return text


class SwarmDriver(Driver):
    """Applies a normalized app to the swarm a ``docker.DockerClient`` manages."""

    errors = ENGINE_ERRORS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api = self.client.api

    def error_text(self, exc: BaseException) -> str:
        return f"Docker engine: {exception_text(exc)}"

    def read(self, app: str) -> dict[str, Any]:
        """The app's live services by spec service name."""
        found = self.api.services(filters={"label": f"{LABEL_APP}={app}"})
        return {s["Spec"]["Labels"].get(LABEL_SERVICE, s["Spec"]["Name"]): s for s in found}

    def view(self, app: str, live: dict[str, Any]) -> dict[str, Any]:
        """The live service as the planner compares it; an update the engine
        stopped (paused, rolled back) shows as ``update.stopped``, so the
        next run sends the spec again and the rollout resumes."""
        view = read_service(app, live["Spec"])
        state = (live.get("UpdateStatus") or {}).get("State")
        if state in FAILED_UPDATE_STATES:
            view["update"] = dict(view["update"], stopped=state)
        return view

    def desired(self, service: dict[str, Any]) -> dict[str, Any]:
        return desired_view(service)

    def prepare(self, model: dict[str, Any], state: str, timeout: float) -> bool:
        """Fail early, and clearly, when the engine is not a swarm manager;
        then make the app network the model's.

        It is created when missing, and replaced together with the app's
        services when it is attachable (any container on a manager could
        join it and reach redis) or its encryption is not the spec's: the
        options of a network cannot change.
        """
        swarm = self.api.info().get("Swarm") or {}
        if not swarm.get("ControlAvailable"):
            state_text = swarm.get("LocalNodeState") or "inactive"
            raise AppError(f"this Docker engine is not a swarm manager (swarm state: {state_text}); "
                           f"run the module on a manager node")
        app = model["name"]
        try:
            network = self.api.inspect_network(network_name(app), scope="swarm")
        except NotFound:
            network = None
        if state == "absent":
            return network is not None
        encrypted = model["network"]["encrypted"]
        fits = network is not None and not network.get("Attachable") and (
            "encrypted" in (network.get("Options") or {})) == encrypted
        if not fits and not self.check_mode:
            if network is not None:
                for service in self.read(app).values():
                    self.api.remove_service(service["ID"])
                self._remove_network(app, timeout)
            self.api.create_network(network_name(app), driver="overlay", attachable=False,
                                    options={"encrypted": ""} if encrypted else None,
                                    labels={LABEL_APP: app}, check_duplicate=True)
        return not fits

    def act(self, model: dict[str, Any], action: dict[str, Any], live: Optional[dict[str, Any]]) -> None:
        app, name = model["name"], action["service"]
        if action["action"] in ("remove", "recreate"):
            self.api.remove_service(live["ID"])
        if action["action"] == "remove":
            return
        spec = render_service(app, name, model["services"][name])
        for ref in spec["TaskTemplate"]["ContainerSpec"].get("Secrets", []):
            ref["SecretID"] = self._secret_id(app, ref["File"]["Name"], ref["SecretName"])
        args = {"name": spec["Name"], "labels": spec["Labels"], "mode": spec["Mode"],
                "update_config": spec["UpdateConfig"], "endpoint_spec": spec["EndpointSpec"]}
        if action["action"] != "update":
            self.api.create_service(task_template=spec["TaskTemplate"], **args)
            return
        # The whole spec is sent (fetch_current_spec=False): the new template
        # replaces the old one and nothing of the old spec is merged in.
        # ForceUpdate is bumped so every change of the tasks rolls new ones:
        # the engine keeps an old task when only its placement or published
        # ports changed and its node still qualifies, which would leave the
        # old ports bound and the service never on its current template. A
        # new number of replicas or a new update parallelism changes no task:
        # the engine only scales, and the running tasks stay.
        template = dict(spec["TaskTemplate"])
        force = int((live["Spec"].get("TaskTemplate") or {}).get("ForceUpdate") or 0)
        template["ForceUpdate"] = force + 1 if replaces_tasks(action["before"], action["after"]) else force
        self.api.update_service(live["ID"], live["Version"]["Index"], task_template=template,
                                fetch_current_spec=False, **args)

    def _secret_id(self, app: str, secret: str, name: str) -> str:
        """The ID of the Docker secret ``name``, created from the value first if need be."""
        found = [s for s in self.api.secrets(filters={"name": name}) if s["Spec"]["Name"] == name]
        if found:
            return found[0]["ID"]
        return self.api.create_secret(name, self.secrets[secret].encode(),
                                      labels={LABEL_APP: app, LABEL_SECRET: secret})["ID"]

    def finish(self, model: dict[str, Any], state: str, timeout: float) -> None:
        """Remove the secrets no service uses any more (all of them, and the
        network, when the app goes)."""
        app = model["name"]
        services = model["services"].values() if state == "present" else []
        keep = {secret_name(app, n, d) for service in services for n, d in service["secrets"].items()}
        for secret in self.api.secrets(filters={"label": f"{LABEL_APP}={app}"}):
            if secret["Spec"]["Name"] not in keep:
                # Refused only while a service still names it; the next run retries.
                with contextlib.suppress(APIError):
                    self.api.remove_secret(secret["ID"])
        if state == "absent":
            self._remove_network(app, timeout)

    def _remove_network(self, app: str, timeout: float) -> None:
        """Remove the app network, then (when waiting) see it gone from this node.

        The swarm refuses while task containers are still attached, and once
        it has dropped the network this node keeps its copy until the last
        container stops (answering "not found" to a second removal). Waiting
        for the copy to go makes a re-run find nothing to do.
        """
        name = network_name(app)
        removed = False

        def gone() -> tuple[bool, Optional[APIError]]:
            nonlocal removed
            try:
                if not removed:
                    self.api.remove_network(name)
                    removed = True
                if timeout <= 0:
                    return True, None
                self.api.inspect_network(name)
            except NotFound:
                return True, None
            except APIError as exc:
                if "not found" not in str(exc.explanation or ""):
                    return False, exc
                removed = True
            return False, None

        done, refusal, _ = self.wait_for(gone, timeout)
        if not done and refusal is not None:
            raise AppError(f"network {name} is still in use after {timeout}s: {refusal.explanation or refusal}")

    def service_status(self, app: str, name: str, live: dict[str, Any]) -> dict[str, Any]:
        view = read_service(app, live["Spec"])
        nodes = self.api.nodes()
        expected = eligible_nodes(nodes, view["placement"]) if view["mode"] == "global" else view["replicas"]
        status = rollout_status(live, self.api.tasks(filters={"service": live["ID"]}), expected, down_nodes(nodes))
        problems = list(status["problems"])
        if status["failed"]:
            problems.insert(0, f"update {(live.get('UpdateStatus') or {}).get('State')}: {status['update_message']}")
        return {"running": status["running"], "desired": expected, "problems": problems}

    def rollout(self, model: dict[str, Any], names: list[str], timeout: int) -> dict[str, list[str]]:
        """Poll until every named service runs its current template on every
        board that is up; answer the boards down each global service waits
        for (its tasks start there when they return).

        An update the engine holds for a task on a board that went down
        mid-rollout is sent again, once per such task: the swarm then leaves
        the down board out and finishes the others.
        """
        app = model["name"]
        pending = list(names)
        status: dict[str, Any] = {}
        resent: set[str] = set()
        waiting: dict[str, list[str]] = {}

        def probe() -> tuple[bool, list[str]]:
            nodes = self.api.nodes() if pending else []
            down = down_nodes(nodes)
            for name in list(pending):
                service = model["services"][name]
                live = self.api.inspect_service(service_name(app, name))
                tasks = self.api.tasks(filters={"service": live["ID"]})
                global_ = service["mode"] == "global"
                expected = eligible_nodes(nodes, service["placement"]) if global_ else service["replicas"]
                status[name] = rollout_status(live, tasks, expected, down)
                waiting[name] = boards_down(nodes, service["placement"]) if global_ else []
                if status[name]["failed"]:
                    raise AppError(failure(app, name, status[name], "the update stopped"))
                if set(status[name]["stuck"]) - resent:
                    resent.update(status[name]["stuck"])
                    self._send_again(live)
                if status[name]["done"]:
                    pending.remove(name)
            return not pending, pending

        if not self.wait_for(probe, timeout)[0]:
            raise AppError("; ".join(failure(app, n, status[n], f"not ready after {timeout}s") for n in pending))
        return {name: boards for name, boards in waiting.items() if boards}

    def _send_again(self, live: dict[str, Any]) -> None:
        """Send a service its own spec unchanged: the swarm cancels the update
        in flight and starts over on the boards that are up (a node reported
        down is out of its reckoning); tasks already current stay."""
        spec = live["Spec"]
        self.api.update_service(live["ID"], live["Version"]["Index"], task_template=spec["TaskTemplate"],
                                name=spec["Name"], labels=spec.get("Labels"), mode=spec.get("Mode"),
                                update_config=spec.get("UpdateConfig"), endpoint_spec=spec.get("EndpointSpec"),
                                fetch_current_spec=False)
