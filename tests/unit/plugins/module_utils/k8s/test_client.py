"""Kubeconfig handling: env fallback and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
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
    with pytest.raises(client.K8sClientError) as err:
        client.connect(str(missing), None)
    assert str(missing) in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_context_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters: [{name: a, cluster: {server: 'http://x'}}]\n"
        "users: [{name: a, user: {}}]\ncontexts: [{name: a, context: {cluster: a, user: a}}]\n")
    with pytest.raises(client.K8sClientError) as err:
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
