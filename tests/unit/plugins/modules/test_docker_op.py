"""docker_op without an engine: option validation (examples and random
values) and the one-line failures; tests/integration/test_docker_op.py drives
the operations on a real engine."""

from __future__ import annotations

import re

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.pirack.cluster.plugins.module_utils.docker_ops import ENTRY_OPTIONS, OPERATIONS
from ansible_collections.pirack.cluster.plugins.module_utils.errors import OperationError
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import overflowing_options
from ansible_collections.pirack.cluster.plugins.modules import docker_op
from ansible_collections.pirack.cluster.plugins.modules.docker_op import (
    REQUIRED_TOGETHER,
    argument_spec,
    expand_each,
    normalize_params,
)
from hypothesis import given, settings
from hypothesis import strategies as st

NO_ENGINE = "unix:///nonexistent/docker.sock"


def test_string_command_is_split_like_a_shell() -> None:
    params = normalize_params({"command": "sh -c 'echo a b'", "env": {"N": 3, "ON": True}})
    assert params["command"] == ["sh", "-c", "echo a b"]
    assert params["env"] == {"N": "3", "ON": "True"}


def test_list_command_items_become_strings() -> None:
    assert normalize_params({"command": ["sleep", 1]})["command"] == ["sleep", "1"]


def test_command_of_another_type_is_refused() -> None:
    with pytest.raises(OperationError, match="^command: must be a string or a list"):
        normalize_params({"command": {"a": 1}})


@pytest.mark.parametrize(("params", "message"), [
    ({"command": 'echo "hi'}, "command: no closing quotation in 'echo \"hi'"),
    ({"tail": -1}, "tail: must be 0 or more, got -1"),
    ({"wait_timeout": 0}, "wait_timeout: must be from 1 to 604800, got 0"),
    ({"timeout": 10 ** 30}, "timeout: must be from 1 to 604800, got a 31-digit number"),
    ({"stop_timeout": -5}, "stop_timeout: must be from 0 to 604800, got -5"),
    ({"image": ""}, "image: an image reference must be a non-empty string"),
    ({"target": "reg.local:5000/:v1"}, "target: image reference 'reg.local:5000/:v1' names no repository"),
    ({"env": {"A": [1]}}, "env: the value of A must be a string, number or boolean"),
    ({"build_args": {"B": {"x": 1}}}, "build_args: the value of B must be"),
    ({"src": "/tmp/a\x00b"}, "src: must not contain a NUL character"),
])
def test_bad_values_are_one_line_naming_the_option(params: dict, message: str) -> None:
    with pytest.raises(OperationError) as err:
        normalize_params(params)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_build_args_and_env_values_become_strings() -> None:
    params = normalize_params({"build_args": {"BASE_IMAGE": "debian:bookworm", "JOBS": 2, "X": None}})
    assert params["build_args"] == {"BASE_IMAGE": "debian:bookworm", "JOBS": "2", "X": ""}


# Any JSON-ish value Ansible could hand the module for an option.
ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)


def _option_values() -> st.SearchStrategy:
    """For every option, often a plausible value and otherwise anything at all."""
    entry = st.fixed_dictionaries({}, optional={name: st.text(max_size=12) | ANY_VALUE
                                                for name in (*ENTRY_OPTIONS, "op", "tail")})
    plausible = {"op": st.sampled_from(["run", "build", "tag", "push", "logs", "load", "nope"]),
                 "command": st.text(max_size=20), "tail": st.integers(), "wait_timeout": st.integers(),
                 "image": st.text(max_size=20), "target": st.text(max_size=20),
                 "each": st.none() | st.lists(entry, max_size=3)}
    return st.fixed_dictionaries({}, optional={
        name: (plausible.get(name, ANY_VALUE) | ANY_VALUE) for name in argument_spec()})


