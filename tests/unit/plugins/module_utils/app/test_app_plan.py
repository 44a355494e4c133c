"""The one planner: what it compares, in which order it removes, and the
actions it plans from normalized views, whichever driver read them back."""

from __future__ import annotations

import copy

from ansible_collections.pirack.cluster.plugins.module_utils.app import plan as app_plan
from ansible_collections.pirack.cluster.plugins.module_utils.app.plan import plan
from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import normalize

MODEL = normalize({"name": "demo", "services": {
    "web": {"image": "pirack/web:1", "ports": [{"port": 80}, {"port": 81, "published": 8081}],
            "volumes": [{"name": "d", "path": "/d"}]},
    "api": {"image": "pirack/api:1"}}})


def test_removal_order_stops_the_writers_before_the_store() -> None:
    def removal(name: str, volumes: list) -> dict:
        return {"service": name, "action": "remove", "before": {"volumes": volumes}, "after": None}

    removals = [removal("worker", []), removal("redis", [{"name": "data"}]), removal("hasher", []),
                {"service": "ghost", "action": "remove", "before": None, "after": None}]
    assert [a["service"] for a in app_plan.removal_order(removals)] == ["ghost", "hasher", "worker", "redis"]


def test_nothing_to_do_when_every_view_equals_the_model() -> None:
    assert plan(MODEL, copy.deepcopy(MODEL["services"]), "present") == []


def test_a_missing_or_partial_service_is_created_and_a_difference_updated() -> None:
    live = copy.deepcopy(MODEL["services"])
    live["web"] = None  # something of web is left, not its workload
    live["api"]["env"] = {"OLD": "1"}
    actions = plan(MODEL, live, "present")
    assert [(a["service"], a["action"]) for a in actions] == [("api", "update"), ("web", "create")]
    assert actions[0]["before"]["env"] == {"OLD": "1"} and actions[0]["after"] == MODEL["services"]["api"]


def test_a_mode_change_recreates() -> None:
    live = copy.deepcopy(MODEL["services"])
    live["api"].update(mode="global", replicas=None)
    assert [(a["service"], a["action"]) for a in plan(MODEL, live, "present")] == [("api", "recreate")]


def test_the_driver_says_what_it_can_read_back() -> None:
    """Compared through ``desired``: a field the orchestrator cannot report is no change."""
    def blind(service: dict) -> dict:
        return dict(service, volumes=[dict(v, size=None) for v in service["volumes"]])

    live = {name: blind(service) for name, service in MODEL["services"].items()}
    assert plan(MODEL, live, "present", blind) == []
    assert plan(MODEL, live, "present") != [], "without it, the unreported size would differ"


def test_absent_removes_everything_the_store_last_and_a_left_over_too() -> None:
    live = dict(copy.deepcopy(MODEL["services"]), ghost=None)
    actions = plan(MODEL, live, "absent")
    assert [(a["service"], a["action"]) for a in actions] == [
        ("api", "remove"), ("ghost", "remove"), ("web", "remove")]
    assert all(a["after"] is None for a in actions)
    assert plan(MODEL, {}, "absent") == []
