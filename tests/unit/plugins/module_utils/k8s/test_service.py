"""Node service: pure logic on recorded API JSON, and the real client against
a local server that answers like the API server (429 for PDB-blocked evictions)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils import errors
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
    assert summary["labels"]["pirack.model"] == "pi4"
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
        node, {"pirack.model": "pi3bplus", "pirack.rack-position": 1,
               "pirack.cluster": None, "absent-already": None}, None, None)
    patch = service.node_patch(before, after)
    assert patch == {"metadata": {"labels": {"pirack.rack-position": "1", "pirack.cluster": None}}}


def test_nothing_to_do_gives_an_empty_patch() -> None:
    node = load("nodes.json")["items"][1]
    before, after = service.desired_node_state(node, {"pirack.model": "pi3bplus"}, None, "uncordon")
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
    before, after = service.desired_node_state(node, None, None, "cordon")
    assert service.node_patch(before, after) == {"spec": {"unschedulable": True}}
    node["spec"]["unschedulable"] = True
    before, after = service.desired_node_state(node, None, None, "uncordon")
    assert service.node_patch(before, after) == {"spec": {"unschedulable": False}}


MARK = {service.CORDON_MARK: service.CORDON_OWNER}


@pytest.mark.parametrize(("unschedulable", "mark", "request_", "expected"), [
    # A drain cordons and marks a schedulable node, and keeps its own mark.
    (False, None, "drain", (True, "pirack.cluster")),
    (True, "pirack.cluster", "drain", (True, "pirack.cluster")),
    # Someone else's cordon stays theirs: drained, but not marked.
    (True, None, "drain", (True, None)),
    # Undrain lifts only our own cordon; a stale mark goes too.
    (True, "pirack.cluster", "undrain", (False, None)),
    (False, "pirack.cluster", "undrain", (False, None)),
    (True, None, "undrain", (True, None)),
    (True, "someone", "undrain", (True, "someone")),
    (False, None, "undrain", (False, None)),
    # The schedulable option is an explicit choice: our mark is dropped.
    (True, "pirack.cluster", "cordon", (True, None)),
    (True, "pirack.cluster", "uncordon", (False, None)),
    (True, "someone", "uncordon", (False, "someone")),
    (True, "pirack.cluster", None, (True, "pirack.cluster")),
])
def test_cordon_rules(unschedulable: bool, mark: str, request_: str, expected: tuple) -> None:
    assert service.cordon_after(unschedulable, mark, request_) == expected


def test_drain_marks_the_cordon_in_the_same_patch_and_undrain_lifts_it() -> None:
    node = load("nodes.json")["items"][1]
    before, after = service.desired_node_state(node, None, None, "drain")
    assert service.node_patch(before, after) == {"metadata": {"annotations": MARK},
                                                 "spec": {"unschedulable": True}}
    node["spec"]["unschedulable"] = True
    node["metadata"]["annotations"] = dict(MARK)
    before, after = service.desired_node_state(node, None, None, "undrain")
    assert service.node_patch(before, after) == {"metadata": {"annotations": {service.CORDON_MARK: None}},
                                                 "spec": {"unschedulable": False}}
    assert service.node_summary(node)["cordoned_by"] == "pirack.cluster"


def test_an_operators_cordon_is_neither_marked_nor_lifted() -> None:
    node = load("nodes.json")["items"][1]
    node["spec"]["unschedulable"] = True
    for request_ in ("drain", "undrain"):
        before, after = service.desired_node_state(node, None, None, request_)
        assert service.node_patch(before, after) == {}
        assert after["cordoned_by"] is None


def test_bad_options_are_all_named_at_once() -> None:
    node = load("nodes.json")["items"][1]
    with pytest.raises(errors.NodeError) as err:
        service.desired_node_state(node, {"bad key!": "x", "ok": ["a"]},
                                   [{"key": "k", "effect": "NoWay"}], None)
    assert str(err.value) == (
        "labels: key 'bad key!' needs a name of at most 63 letters, digits, '-', '_' or '.', starting and "
        "ending with a letter or digit; labels.ok must be at most 63 letters, digits, '-', '_' or '.' "
        "(or null to remove it), got ['a']; taints[0].effect must be one of NoSchedule, PreferNoSchedule, "
        "NoExecute, got 'NoWay'")


def test_label_values_as_yaml_gives_them() -> None:
    assert [service.label_value(v) for v in (1, 1.5, True, False, "x", "", "-x", None, "a" * 64)] == [
        "1", "1.5", "true", "false", "x", "", None, None, None]


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
    only = nodes_service.list_nodes("pirack.model=pi4")
    assert [n["metadata"]["name"] for n in only] == ["c1-master"]
    assert api.requests[-1][1] == "/api/v1/nodes?labelSelector=pirack.model%3Dpi4"
    assert nodes_service.get_node("c1-worker1")["status"]["nodeInfo"]["architecture"] == "arm64"
    assert nodes_service.get_node("nope") is None


def test_patch_is_sent_as_json_and_applied(nodes_service: service.NodeService, api: FakeApi) -> None:
    node = nodes_service.patch_node("c1-worker1", {"metadata": {"labels": {"pirack.cluster": None}}})
    assert "pirack.cluster" not in node["metadata"]["labels"]
    assert api.calls("PATCH") == [("PATCH", "/api/v1/nodes/c1-worker1",
                                   {"metadata": {"labels": {"pirack.cluster": None}}})]


def test_drain_retries_evictions_a_budget_refuses(nodes_service: service.NodeService, api: FakeApi) -> None:
    api.evictions["redis-5c8b-fghij"] = [429, 429, 201]
    api.linger["worker-7d9f-abcde"] = 1
    result = nodes_service.drain("c1-worker1", timeout=30, retry_interval=0.01, delete_emptydir_data=True)
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
    with pytest.raises(errors.NodeError) as err:
        nodes_service.drain("c1-worker1", timeout=0.2, retry_interval=0.05, delete_emptydir_data=True)
    message = str(err.value)
    assert message.startswith("draining node c1-worker1 timed out after")
    assert ("dockercoins/redis-5c8b-fghij (eviction refused: 429 Cannot evict pod as it would violate"
            in message)
    assert "worker-7d9f" not in message


def test_drain_refuses_before_evicting_anything(nodes_service: service.NodeService, api: FakeApi) -> None:
    with pytest.raises(errors.NodeError, match="hasher-66c4-klmno uses emptyDir"):
        nodes_service.drain("c1-worker1", timeout=5, retry_interval=0.01)
    assert api.calls("POST") == []


@pytest.mark.parametrize(("content_type", "body", "expected"), [
    ("text/html", b"<html><body>502 Bad Gateway</body></html>",
     "answered something that is not JSON (text/html: '<html><body>502 Bad Gateway</body></html>')"),
    ("application/json", b'{"kind": "NodeList", "items": [', "answered something that is not JSON"),
    ("application/json", b"[1, 2]", "answered JSON that is not an API object (a list)"),
    ("application/json", b'{"kind": "NodeList", "items": "none"}', "answered a list without items"),
    ("application/json", b"\xff\xfe", "answered bytes that are not UTF-8 text"),
])
def test_an_answer_that_is_not_api_json_is_one_line_naming_the_server(
        nodes_service: service.NodeService, api: FakeApi, content_type: str, body: bytes, expected: str) -> None:
    api.raw["/api/v1/nodes"] = (200, content_type, body)
    with pytest.raises(errors.NodeError) as err:
        nodes_service.list_nodes()
    assert str(err.value).startswith(f"listing nodes failed: the API server {api.url} (kubeconfig ")
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_an_error_page_instead_of_a_status_keeps_the_http_reason(
        nodes_service: service.NodeService, api: FakeApi) -> None:
    api.raw["/api/v1/nodes/c1-worker1"] = (502, "text/html", b"<html>\n<h1>Bad Gateway</h1>\n</html>")
    with pytest.raises(errors.NodeError) as err:
        nodes_service.get_node("c1-worker1")
    assert str(err.value).endswith("answered 502 Bad Gateway")
    assert err.value.retryable is True


def test_a_drain_that_fails_part_way_says_what_it_evicted(
        nodes_service: service.NodeService, api: FakeApi) -> None:
    api.evictions["redis-5c8b-fghij"] = [429]
    with pytest.raises(errors.DrainError) as err:
        nodes_service.drain("c1-worker1", timeout=0.2, retry_interval=0.05, delete_emptydir_data=True)
    assert err.value.evicted == ["dockercoins/hasher-66c4-klmno", "dockercoins/worker-7d9f-abcde"]
