"""Fixtures for the tests that drive the machine's Docker engine: run one of
the collection's modules as Ansible does (tests/modkit.py), skip with one
line when no engine can run containers here, the SDK client the tests
set up and clean up with (the tests themselves go through the modules), the
collection installed outside the checkout (tests/installkit.py), and
Debian's registry on a free port (tests/registrykit.py)."""

from collections.abc import Iterator

import docker
import pytest
from installkit import make_controller
from modkit import fixture_engine, fixture_module_runner  # noqa: F401 - pytest finds fixtures by import
from registrykit import Registry, local_registry


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


@pytest.fixture(name="registry")
def fixture_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's docker-registry on a free port of 127.0.0.1, plain HTTP (an
    engine pushes there without being told): its host:port."""
    with local_registry(tmp_path_factory.mktemp("registry")) as registry:
        yield registry.address


@pytest.fixture(name="tls_registry", scope="module")
def fixture_tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """The same as the rack serves it: TLS with its own CA, an htpasswd login
    (one per test file: the tests use repositories of their own)."""
    with local_registry(tmp_path_factory.mktemp("tls-registry"), tls=True, login=("pirack", "test-pw-1")) as registry:
        yield registry
