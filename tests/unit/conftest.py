"""Make the collection importable as ``ansible_collections.pirack.cluster``.

A checkout is not laid out as ansible_collections/pirack/cluster, so the
tests go through the link that `make venv` creates in .collections/ — the
same path ansible.cfg gives Ansible — and import the code that is running,
not an installed copy.
"""

import os
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


@pytest.fixture
def api():
    """A local HTTP server answering like the Kubernetes API (nodes, pods,
    evictions); the app tests serve the richer AppApi instead."""
    with FakeApi() as fake:
        yield fake