@settings(max_examples=400, deadline=None)
@given(_option_values())
def test_validation_raises_only_the_modules_own_error(raw: dict) -> None:
    """Ansible's type checks, then ours: a value is accepted or refused with
    an OperationError; nothing else may escape (it would be a traceback)."""
    validator = ArgumentSpecValidator(argument_spec(), required_together=REQUIRED_TOGETHER)
    try:
        checked = validator.validate(raw)
    except ArithmeticError:
        # ansible-core's int check overflows on inf and the like; build_module
        # must then find the option to name.
        assert overflowing_options(argument_spec(), raw), raw
        return
    if checked.error_messages:
        return
    try:
        expand_each(checked.validated_parameters)
    except OperationError as exc:
        # "<option>: ...", or "each[<i>].<option>: ..." / "each[<i>]: ..." for an entry.
        named = re.sub(r"^each\[\d+\]\.?", "", str(exc).split(":")[0].split()[0]) or "each"
        assert named in argument_spec(), str(exc)


def test_each_runs_the_entries_over_the_tasks_options() -> None:
    runs = expand_each({"op": "build", "src": "/s", "network": "host", "each": [
        {"image": "r:5000/a:latest", "dockerfile": "a/Dockerfile", "build_args": {"N": 1}},
        {"image": "r:5000/b:latest", "dockerfile": "b/Dockerfile"}]})
    assert [(r["image"], r["dockerfile"], r["src"], r["network"]) for r in runs] == [
        ("r:5000/a:latest", "a/Dockerfile", "/s", "host"), ("r:5000/b:latest", "b/Dockerfile", "/s", "host")]
    assert runs[0]["build_args"] == {"N": "1"}


@pytest.mark.parametrize(("params", "message"), [
    ({"op": "push", "each": []}, "each: give at least one entry"),
    ({"op": "push", "each": [{"image": "a:1"}, {"tail": 3}]}, "each[1].tail: an entry sets only name, image"),
    ({"op": "push", "each": [{"image": "a:1"}, {"name": "x"}]}, "each[1].image: op=push needs it"),
    ({"op": "build", "src": "/s", "each": [{"image": "a:1", "build_args": 5}]}, "each[0]: "),
    ({"op": "tag", "image": "a:1", "each": [{"target": "r:5000/:v1"}]}, "each[0].target: image reference"),
])
def test_a_bad_entry_is_one_line_naming_it(params: dict, message: str) -> None:
    with pytest.raises(OperationError) as err:
        expand_each(dict({"each": None}, **params))
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)


def described(option: dict) -> str:
    text = option["description"]
    return " ".join(text) if isinstance(text, list) else text


def test_the_docs_say_what_the_operation_table_says() -> None:
    """Each option names exactly the operations that take it ("Required for"
    exactly those that need it), and op's list is the table, row by row."""
    options = yaml.safe_load(docker_op.DOCUMENTATION)["options"]
    for name, option in options.items():
        if name in ("op", "each"):
            continue
        text = described(option)
        takes = {op for op, row in OPERATIONS.items() if name in row.options}
        needs = {op for op, row in OPERATIONS.items() if name in row.needs}
        required = re.search(r"Required for ([^.;]*)", text)
        assert set(re.findall(r"O\(op=(\w+)\)", text)) == takes, name
        assert set(re.findall(r"O\(op=(\w+)\)", required.group(1) if required else "")) == needs, name
    rows = []
    for op, row in OPERATIONS.items():
        parts = [f"{verb} " + ", ".join(f"O({o})" for o in names)
                 for verb, names in (("needs", row.needs), ("takes", row.takes)) if names]
        reads = "; reads only" if row.reads_only else ""
        rows.append(f"V({op}) " + ("; ".join(parts) or "takes no options") + reads + ".")
    assert [" ".join(line.split()) for line in options["op"]["description"][2:]] == rows
    assert sorted(options["op"]["choices"]) == sorted(OPERATIONS)
    assert set(options) - {"op", "each"} == {o for row in OPERATIONS.values() for o in row.options}, \
        "every option belongs to an operation"


