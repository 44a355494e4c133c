"""The Swarm driver's own calls, in order, against the stand-in for the
SDK's low-level API (tests/unit/fixtures/app/swarm_api.py): the network,
secrets as Docker secrets, errors as one line. What both drivers do alike
is test_drivers.py; what the engine itself does runs in molecule/app."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml
from ansible_collections.pirack.cluster.plugins.module_utils.app.driver import Settings
from ansible_collections.pirack.cluster.plugins.module_utils.app.model import App
from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import normalize
from ansible_collections.pirack.cluster.plugins.module_utils.app.swarm_driver import SwarmDriver
from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError
from swarm_api import Client, FakeSwarmApi

ROOT = Path(__file__).resolve().parents[5]
FIXTURES = ROOT / "tests" / "unit" / "fixtures" / "app"
SPEC = {"name": "demo", "services": {"web": {"image": "pirack/web:1", "ports": [{"port": 80, "published": 8000}]},
                                     "db": {"image": "pirack/db:1", "volumes": [{"name": "d", "path": "/d"}]}}}


def driver(check_mode: bool = False, api: Optional[FakeSwarmApi] = None, **secrets: str) -> SwarmDriver:
    return SwarmDriver(Client(api), Settings(check_mode, secrets, clock=lambda: 0.0, sleep=lambda _s: None))


def test_first_apply_makes_a_network_no_container_can_attach_to_then_the_services() -> None:
    swarm = driver()
    result = swarm.apply(normalize(SPEC), "present", wait=False, timeout=5)
    assert result["changed"] and [a.action for a in result["actions"]] == ["create", "create"]
    assert swarm.api.calls == [("create_network", "demo_default"), ("create_service", "demo_db"),
                               ("create_service", "demo_web")]
    network = swarm.api.networks["demo_default"]
    assert (network["Driver"], network["Attachable"], network["Options"]) == ("overlay", False, {})
    swarm.api.calls.clear()
    again = swarm.apply(normalize(SPEC), "present", wait=False, timeout=5)
    assert again == {"actions": [], "changed": False, "down": {}}
    assert swarm.api.calls == []


def test_encryption_or_an_attachable_network_replaces_network_and_services() -> None:
    swarm = driver()
    swarm.apply(normalize(SPEC), "present", wait=False, timeout=5)
    swarm.api.calls.clear()
    encrypted = normalize(dict(SPEC, network={"encrypted": True}))
    assert driver_in_check_mode(swarm).apply(encrypted, "present", wait=False, timeout=5)["changed"]
    assert swarm.api.calls == [], "check mode writes nothing"
    result = swarm.apply(encrypted, "present", wait=False, timeout=5)
    assert [a.action for a in result["actions"]] == ["create", "create"]
    assert swarm.api.calls == [("remove_service", "demo_db"), ("remove_service", "demo_web"),
                               ("remove_network", "demo_default"), ("create_network", "demo_default"),
                               ("create_service", "demo_db"), ("create_service", "demo_web")]
    assert swarm.api.networks["demo_default"]["Options"] == {"encrypted": ""}

    swarm.api.networks["demo_default"]["Attachable"] = True  # as made before this driver
    assert swarm.apply(encrypted, "present", wait=False, timeout=5)["changed"]
    assert swarm.api.networks["demo_default"]["Attachable"] is False


def driver_in_check_mode(swarm: SwarmDriver) -> SwarmDriver:
    return driver(check_mode=True, api=swarm.api)


def test_absent_removes_the_services_then_the_network_and_a_rerun_finds_nothing() -> None:
    swarm = driver()
    swarm.apply(normalize(SPEC), "present", wait=False, timeout=5)
    swarm.api.calls.clear()
    result = swarm.apply(normalize(SPEC), "absent", wait=True, timeout=5)
    assert [(a.service, a.action) for a in result["actions"]] == [("web", "remove"), ("db", "remove")]
    assert swarm.api.calls[-1] == ("remove_network", "demo_default") and not swarm.api.networks
    assert swarm.apply(normalize(SPEC), "absent", wait=True, timeout=5)["changed"] is False


def test_a_network_still_in_use_fails_with_the_engines_reason() -> None:
    swarm = driver()
    swarm.apply(normalize(SPEC), "present", wait=False, timeout=5)
    swarm.api.services_by_name["other"] = {"ID": "x", "Spec": {"Labels": {}}}  # someone else's container
    with pytest.raises(AppError, match=r"^network demo_default is still in use after 0s: .*active endpoints"):
        swarm.apply(normalize(SPEC), "absent", wait=False, timeout=5)


def test_not_a_manager_and_engine_errors_are_one_line() -> None:
    swarm = driver()
    swarm.api.manager = False
    with pytest.raises(AppError, match=r"^this Docker engine is not a swarm manager \(swarm state: inactive\)"):
        swarm.apply(normalize(SPEC), "present", wait=False, timeout=5)
    swarm = driver()
    # The network is gone again before the services are made: the engine answers 404.
    swarm.api.create_network = lambda *a, **k: None  # type: ignore[method-assign]
    with pytest.raises(AppError, match=r"^Docker engine: network not found"):
        swarm.apply(normalize(SPEC), "present", wait=False, timeout=5)


def with_password(value: str) -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    spec["services"]["db"]["secrets"] = ["db-password"]
    spec["services"]["web"]["secrets"] = ["db-password"]
    return normalize(spec, secrets={"db-password": value})


def test_a_secret_is_a_docker_secret_file_and_a_new_value_a_new_secret() -> None:
    swarm = driver(**{"db-password": "s3cret"})
    swarm.apply(with_password("s3cret"), "present", wait=False, timeout=5)
    [secret] = swarm.api.secret_objects.values()
    assert secret["data"] == b"s3cret" and secret["Spec"]["Labels"] == {"pirack.app": "demo",
                                                                        "pirack.secret": "db-password"}
    refs = swarm.api.services_by_name["demo_db"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert refs == [{"SecretName": secret["Spec"]["Name"], "SecretID": secret["ID"],
                     "File": {"Name": "db-password", "UID": "0", "GID": "0", "Mode": 0o444}}]
    env = swarm.api.services_by_name["demo_db"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    assert not any("s3cret" in e for e in env), "never an environment variable"
    assert swarm.apply(with_password("s3cret"), "present", wait=False, timeout=5)["changed"] is False

    swarm = driver(api=swarm.api, **{"db-password": "n3w"})
    result = swarm.apply(with_password("n3w"), "present", wait=False, timeout=5)
    assert sorted((a.service, a.action) for a in result["actions"]) == [("db", "update"), ("web", "update")]
    assert "s3cret" not in str(result) and "n3w" not in str(result), "only digests are shown"
    [secret] = swarm.api.secret_objects.values()
    assert secret["data"] == b"n3w", "the old value is removed once no service names it"

    swarm.apply(with_password("n3w"), "absent", wait=False, timeout=5)
    assert swarm.api.secret_objects == {}


@pytest.mark.parametrize("call", ["info", "services", "inspect_network", "create_network", "create_service"])
def test_a_timeout_or_reset_anywhere_is_one_line(call: str) -> None:
    """requests' own errors are not DockerExceptions; they are wrapped too."""
    from requests.exceptions import ReadTimeout

    swarm = driver()

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ReadTimeout("UnixHTTPConnectionPool(host='localhost', port=None): Read timed out.\n(read timeout=60)")

    setattr(swarm.api, call, broken)
    with pytest.raises(AppError) as info:
        swarm.apply(normalize(SPEC), "present", wait=False, timeout=5)
    assert str(info.value).startswith("Docker engine: UnixHTTPConnectionPool") and "\n" not in str(info.value)


