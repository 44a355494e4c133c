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
import dataclasses
from typing import Any, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.app.driver import Driver
from ansible_collections.pirack.cluster.plugins.module_utils.app.model import (
    DEFAULT_PARALLELISM,
    App,
    Network,
    Port,  # published in host mode only: no routing mesh without IPVS
    Quantity,
    Resources,
    Service,
    Update,  # UpdateConfig
    Volume,  # a local volume on the task's node
)
from ansible_collections.pirack.cluster.plugins.module_utils.app.plan import Action, Deployed
from ansible_collections.pirack.cluster.plugins.module_utils.app.readiness import (
    FAILED_UPDATE_STATES,
    down_nodes,
    eligible_nodes,
    swarm_boards_down,
    swarm_failure,
    swarm_rollout,
    swarm_status,
)
from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import ENGINE_ERRORS, DockerException
from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError, exception_text
from ansible_collections.pirack.cluster.plugins.module_utils.node_labels import placement_key, placement_label

try:
    from docker.errors import APIError, NotFound
except ImportError:  # pragma: no cover - client_from_module reports the missing SDK first
    APIError = NotFound = DockerException  # type: ignore[misc,assignment]

LABEL_APP = "pirack.app"
LABEL_SERVICE = "pirack.service"
LABEL_SECRET = "pirack.secret"
# Counts the updates the driver restarted past a board that went down
# (SwarmDriver.restart_update); no task reads it.
LABEL_RESTARTS = "pirack.update-restarts"


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


def update_order(service: Service) -> str:
    """How a rolling update replaces a task: start the new one first wherever it can.

    start-first keeps a single-replica service running when its new task
    cannot start (the registry is down and the image not on the node): the
    update pauses and the old task goes on. A task that publishes a host-mode
    port or holds a local volume must stop first: the port is bound, and two
    stores on one volume would corrupt it.
    """
    return "stop-first" if service.volumes or service.publishes() else "start-first"


def _resource_block(quantity: Quantity) -> dict[str, int]:
    block = {}
    if quantity.millicores is not None:
        block["NanoCPUs"] = quantity.millicores * 1_000_000
    if quantity.bytes is not None:
        block["MemoryBytes"] = quantity.bytes
    return block


def _read_quantity(block: dict[str, Any]) -> Quantity:
    return Quantity.read(block.get("NanoCPUs", 0) / 10**9, block.get("MemoryBytes"))


def render_service(app: str, name: str, service: Service) -> dict[str, Any]:
    """The Engine API ServiceSpec of one service of the model."""
    container: dict[str, Any] = {
        "Image": service.image,
        "Env": [f"{k}={v}" for k, v in service.env.items()],
        "Mounts": [{"Type": "volume", "Source": volume_name(app, v.name), "Target": v.path}
                   for v in service.volumes],
    }
    if service.command:
        container["Command"] = list(service.command)
    if service.args:
        container["Args"] = list(service.args)
    if service.secrets:
        # Files in /run/secrets, readable by the image's own (non-root) user;
        # the driver adds each SecretID once the secret exists.
        container["Secrets"] = [{"SecretName": secret_name(app, n, d),
                                 "File": {"Name": n, "UID": "0", "GID": "0", "Mode": 0o444}}
                                for n, d in service.secrets.items()]
    resources = {theirs: block for theirs, block in (("Limits", _resource_block(service.resources.limits)),
                                                     ("Reservations", _resource_block(service.resources.requests)))
                 if block}
    if service.mode == "global":
        mode: dict[str, Any] = {"Global": {}}
    else:
        mode = {"Replicated": {"Replicas": service.replicas}}
    return {
        "Name": service_name(app, name),
        "Labels": {LABEL_APP: app, LABEL_SERVICE: name},
        "TaskTemplate": {
            "ContainerSpec": container,
            "Resources": resources,
            "Placement": {"Constraints": [f"node.labels.{placement_label(k)}=={v}"
                                          for k, v in service.placement.items()]},
            # The alias is what other services resolve: "rng", not "coinminer_rng".
            "Networks": [{"Target": network_name(app), "Aliases": [name]}],
        },
        "Mode": mode,
        "UpdateConfig": {"Parallelism": service.update.parallelism, "Order": update_order(service),
                         "FailureAction": "pause"},
        "EndpointSpec": {
            "Mode": "dnsrr",
            "Ports": [{"Protocol": p.protocol, "TargetPort": p.port,
                       "PublishedPort": p.published, "PublishMode": "host"}
                      for p in service.ports if p.published is not None],
        },
    }


def replaces_tasks(before: Service, after: Service) -> bool:
    """Whether an update from ``before`` to ``after`` must replace the running
    tasks: anything but the number of replicas and the update's parallelism
    differs (a stalled update is sent again whatever differs, so it resumes)."""
    def tasks(service: Service) -> Service:
        return dataclasses.replace(service, replicas=None, update=Update())

    return tasks(before) != tasks(after)


