"""The k3s path: the coin-miner spec rendered to Kubernetes objects, compared
field by field, and applied by the real Kubernetes client to a local server
that answers like an API server (defaults filled in, resourceVersion checks,
a stand-in for the Deployment controller's status). No k3s runs here; the
molecule k3s scenario deploys these objects where k3s artifacts exist."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.pirack.cluster.plugins.module_utils.app import k8s_driver as app_k8s
from ansible_collections.pirack.cluster.plugins.module_utils.app import readiness
from ansible_collections.pirack.cluster.plugins.module_utils.app.driver import Settings
from ansible_collections.pirack.cluster.plugins.module_utils.app.model import App
from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import normalize
from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError
from ansible_collections.pirack.cluster.plugins.module_utils.k8s import client
from app_api import AppApi, status

ROOT = Path(__file__).resolve().parents[5]
NS = "coinminer"


def coinminer(**kwargs: Any) -> App:
    with open(ROOT / "apps" / "coinminer.yml", encoding="utf-8") as handle:
        # The shipped spec names the redis password; the role gives its value.
        return normalize(yaml.safe_load(handle), **dict({"secrets": {"redis-password": "s3cret"}}, **kwargs))


@pytest.fixture
def api():
    """The local API server with the routes an app renders to."""
    with AppApi() as fake:
        yield fake


@pytest.fixture
def core(api: AppApi, tmp_path: Path) -> Any:
    return client.connect(str(api.kubeconfig(tmp_path)), None)


def k8s(core: Any, check_mode: bool = False, **kwargs: Any) -> app_k8s.K8sDriver:
    settings = dict({"secrets": {"redis-password": "s3cret"}}, **kwargs)
    return app_k8s.K8sDriver(core, Settings(check_mode, namespace=NS, **settings))


# ----------------------------------------------------------------- rendering


# The coin-miner's redis as it was first shipped, so the rendering below is
# fixed whatever the shipped spec grows (its secrets are tested further down).
REDIS = {"image": "pirack/coinminer-redis:latest", "replicas": 1, "ports": [{"port": 6379}],
         "placement": {"role": "master"}, "volumes": [{"name": "redis-data", "path": "/data", "size": "1Gi"}],
         "resources": {"limits": {"memory": "128Mi"}}}


def test_redis_renders_to_a_recreated_deployment_on_the_master_with_its_claim() -> None:
    redis = normalize({"name": "coinminer", "services": {"redis": REDIS}}).services["redis"]
    assert app_k8s.render_workload("coinminer", NS, "redis", redis) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "redis", "namespace": NS, "labels": {
            "app.kubernetes.io/name": "redis", "app.kubernetes.io/part-of": "coinminer",
            "app.kubernetes.io/managed-by": "pirack.cluster"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "redis", "app.kubernetes.io/part-of": "coinminer"}},
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "redis", "app.kubernetes.io/part-of": "coinminer",
                                        "app.kubernetes.io/managed-by": "pirack.cluster"}},
                "spec": {
                    "containers": [{
                        "name": "redis",
                        "image": "pirack/coinminer-redis:latest",
                        "env": [],
                        "ports": [{"containerPort": 6379, "protocol": "TCP"}],
                        "resources": {"limits": {"memory": "128Mi"}},
                        "volumeMounts": [{"name": "redis-data", "mountPath": "/data"}],
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    }],
                    "volumes": [{"name": "redis-data", "persistentVolumeClaim": {"claimName": "redis-data"}}],
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchExpressions": [
                            {"key": "pirack.role", "operator": "In", "values": ["master"]}]}]}}},
                },
            },
        },
    }
    assert app_k8s.render_claims("coinminer", NS, "redis", redis) == [{
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "redis-data", "namespace": NS, "labels": app_k8s.labels("coinminer", "redis")},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    assert app_k8s.render_service("coinminer", NS, "redis", redis)["spec"] == {
        "type": "ClusterIP", "selector": app_k8s.selector("coinminer", "redis"),
        "ports": [{"name": "tcp-6379", "port": 6379, "targetPort": 6379, "protocol": "TCP"}]}


def test_rng_renders_to_a_daemonset_with_limits_and_env() -> None:
    rng = app_k8s.render_workload("coinminer", NS, "rng", coinminer().services["rng"])
    assert rng["kind"] == "DaemonSet"
    assert "replicas" not in rng["spec"] and "strategy" not in rng["spec"]
    # The shipped spec rolls every board's rng at once, each new pod started
    # before the old one stops (rng holds no port and no volume).
    assert rng["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                             "rollingUpdate": {"maxSurge": "100%", "maxUnavailable": 0}}
    container = rng["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "DELAY", "value": "0.1"}]
    assert container["resources"] == {"limits": {"cpu": "500m", "memory": "64Mi"}}
    assert "affinity" not in rng["spec"]["template"]["spec"]


def test_webui_publishes_a_host_port_and_worker_scales_with_rolling_updates() -> None:
    model = coinminer(overrides={"worker": {"replicas": 8}})
    webui = app_k8s.render_workload("coinminer", NS, "webui", model.services["webui"])
    assert webui["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP", "hostPort": 8000}]
    # A host port is held by the old pod: replace, do not surge.
    assert webui["spec"]["strategy"] == {"type": "Recreate"}
    worker = app_k8s.render_workload("coinminer", NS, "worker", model.services["worker"])
    assert worker["spec"]["replicas"] == 8
    assert worker["spec"]["strategy"] == {"type": "RollingUpdate",
                                          "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


@pytest.mark.parametrize(("kind", "parallelism", "surge", "rendered"), [
    ("Deployment", 1, True, {"maxSurge": 1, "maxUnavailable": 0}),
    ("Deployment", 0, True, {"maxSurge": "100%", "maxUnavailable": 0}),
    ("DaemonSet", 2, True, {"maxSurge": 2, "maxUnavailable": 0}),
    ("DaemonSet", 2, False, {"maxUnavailable": 2}),
    ("DaemonSet", 0, False, {"maxUnavailable": "100%"}),
])
def test_update_parallelism_renders_to_a_rolling_update_and_reads_back(
        kind: str, parallelism: int, surge: bool, rendered: dict) -> None:
    assert app_k8s.rolling_update(parallelism, surge) == rendered
    strategy = {"type": "RollingUpdate", "rollingUpdate": rendered}
    assert app_k8s.read_parallelism(kind, strategy, surge) == parallelism
    # Read as the other form, it is a difference: the next apply puts this one in.
    assert app_k8s.read_parallelism(kind, strategy, not surge) is None
    if kind == "DaemonSet" and not surge:
        # The API server's own maxSurge: 0 is not a difference.
        strategy["rollingUpdate"] = dict(rendered, maxSurge=0)
        assert app_k8s.read_parallelism(kind, strategy, surge) == parallelism


def test_a_daemonset_starts_its_new_pods_first_unless_they_hold_a_host_port() -> None:
    """The surge path is the one the DaemonSet controller takes past a node
    that went down; a host port cannot be held twice on one node."""
    spec = {"name": "a", "services": {
        "agent": {"image": "i", "mode": "global"},
        "edge": {"image": "i", "mode": "global", "ports": [{"port": 80, "published": 8080}]}}}
    model = normalize(spec)
    agent = app_k8s.render_workload("a", NS, "agent", model.services["agent"])
    edge = app_k8s.render_workload("a", NS, "edge", model.services["edge"])
    assert agent["spec"]["updateStrategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert edge["spec"]["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": 1}
    for name, workload in (("agent", agent), ("edge", edge)):
        service = {"spec": {"ports": [{"port": 80, "targetPort": 80}, {"port": 8080, "targetPort": 8080}]}}
        view = app_k8s.read_service(workload, service, {})
        assert view.update.parallelism == 1, name


def test_a_rolling_update_that_is_not_ours_reads_as_a_difference() -> None:
    """A Deployment made before the field existed has the API's 25 % / 25 %:
    it reads as no parallelism of ours, so the next apply puts the spec's in."""
    foreign = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert app_k8s.read_parallelism("Deployment", foreign) is None
    surge_and_gap = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    assert app_k8s.read_parallelism("Deployment", surge_and_gap) is None
    # A recreated Deployment has no parallelism to read; its desired view has the default.
    redis = coinminer(overrides={"redis": {"update": {"parallelism": 4}}}).services["redis"]
    assert app_k8s.read_parallelism("Deployment", {"type": "Recreate"}) == 1
    assert app_k8s.desired_view(redis).update.parallelism == 1