@pytest.mark.parametrize("state", ["paused", "rollback_completed"])
def test_an_update_the_engine_stopped_is_sent_again(state: str) -> None:
    """The registry was down mid-update: the engine paused it (or rolled it
    back). The next run, with the registry back, resumes the rollout rather
    than finding the spec already in place and doing nothing."""
    app = driver()
    model = normalize(SPEC)
    app.apply(model, "present", wait=False, timeout=0)
    app.client.api.services_by_name["demo_web"]["UpdateStatus"] = {"State": state, "Message": "update paused"}
    app.client.api.calls.clear()
    result = app.apply(model, "present", wait=False, timeout=0)
    assert [(a.service, a.action, a.why) for a in result["actions"]] == [("web", "update", state)]
    assert app.client.api.calls == [("update_service", "demo_web")]
    assert force_update(app, "demo_web") == 1  # the tasks are replaced: the rollout resumes
    del app.client.api.services_by_name["demo_web"]["UpdateStatus"]
    assert app.apply(model, "present", wait=False, timeout=0) == {"actions": [], "changed": False, "down": {}}


def force_update(app: SwarmDriver, name: str) -> int:
    return app.api.services_by_name[name]["Spec"]["TaskTemplate"].get("ForceUpdate", 0)


def test_a_new_number_of_replicas_or_parallelism_scales_without_replacing_tasks() -> None:
    """The benchmark's sweep scales the workers between points: the running
    workers stay (no ForceUpdate), only new ones start or old ones stop."""
    app = driver()
    spec = copy.deepcopy(SPEC)
    spec["services"]["web"].pop("ports")
    app.apply(normalize(spec), "present", wait=False, timeout=0)
    scaled = normalize(spec, {"web": {"replicas": 4, "update": {"parallelism": 0}}})
    result = app.apply(scaled, "present", wait=False, timeout=0)
    assert [(a.service, a.action) for a in result["actions"]] == [("web", "update")]
    live = app.api.services_by_name["demo_web"]["Spec"]
    assert live["Mode"] == {"Replicated": {"Replicas": 4}} and live["UpdateConfig"]["Parallelism"] == 0
    assert force_update(app, "demo_web") == 0
    # A change of the tasks themselves replaces them.
    app.apply(normalize(spec, {"web": {"replicas": 4, "env": {"A": "1"}}}), "present", wait=False, timeout=0)
    assert force_update(app, "demo_web") == 1