def read_service(app: str, spec: dict[str, Any]) -> Service:
    """A live ServiceSpec as a service of the model, for comparison.

    Only what ``render_service`` sets is read; defaults the engine adds
    (restart policy, isolation, ...) are not ours and never cause a change.
    """
    template = spec.get("TaskTemplate") or {}
    container = template.get("ContainerSpec") or {}
    mode = spec.get("Mode") or {}
    resources = template.get("Resources") or {}
    placement = {}
    for constraint in (template.get("Placement") or {}).get("Constraints") or []:
        key, sep, value = constraint.partition("==")
        if sep and key.strip().startswith("node.labels."):
            label = key.strip()[len("node.labels."):]
            placement[placement_key(label)] = value.strip()
    prefix = volume_name(app, "")
    return Service(
        image=container.get("Image"),
        mode="global" if "Global" in mode else "replicated",
        replicas=None if "Global" in mode else (mode.get("Replicated") or {}).get("Replicas", 1),
        ports=tuple(Port(p.get("TargetPort"), p.get("PublishedPort") or None, p.get("Protocol", "tcp"))
                    for p in (spec.get("EndpointSpec") or {}).get("Ports") or []),
        env=dict(item.split("=", 1) if "=" in item else (item, "") for item in container.get("Env") or []),
        command=container.get("Command") or None,
        args=container.get("Args") or None,
        resources=Resources(_read_quantity(resources.get("Limits") or {}),
                            _read_quantity(resources.get("Reservations") or {})),
        placement=placement,
        volumes=tuple(Volume(m["Source"][len(prefix):] if m.get("Source", "").startswith(prefix) else m.get("Source"),
                             m.get("Target"))
                      for m in container.get("Mounts") or [] if m.get("Type") == "volume"),
        secrets={ref.get("File", {}).get("Name"): str(ref.get("SecretName")).rpartition("_")[2]
                 for ref in container.get("Secrets") or []},
        update=Update((spec.get("UpdateConfig") or {}).get("Parallelism", DEFAULT_PARALLELISM)),
    )


def desired_view(service: Service) -> Service:
    """What ``read_service`` returns once ``service`` is deployed.

    Swarm keeps no record of ports that are not published (dnsrr needs none)
    nor of a volume's size; comparing them would make every run "changed".
    ``allow_from`` has no Swarm form: every service of the app shares its
    (not attachable) network.
    """
    return dataclasses.replace(service, allow_from=None,
                               ports=tuple(p for p in service.ports if p.published is not None),
                               volumes=tuple(dataclasses.replace(v, size=None) for v in service.volumes))


def network_fits(network: Optional[dict[str, Any]], wanted: Network) -> bool:
    """Whether the live app network (None: there is none) is the model's.

    It must not be attachable (any container on a manager could join it and
    reach the app's store) and its encryption must be the spec's; neither
    can change on a network, so one that does not fit is replaced.
    """
    return network is not None and not network.get("Attachable") and (
        "encrypted" in (network.get("Options") or {})) == wanted.encrypted


def unplaceable(model: App) -> list[str]:
    """The placement keys Swarm cannot place by, one line each: a constraint
    key takes letters, digits, '-', '_' and '.' only (swarmkit), so a full
    label name with a '/' works on Kubernetes alone."""
    return [f"services.{name}.placement.{key}: a Swarm node label has no '/'; expected a label name "
            f"of letters, digits, '-', '_' and '.' (or the app on k3s)"
            for name, service in model.services.items() for key in service.placement if "/" in key]


def expected_tasks(service: Service, nodes: list[dict[str, Any]]) -> int:
    """How many tasks should run: the replicas, or one per eligible node for mode global."""
    return eligible_nodes(nodes, service.placement) if service.mode == "global" else service.replicas or 0


