"""Property tests: whatever a spec, an override or an option holds, the app
engine answers with its own error (AppError, one line per problem) or a
model; a model always plans, renders and reads back without surprises."""

from __future__ import annotations

import copy
import dataclasses
import string
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.app import k8s_driver as app_k8s
from ansible_collections.pirack.cluster.plugins.module_utils.app import swarm_driver as app_swarm
from ansible_collections.pirack.cluster.plugins.module_utils.app.model import App, Service
from ansible_collections.pirack.cluster.plugins.module_utils.app.plan import Deployed, plan
from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import normalize
from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError
from ansible_collections.pirack.cluster.plugins.modules import app as app_module
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Anything YAML or Ansible can hand over, and some things only Python can:
# huge integers, inf and nan, odd keys, deep nesting.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**300, max_value=10**5000),
    st.floats(), st.text(max_size=30), st.sampled_from(["inf", "1e400", "-0", "nan", "500m", "64Mi", "0.5Gi",
                                                        "9" * 400, "²", "٣", "1e-9", " 1", "x:y", "a/b"]),
    st.binary(max_size=8))
JUNK = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=12), st.integers()), inner,
                                                 max_size=4)), max_leaves=12)
NAME = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)


def field(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly a valid value, sometimes anything at all."""
    return st.one_of(valid, valid, JUNK)


QUANTITIES = st.fixed_dictionaries({}, optional={
    "cpus": field(st.one_of(st.sampled_from([0.25, 0.5, 1, 2, "500m", "1.5"]), st.floats(0.001, 64)))
    .filter(lambda v: not isinstance(v, float) or round(v * 1000) > 0),
    "memory": field(st.sampled_from(["16Mi", "64Mi", "1Gi", "500M", 67108864, "0.5Gi"]))})
SERVICE = st.fixed_dictionaries({"image": field(st.sampled_from(
    ["pirack/web:1", "busybox", "10.0.0.1:5000/x/y:latest", "localhost/a@sha256:" + "a" * 64]))}, optional={
    "mode": field(st.sampled_from(["replicated", "global"])),
    "replicas": field(st.integers(0, 3)),
    "ports": field(st.lists(st.fixed_dictionaries({"port": field(st.integers(1, 65535))}, optional={
        "published": field(st.integers(1, 65535)), "protocol": field(st.sampled_from(["tcp", "udp"]))}),
        max_size=3)),
    "env": field(st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True),
                                 st.one_of(st.text(max_size=10), st.integers(), st.floats()), max_size=3)),
    "command": field(st.lists(st.text(max_size=10), max_size=3)),
    "args": field(st.lists(st.text(max_size=10), max_size=3)),
    "resources": field(st.fixed_dictionaries({}, optional={"limits": field(QUANTITIES),
                                                           "requests": field(QUANTITIES)})),
    "placement": field(st.fixed_dictionaries({}, optional={
        "role": field(st.sampled_from(["master", "worker"])), "model": field(st.sampled_from(["pi4", "pi3bplus"])),
        "cluster": field(st.sampled_from(["cluster1", "c-2"])), "example.com/disk": field(st.just("ssd"))})),
    "volumes": field(st.lists(st.fixed_dictionaries({"name": field(NAME), "path": field(st.just("/data"))},
                                                    optional={"size": field(st.sampled_from(["1Gi", "500Mi"]))}),
                              max_size=2)),
    "secrets": field(st.lists(st.sampled_from(["pw", "token"]), max_size=2)),
})
# The values of the module's secrets option the generated specs may name.
SECRET_VALUES = {"pw": "hunter2", "token": "t0ken"}


def with_allow_from(spec: dict[str, Any]) -> st.SearchStrategy:
    """``spec`` with some services admitting only some of the others (or junk)."""
    services = spec["services"]
    names = sorted(n for n, s in services.items() if isinstance(n, str) and isinstance(s, dict)) \
        if isinstance(services, dict) else []
    if not names:
        return st.just(spec)
    choices = st.fixed_dictionaries({name: field(st.one_of(st.none(), st.lists(st.sampled_from(names), max_size=3)))
                                     for name in names})

    def put(allows: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(spec)
        for name, allow in allows.items():
            if allow is not None:
                out["services"][name]["allow_from"] = allow
        return out

    return choices.map(put)


SERVICES = st.dictionaries(NAME, SERVICE, min_size=1, max_size=4)
SPEC = st.fixed_dictionaries(
    {"name": field(NAME), "services": field(SERVICES)},
    optional={"network": field(st.fixed_dictionaries({"encrypted": st.booleans()}))}).flatmap(with_allow_from)
OVERRIDES = st.one_of(st.none(), JUNK, st.dictionaries(NAME, field(SERVICE), max_size=2))
TAG = st.one_of(st.none(), st.sampled_from(["v2", "latest"]), st.text(max_size=20))
REGISTRY = st.one_of(st.none(), st.sampled_from(["10.0.0.10:5000", "reg.local"]), st.text(max_size=20))


def normalize_or_error(spec: Any, overrides: Any = None, tag: Any = None, registry: Any = None,
                       secrets: Any = None) -> Any:
    """The model, or None after checking the AppError is one line per problem."""
    try:
        return normalize(spec, overrides, tag, registry, SECRET_VALUES if secrets is None else secrets)
    except AppError as exc:
        assert exc.errors and all(isinstance(e, str) and e and "\n" not in e for e in exc.errors), exc.errors
        assert "\n" not in str(exc)
        return None


@SETTINGS
@given(spec=st.one_of(JUNK, SPEC), overrides=OVERRIDES, tag=TAG, registry=REGISTRY,
       secrets=st.one_of(st.none(), st.just(SECRET_VALUES), JUNK))
def test_normalize_raises_nothing_but_its_own_error(spec: Any, overrides: Any, tag: Any, registry: Any,
                                                    secrets: Any) -> None:
    before = copy.deepcopy(spec)
    normalize_or_error(spec, overrides, tag, registry, secrets)
    assert spec == before or spec != spec, "the spec given was modified"  # nan never equals itself


@pytest.mark.parametrize("value", ["²", "9" * 5000, 10**5000, "1_0", " 3 ", float("inf")],
                         ids=["superscript", "digits-5000", "int-5000", "underscore", "spaces", "inf"])
def test_odd_numbers_in_integer_fields_are_one_line(value: Any) -> None:
    spec = {"name": "demo", "services": {"web": {"image": "pirack/web:1", "replicas": value,
                                                 "env": {"N": value}, "placement": {"cluster": value},
                                                 "ports": [{"port": value}], value: 1}}}
    normalize_or_error(spec)


@pytest.mark.parametrize(("where", "value"), [
    ("cpus", "inf"), ("cpus", "1e400"), ("cpus", float("nan")), ("cpus", 10**400), ("memory", "9" * 400),
    ("memory", 10**400), ("memory", "1e3"),
], ids=["inf", "1e400", "nan", "int-400", "memory-digits-400", "memory-int-400", "memory-exponent"])
def test_the_values_of_the_issue_fail_naming_the_option(where: str, value: Any) -> None:
    spec = {"name": "demo", "services": {"web": {"image": "pirack/web:1",
                                                 "resources": {"limits": {where: value}}}}}
    with pytest.raises(AppError) as info:
        normalize(spec)
    assert info.value.errors[0].startswith(f"services.web.resources.limits.{where}: expected ")


def views_of(model: App, draw: Any) -> dict[str, Deployed]:
    """Live services as a driver may read them: some missing, some partial
    (no service), some drifted or stalled, and services the spec never had."""
    live: dict[str, Deployed] = {}
    for name, service in model.services.items():
        kind = draw(st.sampled_from(["same", "missing", "partial", "drifted", "stalled"]))
        if kind == "same":
            live[name] = Deployed(service)
        elif kind == "partial":
            live[name] = Deployed(None)
        elif kind == "drifted":
            mode = draw(st.sampled_from(["replicated", "global"]))
            live[name] = Deployed(dataclasses.replace(service, image="other/image:0", mode=mode))
        elif kind == "stalled":
            live[name] = Deployed(service, stalled="paused")
    for name in draw(st.lists(NAME, max_size=2)):
        live.setdefault(name, draw(st.sampled_from([Deployed(None), Deployed(Service(image="x", mode="global"))])))
    return live


@SETTINGS
@given(spec=SPEC, data=st.data(), state=st.sampled_from(["present", "absent"]))
def test_plan_of_any_model_and_live_state(spec: Any, data: st.DataObject, state: str) -> None:
    model = normalize_or_error(spec)
    if model is None:
        return
    live = views_of(model, data.draw)
    actions = plan(model, live, state)
    names = [a.service for a in actions]
    assert len(names) == len(set(names)), "one action per service"
    wanted = set(model.services) if state == "present" else set()
    assert {a.service for a in actions if a.action == "remove"} == set(live) - wanted
    assert all(a.action == "create" for a in actions
               if (live.get(a.service) is None or live[a.service].service is None) and a.after)
    # Applying the plan's "after" services leaves nothing to do.
    settled = {n: Deployed(s) for n, s in model.services.items()} if state == "present" else {}
    assert plan(model, settled, state) == []


@SETTINGS
@given(spec=SPEC, tag=TAG, registry=REGISTRY)
def test_every_model_renders_and_reads_back_as_itself_on_both_drivers(spec: Any, tag: Any, registry: Any) -> None:
    model = normalize_or_error(spec, None, tag, registry)
    if model is None:
        return
    app = model.name
    for name, service in model.services.items():
        rendered = app_swarm.render_service(app, name, service)
        assert app_swarm.read_service(app, rendered) == app_swarm.desired_view(service), name
        claims = {c["metadata"]["name"]: c for c in app_k8s.render_claims(app, "ns", name, service)}
        workload = app_k8s.render_workload(app, "ns", name, service)
        assert app_k8s.read_service(workload, app_k8s.render_service(app, "ns", name, service), claims,
                                    app_k8s.render_policy(app, "ns", name, service)) == service


@settings(max_examples=60, deadline=None)
@given(content=st.binary(max_size=200))
def test_a_spec_file_of_any_bytes_is_one_line_or_a_spec(content: bytes, tmp_path_factory: Any) -> None:
    path = Path(tmp_path_factory.mktemp("spec")) / "app.yml"
    path.write_bytes(content)
    try:
        raw = app_module.load_spec({"spec": str(path)})
    except AppError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("spec: ")
        return
    normalize_or_error(raw)


@pytest.mark.parametrize(("content", "expected"), [
    (b"name: caf\xe9\n", "is not UTF-8 text"),
    (b"a: " + b"9" * 5000 + b"\n", "cannot load"),
    (b"[" * 5000, "cannot load"),
    (b"name: [unclosed\n", "is not valid YAML"),
])
def test_unloadable_spec_files_are_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "app.yml"
    path.write_bytes(content)
    with pytest.raises(AppError) as info:
        app_module.load_spec({"spec": str(path)})
    assert expected in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("image_tag", "a b", "image_tag: expected an image tag"),
    ("image_tag", "-x", "image_tag: expected an image tag"),
    ("registry", "https://reg", "registry: expected a registry host[:port]"),
    ("registry", "noport", "registry: expected a registry host[:port]"),
])
def test_image_options_are_checked_like_the_spec(option: str, value: str, expected: str) -> None:
    with pytest.raises(AppError) as info:
        normalize({"name": "demo", "services": {"web": {"image": "pirack/web:1"}}}, **{option: value})
    assert info.value.errors[0].startswith(expected)


@pytest.mark.parametrize("image", ["Pirack/web", "web:", ":1", "a b", "web\n", "reg:99999999/x", "x@sha256:abc",
                                   "-web", "web:" + "v" * 129, string.punctuation])
def test_images_docker_would_refuse_are_refused_here(image: str) -> None:
    with pytest.raises(AppError) as info:
        normalize({"name": "demo", "services": {"web": {"image": image}}})
    assert info.value.errors[0].startswith("services.web.image: expected an image reference")
