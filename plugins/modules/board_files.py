#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several small files and directories on a board, in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: board_files
short_description: Write several small files and directories on a board in one call
version_added: 0.1.0
author:
  - pirack.cluster contributors (@pirack)
description:
  - Makes the directories of O(directories), then writes the files of
    O(files), each with its owner, group and mode, on the board it runs on.
    A file is written only when its content differs, atomically (a temporary
    file in the same directory, then a rename).
  - One call for what would be a task per file. On a rack of slow boards a
    re-run that changes nothing costs one round trip per board, not one per file.
  - A file's content is either given whole (O(files[].content)) or merged into
    the JSON object the file holds (O(files[].json_merge)), keeping what other
    tools wrote there, such as logins in C(~/.docker/config.json).
options:
  directories:
    description: Directories to make (with their parents) or to fix the owner, group and mode of.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the directory.
        type: str
        required: true
      mode:
        description: Octal mode, such as V('0755').
        type: str
        default: '0755'
      owner:
        description: User that owns the directory.
        type: str
        default: root
      group:
        description: Group that owns the directory.
        type: str
        default: root
  files:
    description:
      - Files to write, after the directories. Each file's directory must
        exist or be in O(directories).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the file.
        type: str
        required: true
      content:
        description: The whole content. Exactly one of O(files[].content) and O(files[].json_merge).
        type: str
      json_merge:
        description:
          - An object merged into the JSON object the file holds (nested objects
            merge, other values replace); a missing or empty file counts as V({}).
            The file is written back with sorted keys. A file that holds
            anything but a JSON object fails the module and is left alone.
        type: dict
      mode:
        description: Octal mode, such as V('0644').
        type: str
        default: '0644'
      owner:
        description: User that owns the file.
        type: str
        default: root
      group:
        description: Group that owns the file.
        type: str
        default: root
      secret:
        description:
          - The content is a secret (a login, a key). The diff says only that
            the file changed, and the given values are masked in the output.
        type: bool
        default: false
attributes:
  check_mode:
    description: Reports which paths would change without touching them.
    support: full
  diff_mode:
    description: Shows each changed file before and after (secrets excepted).
    support: full
  idempotent:
    description: A second run with the same options changes nothing.
    support: full
seealso:
  - module: pirack.cluster.board_info
"""

EXAMPLES = r"""
- name: Write the engine's configuration and trust a registry's CA
  pirack.cluster.board_files:
    directories:
      - path: /etc/docker/certs.d/10.99.0.10:5000
    files:
      - path: /etc/docker/daemon.json
        content: "{{ {'log-driver': 'json-file'} | to_nice_json }}\n"
      - path: /etc/docker/certs.d/10.99.0.10:5000/ca.crt
        content: "{{ registry_ca_pem }}"
  register: engine_files

- name: Log root's Docker client in to a registry, keeping its other logins
  pirack.cluster.board_files:
    directories:
      - path: /root/.docker
        mode: "0700"
    files:
      - path: /root/.docker/config.json
        json_merge: {auths: {"10.99.0.10:5000": {auth: "{{ 'user:password' | b64encode }}"}}}
        mode: "0600"
        secret: true
"""

RETURN = r"""
paths:
  description: The paths that changed (or would, in check mode), in the order given.
  returned: always
  type: list
  elements: str
  sample: [/etc/docker/daemon.json]
"""

import grp  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import tempfile  # noqa: E402
from typing import Any, Iterator, Optional  # noqa: E402

from ansible_collections.pirack.cluster.plugins.module_utils.board import (  # noqa: E402
    entry_problems,
    merged_json_text,
)
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402

OWNERSHIP = {
    "owner": {"type": "str", "default": "root"},
    "group": {"type": "str", "default": "root"},
}
SECRET_TEXT = "(secret: not shown)\n"


def leaves(value: Any) -> Iterator[str]:
    """Every string inside a JSON value, to mask in the output. Strings under
    four characters are left: masking them would blank every such substring
    of the output, and no login or key is that short."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    elif isinstance(value, str) and len(value) >= 4:
        yield value


def set_attributes(module: Any, path: str, entry: dict[str, Any], changed: bool) -> bool:
    """Owner, group and mode of an existing path; True when one of them changed (or would)."""
    changed = module.set_owner_if_different(path, entry["owner"], changed)
    changed = module.set_group_if_different(path, entry["group"], changed)
    return module.set_mode_if_different(path, entry["mode"], changed)