@pytest.mark.parametrize(("params", "message"), [
    ({"op": "ps", "tail": 5}, "tail: op=ps does not take it (it is for op=logs)"),
    ({"op": "stop", "name": "x", "force": True}, "force: op=stop does not take it (it is for op=rm)"),
    ({"op": "pull", "image": "x", "pull": "always"}, "pull: op=pull does not take it (it is for op=run)"),
    ({"op": "push", "each": [{"image": "a:1", "dockerfile": "D"}]},
     "each[0].dockerfile: op=push does not take it (it is for op=build)"),
])
def test_an_option_for_another_operation_is_refused(module_runner, params: dict, message: str) -> None:
    result = module_runner("docker_op", dict(params, docker_host=NO_ENGINE))
    assert result["failed"] and result["msg"] == message


def test_each_fails_before_any_engine_is_reached(module_runner) -> None:
    result = module_runner("docker_op", {"op": "push", "each": [{"image": "a:1"}, {"nope": 1}],
                                         "docker_host": NO_ENGINE})
    assert result["failed"]
    assert result["msg"] == "each[1].nope: an entry sets only " + ", ".join(ENTRY_OPTIONS)


@pytest.mark.parametrize(("args", "missing"), [
    ({"op": "run"}, "image"),
    ({"op": "stop"}, "name"),
    ({"op": "exec", "name": "x"}, "command"),
    ({"op": "import", "image": "x:y"}, "src"),
    ({"op": "build", "image": "x:y"}, "src"),
    ({"op": "tag", "image": "x:y"}, "target"),
    ({"op": "save", "image": "x:y"}, "dest"),
    ({"op": "save", "dest": "/tmp/x.tar"}, "image: op=save needs it (or images)"),
    ({"op": "load"}, "src"),
    ({"op": "push", "image": "x:y", "username": "pi"}, "password"),
])
def test_required_options_are_named_before_connecting(module_runner, args: dict, missing: str) -> None:
    result = module_runner("docker_op", dict(args, docker_host=NO_ENGINE))
    assert result["failed"]
    assert missing in result["msg"]
    assert "no Docker engine" not in result["msg"]


@pytest.mark.parametrize(("args", "message"), [
    ({"op": "build", "image": "x:y", "src": "/s", "platform": "linux/armhf"},
     "platform: 'linux/armhf' is not a platform (os/architecture[/variant], e.g. linux/arm/v7)"),
    ({"op": "save", "images": ["x:y", "r:5000/:v1"], "dest": "/tmp/x.tar"}, "images[1]: image reference"),
])
def test_a_bad_platform_or_saved_image_is_one_line_before_connecting(module_runner, args: dict, message: str) -> None:
    result = module_runner("docker_op", dict(args, docker_host=NO_ENGINE))
    assert result["failed"] and result["msg"].startswith(message), result["msg"]


def test_unbalanced_quote_fails_the_module_with_one_line(module_runner) -> None:
    result = module_runner("docker_op", {"op": "run", "image": "x", "command": 'echo "hi', "docker_host": NO_ENGINE})
    assert result["failed"]
    assert result["msg"].startswith("command: no closing quotation")
    assert "Traceback" not in result.get("module_stderr", "")


@pytest.mark.parametrize("value", ["inf", "1e400", float("inf")])
def test_a_number_too_large_for_ansible_is_one_line(module_runner, value: object) -> None:
    result = module_runner("docker_op", {"op": "ps", "timeout": value, "docker_host": NO_ENGINE})
    assert result["failed"]
    assert result["msg"] in ("timeout: must be a finite int, got inf",
                             "timeout: must be from 1 to 604800, got a 401-digit number"), result["msg"]


def test_password_never_comes_back(module_runner) -> None:
    result = module_runner("docker_op", {"op": "push", "image": "x:y", "username": "pi",
                                         "password": "s3cret-value", "docker_host": NO_ENGINE})
    assert "s3cret-value" not in str(result)


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