def test_placement_keys_map_to_the_node_labels_the_roles_set() -> None:
    spec = {"name": "a", "services": {"s": {"image": "i", "placement": {
        "role": "worker", "model": "pi3bplus", "cluster": "cluster2", "example.com/disk": "ssd"}}}}
    service = normalize(spec).services["s"]
    pod = app_k8s.render_workload("a", NS, "s", service)["spec"]["template"]["spec"]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [
        {"key": "pirack.cluster", "operator": "In", "values": ["cluster2"]},
        {"key": "example.com/disk", "operator": "In", "values": ["ssd"]},
        {"key": "pirack.model", "operator": "In", "values": ["pi3bplus"]},
        {"key": "pirack.role", "operator": "In", "values": ["worker"]}]}]
    assert app_k8s.read_service(app_k8s.render_workload("a", NS, "s", service), None, {}) == service


def test_render_puts_the_default_deny_and_claims_first_and_skips_services_without_ports() -> None:
    spec = {"name": "a", "services": {"quiet": {"image": "i"},
                                      "db": {"image": "d", "volumes": [{"name": "v", "path": "/v"}]}}}
    kinds = [(o["kind"], o["metadata"]["name"]) for o in app_k8s.render(normalize(spec), NS)]
    assert kinds == [("NetworkPolicy", "a-default-deny"), ("PersistentVolumeClaim", "v"), ("Deployment", "db"),
                     ("Deployment", "quiet")]


