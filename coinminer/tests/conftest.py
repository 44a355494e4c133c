"""One running coin-miner stack (five containers, faithful mode) shared by
the integration and browser tests of this folder."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
from bench.stack import Stack, build_images, docker_client


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    client = docker_client()
    if client is None:
        pytest.skip("no Docker engine answers (start dockerd or apt-get install docker.io)")
    try:
        client.images.get("debian:bookworm")
    except Exception:
        pytest.skip("base image debian:bookworm missing (run scripts/base-image.sh)")
    build_images()
    # With a redis password, as a rack runs it (the open mode is the bench's).
    running = Stack(client, prefix="cmtest", password=secrets.token_hex(16)).up(workers=1)
    try:
        yield running
    finally:
        running.down()


@pytest.fixture
def wait_for():  # type: ignore[no-untyped-def]
    return _wait_for


def _wait_for(predicate, timeout: float = 30.0, interval: float = 0.5):  # type: ignore[no-untyped-def]
    """Poll until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except OSError as exc:
            last_error = exc
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s (last error: {last_error})")
