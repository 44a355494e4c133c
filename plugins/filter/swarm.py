# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filter for the swarm role: what a board does with the swarm its
engine is in before it starts or joins the one its inventory names.

The decision is ``membership_action`` of module_utils/swarm_nodes.py, a pure
function unit-tested on recorded engine answers; this file only hands it
what the role read (the swarm_info module's ``swarm`` answer). Documented in
swarm_membership_action.yml next to this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.pirack.cluster.plugins.module_utils.swarm_nodes import membership_action

_KEYS = ("state", "node_address", "managers", "is_manager", "error")


def swarm_membership_action(membership: Mapping[str, Any], expected_manager: str, first_manager: bool,
                            rebuild: bool = False) -> dict[str, str]:
    """``{action, reason}`` for a board whose engine answered ``membership``."""
    if not isinstance(membership, Mapping) or any(key not in membership for key in _KEYS):
        raise AnsibleFilterError("swarm_membership_action: expected the swarm answer of "
                                 f"pirack.cluster.swarm_info (keys {', '.join(_KEYS)})")
    if not isinstance(expected_manager, str) or ":" not in expected_manager:
        raise AnsibleFilterError(f"swarm_membership_action: expected_manager must be addr:port, "
                                 f"got {expected_manager!r}")
    shaped = {key: membership[key] for key in _KEYS}
    shaped["managers"] = list(shaped["managers"] or [])
    return membership_action(shaped, expected_manager, bool(first_manager), bool(rebuild))


class FilterModule:
    """The swarm filters."""

    def filters(self) -> dict[str, Any]:
        return {"swarm_membership_action": swarm_membership_action}
