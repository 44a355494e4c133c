# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one planner of the app engine, and the one road every driver takes.

A driver (app/swarm.py, app/k8s.py) knows how to read its orchestrator's
live objects back into the normalized service shape of app/spec.py; from
there, deciding what to do is the same on both: compare, create what is
missing, update what differs, recreate what changed mode, remove what the
spec no longer has (stores last). ``Driver.apply`` runs that plan through
the driver's ``read``/``act``/``rollout`` and turns the client library's
errors into the engine's one error, so modules/app.py has one error path.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import DEFAULT_PARALLELISM
from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError
from ansible_collections.pirack.cluster.plugins.module_utils.wait import wait_for


def empty_service() -> dict[str, Any]:
    """A normalized service with every field at its empty value.

    Readers of live objects start from this, so a field the orchestrator
    left out compares equal to the spec's "not set".
    """
    return {"image": None, "mode": "replicated", "replicas": None, "ports": [], "env": {},
            "command": None, "args": None,
            "resources": {"limits": {"cpus": None, "memory": None},
                          "requests": {"cpus": None, "memory": None}},
            "placement": {}, "volumes": [], "allow_from": None, "secrets": {},
            "update": {"parallelism": DEFAULT_PARALLELISM}}


def removal_order(removals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Remove actions with the services that hold volumes last.

    The services that write to a store (the coin-miner's workers and redis)
    stop before the store does, so the store's last flush has everything.
    """
    return sorted(removals, key=lambda act: (bool((act["before"] or {}).get("volumes")), act["service"]))


def plan(model: dict[str, Any], live: dict[str, Optional[dict[str, Any]]], state: str,
         desired: Callable[[dict[str, Any]], dict[str, Any]] = lambda service: service) -> list[dict[str, Any]]:
    """The actions that take the orchestrator from ``live`` to the model.

    ``live`` maps the app's deployed service names to their normalized views
    (None: something of the service is left but not the service itself, so
    it is created again). ``desired`` is what a driver reads back once a
    service is deployed. Services the spec no longer has are removed, so the
    spec is the whole truth about the app; a change of mode recreates the
    service (Swarm cannot convert one; on Kubernetes it is another kind).
    """
    wanted = model["services"] if state == "present" else {}
    actions = []
    for name, service in wanted.items():
        after = desired(service)
        before = live.get(name)
        if before is None:
            actions.append({"service": name, "action": "create", "before": None, "after": after})
        elif before != after:
            action = "recreate" if before["mode"] != after["mode"] else "update"
            actions.append({"service": name, "action": action, "before": before, "after": after})
    removals = [{"service": name, "action": "remove", "before": live[name], "after": None}
                for name in set(live) - set(wanted)]
    return actions + removal_order(removals)


def boards_waiting(waiting: dict[str, list[str]]) -> dict[str, list[str]]:
    """Board -> the services waiting for it, from a rollout's service -> boards down."""
    boards: dict[str, list[str]] = {}
    for service, names in sorted(waiting.items()):
        for board in names:
            boards.setdefault(board, []).append(service)
    return dict(sorted(boards.items()))


class Driver:
    """What every orchestrator driver is: built the same way, applied the same way.

    A driver implements ``read`` (the app's live objects by service name),
    ``view`` (one of them in the normalized shape), ``desired`` (what
    ``view`` returns once a service is deployed), ``act`` (carry out one
    action), ``rollout`` (wait until services run their new definition on
    every board that is up; answer service -> the boards down it waits for)
    and ``error_text``; ``prepare``/``finish`` handle what belongs to the whole
    app rather than a service. ``secrets`` holds the values of the secrets
    the model names by digest. ``clock`` and ``sleep`` are parameters so
    waits are tested without real seconds.
    """

    # Exceptions of the driver's client library that apply turns into AppError.
    errors: tuple = ()
    # Seconds between two looks at a rollout.
    poll = 1.0

    def __init__(self, client: Any, check_mode: bool = False, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, secrets: Optional[dict[str, str]] = None) -> None:
        self.client = client
        self.check_mode = check_mode
        self.secrets = dict(secrets or {})
        self.clock = clock
        self.sleep = sleep

    def apply(self, model: dict[str, Any], state: str, wait: bool, timeout: int) -> dict[str, Any]:
        """Bring the orchestrator to the model (state present) or remove the app (absent).

        In check mode nothing is written; the actions are what would be done.
        """
        app = model["name"]
        waiting: dict[str, list[str]] = {}
        try:
            changed = self.prepare(model, state, timeout)
            live = self.read(app)
            actions = plan(model, {name: self.view(app, obj) for name, obj in live.items()}, state, self.desired)
            if not self.check_mode:
                for action in actions:
                    self.act(model, action, live.get(action["service"]))
                if wait and state == "present":
                    waiting = self.rollout(model, [a["service"] for a in actions if a["action"] != "remove"], timeout)
                self.finish(model, state, timeout if wait else 0)
        except self.errors as exc:
            raise AppError(self.error_text(exc)) from exc
        return {"actions": actions, "changed": changed or bool(actions), "down": boards_waiting(waiting)}

    def status(self, app: str) -> dict[str, dict[str, Any]]:
        """Each live service's running and desired tasks (pods), and what is
        wrong when they differ: what the status screen shows. Nothing is
        changed, so it works the same in check mode."""
        try:
            return {name: self.service_status(app, name, obj) for name, obj in sorted(self.read(app).items())}
        except self.errors as exc:
            raise AppError(self.error_text(exc)) from exc

    def service_status(self, app: str, name: str, live: Any) -> dict[str, Any]:
        """One service's ``running``, ``desired`` and ``problems``."""
        raise NotImplementedError

    def wait_for(self, check: Callable[[], tuple[bool, Any]], timeout: float) -> tuple[bool, Any, float]:
        """The one poll loop (module_utils/wait.py) with this driver's clock and pace."""
        return wait_for(check, timeout, self.poll, self.clock, self.sleep)

    def desired(self, service: dict[str, Any]) -> dict[str, Any]:
        return service

    def prepare(self, model: dict[str, Any], state: str, timeout: float) -> bool:
        """Bring what the whole app needs to the model before its services
        are read (unless in check mode); whether that is a change."""
        return False

    def finish(self, model: dict[str, Any], state: str, timeout: float) -> None:
        """Remove what the whole app needed, once its services are gone."""
