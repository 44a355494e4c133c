"""Fixtures for the tests that drive the machine's Docker engine: run one of
the collection's modules as Ansible does (tests/modkit.py), skip with one
line when no engine can run containers here, and the SDK client the tests
set up and clean up with (the tests themselves go through the modules)."""

from collections.abc import Iterator

import docker
import pytest
from modkit import fixture_engine, fixture_module_runner  # noqa: F401 - pytest finds fixtures by import


@pytest.fixture(name="client")
def fixture_client() -> Iterator[object]:
    client = docker.from_env(version="auto", timeout=60)
    yield client
    client.close()
