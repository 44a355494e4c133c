"""The roles' view of the collection's tables: node labels, image names and
published ports come from the same code the app module and drivers use."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.pirack.cluster.plugins.filter import rack_facts
from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import normalize
from ansible_collections.pirack.cluster.plugins.module_utils.app.swarm_driver import render_service
from ansible_collections.pirack.cluster.plugins.module_utils.node_labels import NODE_LABELS, RETIRED

ROOT = Path(__file__).resolve().parents[4]
COINMINER = yaml.safe_load((ROOT / "apps" / "coinminer.yml").read_text())


def test_node_labels_are_the_table_the_drivers_place_by() -> None:
    labels = rack_facts.node_labels({"role": "master", "model": "pi4", "cluster": "cluster1", "position": 0})
    assert labels == {"pirack.role": "master", "pirack.model": "pi4", "pirack.cluster": "cluster1",
                      "pirack.rack-position": "0"}
    placed = normalize({"name": "a", "services": {"s": {"image": "x", "placement": {
        "role": "master", "model": "pi4", "cluster": "cluster1"}}}}).services["s"]
    constraints = render_service("a", "s", placed)["TaskTemplate"]["Placement"]["Constraints"]
    assert sorted(constraints) == sorted(f"node.labels.{key}=={value}" for key, value in labels.items()
                                         if key != NODE_LABELS["position"])
    assert rack_facts.node_labels({"role": "worker", "model": ""}) == {"pirack.role": "worker"}


def test_retire_removes_the_earlier_scheme_once() -> None:
    labels = rack_facts.node_labels({"cluster": "cluster1"}, retire=True)
    assert {key: value for key, value in labels.items() if value is None} == dict.fromkeys(RETIRED)
    assert set(RETIRED.values()) <= set(NODE_LABELS)
    assert all("/" not in key for key in NODE_LABELS.values()), "Swarm constraints refuse '/' in a key"


def test_node_facts_read_back_what_node_labels_write_and_the_old_keys_too() -> None:
    facts = {"role": "worker", "model": "pi3bplus", "cluster": "cluster2", "position": "3"}
    assert rack_facts.node_facts(rack_facts.node_labels(facts)) == facts
    listed = [f"{key}={value}" for key, value in rack_facts.node_labels(facts).items()]
    assert rack_facts.node_facts(listed) == facts, "k3s' node-label list reads the same"
    old = ["pirack.io/cluster=cluster1", "pirack.io/pi-model=pi4", "pirack.io/rack-position=0"]
    assert rack_facts.node_facts(old) == {"cluster": "cluster1", "model": "pi4", "position": "0"}
    assert rack_facts.node_facts(old + ["pirack.cluster=cluster2"])["cluster"] == "cluster2", "the current key wins"
    with pytest.raises(AnsibleFilterError, match="^node_facts: expected a mapping of node labels"):
        rack_facts.node_facts("pirack.cluster=cluster1")


@pytest.mark.parametrize(("facts", "message"), [
    ({"rack": 1}, "node_labels: rack: not a node fact; expected one of role, model, cluster, position"),
    ("pi4", "node_labels: expected a mapping of node facts, got str"),
])
def test_node_label_errors_name_the_fact(facts: object, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=f"^{message}$"):
        rack_facts.node_labels(facts)


def test_image_with_names_the_image_as_the_app_module_runs_it() -> None:
    model = normalize(COINMINER, image_tag="v2", registry="10.99.0.10:5000", secrets={"redis-password": "x"})
    for name, service in COINMINER["services"].items():
        assert rack_facts.image_with(service["image"], tag="v2", registry="10.99.0.10:5000") == \
            model.services[name].image
    pinned = rack_facts.image_with("10.99.0.10:5000/pirack/coinminer-rng:v2", digest="sha256:" + "a" * 64)
    assert pinned == "10.99.0.10:5000/pirack/coinminer-rng:v2@sha256:" + "a" * 64
    assert rack_facts.image_with(pinned, untagged=True) == "10.99.0.10:5000/pirack/coinminer-rng@sha256:" + "a" * 64
    assert rack_facts.image_with("pirack/x:1", tag="", registry="") == "pirack/x:1", "empty is unset"
    assert rack_facts.image_name("10.99.0.10:5000/pirack/coinminer-rng:v2@sha256:" + "a" * 64) == \
        "10.99.0.10:5000/pirack/coinminer-rng"


@pytest.mark.parametrize("bad", ["web:", "Pirack/web", "", None, 5])
def test_a_bad_reference_is_one_line(bad: object) -> None:
    with pytest.raises(AnsibleFilterError, match="^image_name: expected an image reference"):
        rack_facts.image_name(bad)


def test_app_port_reads_the_spec() -> None:
    assert rack_facts.app_port(COINMINER, "webui", published=True) == 8000
    assert [rack_facts.app_port(COINMINER, s) for s in ("redis", "rng", "worker")] == [6379, 80, 8080]
    with pytest.raises(AnsibleFilterError, match="^app_port: service 'redis' publishes no port$"):
        rack_facts.app_port(COINMINER, "redis", published=True)
    with pytest.raises(AnsibleFilterError, match="^app_port: the spec has no service 'db'$"):
        rack_facts.app_port(COINMINER, "db")
