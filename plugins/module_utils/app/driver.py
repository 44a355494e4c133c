# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an orchestrator driver is, and the one road every driver takes.

``Driver`` is the contract: the abstract methods below are what a driver
(app/swarm_driver.py, app/k8s_driver.py) must implement, and a subclass
that misses one fails when its class is defined, at import, not in a
user's run. ``apply`` and ``status`` are the same for every driver: read,
plan (app/plan.py), act, wait, and the client library's errors turned into
the engine's one error, so modules/app.py has one error path.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ansible_collections.pirack.cluster.plugins.module_utils.app.model import App, Service
from ansible_collections.pirack.cluster.plugins.module_utils.app.plan import Action, Deployed, plan
from ansible_collections.pirack.cluster.plugins.module_utils.app.readiness import boards_waiting
from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError
from ansible_collections.pirack.cluster.plugins.module_utils.wait import wait_for


@dataclass(frozen=True)
class Settings:
    """How a driver works, the same for every driver.

    ``secrets`` holds the values of the secrets the model names by digest.
    ``namespace`` and ``request_timeout`` concern Kubernetes only (a Swarm
    app has no namespace; the engine client carries its own timeout).
    ``clock`` and ``sleep`` are parameters so waits are tested without real
    seconds.
    """

    check_mode: bool = False
    secrets: Mapping[str, str] = field(default_factory=dict)
    namespace: str = "default"
    request_timeout: int = 30
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


class Driver(abc.ABC):
    """One orchestrator, driven through its client library."""

    # Exceptions of the driver's client library that apply turns into AppError.
    errors: tuple = ()
    # Seconds between two looks at a rollout.
    poll = 1.0

    def __init__(self, client: Any, settings: Settings = Settings()) -> None:
        self.client = client
        self.settings = settings

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a driver class that leaves part of the contract out."""
        super().__init_subclass__(**kwargs)
        missing = sorted(name for name in Driver.__abstractmethods__
                         if getattr(getattr(cls, name), "__isabstractmethod__", False))
        if missing:
            raise TypeError(f"driver {cls.__name__} does not implement {', '.join(missing)}")

    # ------------------------------------------------------------ the contract

    @abc.abstractmethod
    def read(self, app: str) -> dict[str, Any]:
        """The app's live objects, by service name, in the driver's own form."""

    @abc.abstractmethod
    def view(self, app: str, live: Any) -> Deployed:
        """One service's live objects as the model reads them."""

    @abc.abstractmethod
    def desired(self, service: Service) -> Service:
        """What ``view`` returns once ``service`` is deployed: the model without
        what this orchestrator keeps no record of."""

    @abc.abstractmethod
    def act(self, model: App, action: Action, live: Any) -> None:
        """Carry out one action of the plan (``live``: the service's live objects, if any)."""

    @abc.abstractmethod
    def rollout(self, model: App, names: list[str], timeout: int) -> dict[str, list[str]]:
        """Wait until the named services run their new definition on every board
        that is up; AppError when they do not. Answer service -> the boards
        down it leaves for later (app/readiness.py says what counts)."""

    @abc.abstractmethod
    def service_status(self, app: str, name: str, live: Any) -> dict[str, Any]:
        """One service's ``running``, ``desired`` and ``problems`` (app/readiness.py judges)."""

    @abc.abstractmethod
    def error_text(self, exc: BaseException) -> str:
        """One line for an error of the client library, naming the API."""

    def prepare(self, model: App, state: str, timeout: float) -> bool:
        """Bring what the whole app needs to the model before its services
        are read (unless in check mode); whether that is a change."""
        return False

    @abc.abstractmethod
    def finish(self, model: App, state: str, timeout: float) -> None:
        """Remove what the app no longer needs once the services are done (unused
        secrets; everything of the whole app when it goes)."""

    # ------------------------------------------------------------ the one road

    def apply(self, model: App, state: str, wait: bool, timeout: int) -> dict[str, Any]:
        """Bring the orchestrator to the model (state present) or remove the app (absent).

        In check mode nothing is written; the actions are what would be done.
        ``down`` maps each board the orchestrator reports down to the services
        whose tasks start there once it is back.
        """
        app = model.name
        waiting: dict[str, list[str]] = {}
        try:
            changed = self.prepare(model, state, timeout)
            live = self.read(app)
            actions = plan(model, {name: self.view(app, obj) for name, obj in live.items()}, state, self.desired)
            if not self.settings.check_mode:
                for action in actions:
                    self.act(model, action, live.get(action.service))
                if wait and state == "present":
                    waiting = self.rollout(model, [a.service for a in actions if a.action != "remove"], timeout)
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

    def wait_for(self, check: Callable[[], tuple[bool, Any]], timeout: float) -> tuple[bool, Any, float]:
        """The one poll loop (module_utils/wait.py) with this driver's clock and pace."""
        return wait_for(check, timeout, self.poll, self.settings.clock, self.settings.sleep)
