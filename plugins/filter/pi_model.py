# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filter recognising a Raspberry Pi board from its device-tree model.

It exposes module_utils/pi_model.py unchanged, so plays and modules
recognise boards by the same table. Documented in pi_model.yml next to this
file.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

from ansible_collections.pirack.cluster.plugins.module_utils.pi_model import parse_device_tree_model


def pi_model(raw: Optional[Union[str, bytes]]) -> Optional[dict]:
    """Board dict (key, name, revision, cores) from a device-tree model string, or None."""
    return parse_device_tree_model(raw)


class FilterModule:
    """Registers the filter under pirack.cluster."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"pi_model": pi_model}
