"""module_utils/board.py: os-release, dpkg-query and meminfo parsing, the
JSON merge board_files writes, and the checks of its entries."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.board import (
    EXIT_CODE,
    deep_merge,
    entry_problems,
    exit_program,
    meminfo_mb,
    merged_json_text,
    parse_dpkg_query,
    parse_os_release,
)

RASPIOS = """PRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"
NAME="Raspbian GNU/Linux"
VERSION_CODENAME=bookworm
ID=raspbian
ID_LIKE=debian
"""


def test_os_release_of_raspberry_pi_os() -> None:
    assert parse_os_release(RASPIOS) == {"id": "raspbian", "id_like": ["debian"], "version_codename": "bookworm"}


def test_os_release_tolerates_comments_blank_and_broken_lines() -> None:
    text = '# a comment\n\nID="ubuntu"\nID_LIKE=\'debian other\'\nBROKEN="unclosed\nnoequals\n'
    assert parse_os_release(text) == {"id": "ubuntu", "id_like": ["debian", "other"], "version_codename": ""}


def test_dpkg_query_reports_installed_versions_and_none_for_the_rest() -> None:
    out = ("docker.io\tii \t20.10.24+dfsg1-1\n"
           "python3-docker\trc \t5.0.3-1\n"      # removed, config files left: not installed
           "libc6:armhf\tii \t2.36-9\n"
           "garbage line\n")
    assert parse_dpkg_query(out, ["docker.io", "python3-docker", "libc6", "absent"]) == {
        "docker.io": "20.10.24+dfsg1-1", "python3-docker": None, "libc6": "2.36-9", "absent": None}


def test_meminfo() -> None:
    assert meminfo_mb("MemTotal:        3884076 kB\nMemFree: 1 kB\n") == 3793
    assert meminfo_mb("nothing here\n") == 0


def test_deep_merge_merges_objects_and_replaces_the_rest() -> None:
    base = {"auths": {"a:5000": {"auth": "x"}}, "credsStore": "pass", "list": [1]}
    patch = {"auths": {"b:5000": {"auth": "y"}}, "list": [2]}
    assert deep_merge(base, patch) == {"auths": {"a:5000": {"auth": "x"}, "b:5000": {"auth": "y"}},
                                       "credsStore": "pass", "list": [2]}
    assert base["auths"] == {"a:5000": {"auth": "x"}}, "the input must not change"


@pytest.mark.parametrize("before", [None, "", "  \n"])
def test_a_missing_or_empty_file_counts_as_an_empty_object(before: str | None) -> None:
    assert json.loads(merged_json_text(before, {"a": 1}, "/f")) == {"a": 1}


def test_the_merge_is_written_sorted_and_ends_with_a_newline() -> None:
    text = merged_json_text('{"z": 1, "a": {"k": "é"}}', {"m": True}, "/f")
    assert text == '{\n "a": {\n  "k": "é"\n },\n "m": true,\n "z": 1\n}\n'
    assert merged_json_text(text, {"m": True}, "/f") == text, "a second merge changes nothing"


@pytest.mark.parametrize(("before", "message"), [
    ("{not json", "/f is not JSON"),
    ("[1, 2]", "/f holds a JSON list, not an object"),
    ('"text"', "/f holds a JSON str, not an object"),
])
def test_a_file_that_is_not_an_object_is_refused_naming_it(before: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        merged_json_text(before, {"a": 1}, "/f")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


@pytest.mark.parametrize(("entry", "problems"), [
    ({"path": "/etc/docker", "mode": "0755", "owner": "root", "group": "root"}, []),
    ({"path": "/etc/x", "mode": "644"}, []),
    ({"path": "etc/x"}, ["files[0].path must be an absolute path other than /, got 'etc/x'"]),
    ({"path": "/"}, ["files[0].path must be an absolute path other than /, got '/'"]),
    ({"path": "/etc/../x"}, ["files[0].path must be an absolute path other than /, got '/etc/../x'"]),
    ({"path": "/x", "mode": "u+rw"}, ["files[0].mode must be an octal mode such as '0644', got 'u+rw'"]),
    ({"path": "/x", "mode": "0999"}, ["files[0].mode must be an octal mode such as '0644', got '0999'"]),
    ({"path": "/x", "owner": "a:b", "group": ""}, [
        "files[0].owner must be a user or group name, got 'a:b'",
        "files[0].group must be a user or group name, got ''"]),
])
def test_entry_problems(entry: dict, problems: list[str]) -> None:
    assert entry_problems("files", 0, entry) == problems


def test_the_smallest_program_of_this_machines_architecture_runs(tmp_path) -> None:
    native = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                            check=True).stdout.strip()
    if native not in EXIT_CODE:
        pytest.skip(f"no exit program for {native}")
    path = tmp_path / "exit"
    path.write_bytes(exit_program(native))
    path.chmod(0o700)
    assert subprocess.run([str(path)], check=False).returncode == 0


@pytest.mark.parametrize(("arch", "entry"), [("arm64", "qemu-aarch64"), ("armhf", "qemu-arm")])
def test_an_arm_program_runs_exactly_when_the_kernel_can_run_it(tmp_path, arch: str, entry: str) -> None:
    if os.uname().machine != "x86_64":
        pytest.skip("written for an amd64 machine")
    path = tmp_path / f"exit-{arch}"
    path.write_bytes(exit_program(arch))
    path.chmod(0o700)
    binfmt = Path("/proc/sys/fs/binfmt_misc") / entry
    emulated = binfmt.is_file() and binfmt.read_text().startswith("enabled")
    try:
        ran = subprocess.run([str(path)], check=False).returncode == 0
    except OSError as exc:
        assert exc.errno == errno.ENOEXEC
        ran = False
    assert ran == emulated


def test_the_programs_are_elf_executables_of_their_machine() -> None:
    for arch, machine in (("amd64", 0x3E), ("arm64", 0xB7), ("armhf", 0x28), ("i386", 0x03)):
        program = exit_program(arch)
        assert program[:4] == b"\x7fELF" and program[4] == (2 if arch in ("amd64", "arm64") else 1)
        assert int.from_bytes(program[18:20], "little") == machine
