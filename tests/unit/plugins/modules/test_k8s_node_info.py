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
                                             "label_selector": "pirack.model=pi4"}, capsys)
    assert [n["name"] for n in result["nodes"]] == ["c1-master"]


def test_unreachable_api_fails_naming_server_and_kubeconfig(tmp_path: Path, capsys) -> None:
    with FakeApi() as dead:
        path = dead.kubeconfig(tmp_path)
    result = run_module(k8s_node_info.main, {"kubeconfig": str(path), "request_timeout": 2}, capsys)
    assert result["failed"] is True
    assert result["msg"] == (f"listing nodes failed: cannot reach the API server {dead.url} (kubeconfig {path}): "
                             "connection refused (is k3s running there, and is the port right?)")


def test_a_kubeconfig_that_is_not_yaml_fails_in_one_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "pirack-cluster1.yaml"
    path.write_text("{{{ not: yaml: [")
    result = run_module(k8s_node_info.main, {"kubeconfig": str(path)}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(f"cannot load kubeconfig {path}: it is not valid YAML (line 1, column ")
    assert "\n" not in result["msg"]


def test_request_timeout_zero_names_the_option(api: FakeApi, tmp_path: Path, capsys) -> None:
    result = run_module(k8s_node_info.main, {"kubeconfig": str(api.kubeconfig(tmp_path)),
                                             "request_timeout": 0}, capsys)
    assert result["msg"] == "request_timeout must be a whole number of seconds from 1 to 3600, got 0"
    assert api.requests == []


def test_an_html_page_instead_of_the_api_fails_in_one_line(api: FakeApi, tmp_path: Path, capsys) -> None:
    """What a captive portal or a reverse proxy in front of the wrong port answers."""
    path = api.kubeconfig(tmp_path)
    api.raw["/api/v1/nodes"] = (200, "text/html", b"<!DOCTYPE html>\n<title>Login</title>")
    result = run_module(k8s_node_info.main, {"kubeconfig": str(path)}, capsys)
    assert result["msg"] == (f"listing nodes failed: the API server {api.url} (kubeconfig {path}) answered "
                             "something that is not JSON (text/html: '<!DOCTYPE html> <title>Login</title>')")


def test_a_cut_off_json_answer_fails_in_one_line(api: FakeApi, tmp_path: Path, capsys) -> None:
    api.raw["/api/v1/nodes"] = (200, "application/json", b'{"kind": "NodeList", "items": [{"metadata": {')
    result = run_module(k8s_node_info.main, {"kubeconfig": str(api.kubeconfig(tmp_path))}, capsys)
    assert result["failed"] is True
    assert "answered something that is not JSON (application/json" in result["msg"]


def test_tls_failure_names_server_and_kubeconfig(api: FakeApi, tmp_path: Path, capsys) -> None:
    path = api.kubeconfig(tmp_path)
    path.write_text(path.read_text().replace("http://", "https://"))
    result = run_module(k8s_node_info.main, {"kubeconfig": str(path)}, capsys)
    https = api.url.replace("http://", "https://")
    assert result["msg"].startswith(f"listing nodes failed: cannot reach the API server {https} "
                                    f"(kubeconfig {path}): TLS handshake failed: ")


def test_a_server_that_never_answers_times_out_in_one_line(api: FakeApi, tmp_path: Path, capsys) -> None:
    api.stall = 3
    path = api.kubeconfig(tmp_path)
    result = run_module(k8s_node_info.main, {"kubeconfig": str(path), "request_timeout": 1}, capsys)
    assert result["msg"] == (f"listing nodes failed: cannot reach the API server {api.url} (kubeconfig {path}): "
                             "no answer in time (timed out)")
    # Asked once: request_timeout is the wait, not a quarter of it.
    assert len(api.calls("GET")) == 1
