"""The app spec: every error names the field and what was expected; the
normalized model is the one form both orchestrators are compared in."""

from __future__ import annotations

import copy
import os

import pytest
import yaml
from ansible_collections.pirack.cluster.plugins.module_utils.app import spec as app_spec
from ansible_collections.pirack.cluster.plugins.module_utils.app import values
from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import normalize
from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError
from ansible_collections.pirack.cluster.plugins.module_utils.image_ref import with_tag

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..")
MINIMAL = {"name": "demo", "services": {"web": {"image": "pirack/web:1"}}}


def errors_of(spec: object, **kwargs: object) -> list[str]:
    with pytest.raises(AppError) as info:
        normalize(spec, **kwargs)
    return info.value.errors


def with_service(**fields: object) -> dict:
    spec = copy.deepcopy(MINIMAL)
    spec["services"]["web"].update(fields)
    return spec


def test_minimal_service_gets_every_field_with_its_default() -> None:
    assert normalize(MINIMAL).as_dict() == {"name": "demo", "network": {"encrypted": False}, "services": {"web": {
        "image": "pirack/web:1", "mode": "replicated", "replicas": 1, "ports": [], "env": {},
        "command": None, "args": None,
        "resources": {"limits": {"cpus": None, "memory": None}, "requests": {"cpus": None, "memory": None}},
        "placement": {}, "volumes": [], "allow_from": None, "secrets": {}, "update": {"parallelism": 1}}}}


def test_shipped_coinminer_spec_is_valid_and_says_what_the_issue_asks() -> None:
    with open(os.path.join(ROOT, "apps", "coinminer.yml"), encoding="utf-8") as handle:
        model = normalize(yaml.safe_load(handle), secrets={"redis-password": "s3cret"})
    services = model.as_dict()["services"]
    assert model.name == "coinminer"
    assert sorted(services) == ["hasher", "redis", "rng", "webui", "worker"]
    assert services["rng"]["mode"] == "global" and services["rng"]["replicas"] is None
    assert services["redis"]["placement"] == {"role": "master"}
    assert services["redis"]["volumes"] == [{"name": "redis-data", "path": "/data", "size": "1Gi"}]
    assert services["webui"]["ports"] == [{"port": 80, "published": 8000, "protocol": "tcp"}]
    assert services["worker"]["env"]["RNG_URL"] == "http://rng:80"