class SwarmDriver(Driver):
    """Applies an app to the swarm a ``docker.DockerClient`` manages."""

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

    def view(self, app: str, live: dict[str, Any]) -> Deployed:
        """The live service as the planner compares it; an update the engine
        stopped (paused, rolled back) is ``stalled``, so the next run sends
        the spec again and the rollout resumes."""
        state = (live.get("UpdateStatus") or {}).get("State")
        return Deployed(read_service(app, live["Spec"]), state if state in FAILED_UPDATE_STATES else None)

    def desired(self, service: Service) -> Service:
        return desired_view(service)

    def prepare(self, model: App, state: str, timeout: float) -> bool:
        """Fail early, and clearly, when the spec asks what Swarm cannot do or
        the engine is not a swarm manager; then make the app network the
        model's: created when missing, and replaced together with the app's
        services when it does not fit (``network_fits``)."""
        problems = unplaceable(model) if state == "present" else []
        if problems:
            raise AppError("; ".join(problems), problems)
        swarm = self.api.info().get("Swarm") or {}
        if not swarm.get("ControlAvailable"):
            state_text = swarm.get("LocalNodeState") or "inactive"
            raise AppError(f"this Docker engine is not a swarm manager (swarm state: {state_text}); "
                           f"run the module on a manager node")
        app = model.name
        try:
            network = self.api.inspect_network(network_name(app), scope="swarm")
        except NotFound:
            network = None
        if state == "absent":
            return network is not None
        fits = network_fits(network, model.network)
        if not fits and not self.settings.check_mode:
            if network is not None:
                for service in self.read(app).values():
                    self.api.remove_service(service["ID"])
                self._remove_network(app, timeout)
            self.api.create_network(network_name(app), driver="overlay", attachable=False,
                                    options={"encrypted": ""} if model.network.encrypted else None,
                                    labels={LABEL_APP: app}, check_duplicate=True)
        return not fits

    def act(self, model: App, action: Action, live: Optional[dict[str, Any]]) -> None:
        app, name = model.name, action.service
        if action.action in ("remove", "recreate"):
            self.api.remove_service(live["ID"])
        if action.action == "remove":
            return
        spec = render_service(app, name, model.services[name])
        for ref in spec["TaskTemplate"]["ContainerSpec"].get("Secrets", []):
            ref["SecretID"] = self._secret_id(app, ref["File"]["Name"], ref["SecretName"])
        args = {"name": spec["Name"], "labels": spec["Labels"], "mode": spec["Mode"],
                "update_config": spec["UpdateConfig"], "endpoint_spec": spec["EndpointSpec"]}
        if action.action != "update":
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
        template["ForceUpdate"] = force + 1 if action.why or replaces_tasks(action.before, action.after) else force
        self.api.update_service(live["ID"], live["Version"]["Index"], task_template=template,
                                fetch_current_spec=False, **args)

    def _secret_id(self, app: str, secret: str, name: str) -> str:
        """The ID of the Docker secret ``name``, created from the value first if need be."""
        found = [s for s in self.api.secrets(filters={"name": name}) if s["Spec"]["Name"] == name]
        if found:
            return found[0]["ID"]
        return self.api.create_secret(name, self.settings.secrets[secret].encode(),
                                      labels={LABEL_APP: app, LABEL_SECRET: secret})["ID"]

    def finish(self, model: App, state: str, timeout: float) -> None:
        """Remove the secrets no service uses any more (all of them, and the
        network, when the app goes)."""
        app = model.name
        services = model.services.values() if state == "present" else []
        keep = {secret_name(app, n, d) for service in services for n, d in service.secrets.items()}
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
        nodes = self.api.nodes()
        tasks = self.api.tasks(filters={"service": live["ID"]})
        expected = expected_tasks(read_service(app, live["Spec"]), nodes)
        return swarm_status(swarm_rollout(live, tasks, expected, down_nodes(nodes)))

    def rollout(self, model: App, names: list[str], timeout: int) -> dict[str, list[str]]:
        """Poll until every named service runs its current template on every
        board that is up; answer the boards down each global service waits
        for (its tasks start there when they return).

        An update the engine holds for a task on a board that went down
        mid-rollout is restarted, once per such task: the swarm then leaves
        the down board out and finishes the others.
        """
        app = model.name
        pending = list(names)
        status: dict[str, Any] = {}
        restarted: set[str] = set()
        waiting: dict[str, list[str]] = {}

        def probe() -> tuple[bool, list[str]]:
            nodes = self.api.nodes() if pending else []
            down = down_nodes(nodes)
            for name in list(pending):
                service = model.services[name]
                live = self.api.inspect_service(service_name(app, name))
                tasks = self.api.tasks(filters={"service": live["ID"]})
                status[name] = swarm_rollout(live, tasks, expected_tasks(service, nodes), down)
                waiting[name] = swarm_boards_down(nodes, service.placement) if service.mode == "global" else []
                if status[name]["failed"]:
                    raise AppError(swarm_failure(service_name(app, name), status[name], "the update stopped"))
                if set(status[name]["stuck"]) - restarted:
                    restarted.update(status[name]["stuck"])
                    self.restart_update(live)
                if status[name]["done"]:
                    pending.remove(name)
            return not pending, pending

        if not self.wait_for(probe, timeout)[0]:
            raise AppError("; ".join(swarm_failure(service_name(app, n), status[n], f"not ready after {timeout}s")
                                     for n in pending))
        return {name: boards for name, boards in waiting.items() if boards}

    def restart_update(self, live: dict[str, Any]) -> None:
        """Restart a service's update in flight past the boards that are down.

        The swarm keeps an update running when it is sent the spec it works
        towards (swarmkit's update.Supervisor), so the spec sent differs in
        one service label, a count of these restarts: the swarm cancels the
        held update and starts a new one over the nodes it has not seen go
        down. The task template is the same, so the tasks already current stay.
        """
        spec = live["Spec"]
        labels = dict(spec.get("Labels") or {})
        labels[LABEL_RESTARTS] = str(int(labels.get(LABEL_RESTARTS) or 0) + 1)
        self.api.update_service(live["ID"], live["Version"]["Index"], task_template=spec["TaskTemplate"],
                                name=spec["Name"], labels=labels, mode=spec.get("Mode"),
                                update_config=spec.get("UpdateConfig"), endpoint_spec=spec.get("EndpointSpec"),
                                fetch_current_spec=False)
