"""The Swarm driver's own calls, in order, against the stand-in for the
SDK's low-level API (tests/unit/fixtures/app/swarm_api.py): the network,
secrets as Docker secrets, errors as one line. What both drivers do alike
is test_drivers.py; what the engine itself does runs in molecule/app."""

from __future__ import annotations

import copy
from typing import Any, Optional

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.app.driver import Settings
from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import normalize
from ansible_collections.pirack.cluster.plugins.module_utils.app.swarm_driver import SwarmDriver
from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError
from swarm_api import Client, FakeSwarmApi

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


class DeadBoardApi(FakeSwarmApi):
    """Three nodes, c1-worker2 reported down, and the swarm's updater as it
    is (swarmkit's update/updater.go): an update of a global service starts
    a task per node and waits for each to run, with no timeout, so the one
    on the dead board holds it, and c1-worker1 keeps the old template. The
    same spec sent again restarts the update without the down node."""

    NODES = (("n-master", "c1-master", "ready"), ("n-w1", "c1-worker1", "ready"), ("n-w2", "c1-worker2", "down"))

    def __init__(self) -> None:
        super().__init__()
        self.updates = 0

    def nodes(self) -> list[dict[str, Any]]:
        return [{"ID": node_id, "Description": {"Hostname": host}, "Status": {"State": state},
                 "Spec": {"Availability": "active", "Labels": {}}} for node_id, host, state in self.NODES]

    def create_service(self, task_template: dict[str, Any], name: str, **spec: Any) -> None:
        super().create_service(task_template, name, **spec)
        self.task_list[f"id-{name}"] = [self._task(node, task_template, "running") for node in ("n-master", "n-w1")]

    def update_service(self, service_id: str, version: int, task_template: dict[str, Any], name: str,
                       fetch_current_spec: bool, **spec: Any) -> None:
        old = self.services_by_name[name]["Spec"]["TaskTemplate"]
        super().update_service(service_id, version, task_template, name, fetch_current_spec, **spec)
        self.updates += 1
        live = self.services_by_name[name]
        if self.updates == 1:  # the update: held by the task it started on the dead board
            live["UpdateStatus"] = {"State": "updating", "Message": "update in progress"}
            self.task_list[service_id] = [self._task("n-master", task_template, "running"),
                                          self._task("n-w1", old, "running"),
                                          self._task("n-w2", task_template, "assigned")]
        else:  # sent again: the down node is out, the update restarts and completes
            live.pop("UpdateStatus", None)
            tasks = self.task_list[service_id]
            tasks[1] = self._task("n-w1", task_template, "running")
            tasks[2]["DesiredState"] = "shutdown"

    @staticmethod
    def _task(node: str, template: dict[str, Any], state: str) -> dict[str, Any]:
        return {"ID": f"task-{node}-{len(str(template))}", "NodeID": node, "DesiredState": "running",
                "Spec": copy.deepcopy(template), "Status": {"State": state, "Timestamp": "2026-12-07T18:00:00Z"}}


AGENT = {"name": "demo", "services": {"agent": {"image": "pirack/agent:1", "mode": "global"}}}


def test_an_update_held_by_a_board_that_died_is_sent_again_and_the_board_named() -> None:
    app = driver(api=DeadBoardApi())
    first = app.apply(normalize(AGENT), "present", wait=True, timeout=30)
    assert first["down"] == {"c1-worker2": ["agent"]}

    newer = copy.deepcopy(AGENT)
    newer["services"]["agent"]["image"] = "pirack/agent:2"
    result = app.apply(normalize(newer), "present", wait=True, timeout=30)
    assert [(a.service, a.action) for a in result["actions"]] == [("agent", "update")]
    # The update, then the same spec once more: the swarm finished it on the boards that are up.
    assert app.api.updates == 2
    sent = app.api.services_by_name["demo_agent"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    assert sent == "pirack/agent:2"
    assert result["down"] == {"c1-worker2": ["agent"]}


class NeverFreedApi(DeadBoardApi):
    """A swarm that holds the update whatever is sent."""

    def update_service(self, *args: Any, **kwargs: Any) -> None:
        super().update_service(*args, **kwargs)
        name = kwargs["name"]
        self.services_by_name[name]["UpdateStatus"] = {"State": "updating", "Message": "update in progress"}
        self.task_list[f"id-{name}"][2]["DesiredState"] = "running"


def test_a_rollout_that_cannot_finish_on_the_boards_that_are_up_still_fails() -> None:
    """Sent again once per held task: a swarm that still does not finish is a failure, not a loop."""
    api = NeverFreedApi()
    driver(api=api).apply(normalize(AGENT), "present", wait=True, timeout=30)
    newer = copy.deepcopy(AGENT)
    newer["services"]["agent"]["image"] = "pirack/agent:2"
    ticks = iter(range(0, 1000, 5))
    app = SwarmDriver(Client(api), Settings(clock=lambda: float(next(ticks)), sleep=lambda _s: None))
    with pytest.raises(AppError) as info:
        app.apply(normalize(newer), "present", wait=True, timeout=30)
    assert str(info.value) == ("service demo_agent: not ready after 30s, 2 of 2 tasks running the current spec; "
                               "update: update in progress")
    assert app.api.updates == 2


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
