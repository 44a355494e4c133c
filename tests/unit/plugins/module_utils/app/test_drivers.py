"""One suite, both drivers: the Swarm driver against the stand-in for the
Docker SDK's API (fixtures/app/swarm_api.py) and the Kubernetes driver
through the real client against a local API server (fixtures/app/app_api.py)
go through the same scenarios: create, scale, update, secret change,
remove, status, and a round trip of every field of the model.

The round trip is what catches a driver that ignores a field: a service
with every field set is applied, read back, and must equal what the driver
declares it can read back (``desired``); a field that is not rendered, or
not read, makes the second apply plan an update. A field a driver cannot
keep is named in DROPS, on purpose and nowhere else.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Iterator

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.app import swarm_driver
from ansible_collections.pirack.cluster.plugins.module_utils.app.driver import Driver, Settings
from ansible_collections.pirack.cluster.plugins.module_utils.app.k8s_driver import K8sDriver
from ansible_collections.pirack.cluster.plugins.module_utils.app.model import App, Service
from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import normalize
from ansible_collections.pirack.cluster.plugins.module_utils.app.swarm_driver import SwarmDriver
from ansible_collections.pirack.cluster.plugins.module_utils.k8s import client
from app_api import AppApi
from swarm_api import Client, FakeSwarmApi

SECRETS = {"pw": "s3cret"}
SPEC = {"name": "shop", "services": {
    "db": {"image": "pirack/db:1", "ports": [{"port": 5432}], "volumes": [{"name": "data", "path": "/data"}],
           "placement": {"role": "master"}, "secrets": ["pw"], "allow_from": ["web"]},
    "web": {"image": "pirack/web:1", "replicas": 2, "ports": [{"port": 80, "published": 8080}], "secrets": ["pw"],
            "env": {"DB": "db:5432"}},
    "cache": {"image": "pirack/cache:1", "mode": "global", "ports": [{"port": 11211}]},
}}
# Every field of a service away from its "not set" value, across two services
# (a global service cannot have replicas, a replicated one is not global).
FULL = {"name": "full", "services": {
    "one": {"image": "pirack/full:1", "mode": "replicated", "replicas": 1,
            "ports": [{"port": 80, "published": 8000}, {"port": 81, "protocol": "udp"}],
            "env": {"A": "1"}, "command": ["/bin/app"], "args": ["--fast"],
            "resources": {"limits": {"cpus": "250m", "memory": "64Mi"}, "requests": {"cpus": 0.1, "memory": "32Mi"}},
            "placement": {"role": "master", "model": "pi4"}, "volumes": [{"name": "state", "path": "/state"}],
            "allow_from": ["two"], "secrets": ["pw"], "update": {"parallelism": 2}},
    "two": {"image": "pirack/full:1", "mode": "global", "placement": {"model": "pi3bplus"},
            "update": {"parallelism": 0}},
}}
# What each orchestrator keeps no record of (its driver's ``desired`` drops
# it): Swarm has no per-service ingress rule, no unpublished port and no
# volume size; a Kubernetes Deployment that is recreated (it has a volume or
# a published port, as FULL's "one") has no rolling-update parallelism.
DROPS = {"swarm": {"allow_from", "ports", "volumes"}, "k8s": {"update"}}


class SwarmHarness:
    """The Swarm driver and what its stand-in engine holds."""

    name = "swarm"

    def __init__(self) -> None:
        self.api = FakeSwarmApi()

    def driver(self, check_mode: bool = False, secrets: dict[str, str] = SECRETS) -> Driver:
        return SwarmDriver(Client(self.api), Settings(check_mode, secrets, clock=lambda: 0.0, sleep=lambda _s: None))

    def writes(self) -> int:
        return len(self.api.calls)

    def secret_values(self) -> dict[str, str]:
        return {name: value.decode() for name, value in self.api.secret_values().items()}

    def break_images(self) -> None:
        self.api.ready = False


class K8sHarness:
    """The Kubernetes driver, through the real client, and what the API server holds."""

    name = "k8s"

    def __init__(self, api: AppApi, core: Any) -> None:
        self.api = api
        self.core = core

    def driver(self, check_mode: bool = False, secrets: dict[str, str] = SECRETS) -> Driver:
        ticks = iter(range(0, 10**6, 5))
        return K8sDriver(self.core, Settings(check_mode, secrets, namespace="shop",
                                             clock=lambda: float(next(ticks)), sleep=lambda _s: None))

    def writes(self) -> int:
        return len(self.api.writes())

    def secret_values(self) -> dict[str, str]:
        import base64

        return {name: base64.b64decode(obj["data"][name]).decode()
                for (kind, name), obj in self.api.objects.items() if kind == "Secret"}

    def break_images(self) -> None:
        self.api.ready = False


@pytest.fixture(params=["swarm", "k8s"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "swarm":
        yield SwarmHarness()
        return
    with AppApi() as api:
        yield K8sHarness(api, client.connect(str(api.kubeconfig(tmp_path)), None))


def model(spec: dict = SPEC, **kwargs: Any) -> App:
    return normalize(spec, secrets=kwargs.pop("secrets", SECRETS), **kwargs)


def read_back(driver: Driver, app: str) -> dict[str, Any]:
    """What the driver reads of each live service."""
    return {name: driver.view(app, live) for name, live in driver.read(app).items()}


def assert_round_trip(harness: Any, app: App) -> None:
    """Applied, the app reads back as the driver says it would, and a second apply does nothing."""
    driver = harness.driver()
    driver.apply(app, "present", wait=True, timeout=30)
    views = read_back(driver, app.name)
    assert sorted(views) == sorted(app.services)
    for name, service in app.services.items():
        assert views[name].service == driver.desired(service), name
    before = harness.writes()
    assert driver.apply(app, "present", wait=True, timeout=30) == {"actions": [], "changed": False, "down": {}}
    assert harness.writes() == before


def test_create_then_nothing_to_do(harness: Any) -> None:
    result = harness.driver().apply(model(), "present", wait=True, timeout=30)
    assert result["changed"] and sorted((a.service, a.action) for a in result["actions"]) == [
        ("cache", "create"), ("db", "create"), ("web", "create")]
    assert_round_trip(harness, model())


def test_check_mode_plans_and_writes_nothing(harness: Any) -> None:
    result = harness.driver(check_mode=True).apply(model(), "present", wait=True, timeout=30)
    assert result["changed"] and len(result["actions"]) == 3
    assert harness.writes() == 0
    assert harness.driver().read("shop") == {}


def test_scale_updates_only_the_scaled_service(harness: Any) -> None:
    harness.driver().apply(model(), "present", wait=True, timeout=30)
    scaled = model(overrides={"web": {"replicas": 5}})
    result = harness.driver().apply(scaled, "present", wait=True, timeout=30)
    assert [(a.service, a.action) for a in result["actions"]] == [("web", "update")]
    assert (result["actions"][0].before.replicas, result["actions"][0].after.replicas) == (2, 5)
    assert harness.driver().status("shop")["web"] == {"running": 5, "desired": 5, "problems": []}
    assert_round_trip(harness, scaled)


def test_a_new_image_tag_updates_every_service_and_a_mode_change_recreates(harness: Any) -> None:
    harness.driver().apply(model(), "present", wait=True, timeout=30)
    result = harness.driver().apply(model(image_tag="v2"), "present", wait=True, timeout=30)
    assert sorted((a.service, a.action) for a in result["actions"]) == [
        ("cache", "update"), ("db", "update"), ("web", "update")]
    assert {v.service.image for v in read_back(harness.driver(), "shop").values()} == {
        "pirack/cache:v2", "pirack/db:v2", "pirack/web:v2"}
    single = model(image_tag="v2", overrides={"cache": {"mode": "replicated", "replicas": 1}})
    result = harness.driver().apply(single, "present", wait=True, timeout=30)
    assert [(a.service, a.action) for a in result["actions"]] == [("cache", "recreate")]
    assert_round_trip(harness, single)


def test_a_new_secret_value_rolls_its_users_and_the_old_value_goes(harness: Any) -> None:
    harness.driver().apply(model(), "present", wait=True, timeout=30)
    assert harness.secret_values() == {"pw": "s3cret"}
    changed = model(secrets={"pw": "n3w"})
    result = harness.driver(secrets={"pw": "n3w"}).apply(changed, "present", wait=True, timeout=30)
    assert sorted((a.service, a.action) for a in result["actions"]) == [("db", "update"), ("web", "update")]
    assert "s3cret" not in str(result) and "n3w" not in str(result), "only digests are shown"
    assert harness.secret_values() == {"pw": "n3w"}


def test_remove_takes_the_store_last_and_leaves_nothing_to_do(harness: Any) -> None:
    harness.driver().apply(model(), "present", wait=True, timeout=30)
    result = harness.driver().apply(model(), "absent", wait=True, timeout=30)
    assert [(a.service, a.action) for a in result["actions"]] == [
        ("cache", "remove"), ("web", "remove"), ("db", "remove")], "the service with a volume goes last"
    assert harness.driver().read("shop") == {} and harness.secret_values() == {}
    assert harness.driver().apply(App("shop"), "absent", wait=True, timeout=30)["changed"] is False


def test_a_service_left_out_of_the_spec_is_removed(harness: Any) -> None:
    harness.driver().apply(model(), "present", wait=True, timeout=30)
    fewer = dict(SPEC, services={n: s for n, s in SPEC["services"].items() if n != "cache"})
    result = harness.driver().apply(model(fewer), "present", wait=True, timeout=30)
    assert [(a.service, a.action) for a in result["actions"]] == [("cache", "remove")]
    assert sorted(harness.driver().read("shop")) == ["db", "web"]


def test_status_counts_what_runs_and_says_why_not(harness: Any) -> None:
    harness.driver().apply(model(), "present", wait=True, timeout=30)
    status = harness.driver().status("shop")
    assert sorted(status) == ["cache", "db", "web"]
    assert all(row["running"] == row["desired"] > 0 and row["problems"] == [] for row in status.values()), status
    assert status["web"]["desired"] == 2
    harness.break_images()
    harness.driver().apply(model(image_tag="nope"), "present", wait=False, timeout=30)
    broken = harness.driver().status("shop")["web"]
    assert broken["running"] == 0 and broken["desired"] == 2 and broken["problems"], broken


def test_every_field_of_the_model_round_trips(harness: Any) -> None:
    full = model(FULL)
    for f in dataclasses.fields(Service):
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
        assert any(getattr(s, f.name) != default for s in full.services.values()), (
            f"FULL sets no {f.name}: give it a value, so both drivers are held to it")
    dropped = {f.name for f in dataclasses.fields(Service) for s in full.services.values()
               if getattr(harness.driver().desired(s), f.name) != getattr(s, f.name)}
    assert dropped == DROPS[harness.name]
    assert_round_trip(harness, full)


def test_the_round_trip_catches_a_driver_that_ignores_a_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Swarm render that forgets ``args``: the suite above fails on it."""
    render = swarm_driver.render_service

    def forgetful(app: str, name: str, service: Service) -> dict[str, Any]:
        spec = render(app, name, service)
        spec["TaskTemplate"]["ContainerSpec"].pop("Args", None)
        return spec

    monkeypatch.setattr(swarm_driver, "render_service", forgetful)
    with pytest.raises(AssertionError, match="one"):
        assert_round_trip(SwarmHarness(), model(FULL))


def test_a_driver_missing_part_of_the_contract_fails_when_defined() -> None:
    with pytest.raises(TypeError, match="driver Partial does not implement rollout, service_status"):
        class Partial(SwarmDriver):
            rollout = Driver.rollout
            service_status = Driver.service_status
