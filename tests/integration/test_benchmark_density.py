"""benchmark_density against the machine's real engine: a short ramp of
busybox servers (the image made from this machine's busybox the way the
module makes a board's), its curve, and that nothing is left behind.

Skips with one line when busybox is not installed (`apt-get install busybox`).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

docker = pytest.importorskip("docker", reason="the Docker SDK for Python is not installed")

BUSYBOX = "/bin/busybox"
LABEL = {"label": "pirack.benchmark=density"}

pytestmark = pytest.mark.usefixtures("engine")


@pytest.fixture(name="image")
def fixture_image(client) -> Iterator[str]:
    """A name for the image the module makes from this machine's busybox; removed after."""
    if not os.path.exists(BUSYBOX):
        pytest.skip(f"{BUSYBOX} missing (apt-get install busybox)")
    reference = f"pirack-it/density-busybox:{uuid.uuid4().hex[:8]}"
    yield reference
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.api.remove_image(reference, force=True)


def test_a_short_ramp_records_the_curve_and_leaves_nothing(module_runner, client, image: str) -> None:
    result = module_runner("benchmark_density", {"image": image, "max_containers": 4,
                                                 "port_base": 41000})
    assert not result.get("failed"), result
    assert result["containers"] == 4 and result["stopped_by"] == "max_containers (4)"
    steps = result["steps"]
    assert [s["containers"] for s in steps] == [0, 1, 2, 3, 4]
    assert all(0 < s["start_s"] < 10 for s in steps[1:])
    assert all(s["mem_used_mb"] > 0 for s in steps)
    # The image was made from this machine's busybox, once: the next run reuses it.
    assert result["removed"] == 4 and result["changed"]
    assert client.images.get(image).labels["pirack.binary.sha256"]
    assert client.containers.list(all=True, filters=LABEL) == []
    again = module_runner("benchmark_density", {"image": image, "max_containers": 1, "port_base": 41000})
    assert again["containers"] == 1 and not again["changed"]


def test_the_memory_floor_stops_before_the_first(module_runner, client, image: str) -> None:
    result = module_runner("benchmark_density", {"image": image, "memory_floor_mb": 1 << 20})
    assert result["containers"] == 0 and result["stopped_by"].startswith("memory floor")
    assert client.containers.list(all=True, filters=LABEL) == []


def test_a_missing_busybox_is_named(module_runner) -> None:
    result = module_runner("benchmark_density", {"busybox": "/nonexistent/busybox"})
    assert result["failed"] and result["msg"].startswith("busybox: /nonexistent/busybox is not on this board")
