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
import struct
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


# The smallest program of each architecture: exit(0), as an ELF executable
# (one loadable segment at 4 MiB, then the code). Running it tells whether a
# board's kernel runs that architecture's programs: natively (a 64-bit Pi
# runs armhf ones) or through an emulator in binfmt_misc (qemu-user-static).
_LOAD_AT = 0x400000
EXIT_CODE = {
    # arch: (64-bit, ELF machine, e_flags, code)
    "amd64": (True, 0x3E, 0, bytes.fromhex("b83c00000031ff0f05")),          # mov eax,60; xor edi,edi; syscall
    "arm64": (True, 0xB7, 0, struct.pack("<III", 0xD2800000, 0xD2800BA8, 0xD4000001)),  # x0=0; x8=93; svc 0
    "armhf": (False, 0x28, 0x05000400, struct.pack("<III", 0xE3A00000, 0xE3A07001, 0xEF000000)),  # r0=0; r7=1; svc 0
    "i386": (False, 0x03, 0, bytes.fromhex("b80100000031dbcd80")),          # mov eax,1; xor ebx,ebx; int 0x80
}


def exit_program(arch: str) -> bytes:
    """An ELF executable of ``arch`` that exits with status 0 (see EXIT_CODE)."""
    wide, machine, flags, code = EXIT_CODE[arch]
    if wide:
        header, entry_size = 64, 56
        start = header + entry_size
        ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
        elf = ident + struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, _LOAD_AT + start, header, 0, flags,
                                  header, entry_size, 1, 0, 0, 0)
        segment = struct.pack("<IIQQQQQQ", 1, 5, 0, _LOAD_AT, _LOAD_AT, start + len(code), start + len(code), 0x1000)
    else:
        header, entry_size = 52, 32
        start = header + entry_size
        ident = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
        elf = ident + struct.pack("<HHIIIIIHHHHHH", 2, machine, 1, _LOAD_AT + start, header, 0, flags,
                                  header, entry_size, 1, 0, 0, 0)
        segment = struct.pack("<IIIIIIII", 1, 0, _LOAD_AT, _LOAD_AT, start + len(code), start + len(code), 5, 0x1000)
    return elf + segment + code


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
