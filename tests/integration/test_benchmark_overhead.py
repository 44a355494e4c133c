"""benchmark_overhead against the machine's real engine: the image made from
this machine's sysbench, interleaved native and container runs, and a
container of the pause filter paused meanwhile and running again after.

Skips with one line when sysbench or busybox is not installed
(`apt-get install sysbench busybox`).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

docker = pytest.importorskip("docker", reason="the Docker SDK for Python is not installed")

SYSBENCH = "/usr/bin/sysbench"
BUSYBOX = "/bin/busybox"

pytestmark = pytest.mark.usefixtures("engine")


@pytest.fixture(name="names")
def fixture_names(client) -> Iterator[dict]:
    """A sysbench image name and a busybox 'app' container to pause; both removed after."""
    for path in (SYSBENCH, BUSYBOX):
        if not os.path.exists(path):
            pytest.skip(f"{path} missing (apt-get install sysbench busybox)")
    run = uuid.uuid4().hex[:8]
    names = {"image": f"pirack-it/sysbench:{run}", "app": f"pirack-it-app-{run}",
             "app_image": f"pirack-it/busybox:{run}", "label": f"pirack.it.app={run}"}
    yield names
    with contextlib.suppress(docker.errors.NotFound):
        client.containers.get(names["app"]).remove(force=True)
    for image in (names["image"], names["app_image"]):
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.api.remove_image(image, force=True)


def test_interleaved_runs_with_the_app_paused_then_resumed(module_runner, client, names: dict) -> None:
    # The "app": a busybox container made the same way (the density module's image maker).
    made = module_runner("benchmark_density", {"image": names["app_image"], "max_containers": 1,
                                               "port_base": 41100})
    assert not made.get("failed"), made
    app = client.containers.run(names["app_image"], ["/bin/busybox", "sleep", "600"], name=names["app"],
                                labels={"pirack.it.app": names["label"].split("=")[1]},
                                network_mode="none", detach=True)
    result = module_runner("benchmark_overhead", {
        "tests": {"cpu": ["cpu", "--cpu-max-prime=2000"]}, "pairs": 3, "time": 1, "threads": 1,
        "image": names["image"], "pause": {"label": [names["label"]]}})
    assert not result.get("failed"), result
    assert result["changed"]  # the image was made from this machine's sysbench
    assert result["paused"] == [names["app"]]
    app.reload()
    assert app.status == "running"  # resumed
    pairs = result["tests"]["cpu"]["pairs"]
    assert len(pairs) == 3
    for pair in pairs:
        assert "events per second:" in pair["native"] and "events per second:" in pair["container"]
        assert len(pair["snapshots"]) == 3 and all(s.startswith("/proc/loadavg:") for s in pair["snapshots"])
    assert result["before"].startswith("/proc/loadavg:") and result["threads"] == 1
    again = module_runner("benchmark_overhead", {
        "tests": {"cpu": ["cpu", "--cpu-max-prime=2000"]}, "pairs": 3, "time": 1, "threads": 1,
        "image": names["image"]})
    assert not again["changed"] and again["paused"] == []  # the same build: no new image


def test_a_failing_run_resumes_the_app_and_names_sysbench(module_runner, client, names: dict) -> None:
    made = module_runner("benchmark_density", {"image": names["app_image"], "max_containers": 1,
                                               "port_base": 41100})
    assert not made.get("failed"), made
    app = client.containers.run(names["app_image"], ["/bin/busybox", "sleep", "600"], name=names["app"],
                                labels={"pirack.it.app": names["label"].split("=")[1]},
                                network_mode="none", detach=True)
    result = module_runner("benchmark_overhead", {
        "tests": {"bogus": ["no-such-test"]}, "pairs": 3, "time": 1,
        "image": names["image"], "pause": {"label": [names["label"]]}})
    assert result["failed"] and result["msg"].startswith("sysbench on the board exited")
    assert result["paused"] == [names["app"]]
    app.reload()
    assert app.status == "running"
