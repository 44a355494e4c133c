"""The app module as Ansible runs it: argument handling, spec files, spec
errors, check mode with a diff, and the k3s path end to end against a local
API server. The Swarm path runs for real in molecule/app."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.pirack.cluster.plugins.modules import app
from app_api import AppApi
from fake_api import run_module

SPEC = str(Path(__file__).resolve().parents[4] / "apps" / "coinminer.yml")


@pytest.fixture
def api():
    """The local API server with the routes an app renders to."""
    with AppApi() as fake:
        yield fake


def args(api: AppApi, tmp_path: Path, **extra: object) -> dict:
    # The shipped spec may name the redis password; the role gives its value.
    return dict({"spec": SPEC, "orchestrator": "k3s", "namespace": "coinminer", "secrets": {"redis-password": "pw"},
                 "kubeconfig": str(api.kubeconfig(tmp_path)), "wait_timeout": 5}, **extra)


def test_k3s_deploy_from_the_shipped_spec_file_then_nothing_to_do(api: AppApi, tmp_path: Path, capsys,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # A module returns its warnings; in a process that loaded Ansible's
    # controller side (other tests here did) they would go to its display.
    monkeypatch.setattr("ansible.module_utils._internal.is_controller", False)
    first = run_module(app.main, args(api, tmp_path), capsys)
    assert first["changed"] is True
    assert sorted(a["service"] for a in first["actions"]) == ["hasher", "redis", "rng", "webui", "worker"]
    assert first["app"]["services"]["rng"]["mode"] == "global"
    # The recorded c1-worker2 is NotReady: named, in the answer and as a warning, not waited for.
    assert first["boards_down"] == {"c1-worker2": ["rng"]}
    assert "c1-worker2 is down: rng will start there when it is back" in str(first["warnings"])
    second = run_module(app.main, args(api, tmp_path), capsys)
    assert second["changed"] is False and second["actions"] == [] and second["boards_down"] == {}


def test_check_mode_diff_shows_the_scaled_worker_only(api: AppApi, tmp_path: Path, capsys) -> None:
    run_module(app.main, args(api, tmp_path), capsys)
    result = run_module(app.main, args(api, tmp_path, overrides={"worker": {"replicas": 8}},
                                       _ansible_check_mode=True, _ansible_diff=True), capsys)
    assert result["changed"] is True
    assert result["actions"] == [{"service": "worker", "action": "update"}]
    assert list(result["diff"]["before"]) == ["worker"]
    assert (result["diff"]["before"]["worker"]["replicas"], result["diff"]["after"]["worker"]["replicas"]) == (1, 8)
    assert api.objects[("Deployment", "worker")]["spec"]["replicas"] == 1


def test_spec_errors_fail_before_any_connection(tmp_path: Path, capsys) -> None:
    result = run_module(app.main, {"spec": {"name": "demo", "services": {"web": {"image": "x", "replicas": -2}}},
                                   "orchestrator": "swarm", "docker_host": "unix:///nonexistent.sock",
                                   "overrides": {"web": {"mode": "everywhere"}}}, capsys)
    assert result["failed"] is True
    assert result["errors"] == ["services.web.mode: expected one of replicated, global, got 'everywhere' (string)",
                                "services.web.replicas: expected an integer >= 0, got -2 (integer)"]
    assert result["msg"].startswith("invalid app spec: services.web.mode")


def test_unreadable_spec_files_are_named(tmp_path: Path, capsys) -> None:
    missing = run_module(app.main, {"spec": str(tmp_path / "nope.yml"), "orchestrator": "swarm"}, capsys)
    assert missing["msg"] == f"spec: cannot read {tmp_path / 'nope.yml'}: No such file or directory"
    broken = tmp_path / "broken.yml"
    broken.write_text("name: [unclosed\n")
    result = run_module(app.main, {"spec": str(broken), "orchestrator": "swarm"}, capsys)
    assert result["msg"].startswith(f"spec: {broken} is not valid YAML")


def test_swarm_without_an_engine_says_where_it_looked(tmp_path: Path, capsys) -> None:
    result = run_module(app.main, {"spec": SPEC, "orchestrator": "swarm", "secrets": {"redis-password": "pw"},
                                   "docker_host": f"unix://{tmp_path}/docker.sock"}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(f"no Docker engine answers at unix://{tmp_path}/docker.sock")


@pytest.mark.parametrize(("limits", "option"), [
    ({"cpus": "inf"}, "services.web.resources.limits.cpus"),
    ({"cpus": "1e400"}, "services.web.resources.limits.cpus"),
    ({"memory": "9" * 400}, "services.web.resources.limits.memory"),
], ids=["cpus-inf", "cpus-1e400", "memory-400-digits"])
def test_values_past_any_machine_fail_naming_the_option(tmp_path: Path, capsys, limits: dict, option: str) -> None:
    spec = {"name": "demo", "services": {"web": {"image": "x", "resources": {"limits": limits}}}}
    result = run_module(app.main, {"spec": spec, "orchestrator": "swarm",
                                   "docker_host": f"unix://{tmp_path}/docker.sock"}, capsys)
    assert result["failed"] is True and "\n" not in result["msg"]
    assert result["errors"][0].startswith(f"{option}: expected "), result["errors"]


def test_a_spec_file_that_is_not_utf8_is_named(tmp_path: Path, capsys) -> None:
    latin = tmp_path / "latin1.yml"
    latin.write_bytes("name: café\n".encode("latin-1"))
    result = run_module(app.main, {"spec": str(latin), "orchestrator": "swarm"}, capsys)
    assert result["msg"] == f"spec: {latin} is not UTF-8 text (byte 9: invalid continuation byte)"


@pytest.mark.parametrize(("extra", "expected"), [
    ({"wait_timeout": 10**30}, "wait_timeout: expected seconds between 0 and 86400, got 1000000"),
    ({"wait_timeout": -1}, "wait_timeout: expected seconds between 0 and 86400, got -1"),
    ({"namespace": "Bad_NS"}, "namespace: expected a Kubernetes namespace name"),
    ({"image_tag": "a b"}, "image_tag: expected an image tag"),
    ({"registry": "http://x"}, "invalid app spec: registry: expected a registry host[:port]"),
])
def test_options_are_checked_before_any_connection(api: AppApi, tmp_path: Path, capsys, extra: dict,
                                                   expected: str) -> None:
    result = run_module(app.main, args(api, tmp_path, **extra), capsys)
    assert result["failed"] is True and expected in result["msg"] and "\n" not in result["msg"]
    assert api.writes() == [] and api.requests == []


def test_secret_values_never_appear_in_the_result(api: AppApi, tmp_path: Path, capsys) -> None:
    extra = {"overrides": {"redis": {"secrets": ["redis-password"]}}, "secrets": {"redis-password": "s3cret-pw"},
             "_ansible_diff": True}
    result = run_module(app.main, args(api, tmp_path, **extra), capsys)
    assert result["changed"] is True and "s3cret-pw" not in str(result)
    assert api.objects[("Secret", "redis-password")]["data"] == {"redis-password": "czNjcmV0LXB3"}
    missing = run_module(app.main, args(api, tmp_path, overrides=extra["overrides"], secrets={}), capsys)
    assert missing["msg"].startswith("invalid app spec: services.redis.secrets: 'redis-password' has no value; "
                                     "expected it among the module's secrets option")


def test_absent_needs_only_the_name_and_the_deploying_task_removes_unchanged(api: AppApi, tmp_path: Path,
                                                                             capsys) -> None:
    run_module(app.main, args(api, tmp_path), capsys)
    by_name = {"name": "coinminer", "orchestrator": "k3s", "namespace": "coinminer", "state": "absent",
               "kubeconfig": str(api.kubeconfig(tmp_path)), "wait_timeout": 5}
    checked = run_module(app.main, dict(by_name, _ansible_check_mode=True), capsys)
    assert checked["changed"] and {a["action"] for a in checked["actions"]} == {"remove"}
    gone = run_module(app.main, by_name, capsys)
    assert gone["changed"] and gone["app"] == {"name": "coinminer", "network": {"encrypted": False}, "services": {}}
    assert sorted(k for k, _ in api.objects) == ["PersistentVolumeClaim"], "the data stays"
    # The spec of the deploying task, without its secrets: only its name is read.
    again = run_module(app.main, dict(args(api, tmp_path), state="absent", secrets={}), capsys)
    assert again["changed"] is False and again["actions"] == []


@pytest.mark.parametrize(("extra", "expected"), [
    ({"state": "present", "name": "coinminer"}, "spec: required with state=present (name alone only removes an app)"),
    ({"state": "absent", "name": "Coin_miner"}, "invalid app spec: name: expected an app name"),
    ({"state": "absent", "spec": {"services": {}}}, "invalid app spec: name: expected an app name"),
])
def test_what_the_name_alone_cannot_do(tmp_path: Path, capsys, extra: dict, expected: str) -> None:
    params = dict({"orchestrator": "swarm", "docker_host": f"unix://{tmp_path}/docker.sock"}, **extra)
    result = run_module(app.main, params, capsys)
    assert result["failed"] and result["msg"].startswith(expected), result["msg"]
