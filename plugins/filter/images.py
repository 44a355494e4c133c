# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters for a rack of several architectures: which board builds
each architecture's images, and the platform of a Debian architecture.

Both expose module_utils/image_index.py, so the plays, the modules and the
preflight check agree. Documented in image_builders.yml and
image_platform.yml next to this file.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ansible.errors import AnsibleFilterError
from ansible_collections.pirack.cluster.plugins.module_utils.errors import ImageIndexError
from ansible_collections.pirack.cluster.plugins.module_utils.image_index import (
    Board,
    debian_platform,
    plan_builders,
)


def image_builders(boards: list[dict[str, Any]], extra: Optional[list[str]] = None) -> dict[str, Any]:
    """The architectures to build (the boards' own, then ``extra``), one builder for each, and the refusals."""
    if not isinstance(boards, list) or not all(isinstance(b, dict) and b.get("name") for b in boards):
        raise AnsibleFilterError("image_builders: the input must be a list of boards, each a dict with a name")
    known = []
    for board in boards:
        arch = board.get("architecture")
        if not isinstance(arch, str) or not arch:
            raise AnsibleFilterError(f"image_builders: board {board['name']} has no architecture")
        known.append(Board(str(board["name"]), bool(board.get("master")), arch,
                           tuple(str(a) for a in board.get("runs") or ())))
    needed: list[str] = []
    for arch in [board.architecture for board in known] + [str(a) for a in extra or []]:
        if arch not in needed:
            needed.append(arch)
    builders, problems = plan_builders(needed, known)
    return {"architectures": needed, "builders": builders, "problems": problems}


def image_platform(arch: str) -> str:
    """``linux/arm/v7`` for ``armhf``: the platform of a Debian architecture."""
    try:
        return str(debian_platform(arch))
    except ImageIndexError as exc:
        raise AnsibleFilterError(f"image_platform: {exc}") from None


class FilterModule:
    """Registers the filters under pirack.cluster."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"image_builders": image_builders, "image_platform": image_platform}
