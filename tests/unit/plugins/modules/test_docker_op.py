"""docker_op: argument handling without an engine, operations against a real one."""

from __future__ import annotations

import contextlib
import os
import uuid

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import DockerException, connect
from ansible_collections.pirack.cluster.plugins.module_utils.docker_ops import OperationError
from ansible_collections.pirack.cluster.plugins.modules.docker_op import normalize_params

IMAGE = "debian:bookworm"
NO_ENGINE = "unix:///nonexistent/docker.sock"


def test_string_command_is_split_like_a_shell() -> None:
    params = normalize_params({"command": "sh -c 'echo a b'", "env": {"N": 3, "ON": True}})
    assert params["command"] == ["sh", "-c", "echo a b"]
    assert params["env"] == {"N": "3", "ON": "True"}


def test_list_command_items_become_strings() -> None:
    assert normalize_params({"command": ["sleep", 1]})["command"] == ["sleep", "1"]


def test_command_of_another_type_is_refused() -> None:
    with pytest.raises(OperationError, match="string or a list"):
        normalize_params({"command": {"a": 1}})


@pytest.mark.parametrize(("args", "missing"), [
    ({"op": "run"}, "image"),
    ({"op": "stop"}, "name"),
    ({"op": "exec", "name": "x"}, "command"),
    ({"op": "import", "image": "x:y"}, "src"),
])
def test_required_options_are_named_before_connecting(module_runner, args: dict, missing: str) -> None:
    result = module_runner("docker_op", dict(args, docker_host=NO_ENGINE))
    assert result["failed"]
    assert missing in result["msg"]
    assert "no Docker engine" not in result["msg"]


def test_unknown_op_is_refused(module_runner) -> None:
    result = module_runner("docker_op", {"op": "restart", "docker_host": NO_ENGINE})
    assert result["failed"]
    assert "value of op must be one of" in result["msg"]


def test_dead_engine_is_one_line_naming_the_address(module_runner) -> None:
    result = module_runner("docker_op", {"op": "ps", "docker_host": NO_ENGINE})
    assert result["failed"]
    assert NO_ENGINE in result["msg"]
    assert "\n" not in result["msg"]


def test_docker_host_comes_from_the_environment(module_runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    assert NO_ENGINE in module_runner("docker_op", {"op": "info"})["msg"]


@pytest.fixture(name="container_name")
def fixture_container_name():
    """A name no one else uses; the container is removed whatever happens."""
    name = f"pirack-unit-{uuid.uuid4().hex[:8]}"
    yield name
    client = connect(timeout=10)
    with contextlib.suppress(DockerException):  # already gone is fine
        client.api.remove_container(name, force=True)
    client.close()


@pytest.mark.usefixtures("engine")
def test_run_returns_output_and_leaves_nothing(module_runner, container_name: str) -> None:
    result = module_runner("docker_op", {"op": "run", "image": IMAGE, "name": container_name,
                                         "command": "sh -c 'echo out; echo err >&2'", "network": "none"})
    assert not result.get("failed"), result
    assert result["changed"] and result["rc"] == 0
    assert sorted(result["stdout_lines"]) == ["err", "out"]  # both streams, order not guaranteed
    ps = module_runner("docker_op", {"op": "ps", "all": True, "filters": {"name": container_name}})
    assert ps["containers"] == []


@pytest.mark.usefixtures("engine")
def test_run_failure_reports_rc_and_output(module_runner, container_name: str) -> None:
    result = module_runner("docker_op", {"op": "run", "image": IMAGE, "name": container_name,
                                         "command": ["sh", "-c", "echo boom; exit 3"], "network": "none"})
    assert result["failed"]
    assert result["rc"] == 3
    assert result["stdout"] == "boom\n"


@pytest.mark.usefixtures("engine")
def test_detached_lifecycle_is_idempotent(module_runner, container_name: str) -> None:
    run = {"op": "run", "image": IMAGE, "name": container_name, "command": "sleep 300",
           "detach": True, "network": "none"}
    first = module_runner("docker_op", run)
    assert first["changed"] and first["container"]["state"] == "running"
    assert module_runner("docker_op", run)["changed"] is False

    ps = module_runner("docker_op", {"op": "ps", "filters": {"name": container_name}})
    assert [c["name"] for c in ps["containers"]] == [container_name]
    assert ps["changed"] is False

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


@pytest.mark.usefixtures("engine")
def test_import_makes_an_image_once(module_runner, tmp_path: os.PathLike) -> None:
    root = os.path.join(tmp_path, "rootfs")
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "etc", "hello"), "w", encoding="utf-8") as handle:
        handle.write("hi\n")
    image = f"pirack-unit/import:{uuid.uuid4().hex[:8]}"
    args = {"op": "import", "image": image, "src": root, "changes": ['LABEL org.pirack.test="1"']}
    try:
        assert module_runner("docker_op", args, check_mode=True)["changed"] is True
        first = module_runner("docker_op", args)
        assert first["changed"] and first["id"]
        assert module_runner("docker_op", args)["changed"] is False
        images = module_runner("docker_op", {"op": "images", "filters": {"reference": image}})["images"]
        assert [i["tags"] for i in images] == [[image]]
    finally:
        client = connect(timeout=10)
        client.api.remove_image(image, force=True)
        client.close()