@pytest.mark.parametrize(("spec", "expected"), [
    ([], "spec: expected a mapping, got [] (list)"),
    ({"name": "demo"}, "services: expected a mapping of service name to service (at least one), got None"),
    ({"name": "Demo", "services": MINIMAL["services"]}, "name: expected an app name"),
    ({"name": "demo", "services": {"Web": {"image": "x"}}}, "services: expected service names"),
    ({**MINIMAL, "extra": 1}, "spec.extra: unknown field; expected one of: name, network, services"),
    (with_service(imag="x"), "services.web.imag: unknown field; expected one of: image, mode"),
    (with_service(image=""), "services.web.image: expected an image reference"),
    (with_service(mode="daemon"), "services.web.mode: expected one of replicated, global, got 'daemon'"),
    (with_service(replicas=-1), "services.web.replicas: expected an integer >= 0, got -1 (integer)"),
    (with_service(replicas=True), "services.web.replicas: expected an integer >= 0, got True (boolean)"),
    (with_service(mode="global", replicas=2), "services.web.replicas: not allowed with mode global"),
    (with_service(ports=80), "services.web.ports: expected a list of ports, got 80 (integer)"),
    (with_service(ports=[{"published": 80}]), "services.web.ports[0].port: expected the port the container"),
    (with_service(ports=[{"port": 70000}]), "services.web.ports[0].port: expected an integer between 1 and 65535"),
    (with_service(ports=[{"port": 80, "published": 0}]), "services.web.ports[0].published: expected an integer"),
    (with_service(ports=[{"port": 80, "protocol": "sctp"}]), "services.web.ports[0].protocol: expected one of tcp"),
    (with_service(ports=[{"port": 80}, {"port": 80}]), "services.web.ports[1].port: 80/tcp is listed twice"),
    (with_service(ports=[{"port": 80, "host": 1}]), "services.web.ports[0].host: unknown field"),
    (with_service(env={"DEBUG": True}), "services.web.env.DEBUG: expected a string or number (quote values"),
    (with_service(env={"BAD-NAME": "x"}), "services.web.env: expected variable names"),
    (with_service(env=["A=1"]), "services.web.env: expected a mapping, got ['A=1'] (list)"),
    (with_service(command="run"), "services.web.command: expected a list of strings, got 'run' (string)"),
    (with_service(args=[1]), "services.web.args: expected a list of strings"),
    (with_service(resources={"limits": {"cpus": "lots"}}), "services.web.resources.limits.cpus: expected a positive"),
    (with_service(resources={"limits": {"cpus": 0}}), "services.web.resources.limits.cpus: expected a positive"),
    (with_service(resources={"limits": {"memory": "64m"}}), "services.web.resources.limits.memory: expected a size"),
    (with_service(resources={"requests": {"disk": 1}}), "services.web.resources.requests.disk: unknown field"),
    (with_service(resources={"max": {}}), "services.web.resources.max: unknown field; expected one of: limits"),
    (with_service(placement={"role": "boss"}), "services.web.placement.role: expected one of master, worker"),
    (with_service(placement={"model": "pi9"}), "services.web.placement.model: expected a board key: cm4, pi2b"),
    (with_service(placement={"rack": "a"}), "services.web.placement.rack: unknown placement; expected one of role"),
    (with_service(placement={"example.com/disk": "s s"}), "services.web.placement.example.com/disk: expected a node"),
    (with_service(volumes={"data": "/data"}), "services.web.volumes: expected a list of volumes"),
    (with_service(volumes=[{"name": "Data", "path": "/d"}]), "services.web.volumes[0].name: expected a volume name"),
    (with_service(volumes=[{"name": "d", "path": "data"}]), "services.web.volumes[0].path: expected an absolute path"),
    (with_service(volumes=[{"name": "d", "path": "/d", "size": "big"}]),
     "services.web.volumes[0].size: expected a size"),
    (with_service(volumes=[{"name": "d", "path": "/d"}, {"name": "d", "path": "/e"}]),
     "services.web.volumes[1].name: 'd' is used twice"),
    (with_service(replicas=2, volumes=[{"name": "d", "path": "/d"}]),
     "services.web.volumes: a service with volumes runs at most one task"),
    (with_service(allow_from="web"), "services.web.allow_from: expected a list of service names"),
    (with_service(allow_from=["db"]), "services.web.allow_from: 'db' is not a service of the app"),
    (with_service(update={"parallelism": -1}), "services.web.update.parallelism: expected an integer >= 0, got -1"),
    (with_service(update={"parallelism": "all"}), "services.web.update.parallelism: expected an integer >= 0"),
    (with_service(update={"delay": 5}), "services.web.update.delay: unknown field; expected one of: parallelism"),
    (with_service(update=2), "services.web.update: expected a mapping, got 2 (integer)"),
    ({**MINIMAL, "network": {"encrypted": "yes"}}, "network.encrypted: expected true or false, got 'yes'"),
    ({**MINIMAL, "network": {"mtu": 1400}}, "network.mtu: unknown field; expected one of: encrypted"),
])
def test_each_error_names_the_field_and_what_was_expected(spec: object, expected: str) -> None:
    errors = errors_of(spec)
    assert any(e.startswith(expected) for e in errors), errors


def test_all_errors_come_at_once() -> None:
    errors = errors_of(with_service(mode="daemon", replicas="x", env={"A": None}))
    assert [e.split(":")[0] for e in errors] == ["services.web.mode", "services.web.replicas", "services.web.env.A"]


def test_error_message_of_the_exception_lists_every_problem() -> None:
    with pytest.raises(AppError, match=r"^invalid app spec: services.web.mode: .*; services.web.replicas: "):
        normalize(with_service(mode="x", replicas=-1))


def test_quantities_take_one_canonical_form() -> None:
    model = normalize(with_service(resources={"limits": {"cpus": "500m", "memory": 67108864},
                                              "requests": {"cpus": 2, "memory": "0.5Gi"}}))
    res = model.services["web"].as_dict()["resources"]
    assert res == {"limits": {"cpus": 0.5, "memory": "64Mi"}, "requests": {"cpus": 2.0, "memory": "512Mi"}}
    assert values.format_size(500 * 10**6) == "500M"
    assert values.format_size(1000) == "1k"
    assert values.format_size(1001) == "1001"
    assert values.parse_cpus("0.25") == 0.25


def test_ports_env_and_placement_are_sorted_and_stringified() -> None:
    model = normalize(with_service(ports=[{"port": 90, "protocol": "udp"}, {"port": 80, "published": "8000"}],
                                   env={"B": 2, "A": 0.5}, placement={"role": "master", "cluster": "cluster1"}))
    web = model.services["web"].as_dict()
    assert web["ports"] == [{"port": 80, "published": 8000, "protocol": "tcp"},
                            {"port": 90, "published": None, "protocol": "udp"}]
    assert list(web["env"].items()) == [("A", "0.5"), ("B", "2")]
    assert list(web["placement"]) == ["cluster", "role"]


