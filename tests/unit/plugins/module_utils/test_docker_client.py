"""Client creation: option spec, env fallback and the one-line failure."""

from __future__ import annotations

import os
import socket
import tempfile

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.pirack.cluster.plugins.module_utils import docker_client, errors


def test_spec_is_a_fresh_copy_with_extra_options() -> None:
    spec = docker_client.docker_argument_spec(name={"type": "str"})
    assert set(spec) == {"docker_host", "timeout", "name"}
    spec["docker_host"]["default"] = "changed"
    assert docker_client.docker_argument_spec()["docker_host"]["default"] == docker_client.DEFAULT_DOCKER_HOST


def test_docker_host_env_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.1:2376")
    monkeypatch.setenv("DOCKER_TIMEOUT", "7")
    result = ArgumentSpecValidator(docker_client.docker_argument_spec()).validate({})
    assert result.error_messages == []
    assert result.validated_parameters["docker_host"] == "tcp://10.0.0.1:2376"
    assert result.validated_parameters["timeout"] == 7


def test_defaults_without_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_TIMEOUT", raising=False)
    params = ArgumentSpecValidator(docker_client.docker_argument_spec()).validate({}).validated_parameters
    assert params["docker_host"] == "unix:///var/run/docker.sock"
    assert params["timeout"] == 60


def test_exception_text_reaches_the_root_cause() -> None:
    try:
        try:
            raise FileNotFoundError(2, "No such file or directory")
        except FileNotFoundError as inner:
            raise RuntimeError("Error while fetching server API version:\n  connection aborted") from inner
    except RuntimeError as exc:
        text = errors.exception_text(exc)
    assert "\n" not in text
    assert "No such file or directory" in text
    assert text.startswith("Error while fetching server API version: connection aborted")


def test_connect_to_a_missing_socket_is_one_readable_line() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        address = f"unix://{os.path.join(tmp, 'nothing.sock')}"
        with pytest.raises(errors.DockerConnectError) as err:
            docker_client.connect(address, timeout=2)
    message = str(err.value)
    assert "\n" not in message
    assert address in message
    assert "No such file or directory" in message


def test_connect_to_a_socket_that_never_speaks_http_fails_cleanly() -> None:
    """A listener that accepts and closes must not hang or leak a traceback."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mute.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        try:
            with pytest.raises(errors.DockerConnectError) as err:
                docker_client.connect(f"unix://{path}", timeout=1)
        finally:
            server.close()
    assert "no Docker engine answers" in str(err.value)


class _FailingModule:
    def __init__(self, params: dict) -> None:
        self.params = params

    def fail_json(self, **kwargs: object) -> None:
        raise SystemExit(kwargs)


def test_client_from_module_fails_the_module_with_the_address() -> None:
    module = _FailingModule({"docker_host": "unix:///nonexistent/docker.sock", "timeout": 2})
    with pytest.raises(SystemExit) as exit_info:
        docker_client.client_from_module(module)
    payload = exit_info.value.args[0]
    assert "unix:///nonexistent/docker.sock" in payload["msg"]
