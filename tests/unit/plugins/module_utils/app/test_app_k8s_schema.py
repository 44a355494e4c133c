"""Every object the app module sends to Kubernetes, checked against the
official OpenAPI schemas of the k3s release the collection installs (the
kubernetes-validate package bundles them; strict mode, so an unknown or
misspelled field fails too). No cluster runs here: this is what stands in
for "the API server would accept it" until a real k3s is available."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.pirack.cluster.plugins.module_utils.app import k8s_driver as app_k8s
from ansible_collections.pirack.cluster.plugins.module_utils.app.driver import Settings
from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import normalize
from ansible_collections.pirack.cluster.plugins.module_utils.k8s import client
from app_api import AppApi
from hypothesis import given, settings
from test_app_properties import SPEC, normalize_or_error

kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is not installed "
                                          "(pip install -r requirements-test.txt)")

ROOT = Path(__file__).resolve().parents[5]
NS = "coinminer"
SECRETS = {"redis-password": "s3cret"}


def k3s_minor() -> str:
    """The Kubernetes minor release of the pinned k3s (k3s_version's default)."""
    text = (ROOT / "roles" / "k3s" / "defaults" / "main.yml").read_text(encoding="utf-8")
    line = next(raw for raw in text.splitlines() if raw.startswith("k3s_version:"))
    match = re.search(r"v(\d+\.\d+)\.\d+\+k3s\d+", line)
    assert match, f"no k3s version in {line!r}"
    return match.group(1)


def problems(objects: list[dict[str, Any]]) -> list[str]:
    """One line per object the schemas of the pinned release refuse."""
    found = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, k3s_minor(), strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            found.append(f"{obj['kind']}/{obj['metadata']['name']}: {where}: {exc.message}")
    return found


# The value of the one secret the shipped spec names (the role generates it).
COINMINER_SECRETS = {"redis-password": "s3cret"}


def coinminer_spec() -> dict[str, Any]:
    with open(ROOT / "apps" / "coinminer.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def doc_examples() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(id, spec, overrides) for every fenced yaml block of docs/app-spec.md.

    A block that is a spec is rendered as it is; a block of overrides is
    applied to the coin-miner spec, which is what the page applies it to.
    """
    text = (ROOT / "docs" / "app-spec.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, flags=re.S | re.M)
    assert blocks, "docs/app-spec.md has no yaml examples"
    examples = []
    for index, block in enumerate(blocks):
        data = yaml.safe_load(block)
        if "overrides" in data:
            examples.append((f"block{index}-overrides", coinminer_spec(), data["overrides"]))
        else:
            examples.append((f"block{index}-{data['name']}", data, {}))
    return examples


def test_the_pinned_release_has_schemas() -> None:
    minor = k3s_minor()
    assert kubernetes_validate.validate({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}},
                                        minor, strict=True) == minor, "schemas of an older release were used"


def test_the_schemas_do_refuse_a_bad_object() -> None:
    """The check can fail: a string count and a misspelled field are refused."""
    worker = normalize(coinminer_spec(), secrets=COINMINER_SECRETS).services["worker"]
    deployment = app_k8s.render_workload("coinminer", NS, "worker", worker)
    bad = copy.deepcopy(deployment)
    bad["spec"]["replicas"] = "1"
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    assert len(problems([deployment, bad, bad])) == 2


@pytest.mark.parametrize("overrides", [{}, {"worker": {"replicas": 8}},
                                       {"rng": {"mode": "replicated", "replicas": 1}},
                                       {"redis": {"allow_from": ["worker", "webui"]}, "rng": {"allow_from": []}},
                                       {"worker": {"update": {"parallelism": 0}},
                                        "rng": {"update": {"parallelism": 2}}}],
                         ids=["as-shipped", "scaled", "one-rng", "network-policies", "update-parallelism"])
def test_the_coinminer_renders_to_objects_the_api_accepts(overrides: dict) -> None:
    model = normalize(coinminer_spec(), overrides, image_tag="v2", registry="10.99.0.10:5000",
                      secrets=COINMINER_SECRETS)
    assert problems(app_k8s.render(model, NS)) == []


@pytest.mark.parametrize(("name", "spec", "overrides"), doc_examples(), ids=[e[0] for e in doc_examples()])
def test_every_example_of_the_docs_renders_to_objects_the_api_accepts(name: str, spec: dict, overrides: dict) -> None:
    named = {secret for service in spec["services"].values() for secret in service.get("secrets", [])}
    values = {secret: "example" for secret in named}
    model = normalize(spec, overrides, secrets=values)
    secrets = [app_k8s.render_secret(model.name, NS, secret, value) for secret, value in values.items()]
    assert problems(app_k8s.render(model, NS) + secrets) == []


def test_every_body_the_driver_sends_is_accepted(tmp_path: Path) -> None:
    """What goes over the wire (creates, then whole-object replaces that
    carry resourceVersion and the Service's clusterIP), not only renders."""
    with AppApi() as api:
        core = client.connect(str(api.kubeconfig(tmp_path)), None)
        driver = app_k8s.K8sDriver(core, Settings(namespace=NS, secrets={"redis-password": "s3cret"}))
        driver.apply(normalize(coinminer_spec(), {"redis": {"secrets": ["redis-password"]}},
                               secrets=SECRETS), "present", wait=False, timeout=5)
        driver.apply(normalize(coinminer_spec(), {"redis": {"allow_from": ["worker"], "volumes": [
            {"name": "redis-data", "path": "/data", "size": "2Gi"}]}}, image_tag="v2", secrets=SECRETS),
            "present", wait=False, timeout=5)
        driver.apply(normalize(coinminer_spec(), {"redis": {"allow_from": ["worker", "webui"], "volumes": [
            {"name": "redis-data", "path": "/data", "size": "2Gi"}]}}, image_tag="v2", secrets=SECRETS),
            "present", wait=False, timeout=5)
        sent = [body for method, _, body in api.requests if method in ("POST", "PUT")]
    assert {b["kind"] for b in sent} == {"PersistentVolumeClaim", "Deployment", "DaemonSet", "Service",
                                         "NetworkPolicy", "Secret"}
    assert any(b["kind"] == "PersistentVolumeClaim" and "resourceVersion" in b["metadata"] for b in sent)
    assert problems(sent) == []


@settings(max_examples=40, deadline=None)
@given(spec=SPEC)
def test_any_valid_spec_renders_to_objects_the_api_accepts(spec: Any) -> None:
    model = normalize_or_error(spec)
    if model is not None:
        assert problems(app_k8s.render(model, NS)) == []
