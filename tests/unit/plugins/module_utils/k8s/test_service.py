"""Node service: pure logic on recorded API JSON, and the real client against
a local server that answers like the API server (429 for PDB-blocked evictions)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.k8s import client, service
from fake_api import FakeApi, load


@pytest.fixture
def nodes_service(api: FakeApi, tmp_path: Path) -> service.NodeService:
    return service.NodeService(client.connect(str(api.kubeconfig(tmp_path)), None), 5)


def test_summary_of_a_pi_master() -> None:
    master = load("nodes.json")["items"][0]
    summary = service.node_summary(master)
    assert summary["name"] == "c1-master"
    assert summary["ready"] is True
    assert summary["roles"] == ["control-plane", "master"]
    assert summary["architecture"] == "arm64"
    assert summary["k3s_version"] == "v1.31.4+k3s1"
    assert summary["labels"]["pirack.io/pi-model"] == "pi4"
    assert summary["capacity"]["memory"] == "3884196Ki"
    assert summary["addresses"]["InternalIP"] == "10.99.3.10"
    assert summary["unschedulable"] is False


def test_k3s_version_is_none_for_another_distribution() -> None:
    node = load("nodes.json")["items"][1]
    node["status"]["nodeInfo"]["kubeletVersion"] = "v1.31.4"
    assert service.node_summary(node)["k3s_version"] is None


def test_readiness_problems_name_node_and_condition() -> None:
    items = load("nodes.json")["items"]
    problems = service.readiness_problems(items, ["c1-master", "c1-worker2", "c1-worker9"])
    assert set(problems) == {"c1-worker2", "c1-worker9"}
    assert problems["c1-worker9"] == "not registered with the API server"
    assert problems["c1-worker2"].startswith("Ready=False (KubeletNotReady: container runtime network")


def test_labels_add_change_and_remove() -> None:
    node = load("nodes.json")["items"][1]
    before, after = service.desired_node_state(
        node, {"pirack.io/pi-model": "pi3bplus", "pirack.io/rack-slot": 1,
               "pirack.io/cluster": None, "absent-already": None}, None, None)
    patch = service.node_patch(before, after)
    assert patch == {"metadata": {"labels": {"pirack.io/rack-slot": "1", "pirack.io/cluster": None}}}


def test_nothing_to_do_gives_an_empty_patch() -> None:
    node = load("nodes.json")["items"][1]
    before, after = service.desired_node_state(node, {"pirack.io/pi-model": "pi3bplus"}, None, True)
    assert before == after
    assert service.node_patch(before, after) == {}


def test_taints_are_matched_by_key_and_effect_and_keep_time_added() -> None:
    node = load("nodes.json")["items"][0]
    node["spec"]["taints"] = [
        {"key": "node.kubernetes.io/maintenance", "effect": "NoExecute", "timeAdded": "2025-01-10T09:00:00Z"},
        {"key": "old", "value": "x", "effect": "NoSchedule"},
    ]
    same, _ = service.desired_node_state(node, None, None, None)
    before, after = service.desired_node_state(node, None, [
        {"key": "node.kubernetes.io/maintenance", "value": None, "effect": "NoExecute", "state": "present"},
        {"key": "old", "value": None, "effect": "NoSchedule", "state": "absent"},
        {"key": "dedicated", "value": "coinminer", "effect": "NoSchedule", "state": "present"},
    ], None)
    assert before == same
    patch = service.node_patch(before, after)
    assert patch == {"spec": {"taints": [
        {"key": "dedicated", "value": "coinminer", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/maintenance", "effect": "NoExecute", "timeAdded": "2025-01-10T09:00:00Z"},
    ]}}


def test_cordon_and_uncordon() -> None:
    node = load("nodes.json")["items"][1]
    before, after = service.desired_node_state(node, None, None, False)
    assert service.node_patch(before, after) == {"spec": {"unschedulable": True}}
    node["spec"]["unschedulable"] = True
    before, after = service.desired_node_state(node, None, None, True)
    assert service.node_patch(before, after) == {"spec": {"unschedulable": False}}


def test_drain_plan_like_kubectl() -> None:
    pods = load("pods.json")["items"]
    evict, skipped, blockers = service.drain_plan(pods, True, False, False)
    assert [service.pod_ref(p) for p in evict] == [
        "dockercoins/worker-7d9f-abcde", "dockercoins/redis-5c8b-fghij"]
    assert skipped == ["kube-system/svclb-webui-xyz12 (DaemonSet)"]
    assert blockers == ["dockercoins/hasher-66c4-klmno uses emptyDir data that would be lost "
                        "(set delete_emptydir_data)"]
    _, _, blockers = service.drain_plan(pods, False, True, False)
    assert blockers == ["kube-system/svclb-webui-xyz12 is managed by a DaemonSet (set ignore_daemonsets)"]


def test_drain_plan_unmanaged_and_static_pods() -> None:
    pod = load("pods.json")["items"][0]
    del pod["metadata"]["ownerReferences"]
    assert service.drain_plan([pod], True, False, False)[2] == [
        "dockercoins/worker-7d9f-abcde has no controller and would be lost (set force)"]
    assert service.drain_plan([pod], True, False, True)[0] == [pod]
    pod["metadata"]["annotations"] = {service.MIRROR_ANNOTATION: "x"}
    assert service.drain_plan([pod], True, False, True)[1] == ["dockercoins/worker-7d9f-abcde (static pod)"]


def test_list_get_and_missing_node(nodes_service: service.NodeService, api: FakeApi) -> None:
    names = [n["metadata"]["name"] for n in nodes_service.list_nodes()]
    assert names == ["c1-master", "c1-worker1", "c1-worker2"]
    only = nodes_service.list_nodes("pirack.io/pi-model=pi4")
    assert [n["metadata"]["name"] for n in only] == ["c1-master"]
    assert api.requests[-1][1] == "/api/v1/nodes?labelSelector=pirack.io/pi-model%3Dpi4"
    assert nodes_service.get_node("c1-worker1")["status"]["nodeInfo"]["architecture"] == "arm64"
    assert nodes_service.get_node("nope") is None


def test_patch_is_sent_as_json_and_applied(nodes_service: service.NodeService, api: FakeApi) -> None:
    node = nodes_service.patch_node("c1-worker1", {"metadata": {"labels": {"pirack.io/cluster": None}}})
    assert "pirack.io/cluster" not in node["metadata"]["labels"]
    assert api.calls("PATCH") == [("PATCH", "/api/v1/nodes/c1-worker1",
                                   {"metadata": {"labels": {"pirack.io/cluster": None}}})]


def test_drain_retries_evictions_a_budget_refuses(nodes_service: service.NodeService, api: FakeApi) -> None:
    api.evictions["redis-5c8b-fghij"] = [429, 429, 201]
    api.linger["worker-7d9f-abcde"] = 1
    result = nodes_service.drain("c1-worker1", timeout=30, sleep=0.01, delete_emptydir_data=True)
    assert result["evicted"] == ["dockercoins/hasher-66c4-klmno", "dockercoins/redis-5c8b-fghij",
                                 "dockercoins/worker-7d9f-abcde"]
    assert result["skipped"] == ["kube-system/svclb-webui-xyz12 (DaemonSet)"]
    posts = [r[1] for r in api.calls("POST")]
    assert posts.count("/api/v1/namespaces/dockercoins/pods/redis-5c8b-fghij/eviction") == 3
    assert posts.count("/api/v1/namespaces/dockercoins/pods/worker-7d9f-abcde/eviction") == 1
    body = api.calls("POST")[0][2]
    assert body["kind"] == "Eviction" and body["apiVersion"] == "policy/v1"


def test_drain_times_out_naming_the_blocked_pod_and_budget(
        nodes_service: service.NodeService, api: FakeApi) -> None:
    api.evictions["redis-5c8b-fghij"] = [429]
    with pytest.raises(service.NodeError) as err:
        nodes_service.drain("c1-worker1", timeout=0.2, sleep=0.05, delete_emptydir_data=True)
    message = str(err.value)
    assert message.startswith("draining node c1-worker1 timed out after")
    assert ("dockercoins/redis-5c8b-fghij (eviction refused: 429 Cannot evict pod as it would violate"
            in message)
    assert "worker-7d9f" not in message


def test_drain_refuses_before_evicting_anything(nodes_service: service.NodeService, api: FakeApi) -> None:
    with pytest.raises(service.NodeError, match="hasher-66c4-klmno uses emptyDir"):
        nodes_service.drain("c1-worker1", timeout=5, sleep=0.01)
    assert api.calls("POST") == []
