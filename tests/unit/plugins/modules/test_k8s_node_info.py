"""k8s_node_info against a local server answering like the API server."""

from __future__ import annotations

from pathlib import Path

from ansible_collections.pirack.cluster.plugins.modules import k8s_node_info
from fake_api import FakeApi, run_module


def test_lists_all_nodes_sorted_and_unchanged(api: FakeApi, tmp_path: Path, capsys) -> None:
    result = run_module(k8s_node_info.main, {"kubeconfig": str(api.kubeconfig(tmp_path))}, capsys)
    assert result["changed"] is False
    assert [n["name"] for n in result["nodes"]] == ["c1-master", "c1-worker1", "c1-worker2"]
    worker2 = result["nodes"][2]
    assert worker2["ready"] is False and worker2["architecture"] == "arm"
    assert worker2["k3s_version"] == "v1.31.4+k3s1"


def test_names_filter_and_missing(api: FakeApi, tmp_path: Path, capsys) -> None:
    result = run_module(k8s_node_info.main, {
        "kubeconfig": str(api.kubeconfig(tmp_path)), "name": ["c1-worker1", "c1-worker5"],
        "_ansible_check_mode": True}, capsys)
    assert [n["name"] for n in result["nodes"]] == ["c1-worker1"]
    assert result["missing"] == ["c1-worker5"]


def test_kubeconfig_from_env_and_context(api: FakeApi, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", str(api.kubeconfig(tmp_path, context="pirack-cluster2")))
    result = run_module(k8s_node_info.main, {"context": "pirack-cluster2",
                                             "label_selector": "pirack.io/pi-model=pi4"}, capsys)
    assert [n["name"] for n in result["nodes"]] == ["c1-master"]


def test_unreachable_api_fails_naming_server_and_kubeconfig(tmp_path: Path, capsys) -> None:
    with FakeApi() as dead:
        path = dead.kubeconfig(tmp_path)
    result = run_module(k8s_node_info.main, {"kubeconfig": str(path), "request_timeout": 2}, capsys)
    assert result["failed"] is True
    assert result["msg"] == (f"listing nodes failed: cannot reach the API server {dead.url} (kubeconfig {path}): "
                             "connection refused (is k3s running there, and is the port right?)")