def test_status_counts_running_tasks_of_the_current_spec_and_says_why_not() -> None:
    app = driver()
    app.apply(normalize(SPEC), "present", wait=False, timeout=0)
    web = app.api.services_by_name["demo_web"]
    current = {key: web["Spec"]["TaskTemplate"].get(key) for key in ("ContainerSpec", "Resources", "Placement")}
    app.api.task_list["id-demo_web"] = [
        {"DesiredState": "running", "Status": {"State": "running"}, "Spec": current},
        {"DesiredState": "running", "Status": {"State": "rejected", "Err": "No such image: pirack/web:1",
                                               "Timestamp": "2026-12-01T00:00:00Z"}, "Spec": current},
    ]
    web["UpdateStatus"] = {"State": "paused", "Message": "update paused due to failure"}
    status = app.status("demo")
    assert status["db"] == {"running": 1, "desired": 1, "problems": []}, "the stand-in scheduler runs it"
    assert status["web"]["running"] == 1 and status["web"]["desired"] == 1
    assert status["web"]["problems"] == ["update paused: update paused due to failure",
                                         "rejected: No such image: pirack/web:1"]


def recorded(name: str) -> dict[str, Any]:
    """Nodes, rng and its tasks as a 1 + 2 rack's manager answered them (the SDK's
    low-level API, engine 20.10) while an update of rng ran and faults-c1-worker2
    lost power: ``held`` once the swarm reported it down (the update waits for
    the task it started there), ``restarted`` after the update was restarted
    as restart_update does, ``back`` once the board was powered back. Tasks
    lost their NetworksAttachments, which the driver does not read."""
    with open(FIXTURES / f"swarm-board-down-{name}.json", encoding="utf-8") as handle:
        return json.load(handle)


