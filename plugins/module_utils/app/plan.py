# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one planner of the app engine: from what runs to what the model says.

A driver (app/driver.py) reads its orchestrator's live objects back into
the model's ``Service``; from there, deciding what to do is the same on
both orchestrators: compare, create what is missing, update what differs
or what the orchestrator stopped rolling out, recreate what changed mode,
remove what the model no longer has (stores last). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.app.model import App, Service

ACTIONS = ("create", "update", "recreate", "remove")


@dataclass(frozen=True)
class Deployed:
    """A service as a driver read it back.

    ``service`` is None when something of the service is left but not the
    service itself (it is created again). ``stalled`` names an update the
    orchestrator gave up on (paused, rolled back): the definition is sent
    again even where it equals the model, so the rollout resumes.
    """

    service: Optional[Service]
    stalled: Optional[str] = None


@dataclass(frozen=True)
class Action:
    """One thing to do to one service; ``before``/``after`` as the diff shows them."""

    service: str
    action: str
    before: Optional[Service]
    after: Optional[Service]
    why: Optional[str] = None

    def summary(self) -> dict[str, Any]:
        """What the module returns for this action (no service definitions)."""
        out = {"service": self.service, "action": self.action}
        return dict(out, why=self.why) if self.why else out


def removal_order(removals: list[Action]) -> list[Action]:
    """Remove actions with the services that hold volumes last.

    The services that write to a store (the coin-miner's workers and redis)
    stop before the store does, so the store's last flush has everything.
    """
    return sorted(removals, key=lambda act: (bool(act.before and act.before.volumes), act.service))


def plan(model: App, live: Mapping[str, Deployed], state: str,
         desired: Callable[[Service], Service] = lambda service: service) -> list[Action]:
    """The actions that take the orchestrator from ``live`` to the model.

    ``live`` maps the app's deployed service names to what the driver read
    back. ``desired`` is what the driver reads back once a service is
    deployed (it drops what its orchestrator keeps no record of). Services
    the model no longer has are removed, so the spec is the whole truth
    about the app; a change of mode recreates the service (Swarm cannot
    convert one; on Kubernetes it is another kind).
    """
    wanted = model.services if state == "present" else {}
    actions = []
    for name, service in wanted.items():
        after = desired(service)
        found = live.get(name)
        before = found.service if found is not None else None
        if before is None:
            actions.append(Action(name, "create", None, after))
        elif before != after or found.stalled:
            action = "recreate" if before.mode != after.mode else "update"
            actions.append(Action(name, action, before, after, found.stalled))
    removals = [Action(name, "remove", live[name].service, None) for name in set(live) - set(wanted)]
    return actions + removal_order(removals)