def test_every_coinminer_service_reads_back_as_the_model() -> None:
    model = coinminer()
    for name, service in model.services.items():
        claims = {c["metadata"]["name"]: c for c in app_k8s.render_claims("coinminer", NS, name, service)}
        workload = app_k8s.render_workload("coinminer", NS, name, service)
        assert app_k8s.read_service(workload, app_k8s.render_service("coinminer", NS, name, service),
                                    claims, app_k8s.render_policy("coinminer", NS, name, service)) == service, name


def test_a_port_without_its_service_object_is_not_deployed() -> None:
    hasher = coinminer().services["hasher"]
    view = app_k8s.read_service(app_k8s.render_workload("coinminer", NS, "hasher", hasher), None, {})
    assert view.ports == () and view != hasher


def test_rollout_status_of_deployments_and_daemonsets() -> None:
    dep = {"kind": "Deployment", "metadata": {"generation": 3}, "spec": {"replicas": 2},
           "status": {"observedGeneration": 3, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}}
    assert not readiness.k8s_rollout(dep)["done"], "an old pod is still there"
    dep["status"]["replicas"] = 2
    assert readiness.k8s_rollout(dep)["done"]
    dep["metadata"]["generation"] = 4
    assert not readiness.k8s_rollout(dep)["done"], "controller has not seen the new spec"
    ds = {"kind": "DaemonSet", "metadata": {"generation": 1},
          "status": {"observedGeneration": 1, "desiredNumberScheduled": 6, "currentNumberScheduled": 6,
                     "updatedNumberScheduled": 6, "numberAvailable": 5}}
    assert not readiness.k8s_rollout(ds)["done"]
    ds["status"]["numberAvailable"] = 6
    assert readiness.k8s_rollout(ds)["done"]
    assert readiness.k8s_rollout({"kind": "Deployment", "metadata": {"generation": 1}, "spec": {"replicas": 0},
                                  "status": {"observedGeneration": 1}})["done"]