class DeadBoardApi(FakeSwarmApi):
    """Answers from the recordings: ``held`` until the service is updated, then ``restarted``."""

    def __init__(self, freed_by_update: bool = True) -> None:
        super().__init__()
        self.state = recorded("held")
        self.freed_by_update = freed_by_update
        self.sent: list[dict[str, Any]] = []

    def nodes(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.state["nodes"])

    def inspect_service(self, name: str) -> dict[str, Any]:
        assert name == self.state["service"]["Spec"]["Name"]
        return copy.deepcopy(self.state["service"])

    def tasks(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        assert filters == {"service": self.state["service"]["ID"]}
        return copy.deepcopy(self.state["tasks"])

    def update_service(self, service_id: str, version: int, task_template: dict[str, Any], name: str,
                       fetch_current_spec: bool, **spec: Any) -> None:
        self.sent.append(dict(spec, ID=service_id, Version=version, TaskTemplate=task_template, Name=name,
                              fetch_current_spec=fetch_current_spec))
        if self.freed_by_update:
            self.state = recorded("restarted")


def coinminer() -> App:
    with open(ROOT / "apps" / "coinminer.yml", encoding="utf-8") as handle:
        return normalize(yaml.safe_load(handle), secrets={"redis-password": "pw"})


def test_an_update_held_by_a_board_that_died_is_restarted_and_the_board_named() -> None:
    app = driver(api=DeadBoardApi())
    assert app.rollout(coinminer(), ["rng"], 30) == {"rng": ["faults-c1-worker2"]}
    held = recorded("held")["service"]
    # The spec as it is but for one label: the swarm keeps an update going
    # when sent the very spec it works towards.
    assert app.api.sent == [{"ID": held["ID"], "Version": held["Version"]["Index"], "Name": "coinminer_rng",
                             "TaskTemplate": held["Spec"]["TaskTemplate"],
                             "labels": dict(held["Spec"]["Labels"], **{"pirack.update-restarts": "1"}),
                             "mode": held["Spec"]["Mode"], "update_config": held["Spec"]["UpdateConfig"],
                             "endpoint_spec": held["Spec"]["EndpointSpec"], "fetch_current_spec": False}]


def test_a_rollout_that_cannot_finish_on_the_boards_that_are_up_still_fails() -> None:
    """Restarted once per held task: a swarm that still does not finish is a failure, not a loop."""
    ticks = iter(range(0, 1000, 5))
    app = SwarmDriver(Client(DeadBoardApi(freed_by_update=False)),
                      Settings(clock=lambda: float(next(ticks)), sleep=lambda _s: None))
    with pytest.raises(AppError) as info:
        app.rollout(coinminer(), ["rng"], 30)
    assert str(info.value) == ("service coinminer_rng: not ready after 30s, 2 of 2 tasks running the current spec; "
                               "update: update in progress")
    assert len(app.api.sent) == 1


def test_a_label_name_swarm_cannot_place_by_fails_before_anything_is_made() -> None:
    spec = copy.deepcopy(SPEC)
    spec["services"]["web"]["placement"] = {"example.com/disk": "ssd", "role": "master"}
    swarm = driver()
    with pytest.raises(AppError) as info:
        swarm.apply(normalize(spec), "present", wait=False, timeout=5)
    assert info.value.errors == ["services.web.placement.example.com/disk: a Swarm node label has no '/'; expected "
                                 "a label name of letters, digits, '-', '_' and '.' (or the app on k3s)"]
    assert swarm.api.calls == []
    assert swarm.apply(normalize(spec), "absent", wait=False, timeout=5)["changed"] is False, "removing still works"
