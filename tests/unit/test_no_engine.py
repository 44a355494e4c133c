"""The unit suite cannot reach a Docker engine, whatever a test does."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils import docker_client, errors
from modkit import run_module


def test_modules_run_from_unit_tests_find_no_engine() -> None:
    answer = run_module("docker_op", {"op": "info", "timeout": 5})
    assert answer["failed"] and "no Docker engine answers at tcp://127.0.0.1:9" in answer["msg"], answer


def test_the_docker_cli_finds_no_engine() -> None:
    try:
        proc = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        pytest.skip("no docker CLI on this machine")
    assert proc.returncode != 0 and "127.0.0.1:9" in proc.stderr + proc.stdout


def test_an_explicit_engine_socket_is_refused_in_process() -> None:
    with pytest.raises(errors.DockerConnectError, match="tests/integration"):
        docker_client.connect(docker_client.DEFAULT_DOCKER_HOST, timeout=5)


def test_asking_for_the_engine_fixture_fails(request: pytest.FixtureRequest) -> None:
    conftest = request.config.pluginmanager.get_plugin(str(Path(__file__).with_name("conftest.py")))
    item = SimpleNamespace(nodeid="tests/unit/test_x.py::test_x", fixturenames=["module_runner", "engine"])
    with pytest.raises(pytest.fail.Exception, match="belong in tests/integration"):
        conftest.pytest_runtest_setup(item)
    conftest.pytest_runtest_setup(SimpleNamespace(nodeid="t", fixturenames=["module_runner"]))