def test_pod_problems_quote_scheduler_and_kubelet() -> None:
    pods = [{"metadata": {"name": "redis-1"}, "status": {"conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/6 nodes are available: 6 node(s) didn't match Pod's node affinity/selector."}]}},
        {"metadata": {"name": "rng-1"}, "status": {"containerStatuses": [
            {"state": {"waiting": {"reason": "ContainerCreating"}}}]}}]
    assert readiness.pod_problems(pods) == [
        "pod redis-1: Unschedulable: 0/6 nodes are available: 6 node(s) didn't match Pod's node affinity/selector.",
        "pod rng-1: ContainerCreating"]


# ------------------------------------------------------ against the API server


def test_apply_creates_every_object_then_a_rerun_writes_nothing(api: AppApi, core: Any) -> None:
    model = coinminer()
    result = k8s(core).apply(model, "present", wait=True, timeout=5)
    assert result["changed"]
    assert sorted((a.service, a.action) for a in result["actions"]) == [
        ("hasher", "create"), ("redis", "create"), ("rng", "create"), ("webui", "create"), ("worker", "create")]
    stored = {(k, n): o for (k, n), o in api.objects.items() if k != "Pod"}
    secrets = {("Secret", n) for service in model.services.values() for n in service.secrets}
    assert sorted(stored) == sorted({
        ("DaemonSet", "rng"), ("Deployment", "hasher"), ("Deployment", "redis"), ("Deployment", "webui"),
        ("Deployment", "worker"), ("NetworkPolicy", "coinminer-default-deny"), ("NetworkPolicy", "hasher"),
        ("NetworkPolicy", "redis"), ("NetworkPolicy", "rng"), ("NetworkPolicy", "webui"), ("NetworkPolicy", "worker"),
        ("PersistentVolumeClaim", "redis-data"), ("Service", "hasher"),
        ("Service", "redis"), ("Service", "rng"), ("Service", "webui"), ("Service", "worker")} | secrets)
    posted = {b["metadata"]["name"] + "/" + b["kind"]: b for m, _, b in api.requests if m == "POST"}
    for obj in app_k8s.render(model, NS):
        assert posted[obj["metadata"]["name"] + "/" + obj["kind"]] == obj, "sent exactly as rendered"

    before = len(api.writes())
    again = k8s(core).apply(model, "present", wait=True, timeout=5)
    assert again == {"actions": [], "changed": False, "down": {}}
    assert len(api.writes()) == before


def test_check_mode_reports_a_new_tag_without_writing(api: AppApi, core: Any) -> None:
    k8s(core).apply(coinminer(), "present", wait=False, timeout=5)
    before = len(api.writes())
    result = k8s(core, check_mode=True).apply(coinminer(image_tag="v2"), "present", wait=True, timeout=5)
    assert result["changed"] and {a.action for a in result["actions"]} == {"update"}
    worker = next(a for a in result["actions"] if a.service == "worker")
    assert (worker.before.image, worker.after.image) == (
        "pirack/coinminer-worker:latest", "pirack/coinminer-worker:v2")
    assert len(api.writes()) == before


