# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attributes of the modules that only read (an engine, a swarm, a cluster)."""


class ModuleDocFragment:
    """Use as pirack.cluster.read_only in place of an attributes block."""

    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    description: Only reads, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  idempotent:
    support: full
    description: Never changes anything.
"""
