"""Running one of the collection's modules the way Ansible does, for the unit
tests (argument handling, no engine) and the integration tests (a real engine).

Going through a real process keeps argument validation, check mode and
exit_json/fail_json exactly as they behave on a host, with no mocks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]
# `make venv` links the checkout here as ansible_collections/pirack/cluster.
COLLECTIONS = ROOT / ".collections"
# Present wherever the simulated rack can be built (make images makes it).
TEST_IMAGE = "debian:bookworm"


def run_module(name: str, args: dict, check_mode: bool = False, diff: bool = False,
               no_log: bool = False) -> dict:
    """Return the module's JSON answer (``failed`` set when it failed)."""
    payload = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff, _ansible_no_log=no_log)
    proc = subprocess.run(
        [sys.executable, "-m", f"ansible_collections.pirack.cluster.plugins.modules.{name}"],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": payload}),
        capture_output=True, text=True, timeout=300, check=False,
        env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)),
    )
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"module {name} printed no JSON: {proc.stdout!r} {proc.stderr!r}") from exc


def engine_skip_reason() -> Optional[str]:
    """Why real-engine tests cannot run here, or None when they can."""
    answer = run_module("docker_op", {"op": "images", "filters": {"reference": TEST_IMAGE}, "timeout": 5})
    if answer.get("failed"):
        return answer["msg"]
    if not answer["images"]:
        return f"image {TEST_IMAGE} missing (make images builds it)"
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