def refusal(directories: list[dict[str, Any]], files: list[dict[str, Any]]) -> Optional[str]:
    """Why the call cannot be carried out, found before anything is touched
    (so a refused call changes nothing), or None."""
    planned: set[str] = set()
    for entry in directories:
        missing = os.path.normpath(entry["path"])
        while missing != "/" and not os.path.isdir(missing):  # it and the parents makedirs would make
            if os.path.lexists(missing):
                return f"{missing} exists and is not a directory: remove it or choose another path"
            planned.add(missing)
            missing = os.path.dirname(missing)
    for entry in files:
        path = os.path.normpath(entry["path"])
        parent = os.path.dirname(path)
        if not os.path.isdir(parent) and parent not in planned:
            return f"files: the directory of {entry['path']} does not exist; list {parent} in directories"
        if os.path.isdir(path) or path in planned:
            return f"{entry['path']} is a directory, not a file: remove it or choose another path"
    for kind, entries in (("directories", directories), ("files", files)):
        for index, entry in enumerate(entries):
            for key, lookup in (("owner", pwd.getpwnam), ("group", grp.getgrnam)):
                try:
                    lookup(entry[key])
                except KeyError:
                    return f"{kind}[{index}].{key}: no {'user' if key == 'owner' else 'group'} {entry[key]!r} here"
    return None


def ensure_directory(module: Any, entry: dict[str, Any]) -> bool:
    """Make one directory (and parents) and fix its attributes; True when it changed."""
    path = entry["path"]
    if not os.path.isdir(path):
        if module.check_mode:
            return True
        try:
            os.makedirs(path)
        except OSError as exc:
            module.fail_json(msg=f"cannot make directory {path}: {exc.strerror}")
        set_attributes(module, path, entry, True)
        return True
    return set_attributes(module, path, entry, False)


def read_text(module: Any, path: str) -> Optional[str]:
    """The file's text, or None when there is no file."""
    if not os.path.lexists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg=f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}")
    return None


def write_text(module: Any, path: str, text: str) -> None:
    """Write atomically: a temporary file beside the target, then a rename."""
    try:
        fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".pirack-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        module.fail_json(msg=f"cannot write {path}: {exc.strerror}")
    module.atomic_move(temp, path)


def new_text(module: Any, entry: dict[str, Any]) -> tuple[Optional[str], str]:
    """The file's text now (None: no file) and the text it should hold."""
    before = read_text(module, entry["path"])
    if entry["json_merge"] is None:
        return before, entry["content"]
    try:
        return before, merged_json_text(before, entry["json_merge"], entry["path"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    raise AssertionError("fail_json returned")


def ensure_file(module: Any, entry: dict[str, Any], before: Optional[str], after: str,
                diffs: list[dict[str, str]]) -> bool:
    """Write one file when its content differs and fix its attributes; True when it changed."""
    path = entry["path"]
    if before == after:
        return set_attributes(module, path, entry, False)
    if entry["secret"]:
        diffs.append({"before_header": path, "after_header": path,
                      "before": "" if before is None else SECRET_TEXT, "after": SECRET_TEXT})
    else:
        diffs.append({"before_header": path, "after_header": path, "before": before or "", "after": after})
    if not module.check_mode:
        write_text(module, path, after)
        set_attributes(module, path, entry, True)
    return True


def main() -> None:
    """Entry point: directories first, then files."""
    module = build_module(
        {
            "directories": {"type": "list", "elements": "dict", "default": [], "options": {
                "path": {"type": "str", "required": True},
                "mode": {"type": "str", "default": "0755"}, **OWNERSHIP}},
            "files": {"type": "list", "elements": "dict", "default": [], "options": {
                "path": {"type": "str", "required": True},
                "content": {"type": "str"},
                "json_merge": {"type": "dict"},
                "mode": {"type": "str", "default": "0644"}, **OWNERSHIP,
                "secret": {"type": "bool", "default": False}},
                "mutually_exclusive": [["content", "json_merge"]],
                "required_one_of": [["content", "json_merge"]]},
        },
        supports_check_mode=True,
    )
    directories, files = module.params["directories"], module.params["files"]
    for entry in files:
        if entry["secret"]:
            module.no_log_values.update(leaves(entry["json_merge"] if entry["content"] is None
                                               else entry["content"]))
    problems = [p for kind, entries in (("directories", directories), ("files", files))
                for i, entry in enumerate(entries) for p in entry_problems(kind, i, entry)]
    if problems:
        module.fail_json(msg="; ".join(problems))
    why = refusal(directories, files)
    if why:
        module.fail_json(msg=why)
    texts = [new_text(module, entry) for entry in files]  # a file that cannot be merged fails here, first
    paths = [entry["path"] for entry in directories if ensure_directory(module, entry)]
    diffs: list[dict[str, str]] = []
    paths += [entry["path"] for entry, (before, after) in zip(files, texts)
              if ensure_file(module, entry, before, after, diffs)]
    module.exit_json(changed=bool(paths), paths=paths, diff=diffs)


if __name__ == "__main__":
    main()
