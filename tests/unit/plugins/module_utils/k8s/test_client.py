"""Kubeconfig handling: env fallback and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.pirack.cluster.plugins.module_utils import errors
from ansible_collections.pirack.cluster.plugins.module_utils.k8s import client


def test_kubeconfig_and_context_fall_back_to_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", "/tmp/pirack-cluster2.yaml")
    monkeypatch.setenv("K8S_AUTH_CONTEXT", "pirack-cluster2")
    params = ArgumentSpecValidator(client.k8s_argument_spec()).validate({}).validated_parameters
    assert params["kubeconfig"] == "/tmp/pirack-cluster2.yaml"
    assert params["context"] == "pirack-cluster2"
    assert params["request_timeout"] == 30


def test_spec_is_a_fresh_copy() -> None:
    spec = client.k8s_argument_spec(name={"type": "str"})
    spec["request_timeout"]["default"] = 1
    assert client.k8s_argument_spec()["request_timeout"]["default"] == 30
    assert "name" not in client.k8s_argument_spec()


def test_missing_kubeconfig_is_one_line_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "pirack-cluster9.yaml"
    with pytest.raises(errors.K8sClientError) as err:
        client.connect(str(missing), None)
    assert str(missing) in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_context_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters: [{name: a, cluster: {server: 'http://x'}}]\n"
        "users: [{name: a, user: {}}]\ncontexts: [{name: a, context: {cluster: a, user: a}}]\n")
    with pytest.raises(errors.K8sClientError) as err:
        client.connect(str(path), "pirack-nope")
    assert "pirack-nope" in str(err.value)


def test_api_error_text_uses_the_status_message() -> None:
    exc = client.ApiException(status=429, reason="Too Many Requests")
    exc.body = ('{"kind":"Status","message":'
                '"Cannot evict pod as it would violate the pod\'s disruption budget."}')
    assert client.api_error_text(exc) == (
        "429 Cannot evict pod as it would violate the pod's disruption budget.")
    plain = client.ApiException(status=503, reason="Service Unavailable")
    assert client.api_error_text(plain) == "503 Service Unavailable"


@pytest.mark.parametrize(("content", "expected"), [
    (b"{{{ not: yaml: [", "it is not valid YAML (line 1, column "),
    (b"clusters:\n\t- name: a\n", "it is not valid YAML (line 2, column 1: found character '\\t'"),
    (b"- just\n- a list\n", "it is not a kubeconfig (a YAML mapping with clusters, contexts and users), but a list"),
    (b"\xff\xfe\x00k", "it is not UTF-8 text"),
    (b"clusters: {a: 1}\n", "clusters must be a list, got a dict"),
    (b"clusters: [a]\n", "clusters[0] must be a mapping with a name"),
    (b"users: [{name: a, user: [1]}]\n", "users[0].user must be a mapping"),
])
def test_a_kubeconfig_that_is_not_one_is_one_line_naming_the_file(
        tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "pirack-cluster1.yaml"
    path.write_bytes(content)
    with pytest.raises(errors.K8sClientError) as err:
        client.connect(str(path), None)
    assert str(err.value).startswith(f"cannot load kubeconfig {path}: ")
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_a_directory_as_kubeconfig(tmp_path: Path) -> None:
    with pytest.raises(errors.K8sClientError, match=f"cannot load kubeconfig {tmp_path}: Is a directory"):
        client.connect(str(tmp_path), None)


@pytest.mark.parametrize("timeout", [0, -1, 3601, 10 ** 40, True, "30"])
def test_request_timeout_outside_one_to_3600_seconds(timeout: object) -> None:
    assert client.auth_problems({"request_timeout": timeout}) == [
        f"request_timeout must be a whole number of seconds from 1 to 3600, got {timeout!r}"]


def test_request_timeout_in_range() -> None:
    assert client.auth_problems({"request_timeout": 1}) == []
    assert client.auth_problems({"request_timeout": 3600}) == []


def test_tls_failure_is_named(api, tmp_path: Path) -> None:
    """A kubeconfig saying https to a server speaking plain HTTP: the handshake fails."""
    path = api.kubeconfig(tmp_path)
    path.write_text(path.read_text().replace("http://", "https://"))
    core = client.connect(str(path), None)
    with pytest.raises(client.API_ERRORS) as err:
        core.list_node(_request_timeout=5)
    assert client.api_error_text(err.value).startswith("TLS handshake failed: ")
    assert client.is_tls_error(err.value)


def test_a_silent_server_is_a_timeout(api, tmp_path: Path) -> None:
    api.stall = 2
    core = client.connect(str(api.kubeconfig(tmp_path)), None)
    with pytest.raises(client.API_ERRORS) as err:
        core.list_node(_request_timeout=0.3)
    assert client.api_error_text(err.value) == "no answer in time (timed out)"
    assert not client.is_tls_error(err.value)


def test_server_text_names_address_and_file(api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = api.kubeconfig(tmp_path)
    core = client.connect(str(path), None)
    assert client.server_text(core, str(path)) == f"the API server {api.url} (kubeconfig {path})"
    monkeypatch.setenv("KUBECONFIG", "/etc/rancher/k3s/k3s.yaml")
    assert client.server_text(core, None).endswith("(kubeconfig /etc/rancher/k3s/k3s.yaml)")
