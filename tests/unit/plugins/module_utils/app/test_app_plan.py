"""The one planner: what it compares, in which order it removes, and the
actions it plans from what a driver read back, whichever driver it is."""

from __future__ import annotations

import dataclasses

from ansible_collections.pirack.cluster.plugins.module_utils.app import plan as app_plan
from ansible_collections.pirack.cluster.plugins.module_utils.app.model import Service, Volume
from ansible_collections.pirack.cluster.plugins.module_utils.app.plan import Action, Deployed, plan
from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import normalize

MODEL = normalize({"name": "demo", "services": {
    "web": {"image": "pirack/web:1", "ports": [{"port": 80}, {"port": 81, "published": 8081}],
            "volumes": [{"name": "d", "path": "/d"}]},
    "api": {"image": "pirack/api:1"}}})


def deployed(services: dict) -> dict[str, Deployed]:
    return {name: Deployed(service) for name, service in services.items()}


def test_removal_order_stops_the_writers_before_the_store() -> None:
    def removal(name: str, volumes: tuple) -> Action:
        return Action(name, "remove", Service(image="x", volumes=volumes), None)

    removals = [removal("worker", ()), removal("redis", (Volume("data", "/data"),)), removal("hasher", ()),
                Action("ghost", "remove", None, None)]
    assert [a.service for a in app_plan.removal_order(removals)] == ["ghost", "hasher", "worker", "redis"]


def test_nothing_to_do_when_every_view_equals_the_model() -> None:
    assert plan(MODEL, deployed(MODEL.services), "present") == []


def test_a_missing_or_partial_service_is_created_and_a_difference_updated() -> None:
    live = deployed(MODEL.services)
    live["web"] = Deployed(None)  # something of web is left, not its workload
    live["api"] = Deployed(dataclasses.replace(MODEL.services["api"], env={"OLD": "1"}))
    actions = plan(MODEL, live, "present")
    assert [(a.service, a.action) for a in actions] == [("api", "update"), ("web", "create")]
    assert actions[0].before.env == {"OLD": "1"} and actions[0].after == MODEL.services["api"]


def test_a_mode_change_recreates() -> None:
    live = deployed(MODEL.services)
    live["api"] = Deployed(dataclasses.replace(MODEL.services["api"], mode="global", replicas=None))
    assert [(a.service, a.action) for a in plan(MODEL, live, "present")] == [("api", "recreate")]


def test_a_stalled_rollout_is_sent_again_and_says_why() -> None:
    """Equal to the model, but the orchestrator stopped rolling it out."""
    live = deployed(MODEL.services)
    live["api"] = Deployed(MODEL.services["api"], stalled="paused")
    [action] = plan(MODEL, live, "present")
    assert (action.service, action.action, action.why) == ("api", "update", "paused")
    assert action.summary() == {"service": "api", "action": "update", "why": "paused"}


def test_the_driver_says_what_it_can_read_back() -> None:
    """Compared through ``desired``: a field the orchestrator cannot report is no change."""
    def blind(service: Service) -> Service:
        return dataclasses.replace(service, volumes=tuple(dataclasses.replace(v, size=None)
                                                          for v in service.volumes))

    live = {name: Deployed(blind(service)) for name, service in MODEL.services.items()}
    assert plan(MODEL, live, "present", blind) == []
    assert plan(MODEL, live, "present") != [], "without it, the unreported size would differ"


def test_absent_removes_everything_the_store_last_and_a_left_over_too() -> None:
    live = dict(deployed(MODEL.services), ghost=Deployed(None))
    actions = plan(MODEL, live, "absent")
    assert [(a.service, a.action) for a in actions] == [("api", "remove"), ("ghost", "remove"), ("web", "remove")]
    assert all(a.after is None for a in actions)
    assert plan(MODEL, {}, "absent") == []


def test_services_built_differently_but_meaning_the_same_are_equal() -> None:
    """Readers build services from lists in the orchestrator's order; the model sorts."""
    one = Service(image="x", ports=[], env={"B": "2", "A": "1"}, command=["a"], allow_from=["b", "a", "a"])
    two = Service(image="x", env={"A": "1", "B": "2"}, command=("a",), allow_from=("a", "b"))
    assert one == two and one.as_dict()["allow_from"] == ["a", "b"]
