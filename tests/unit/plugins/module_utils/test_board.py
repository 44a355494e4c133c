"""module_utils/board.py: os-release, dpkg-query and meminfo parsing, the
JSON merge board_files writes, and the checks of its entries."""

from __future__ import annotations

import json

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.board import (
    binfmt_architectures,
    deep_merge,
    entry_problems,
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


# /proc/sys/fs/binfmt_misc entries as Debian's qemu-user-static registers them.
QEMU_ARM = """enabled
interpreter /usr/libexec/qemu-binfmt/arm-binfmt-P
flags: PF
offset 0
magic 7f454c4601010100000000000000000002002800
mask ffffffffffffff00fffffffffffffffffeffffff
"""
QEMU_AARCH64 = """enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: PF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
"""


def test_binfmt_entries_say_which_architectures_a_board_emulates() -> None:
    assert binfmt_architectures({"qemu-arm": QEMU_ARM, "qemu-aarch64": QEMU_AARCH64}) == ["arm64", "armhf", "armel"]


def test_a_disabled_entry_or_one_without_fix_binary_does_not_count() -> None:
    # Without F the interpreter is looked up inside each container, where a build has none.
    assert binfmt_architectures({"qemu-arm": QEMU_ARM.replace("enabled", "disabled", 1),
                                 "qemu-aarch64": QEMU_AARCH64.replace("flags: PF", "flags: P")}) == []


def test_an_entry_is_known_by_its_magic_not_its_name() -> None:
    assert binfmt_architectures({"my-arm-emulator": QEMU_ARM}) == ["armhf", "armel"]
    assert binfmt_architectures({"python3.11": "enabled\nflags: \noffset 0\nmagic a70d0d0a\n",
                                 "jar": "enabled\nflags: F\nextension .jar\n"}) == []