def test_new_tag_replaces_whole_objects_and_scale_changes_only_the_worker(api: AppApi, core: Any) -> None:
    k8s(core).apply(coinminer(), "present", wait=False, timeout=5)
    ip = api.objects[("Service", "webui")]["spec"]["clusterIP"]
    api.requests.clear()
    k8s(core).apply(coinminer(image_tag="v2"), "present", wait=True, timeout=5)
    puts = [(p, b) for m, p, b in api.requests if m == "PUT"]
    assert {p.rsplit("/", 1)[1] for p, b in puts if b["kind"] in ("Deployment", "DaemonSet")} == {
        "hasher", "redis", "rng", "webui", "worker"}
    assert all("resourceVersion" in b["metadata"] for _, b in puts)
    assert api.objects[("Deployment", "worker")]["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "pirack/coinminer-worker:v2")
    assert api.objects[("Service", "webui")]["spec"]["clusterIP"] == ip
    # Replace, not patch: a field the API server defaulted on the old object
    # is not carried over by us; the server fills it again.
    assert not any("status" in b for _, b in puts)

    api.requests.clear()
    result = k8s(core).apply(coinminer(image_tag="v2", overrides={"worker": {"replicas": 8}}), "present",
                             wait=True, timeout=5)
    assert [(a.service, a.action) for a in result["actions"]] == [("worker", "update")]
    assert api.objects[("Deployment", "worker")]["spec"]["replicas"] == 8


def test_mode_change_swaps_the_kind(api: AppApi, core: Any) -> None:
    k8s(core).apply(coinminer(), "present", wait=False, timeout=5)
    result = k8s(core).apply(coinminer(overrides={"rng": {"mode": "replicated", "replicas": 1}}),
                             "present", wait=True, timeout=5)
    assert [(a.service, a.action) for a in result["actions"]] == [("rng", "recreate")]
    assert ("DaemonSet", "rng") not in api.objects and ("Deployment", "rng") in api.objects


def test_services_left_out_of_the_spec_are_pruned_and_absent_keeps_claims(api: AppApi, core: Any) -> None:
    k8s(core).apply(coinminer(), "present", wait=False, timeout=5)
    full = coinminer()
    smaller = dataclasses.replace(full, services={n: s for n, s in full.services.items() if n != "hasher"})
    result = k8s(core).apply(smaller, "present", wait=False, timeout=5)
    assert [(a.service, a.action) for a in result["actions"]] == [("hasher", "remove")]
    assert ("Deployment", "hasher") not in api.objects and ("Service", "hasher") not in api.objects

    result = k8s(core).apply(coinminer(), "absent", wait=True, timeout=5)
    assert {a.action for a in result["actions"]} == {"remove"}
    assert result["actions"][-1].service == "redis", "the store goes after the services that write to it"
    assert sorted(k for k, _ in api.objects) == ["PersistentVolumeClaim"]
    assert k8s(core).apply(coinminer(), "absent", wait=True, timeout=5)["changed"] is False


def test_a_rollout_that_never_finishes_fails_with_the_kubelets_reason(api: AppApi, core: Any) -> None:
    api.ready = False
    ticks = iter(range(0, 1000, 5))
    with pytest.raises(AppError) as info:
        k8s(core, clock=lambda: float(next(ticks)), sleep=lambda _s: None).apply(
            coinminer(image_tag="nope"), "present", wait=True, timeout=20)
    message = str(info.value)
    assert message.startswith("rollout not complete: hasher: 0 of 1 pods available (1 updated) after 20s")
    assert "Available=False: MinimumReplicasUnavailable" in message
    assert 'pod worker-abc12: ImagePullBackOff: Back-off pulling image "pirack/coinminer-worker:nope"' in message
    assert "rng: 0 of 2 pods available" in message


def test_a_notready_board_is_named_and_not_waited_for(api: AppApi, core: Any) -> None:
    """The recorded c1-worker2 is NotReady: the DaemonSet controller counts
    the two boards that are up (the stand-in's status), so the rollout is
    done, and the answer names the board rng waits for. redis and webui
    belong on the master only; a Deployment waits for no board."""
    result = k8s(core).apply(coinminer(), "present", wait=True, timeout=5)
    assert result["down"] == {"c1-worker2": ["rng"]}
    assert [m for m, p, _ in api.requests if p.startswith("/api/v1/nodes")] == ["GET"]
    # Once it is Ready again, nothing is waiting.
    api.nodes["c1-worker2"]["status"]["conditions"] = [
        dict(c, status="True") if c["type"] == "Ready" else c for c in api.nodes["c1-worker2"]["status"]["conditions"]]
    again = k8s(core).apply(coinminer(image_tag="v2"), "present", wait=True, timeout=5)
    assert again["down"] == {}


def test_boards_down_follow_the_placement_labels() -> None:
    nodes = [{"metadata": {"name": name, "labels": labels}, "status": {"conditions": [
        {"type": "Ready", "status": ready}]}} for name, labels, ready in (
        ("m", {"pirack.role": "master", "pirack.model": "pi4"}, "Unknown"),
        ("w1", {"pirack.role": "worker", "pirack.model": "pi3bplus"}, "Unknown"),
        ("w2", {"pirack.role": "worker", "pirack.model": "pi3bplus"}, "True"),
        ("w3", {"pirack.role": "worker", "pirack.model": "pi4"}, "False"))]
    # A node k3s has just registered (its labels come with it, from config.yaml's node-label).
    nodes.append({"metadata": {"name": "new", "labels": {"pirack.role": "worker"}}, "status": {}})
    assert readiness.k8s_boards_down(nodes, {}) == ["m", "new", "w1", "w3"]
    assert readiness.k8s_boards_down(nodes, {"role": "worker"}) == ["new", "w1", "w3"]
    assert readiness.k8s_boards_down(nodes, {"role": "master"}) == ["m"]
    assert readiness.k8s_boards_down(nodes, {"role": "worker", "model": "pi3bplus"}) == ["w1"]


def test_api_errors_become_one_line(api: AppApi, core: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    k8s(core).apply(coinminer(), "present", wait=False, timeout=5)
    # Someone else changed the worker between our read and our write.
    original = api.handle

    def conflict(method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
        if method == "PUT":
            return 409, status(409, "Conflict", 'Operation cannot be fulfilled on deployments.apps "worker"')
        return original(method, path, query, body)

    monkeypatch.setattr(api, "handle", conflict)
    with pytest.raises(AppError, match=r'^Kubernetes API: 409 Operation cannot be fulfilled'):
        k8s(core).apply(coinminer(overrides={"worker": {"replicas": 3}}), "present", wait=False, timeout=5)


# ------------------------------------------------------------ network policies

OPEN = {"redis": {"allow_from": None}, "rng": {"allow_from": None}, "hasher": {"allow_from": None}}


def test_the_coin_miner_lets_only_its_users_reach_redis_rng_and_hasher() -> None:
    """Issue 13: on k3s only worker and webui reach redis, only the worker
    rng and hasher; the worker and the web UI stay open to everyone, on
    their own ports only (issue 23: the app's default-deny shuts the rest)."""
    services = coinminer().services
    assert {name: s.allow_from for name, s in services.items()} == {
        "redis": ("webui", "worker"), "rng": ("worker",), "hasher": ("worker",), "worker": None, "webui": None}
    rendered = {name: app_k8s.render_policy("coinminer", NS, name, s) for name, s in services.items()}
    assert rendered["rng"]["spec"]["ingress"] == [
        {"from": [{"podSelector": {"matchLabels": app_k8s.selector("coinminer", "worker")}}],
         "ports": [{"port": 80, "protocol": "TCP"}]}]
    assert rendered["webui"]["spec"]["ingress"] == [{"ports": [{"port": 80, "protocol": "TCP"}]}]
    assert rendered["worker"]["spec"]["ingress"] == [{"ports": [{"port": 8080, "protocol": "TCP"}]}]


def test_the_app_denies_every_pod_what_its_policies_do_not_open() -> None:
    deny = app_k8s.render(coinminer(), NS)[0]
    assert deny == {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "coinminer-default-deny", "namespace": NS,
                     "labels": {"app.kubernetes.io/part-of": "coinminer",
                                "app.kubernetes.io/managed-by": "pirack.cluster"}},
        "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "coinminer"}},
                 "policyTypes": ["Ingress"], "ingress": []}}
    # Every pod the app runs is selected by it.
    for obj in app_k8s.render(coinminer(), NS):
        if obj["kind"] in ("Deployment", "DaemonSet"):
            assert obj["spec"]["template"]["metadata"]["labels"].items() >= deny["spec"]["podSelector"][
                "matchLabels"].items()


def test_allow_from_renders_a_policy_that_admits_only_those_services_on_the_service_ports() -> None:
    redis = coinminer().services["redis"]
    assert app_k8s.render_policy("coinminer", NS, "redis", redis) == {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "redis", "namespace": NS, "labels": app_k8s.labels("coinminer", "redis")},
        "spec": {"podSelector": {"matchLabels": app_k8s.selector("coinminer", "redis")},
                 "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"podSelector": {"matchLabels": app_k8s.selector("coinminer", "webui")}},
                                       {"podSelector": {"matchLabels": app_k8s.selector("coinminer", "worker")}}],
                              "ports": [{"port": 6379, "protocol": "TCP"}]}]}}
    closed = coinminer(overrides={"redis": {"allow_from": []}}).services["redis"]
    assert app_k8s.render_policy("coinminer", NS, "redis", closed)["spec"]["ingress"] == [], "no one"
    assert app_k8s.render_policy("coinminer", NS, "redis", coinminer(overrides=OPEN).services["redis"])[
        "spec"]["ingress"] == [{"ports": [{"port": 6379, "protocol": "TCP"}]}], "everyone, on its port"


