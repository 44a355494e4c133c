"""Fixtures for the tests that drive the machine's Docker engine: run one of
the collection's modules as Ansible does (tests/modkit.py), skip with one
line when no engine can run containers here, and the SDK client the tests
set up and clean up with (the tests themselves go through the modules), and
the collection installed outside the checkout (tests/installkit.py)."""

from collections.abc import Iterator

import docker
import pytest
from installkit import make_controller
from modkit import fixture_engine, fixture_module_runner  # noqa: F401 - pytest finds fixtures by import


@pytest.fixture(name="client")
def fixture_client() -> Iterator[object]:
    client = docker.from_env(version="auto", timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="session", name="controller")
def fixture_controller(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`make controller` into a temporary virtualenv and collections path,
    once per run (tests/installkit.py)."""
    return make_controller(tmp_path_factory.mktemp("controller"))