def test_secrets_are_named_in_the_spec_valued_by_the_option_and_kept_as_digests() -> None:
    spec = with_service(secrets=["pw", "pw"])
    model = normalize(spec, secrets={"pw": "hunter2", "unused": "x"})
    assert model.services["web"].secrets == {"pw": app_spec.secret_digest("pw", "hunter2")}
    assert "hunter2" not in str(model)
    assert app_spec.secret_digest("pw", "hunter3") != model.services["web"].secrets["pw"]
    assert errors_of(spec) == ["services.web.secrets: 'pw' has no value; expected it among the module's "
                               "secrets option"]
    assert errors_of(spec, secrets={"pw": 5}) == ["secrets.pw: expected the secret's value as a non-empty string"]
    assert errors_of(with_service(secrets="pw"))[0].startswith("services.web.secrets: expected a list of secret")
    assert errors_of(with_service(secrets=["PW"]))[0].startswith("services.web.secrets: expected a list of secret")


def test_allow_from_none_is_everyone_and_empty_is_no_one() -> None:
    web = normalize(with_service(allow_from=["web", "web"])).services["web"]
    assert web.allow_from == ("web",)
    assert normalize(with_service(allow_from=[])).services["web"].allow_from == ()
    assert normalize({**MINIMAL, "network": {"encrypted": True}}).network.encrypted is True


def test_update_parallelism_defaults_to_one_task_at_a_time_and_zero_is_all() -> None:
    assert normalize(MINIMAL).services["web"].update.parallelism == 1
    assert normalize(with_service(update={"parallelism": 0})).services["web"].update.parallelism == 0
    assert normalize(with_service(update={"parallelism": "3"})).services["web"].update.parallelism == 3


def test_empty_command_means_the_images_own() -> None:
    assert normalize(with_service(command=[])).services["web"].command is None


def test_overrides_scale_and_switch_mode_then_are_validated_like_the_spec() -> None:
    spec = with_service(mode="global")
    model = normalize(spec, overrides={"web": {"mode": "replicated", "replicas": "8"}})
    assert model.services["web"].replicas == 8
    assert spec["services"]["web"] == {"image": "pirack/web:1", "mode": "global"}, "spec was modified"
    errors = errors_of(MINIMAL, overrides={"web": {"replicas": "many"}})
    assert errors == ["services.web.replicas: expected an integer >= 0, got 'many' (string)"]


def test_overrides_merge_mappings_key_by_key() -> None:
    model = normalize(with_service(env={"A": "1", "B": "2"}), overrides={"web": {"env": {"B": "3"}}})
    assert model.services["web"].env == {"A": "1", "B": "3"}


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"wbe": {"replicas": 2}}, "overrides.wbe: no such service; expected one of: web"),
    ({"web": 3}, "overrides.web: expected a mapping of service fields, got 3 (integer)"),
    (["web"], "overrides: expected a mapping, got ['web'] (list)"),
])
def test_override_errors(overrides: object, expected: str) -> None:
    assert errors_of(MINIMAL, overrides=overrides) == [expected]


@pytest.mark.parametrize(("image", "tag", "registry", "expected"), [
    ("pirack/coinminer-rng:latest", "v2", None, "pirack/coinminer-rng:v2"),
    ("pirack/coinminer-rng", "v2", None, "pirack/coinminer-rng:v2"),
    ("pirack/coinminer-rng:1.0", None, "10.0.0.10:5000", "10.0.0.10:5000/pirack/coinminer-rng:1.0"),
    ("pirack/coinminer-rng", None, "reg.local", "reg.local/pirack/coinminer-rng"),
    ("other.io:443/x/y:1", "2", "10.0.0.10:5000", "other.io:443/x/y:2"),
    ("localhost/y:1", None, "reg.local", "localhost/y:1"),
    ("redis@sha256:abc", "v2", "reg.local", "reg.local/redis@sha256:abc"),
    # A pinned digest (how the coinminer role rolls a rebuilt :latest) wins over a tag.
    ("10.0.0.1:5000/x/y:latest@sha256:abc", "v2", "10.0.0.1:5000", "10.0.0.1:5000/x/y:latest@sha256:abc"),
])
def test_image_tag_and_registry_rewrite_images(image: str, tag: str, registry: str, expected: str) -> None:
    assert with_tag(image, tag, registry) == expected


def test_normalize_applies_tag_and_registry_to_every_service() -> None:
    spec = {"name": "demo", "services": {"a": {"image": "x/a:1"}, "b": {"image": "x/b"}}}
    model = normalize(spec, image_tag="v9", registry="10.0.0.1:5000")
    assert [s.image for s in model.services.values()] == ["10.0.0.1:5000/x/a:v9", "10.0.0.1:5000/x/b:v9"]
    unset = normalize(spec, image_tag="", registry="")
    assert [s.image for s in unset.services.values()] == ["x/a:1", "x/b"], "empty means unset"