def test_pods_run_without_root_privileges_or_a_token() -> None:
    for name, service in coinminer().services.items():
        pod = app_k8s.render_workload("coinminer", NS, name, service)["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        assert [c["securityContext"] for c in pod["containers"]] == [
            {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}]


def test_policies_are_created_compared_and_removed_with_their_service(api: AppApi, core: Any) -> None:
    k8s(core).apply(coinminer(overrides=OPEN), "present", wait=False, timeout=5)
    result = k8s(core).apply(coinminer(), "present", wait=False, timeout=5)
    assert sorted((a.service, a.action) for a in result["actions"]) == [
        ("hasher", "update"), ("redis", "update"), ("rng", "update")]
    assert result["actions"][0].before.allow_from is None
    assert sorted(n for k, n in api.objects if k == "NetworkPolicy") == [
        "coinminer-default-deny", "hasher", "redis", "rng", "webui", "worker"]
    before = len(api.writes())
    assert k8s(core).apply(coinminer(), "present", wait=False, timeout=5)["changed"] is False
    assert len(api.writes()) == before, "a policy read back equal is left alone"

    fewer = {"rng": {"allow_from": None}}
    result = k8s(core).apply(coinminer(overrides=fewer), "present", wait=False, timeout=5)
    assert [(a.service, a.action) for a in result["actions"]] == [("rng", "update")]
    assert api.objects[("NetworkPolicy", "rng")]["spec"]["ingress"] == [{"ports": [{"port": 80, "protocol": "TCP"}]}]
    k8s(core).apply(coinminer(), "absent", wait=False, timeout=5)
    assert not [n for k, n in api.objects if k == "NetworkPolicy"]


