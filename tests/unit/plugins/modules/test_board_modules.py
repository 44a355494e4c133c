"""board_info and board_files run the way Ansible runs them, on this
machine's own files (a temporary folder for board_files): what they report,
check mode, diff, secrets, idempotence; and property tests that any option
value ends in an answer or one line naming the option, never a traceback,
and that a refused call leaves the files as they were."""

from __future__ import annotations

import grp
import json
import os
import pwd
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
SECRET = "c2VjcmV0LXBhc3N3b3Jk"


def test_board_info_reads_this_machine(module_runner) -> None:
    answer = module_runner("board_info", {"packages": ["python3", "pirack-no-such-package"],
                                          "services": ["pirack-no-such-unit"]})
    assert not answer.get("failed"), answer
    assert answer["changed"] is False
    assert answer["os"]["id"] and isinstance(answer["os"]["id_like"], list)
    assert answer["architecture"] and " " not in answer["architecture"]
    assert answer["packages"]["python3"] and answer["packages"]["pirack-no-such-package"] is None
    assert answer["services"]["pirack-no-such-unit"]["active"] != "active"
    assert answer["missing"] == ["pirack-no-such-package"]
    assert answer["down"] == ["pirack-no-such-unit"]
    assert answer["memory_mb"] > 0 and answer["apt_lists"] >= 0
    assert isinstance(answer["runs"], list) and answer["architecture"] not in answer["runs"]
    if answer["architecture"] == "amd64":
        for arch, entry in (("arm64", "qemu-aarch64"), ("armhf", "qemu-arm")):
            binfmt = Path("/proc/sys/fs/binfmt_misc") / entry
            assert (arch in answer["runs"]) == (binfmt.is_file() and binfmt.read_text().startswith("enabled"))


def test_board_health_reads_this_machine_and_says_unknown_for_what_it_lacks(module_runner, tmp_path) -> None:
    answer = module_runner("board_health", {"root": str(tmp_path)}, check_mode=True)
    assert not answer.get("failed"), answer
    assert answer["changed"] is False and answer["root"] == str(tmp_path)
    assert answer["rootfs"]["size_bytes"] > 0 and answer["rootfs"]["readonly"] is False
    # This VM has no thermal zone and no Pi firmware: unknown, not a number.
    if not Path("/sys/class/thermal/thermal_zone0/temp").exists():
        assert answer["temperature_c"] is None
    if not Path("/sys/devices/platform/soc/soc:firmware/get_throttled").exists():
        assert answer["throttled"] is None
    assert module_runner("board_health", {"root": str(tmp_path / "absent")})["rootfs"] is None
    assert "root" in module_runner("board_health", {"rooot": "/"})["msg"]


def test_board_info_refuses_names_that_are_not_names(module_runner) -> None:
    answer = module_runner("board_info", {"packages": ["ok", "Bad Name"], "services": ["x;reboot"]})
    assert answer["failed"]
    assert answer["msg"] == ("packages[1] must be a Debian package name, got 'Bad Name'; "
                             "services[0] must be a systemd unit name, got 'x;reboot'")


def files_args(root: Path) -> dict:
    return {"directories": [{"path": str(root / "etc/docker/certs.d/reg:5000"), "owner": USER, "group": GROUP}],
            "files": [
                {"path": str(root / "etc/docker/daemon.json"), "content": '{"a": 1}\n', "owner": USER,
                 "group": GROUP},
                {"path": str(root / "etc/docker/certs.d/reg:5000/ca.crt"), "content": "PEM\n", "owner": USER,
                 "group": GROUP},
                {"path": str(root / "etc/docker/config.json"), "json_merge": {"auths": {"reg:5000": {"auth": SECRET}}},
                 "mode": "0600", "secret": True, "owner": USER, "group": GROUP}]}


def tree(root: Path) -> dict[str, tuple[str, str]]:
    """Every path under root with its mode and (for files) content."""
    out = {}
    for path in sorted(root.rglob("*")):
        out[str(path.relative_to(root))] = (oct(path.stat().st_mode), path.read_text() if path.is_file() else "")
    return out


