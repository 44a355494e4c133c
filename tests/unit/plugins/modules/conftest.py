"""Fixtures for module tests: run one of our modules the way Ansible does.

Going through a real process keeps argument validation, check mode and
exit_json/fail_json exactly as they behave on a host, with no mocks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Callable

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils import docker_client

# Present wherever the simulated rack can be built (make images makes it).
TEST_IMAGE = "debian:bookworm"
COLLECTIONS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".collections")


def run_module(name: str, args: dict, check_mode: bool = False, diff: bool = False) -> dict:
    """Return the module's JSON answer (``failed`` set when it failed)."""
    payload = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    proc = subprocess.run(
        [sys.executable, "-m", f"ansible_collections.pirack.cluster.plugins.modules.{name}"],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": payload}),
        capture_output=True, text=True, timeout=120, check=False,
        env=dict(os.environ, PYTHONPATH=os.path.abspath(COLLECTIONS)),
    )
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"module {name} printed no JSON: {proc.stdout!r} {proc.stderr!r}") from exc


def engine_skip_reason() -> str | None:
    """Why real-engine tests cannot run here, or None when they can."""
    try:
        client = docker_client.connect(timeout=5)
    except docker_client.DockerConnectError as exc:
        return str(exc)
    try:
        client.api.inspect_image(TEST_IMAGE)
    except docker_client.DockerException:
        return f"image {TEST_IMAGE} missing (make images builds it)"
    finally:
        client.close()
    return None


@pytest.fixture(name="module_runner")
def fixture_module_runner() -> Callable[..., dict]:
    """The module runner, as a fixture so test files need no import path tricks."""
    return run_module


@pytest.fixture(name="engine")
def fixture_engine() -> None:
    """Skip, with the reason on one line, when no engine can run containers here."""
    reason = engine_skip_reason()
    if reason:
        pytest.skip(reason)
