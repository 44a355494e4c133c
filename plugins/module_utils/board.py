# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A board's own files and packages, as pure functions (board_info, board_files).

Reading what a board has and writing a handful of small files are the
commonest steps of every role; doing each in one module call instead of one
task per file or package is what keeps a re-run on many slow boards short.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any, Optional

OCTAL_MODE = re.compile(r"^0?[0-7]{3}$")
# Debian policy: lowercase letters, digits, + - . and at least two characters.
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
# systemd unit names: what systemctl accepts without escaping.
UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.@-]+$")
DPKG_FORMAT = "${Package}\t${db:Status-Abbrev}\t${Version}\n"


def parse_os_release(text: str) -> dict[str, Any]:
    """ID, ID_LIKE (a list) and VERSION_CODENAME of an /etc/os-release text."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, raw = line.partition("=")
        if not sep or not key.strip() or key.strip().startswith("#"):
            continue
        try:
            words = shlex.split(raw)
        except ValueError:
            continue
        values[key.strip()] = words[0] if words else ""
    return {
        "id": values.get("ID", ""),
        "id_like": values.get("ID_LIKE", "").split(),
        "version_codename": values.get("VERSION_CODENAME", ""),
    }


# ELF (class, machine) of a program -> the Debian architectures whose
# programs these are: what a binfmt_misc entry for them lets the board run.
ELF_ARCHITECTURES = {(1, 0x28): ("armhf", "armel"), (2, 0xB7): ("arm64",), (2, 0x3E): ("amd64",),
                     (1, 0x03): ("i386",)}


def binfmt_architectures(entries: dict[str, str]) -> list[str]:
    """The Debian architectures a board runs through emulation, from its
    ``/proc/sys/fs/binfmt_misc/<entry>`` files (name -> text).

    An entry counts when it is enabled and has the F (fix binary) flag: the
    interpreter is opened when it is registered, so it works inside
    containers, where builds run. Which programs an entry is for is read
    from its magic (the ELF header's class and machine), not its name.
    """
    found: list[str] = []
    for _name, text in sorted(entries.items()):
        fields = dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
        lines = text.splitlines()
        if not lines or lines[0].strip() != "enabled" or "F" not in fields.get("flags:", ""):
            continue
        magic = fields.get("magic", "").strip()
        if fields.get("offset", "0").strip() != "0" or len(magic) < 40 or not magic.startswith("7f454c46"):
            continue
        try:
            key = (int(magic[8:10], 16), int(magic[38:40] + magic[36:38], 16))
        except ValueError:
            continue
        found.extend(arch for arch in ELF_ARCHITECTURES.get(key, ()) if arch not in found)
    return found


def meminfo_mb(text: str) -> int:
    """MemTotal of a /proc/meminfo text, in MiB (0 when the line is missing)."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "MemTotal:" and fields[1].isdigit():
            return int(fields[1]) // 1024
    return 0


def parse_dpkg_query(text: str, names: list[str]) -> dict[str, Optional[str]]:
    """Each package asked for: its installed version, or None when it is not installed."""
    found: dict[str, Optional[str]] = {name: None for name in names}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 3:
            continue
        name, status, version = fields
        # Architecture-qualified names (libc6:armhf) answer for the plain name.
        name = name.split(":")[0]
        if name in found and status.startswith("ii"):
            found[name] = version
    return found


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` merged in: nested objects merge, any other value replaces."""
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merged_json_text(before: Optional[str], patch: dict[str, Any], path: str) -> str:
    """The file's new text: its JSON object (none when ``before`` is None or
    blank) with ``patch`` merged in. Raises ValueError naming the path when
    the file holds something other than a JSON object."""
    current: Any = {}
    if before is not None and before.strip():
        try:
            current = json.loads(before)
        except ValueError as exc:
            raise ValueError(f"{path} is not JSON ({exc}): fix or remove it, then run again") from None
        if not isinstance(current, dict):
            raise ValueError(f"{path} holds a JSON {type(current).__name__}, not an object: "
                             "fix or remove it, then run again")
    return json.dumps(deep_merge(current, patch), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def entry_problems(kind: str, index: int, entry: dict[str, Any]) -> list[str]:
    """What is wrong with one directories[] or files[] entry, one line each."""
    where = f"{kind}[{index}]"
    path = entry.get("path") or ""
    problems = []
    if not path.startswith("/") or "/../" in f"{path}/" or path.rstrip("/") == "":
        problems.append(f"{where}.path must be an absolute path other than /, got {path!r}")
    mode = entry.get("mode")
    if mode is not None and not OCTAL_MODE.match(mode):
        problems.append(f"{where}.mode must be an octal mode such as '0644', got {mode!r}")
    for key in ("owner", "group"):
        value = entry.get(key)
        if value is not None and (not value or any(c in value for c in ":/ \t\n")):
            problems.append(f"{where}.{key} must be a user or group name, got {value!r}")
    return problems


def names_problems(option: str, names: list[str], pattern: re.Pattern[str], what: str) -> list[str]:
    """One line per name in ``names`` that ``pattern`` refuses."""
    return [f"{option}[{i}] must be {what}, got {name!r}"
            for i, name in enumerate(names) if not pattern.match(name)]
