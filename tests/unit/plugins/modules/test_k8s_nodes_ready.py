"""k8s_nodes_ready: waits, and says which node and which condition on failure."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from ansible_collections.pirack.cluster.plugins.modules import k8s_nodes_ready
from fake_api import FakeApi, run_module


def test_ready_nodes_return_at_once(api: FakeApi, tmp_path: Path, capsys) -> None:
    result = run_module(k8s_nodes_ready.main, {
        "kubeconfig": str(api.kubeconfig(tmp_path)), "name": ["c1-master", "c1-worker1"],
        "timeout": 10}, capsys)
    assert "failed" not in result
    assert result["changed"] is False
    assert [n["name"] for n in result["nodes"]] == ["c1-master", "c1-worker1"]
    assert len(api.calls("GET")) == 1


def test_timeout_message_names_nodes_and_conditions(api: FakeApi, tmp_path: Path, capsys) -> None:
    result = run_module(k8s_nodes_ready.main, {
        "kubeconfig": str(api.kubeconfig(tmp_path)), "name": ["c1-master", "c1-worker2", "c1-worker3"],
        "timeout": 1, "sleep": 1}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(
        "2 of 3 nodes not Ready after 1s - c1-worker2: Ready=False (KubeletNotReady")
    assert "c1-worker3: not registered with the API server" in result["msg"]
    assert set(result["not_ready"]) == {"c1-worker2", "c1-worker3"}


def test_waits_until_a_node_turns_ready(api: FakeApi, tmp_path: Path, capsys) -> None:
    def turn_ready() -> None:
        with api.lock:
            for cond in api.nodes["c1-worker2"]["status"]["conditions"]:
                if cond["type"] == "Ready":
                    cond["status"] = "True"

    timer = threading.Timer(1.2, turn_ready)
    timer.start()
    result = run_module(k8s_nodes_ready.main, {
        "kubeconfig": str(api.kubeconfig(tmp_path)), "name": ["c1-worker2"],
        "timeout": 20, "sleep": 1}, capsys)
    timer.join()
    assert "failed" not in result
    assert result["nodes"][0]["ready"] is True
    assert len(api.calls("GET")) >= 2


def test_bad_arguments_are_refused(api: FakeApi, tmp_path: Path, capsys) -> None:
    result = run_module(k8s_nodes_ready.main, {
        "kubeconfig": str(api.kubeconfig(tmp_path)), "name": ["x"], "sleep": 0}, capsys)
    assert result["failed"] is True and "sleep" in result["msg"]
    result = run_module(k8s_nodes_ready.main, {"kubeconfig": str(api.kubeconfig(tmp_path))}, capsys)
    assert result["failed"] is True and "name" in result["msg"]


def test_an_api_that_stays_down_is_named_when_giving_up(tmp_path: Path, capsys) -> None:
    with FakeApi() as dead:
        path = dead.kubeconfig(tmp_path)
    result = run_module(k8s_nodes_ready.main, {"kubeconfig": str(path), "name": ["c1-worker1", "c1-worker2"],
                                               "timeout": 1, "sleep": 1}, capsys)
    assert result["msg"] == (
        f"gave up waiting for 2 nodes to be Ready after 1s: listing nodes failed: cannot reach the API server "
        f"{dead.url} (kubeconfig {path}): connection refused (is k3s running there, and is the port right?)")


def test_tls_failure_is_not_waited_for(api: FakeApi, tmp_path: Path, capsys) -> None:
    path = api.kubeconfig(tmp_path)
    path.write_text(path.read_text().replace("http://", "https://"))
    result = run_module(k8s_nodes_ready.main, {"kubeconfig": str(path), "name": ["c1-worker1"],
                                               "timeout": 600}, capsys)
    assert "TLS handshake failed" in result["msg"]


def test_an_api_answering_5xx_is_waited_for(api: FakeApi, tmp_path: Path, capsys) -> None:
    api.raw["/api/v1/nodes"] = (503, "text/plain", b"starting")
    threading.Timer(1.2, api.raw.clear).start()
    result = run_module(k8s_nodes_ready.main, {"kubeconfig": str(api.kubeconfig(tmp_path)),
                                               "name": ["c1-worker1"], "timeout": 20, "sleep": 1}, capsys)
    assert "failed" not in result
    assert [n["name"] for n in result["nodes"]] == ["c1-worker1"]


@pytest.mark.parametrize(("extra", "message"), [
    ({"name": []}, "name must list at least one node"),
    ({"name": ["c1-worker1", "C1 Worker2"]}, "name[] must be a node name"),
    ({"sleep": 0}, "sleep must be a whole number of seconds from 1 to 3600, got 0"),
    ({"timeout": -1}, "timeout must be a whole number of seconds from 0 to 86400, got -1"),
])
def test_bad_options_fail_before_any_request(api: FakeApi, tmp_path: Path, capsys, extra: dict,
                                             message: str) -> None:
    args = {"kubeconfig": str(api.kubeconfig(tmp_path)), "name": ["c1-worker1"], **extra}
    result = run_module(k8s_nodes_ready.main, args, capsys)
    assert message in result["msg"]
    assert api.requests == []