def test_a_service_deployed_before_the_policies_and_security_settings_gets_them(api: AppApi, core: Any) -> None:
    """An app deployed by an earlier release: pods without securityContext,
    the web UI without a policy of its own, no default-deny. One run brings
    them all; the next changes nothing."""
    k8s(core).apply(coinminer(), "present", wait=False, timeout=5)
    for kind, name in list(api.objects):
        obj = api.objects[(kind, name)]
        if kind in ("Deployment", "DaemonSet"):
            pod = obj["spec"]["template"]["spec"]
            del pod["automountServiceAccountToken"], pod["securityContext"]
            del pod["containers"][0]["securityContext"]
        if kind == "NetworkPolicy" and name in ("webui", "coinminer-default-deny"):
            del api.objects[(kind, name)]
    result = k8s(core).apply(coinminer(), "present", wait=False, timeout=5)
    assert sorted((a.service, a.action) for a in result["actions"]) == [
        ("hasher", "update"), ("redis", "update"), ("rng", "update"), ("webui", "update"), ("worker", "update")]
    assert {a.why for a in result["actions"]} == {app_k8s.NOT_HARDENED}
    assert ("NetworkPolicy", "coinminer-default-deny") in api.objects and ("NetworkPolicy", "webui") in api.objects
    assert k8s(core).apply(coinminer(), "present", wait=False, timeout=5)["changed"] is False


# ------------------------------------------------------------------- secrets


def with_password(value: str, **kwargs: Any) -> App:
    return coinminer(overrides={"redis": {"secrets": ["redis-password"]}, "worker": {"secrets": ["redis-password"]}},
                     secrets={"redis-password": value}, **kwargs)


