"""docker_op against the machine's real engine.

Everything a test makes has a name unique to the run (``pirack-it-<hex>``) and
is removed whatever happens, so the tests can run beside a simulated rack.
The push test runs Debian's docker-registry on a free port of 127.0.0.1
(an insecure registry the engine accepts by default); without it, it skips.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from registrykit import free_port

docker = pytest.importorskip("docker", reason="the Docker SDK for Python is not installed")

IMAGE = "debian:bookworm"

pytestmark = pytest.mark.usefixtures("engine")


@pytest.fixture(name="unique")
def fixture_unique() -> str:
    return f"pirack-it-{uuid.uuid4().hex[:8]}"


@pytest.fixture(name="container_name")
def fixture_container_name(client, unique: str) -> Iterator[str]:
    """A name no one else uses; the container is removed whatever happens."""
    yield unique
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_container(unique, force=True)


@pytest.fixture(name="images")
def fixture_images(client) -> Iterator[list[str]]:
    """Image references a test made; all removed afterwards."""
    made: list[str] = []
    yield made
    for reference in made:
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.api.remove_image(reference, force=True)


def test_run_returns_output_and_leaves_nothing(module_runner, container_name: str) -> None:
    result = module_runner("docker_op", {"op": "run", "image": IMAGE, "name": container_name,
                                         "command": "sh -c 'echo out; echo err >&2'", "network": "none"})
    assert not result.get("failed"), result
    assert result["changed"] and result["rc"] == 0
    assert sorted(result["stdout_lines"]) == ["err", "out"]  # both streams, order not guaranteed
    ps = module_runner("docker_op", {"op": "ps", "all": True, "filters": {"name": container_name}})
    assert ps["containers"] == []


def test_run_failure_reports_rc_and_output(module_runner, container_name: str) -> None:
    result = module_runner("docker_op", {"op": "run", "image": IMAGE, "name": container_name,
                                         "command": ["sh", "-c", "echo boom; exit 3"], "network": "none"})
    assert result["failed"]
    assert result["rc"] == 3
    assert result["stdout"] == "boom\n"


@pytest.mark.parametrize("cleanup", [True, False])
def test_run_past_its_wait_timeout_is_one_line_and_stops_the_container(
        module_runner, client, container_name: str, cleanup: bool) -> None:
    started = time.monotonic()
    result = module_runner("docker_op", {"op": "run", "image": IMAGE, "name": container_name, "network": "none",
                                         "command": "sh -c 'echo begun; sleep 60'", "wait_timeout": 2,
                                         "cleanup": cleanup})
    assert time.monotonic() - started < 30
    assert result["failed"]
    assert result["msg"].startswith("op=run: the container did not exit within wait_timeout=2 s")
    assert "\n" not in result["msg"] and "exception" not in result
    assert result["stdout_lines"] == ["begun"]
    if cleanup:
        with pytest.raises(docker.errors.NotFound):
            client.api.inspect_container(container_name)
    else:
        assert client.api.inspect_container(container_name)["State"]["Running"] is False


def test_detached_lifecycle_is_idempotent(module_runner, container_name: str) -> None:
    run = {"op": "run", "image": IMAGE, "name": container_name, "network": "none", "detach": True,
           "command": "sh -c 'echo one; echo two; echo three; sleep 300'"}
    first = module_runner("docker_op", run)
    assert first["changed"] and first["container"]["state"] == "running"
    assert module_runner("docker_op", run)["changed"] is False

    ps = module_runner("docker_op", {"op": "ps", "filters": {"name": container_name}})
    assert [c["name"] for c in ps["containers"]] == [container_name]
    assert ps["changed"] is False

    logs = {"op": "logs", "name": container_name}
    assert module_runner("docker_op", dict(logs, tail=0))["lines"] == []
    assert module_runner("docker_op", dict(logs, tail=1))["lines"] == ["three"]
    assert module_runner("docker_op", logs)["lines"] == ["one", "two", "three"]

    done = module_runner("docker_op", {"op": "exec", "name": container_name, "command": "cat /etc/hostname"})
    assert done["rc"] == 0 and done["stdout_lines"]

    stop = {"op": "stop", "name": container_name, "stop_timeout": 1}
    would = module_runner("docker_op", stop, check_mode=True)
    assert would["changed"] and module_runner("docker_op", {"op": "ps", "filters": {"name": container_name}})[
        "containers"], "check mode must not stop the container"
    stopped = module_runner("docker_op", stop, diff=True)
    assert stopped["changed"] and stopped["diff"]["before"]["state"] == "running"
    assert module_runner("docker_op", stop)["changed"] is False

    rm = {"op": "rm", "name": container_name}
    assert module_runner("docker_op", rm)["changed"] is True
    assert module_runner("docker_op", rm)["changed"] is False
    gone = {"op": "stop", "name": container_name, "missing_ok": True}
    assert module_runner("docker_op", gone)["changed"] is False


@pytest.mark.parametrize("as_tarball", [False, True])
def test_import_makes_an_image_once(module_runner, images: list[str], tmp_path: Path, unique: str,
                                    as_tarball: bool) -> None:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hello").write_text("hi\n", encoding="utf-8")
    src = str(root)
    if as_tarball:
        src = shutil.make_archive(str(tmp_path / "rootfs"), "tar", root_dir=root)
    image = f"pirack-it/import:{unique}"
    images.append(image)
    args = {"op": "import", "image": image, "src": src, "changes": ['LABEL org.pirack.test="1"']}
    assert module_runner("docker_op", args, check_mode=True)["changed"] is True
    first = module_runner("docker_op", args)
    assert first["changed"] and first["id"], first
    assert module_runner("docker_op", args)["changed"] is False
    found = module_runner("docker_op", {"op": "images", "filters": {"reference": image}})["images"]
    assert [i["tags"] for i in found] == [[image]]
    assert module_runner("docker_op", {"op": "images", "image": image})["images"][0]["id"] == first["id"]
    assert module_runner("docker_op", {"op": "images", "image": image + "-absent"})["images"] == []


def _context(path: Path, greeting: str) -> Path:
    """A build context: the debian base, one copied file, no RUN (fast, no network)."""
    path.mkdir(exist_ok=True)
    (path / "greeting").write_text(greeting, encoding="utf-8")
    (path / "app").mkdir(exist_ok=True)
    (path / "app" / "Dockerfile").write_text(
        "ARG BASE_IMAGE=scratch\nFROM ${BASE_IMAGE}\nCOPY greeting /greeting\n", encoding="utf-8")
    return path


def test_build_tag_save_load(module_runner, client, images: list[str], tmp_path: Path, unique: str) -> None:
    context = _context(tmp_path / "ctx", "hello\n")
    image = f"pirack-it/build:{unique}"
    images.append(image)
    build = {"op": "build", "image": image, "src": str(context), "dockerfile": "app/Dockerfile",
             "build_args": {"BASE_IMAGE": IMAGE}, "network": "none"}

    assert module_runner("docker_op", build, check_mode=True)["changed"] is True
    with pytest.raises(docker.errors.ImageNotFound):
        client.api.inspect_image(image)  # check mode built nothing
    first = module_runner("docker_op", build, diff=True)
    assert first["changed"] and first["diff"]["before"]["id"] is None, first
    again = module_runner("docker_op", build)
    assert again["changed"] is False and again["id"] == first["id"], "an unchanged build must keep its id"
    assert module_runner("docker_op", build, check_mode=True)["changed"] is False

    _context(context, "hello again\n")
    moved = module_runner("docker_op", build)
    assert moved["changed"] and moved["id"] != first["id"]

    broken = dict(build, dockerfile="app/Broken")
    (context / "app" / "Broken").write_text(f"FROM {IMAGE}\nCOPY missing-file /x\n", encoding="utf-8")
    failed = module_runner("docker_op", broken)
    assert failed["failed"] and "missing-file" in failed["msg"] and "\n" not in failed["msg"], failed

    target = f"127.0.0.1:5999/pirack-it/tagged:{unique}"
    images.append(target)
    tag = {"op": "tag", "image": image, "target": target}
    assert module_runner("docker_op", tag, check_mode=True)["changed"] is True
    assert module_runner("docker_op", tag)["changed"] is True
    assert client.api.inspect_image(target)["Id"].split(":")[1].startswith(moved["id"])
    assert module_runner("docker_op", tag)["changed"] is False

    archive = tmp_path / "saved.tar"
    save = {"op": "save", "image": image, "dest": str(archive)}
    assert module_runner("docker_op", save, check_mode=True)["changed"] is True
    assert not archive.exists()
    assert module_runner("docker_op", save)["changed"] is True
    assert module_runner("docker_op", save)["changed"] is False
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    assert sorted(os.listdir(tmp_path)) == ["ctx", "saved.tar"], "the .part file must be gone"

    client.api.remove_image(image)
    load = {"op": "load", "src": str(archive)}
    assert module_runner("docker_op", load, check_mode=True)["changed"] is True
    loaded = module_runner("docker_op", load)
    assert loaded["changed"] and loaded["loaded"] == [image], loaded
    assert module_runner("docker_op", load)["changed"] is False
    assert client.api.inspect_image(image)["Id"].split(":")[1].startswith(moved["id"])

    not_an_archive = tmp_path / "junk.tar"
    not_an_archive.write_bytes(b"junk" * 100)
    refused = module_runner("docker_op", {"op": "load", "src": str(not_an_archive)})
    assert refused["failed"] and refused["msg"].startswith(f"src: {not_an_archive} is not an image archive")


def test_push_only_what_the_registry_does_not_serve(module_runner, client, images: list[str], tmp_path: Path,
                                                    unique: str, registry: str) -> None:
    context = _context(tmp_path / "ctx", "pushed\n")
    image = f"{registry}/pirack-it/push:{unique}"
    images.append(image)
    build = {"op": "build", "image": image, "src": str(context), "dockerfile": "app/Dockerfile",
             "build_args": {"BASE_IMAGE": IMAGE}, "network": "none"}
    assert module_runner("docker_op", build)["changed"]

    push = {"op": "push", "image": image}
    would = module_runner("docker_op", push, check_mode=True)
    assert would["changed"] is True and would["digest"] is None
    first = module_runner("docker_op", push)
    assert first["changed"] and first["digest"].startswith("sha256:"), first
    images.append(f"{registry}/pirack-it/push@{first['digest']}")  # outlives its tag after the rebuild
    again = module_runner("docker_op", push)
    assert again["changed"] is False and again["digest"] == first["digest"]

    _context(context, "pushed again\n")
    assert module_runner("docker_op", build)["changed"]
    assert module_runner("docker_op", push, check_mode=True)["changed"] is True
    second = module_runner("docker_op", push)
    assert second["changed"] and second["digest"] != first["digest"]

    client.api.remove_image(image)
    pulled = module_runner("docker_op", {"op": "pull", "image": image})
    assert pulled["changed"] and pulled["id"]
    digests = module_runner("docker_op", {"op": "images", "image": image})["images"][0]["digests"]
    assert digests == [f"{registry}/pirack-it/push@{second['digest']}"]
    assert module_runner("docker_op", {"op": "pull", "image": image})["changed"] is False


def test_push_to_a_registry_that_is_not_there_is_one_line(module_runner, images: list[str], unique: str) -> None:
    image = f"127.0.0.1:{free_port()}/pirack-it/nowhere:{unique}"
    images.append(image)
    assert module_runner("docker_op", {"op": "tag", "image": IMAGE, "target": image})["changed"]
    result = module_runner("docker_op", {"op": "push", "image": image})
    assert result["failed"] and "\n" not in result["msg"], result
    assert "connection refused" in result["msg"].lower(), result["msg"]


def test_run_pulls_a_missing_image_as_the_pull_option_says(
        module_runner, client, images: list[str], container_name: str, tmp_path: Path, unique: str,
        registry: str) -> None:
    image = f"{registry}/pirack-it/run:{unique}"
    images.append(image)
    build = {"op": "build", "image": image, "src": str(_context(tmp_path / "ctx", "run\n")),
             "dockerfile": "app/Dockerfile", "build_args": {"BASE_IMAGE": IMAGE}, "network": "none"}
    assert module_runner("docker_op", build)["changed"]
    assert module_runner("docker_op", {"op": "push", "image": image})["changed"]
    client.api.remove_image(image)
    run = {"op": "run", "image": image, "name": container_name, "command": "true", "network": "none"}

    refused = module_runner("docker_op", dict(run, pull="never"))
    assert refused["failed"] and refused["msg"] == f"image: {image} is not on this engine and pull=never"
    assert not client.api.containers(all=True, filters={"name": container_name}), "nothing was created"
    first = module_runner("docker_op", run)
    assert first["rc"] == 0 and first["pulled"] is True, first
    assert module_runner("docker_op", run)["pulled"] is False, "present now: missing pulls nothing"
    assert module_runner("docker_op", dict(run, pull="always"))["pulled"] is True