def test_board_files_check_mode_changes_nothing_and_says_what_would(module_runner, tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    answer = module_runner("board_files", files_args(tmp_path), check_mode=True, diff=True)
    assert answer["changed"] and len(answer["paths"]) == 4
    assert tree(tmp_path) == {"etc": (oct(0o40755), "")}
    assert [d["after"] for d in answer["diff"]] == ['{"a": 1}\n', "PEM\n", "(secret: not shown)\n"]


def test_board_files_writes_then_changes_nothing(module_runner, tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    first = module_runner("board_files", files_args(tmp_path), diff=True)
    assert first["changed"], first
    assert (tmp_path / "etc/docker/daemon.json").read_text() == '{"a": 1}\n'
    assert oct((tmp_path / "etc/docker/config.json").stat().st_mode & 0o777) == oct(0o600)
    assert oct((tmp_path / "etc/docker/certs.d").stat().st_mode & 0o777) == oct(0o755), "parents get the umask's mode"
    again = module_runner("board_files", files_args(tmp_path), diff=True)
    assert again["changed"] is False and again["paths"] == [] and again["diff"] == []


def test_board_files_fixes_a_mode_without_rewriting(module_runner, tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    module_runner("board_files", files_args(tmp_path))
    daemon = tmp_path / "etc/docker/daemon.json"
    daemon.chmod(0o666)
    answer = module_runner("board_files", files_args(tmp_path))
    assert answer["paths"] == [str(daemon)]
    assert oct(daemon.stat().st_mode & 0o777) == oct(0o644)


def test_board_files_merges_into_what_the_file_holds_and_never_prints_the_secret(module_runner,
                                                                                 tmp_path: Path) -> None:
    (tmp_path / "etc/docker").mkdir(parents=True)
    config = tmp_path / "etc/docker/config.json"
    config.write_text('{"auths": {"other:5000": {"auth": "b3RoZXI="}}, "credsStore": "pass"}')
    answer = module_runner("board_files", files_args(tmp_path), diff=True)
    assert json.loads(config.read_text()) == {"auths": {"other:5000": {"auth": "b3RoZXI="},
                                                        "reg:5000": {"auth": SECRET}}, "credsStore": "pass"}
    assert SECRET not in json.dumps(answer)
    assert answer["diff"][-1] == {"before_header": str(config), "after_header": str(config),
                                  "before": "(secret: not shown)\n", "after": "(secret: not shown)\n"}


@pytest.mark.parametrize(("prepare", "message"), [
    (lambda root: (root / "etc/docker").mkdir(parents=True) or (root / "etc/docker/config.json").write_text("[1]"),
     "etc/docker/config.json holds a JSON list, not an object: fix or remove it, then run again"),
    (lambda root: (root / "etc/docker/daemon.json").mkdir(parents=True),
     "etc/docker/daemon.json is a directory, not a file: remove it or choose another path"),
    (lambda root: (root / "etc").mkdir() or (root / "etc/docker").write_text("x"),
     "etc/docker exists and is not a directory: remove it or choose another path"),
])
def test_board_files_refuses_what_it_cannot_write_in_one_line(module_runner, tmp_path: Path, prepare,
                                                              message: str) -> None:
    prepare(tmp_path)
    answer = module_runner("board_files", files_args(tmp_path))
    assert answer["failed"] and answer["msg"].endswith(message) and "\n" not in answer["msg"], answer


def test_board_files_names_an_unknown_owner(module_runner, tmp_path: Path) -> None:
    answer = module_runner("board_files", {"directories": [{"path": str(tmp_path / "d"), "owner": "pirack-nobody"}]})
    assert answer["msg"] == "directories[0].owner: no user 'pirack-nobody' here"
    assert not (tmp_path / "d").exists()


def test_board_files_needs_the_folder_of_a_file(module_runner, tmp_path: Path) -> None:
    answer = module_runner("board_files", {"files": [{"path": str(tmp_path / "no/f"), "content": "x"}]})
    assert answer["msg"] == f"files: the directory of {tmp_path}/no/f does not exist; list {tmp_path}/no in directories"


# Any JSON-ish value Ansible could hand the module for an option.
ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)


def mostly(valid: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(valid, valid, valid, ANY)


@st.composite
def board_files_options(draw: st.DrawFn, root: str) -> dict:
    paths = mostly(st.sampled_from([f"{root}/d", f"{root}/d/f", f"{root}/d/g.json", "relative", "/", f"{root}/../x"]))
    ownership = {"mode": mostly(st.sampled_from(["0644", "0600", "755", "9999", "rw"])),
                 "owner": mostly(st.sampled_from([USER, "a:b", ""])), "group": mostly(st.sampled_from([GROUP, ""]))}
    directory = mostly(st.fixed_dictionaries({"path": paths}, optional=ownership))
    a_file = mostly(st.fixed_dictionaries({"path": paths}, optional=dict(
        ownership, content=mostly(st.text(max_size=12)), secret=mostly(st.booleans()),
        json_merge=mostly(st.dictionaries(st.sampled_from(["auths", "x"]), ANY, max_size=2)))))
    return draw(st.fixed_dictionaries({}, optional={"directories": mostly(st.lists(directory, max_size=2)),
                                                    "files": mostly(st.lists(a_file, max_size=3))}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_board_files_any_options_answer_or_fail_in_one_line_and_a_refusal_destroys_nothing(
        module_runner, tmp_path_factory, data: st.DataObject) -> None:
    root = tmp_path_factory.mktemp("board")
    (root / "d").mkdir()
    (root / "d/f").write_text("keep me\n")
    (root / "d/g.json").write_text('{"keep": true}\n')
    before = tree(root)
    args = data.draw(board_files_options(str(root)))
    answer = module_runner("board_files", args)
    if answer.get("failed"):
        assert isinstance(answer["msg"], str) and answer["msg"] and "\n" not in answer["msg"], answer
        assert "Traceback" not in answer.get("module_stderr", ""), answer
        assert tree(root) == before, f"a refused call changed files: {answer['msg']}"
    else:
        assert isinstance(answer["paths"], list), answer


@settings(max_examples=40, deadline=None)
@given(args=st.fixed_dictionaries({}, optional={
    "packages": mostly(st.lists(st.sampled_from(["python3", "docker.io", "Bad", "", "a;b"]) | st.text(max_size=6),
                                max_size=3)),
    "services": mostly(st.lists(st.sampled_from(["docker", "x y", "ssh.service"]) | st.text(max_size=6),
                                max_size=2))}))
def test_board_info_any_options_answer_or_fail_in_one_line(args: dict) -> None:
    from modkit import run_module
    answer = run_module("board_info", args)
    if answer.get("failed"):
        assert answer["msg"] and "\n" not in answer["msg"], answer
        assert "Traceback" not in answer.get("module_stderr", ""), answer
    else:
        # As Ansible converted them (a scalar becomes a one-item list).
        asked = answer["invocation"]["module_args"]["packages"]
        assert set(answer["packages"]) == set(asked)
        assert answer["missing"] == [name for name in asked if answer["packages"][name] is None]