def test_a_secret_is_a_file_from_a_mounted_secret_and_never_an_env_var() -> None:
    redis = with_password("s3cret").services["redis"]
    workload = app_k8s.render_workload("coinminer", NS, "redis", redis)
    pod = workload["spec"]["template"]["spec"]
    assert pod["volumes"][-1] == {"name": "pirack-secrets", "projected": {"defaultMode": 0o444, "sources": [
        {"secret": {"name": "redis-password", "items": [{"key": "redis-password", "path": "redis-password"}]}}]}}
    assert pod["containers"][0]["volumeMounts"][-1] == {"name": "pirack-secrets", "mountPath": "/run/secrets",
                                                        "readOnly": True}
    assert "s3cret" not in str(workload)
    assert app_k8s.read_service(workload, app_k8s.render_service("coinminer", NS, "redis", redis), {
        "redis-data": app_k8s.render_claims("coinminer", NS, "redis", redis)[0]},
        app_k8s.render_policy("coinminer", NS, "redis", redis)) == redis
    assert app_k8s.render_secret("coinminer", NS, "redis-password", "s3cret")["data"] == {
        "redis-password": "czNjcmV0"}


def test_secrets_are_written_rolled_on_a_new_value_and_removed_with_the_app(api: AppApi, core: Any) -> None:
    def driver(value: str) -> app_k8s.K8sDriver:
        return k8s(core, secrets={"redis-password": value})

    driver("s3cret").apply(with_password("s3cret"), "present", wait=True, timeout=5)
    assert api.objects[("Secret", "redis-password")]["data"] == {"redis-password": "czNjcmV0"}
    before = len(api.writes())
    assert driver("s3cret").apply(with_password("s3cret"), "present", wait=True, timeout=5)["changed"] is False
    assert len(api.writes()) == before
    result = driver("n3w").apply(with_password("n3w"), "present", wait=True, timeout=5)
    users = sorted(n for n, s in with_password("n3w").services.items() if s.secrets)
    assert sorted((a.service, a.action) for a in result["actions"]) == [(n, "update") for n in users]
    assert {"redis", "worker"} <= set(users)
    assert api.objects[("Secret", "redis-password")]["data"] == {"redis-password": "bjN3"}
    no_secrets = {n: {"secrets": []} for n in ("hasher", "redis", "rng", "webui", "worker")}
    driver("n3w").apply(coinminer(overrides=no_secrets), "present", wait=True, timeout=5)
    assert ("Secret", "redis-password") not in api.objects, "no service names it any more"
    driver("n3w").apply(with_password("n3w"), "present", wait=True, timeout=5)
    driver("n3w").apply(with_password("n3w"), "absent", wait=True, timeout=5)
    assert sorted(k for k, _ in api.objects) == ["PersistentVolumeClaim"]


def test_the_benchmark_probes_rng_and_hasher_from_their_own_node() -> None:
    """The sweep probes rng and hasher at 127.0.0.1 on the master while the
    shipped NetworkPolicies admit only the worker: that works because a
    NetworkPolicy always admits traffic from the pod's own node, so each
    probed service must keep a pod on the master (pinned there, or global)."""
    tasks = yaml.safe_load((ROOT / "roles" / "benchmark" / "tasks" / "sweep_point.yml").read_text())
    deploy = next(t for t in tasks if t["name"] == "Deploy the coin-miner for this point")["vars"]
    probe = next(t for t in tasks if "pirack.cluster.benchmark_probe" in t)["pirack.cluster.benchmark_probe"]
    assert sorted(probe["targets"]) == ["hasher", "rng"]
    assert all(t["url"].startswith("http://127.0.0.1:") for t in probe["targets"].values())
    assert deploy["benchmark_rng_single"]["placement"] == {"role": "master"}
    assert "else {'mode': 'global'}" in deploy["coinminer_overrides"]["rng"], "the other layout runs rng everywhere"
    assert deploy["coinminer_overrides"]["hasher"]["placement"] == {"role": "master"}
    assert coinminer().services["rng"].allow_from == coinminer().services["hasher"].allow_from == ("worker",)
