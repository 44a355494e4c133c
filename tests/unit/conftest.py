"""Make the collection importable as ``ansible_collections.pirack.cluster``.

A checkout is not laid out as ansible_collections/pirack/cluster, so the
tests go through the link that `make venv` creates in .collections/ — the
same path ansible.cfg gives Ansible — and import the code that is running,
not an installed copy.
"""

import os
import socket
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINK = os.path.join(ROOT, ".collections", "ansible_collections", "pirack", "cluster")
if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink("../../..", LINK)
sys.path.insert(0, os.path.join(ROOT, ".collections"))
# The local Kubernetes API server the k8s and app tests talk to.
for fixture_dir in ("k8s", "app"):
    sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "fixtures", fixture_dir))

import pytest  # noqa: E402
from fake_api import FakeApi  # noqa: E402

# Unit tests never touch a Docker engine: the modules they run (which take
# DOCKER_HOST as their default), the SDK and the docker CLI all find a closed
# port instead of the machine's engine. Engine tests live in tests/integration.
NO_ENGINE = "tcp://127.0.0.1:9"
os.environ["DOCKER_HOST"] = NO_ENGINE
for _var in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
    os.environ.pop(_var, None)
ENGINE_REFUSED = ("a unit test tried to reach a Docker engine (tests/unit/conftest.py); "
                  "tests that need one belong in tests/integration")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A unit test asking for the engine fixture fails instead of quietly skipping."""
    if "engine" in getattr(item, "fixturenames", ()):
        pytest.fail(f"{item.nodeid}: {ENGINE_REFUSED}", pytrace=False)


@pytest.fixture(autouse=True)
def no_engine_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse in-process connections to a Docker socket given explicitly
    (the SDK's unix:///var/run/docker.sock default ignores DOCKER_HOST)."""
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: object) -> None:
        if sock.family == socket.AF_UNIX and "docker" in str(address):
            raise ConnectionRefusedError(ENGINE_REFUSED)
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def api():
    """A local HTTP server answering like the Kubernetes API (nodes, pods,
    evictions); the app tests serve the richer AppApi instead."""
    with FakeApi() as fake:
        yield fake
