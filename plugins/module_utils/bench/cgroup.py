# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The board's own cgroup, where its CPU quota and memory limit are counted.

PID 1's cgroup is the board's: on a Pi the root, on a simulated board the
container the board is (its quota and limit sit there, not on its
init.scope). Pure functions over ``/proc/1/cgroup``.
"""

from __future__ import annotations

import re
from typing import List

ROOT = "/sys/fs/cgroup"


def own_cgroup_files(proc1_cgroup: str, controller: str, name: str) -> List[str]:
    """Where the board's ``name`` file of ``controller`` is: on cgroup v1
    under that controller's hierarchy, on v2 in the unified one (the
    board's init.scope left out). Both when a host mixes them; none when
    ``/proc/1/cgroup`` names neither."""
    v1 = v2 = None
    for line in proc1_cgroup.splitlines():
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if line.startswith("0::"):
            v2 = path
        elif controller in controllers.split(","):
            v1 = path
    files = []
    if v1 is not None:
        files.append(f"{ROOT}/{controller}{v1.rstrip('/')}/{name}")
    if v2 is not None:
        files.append(f"{ROOT}{re.sub(r'/init[.]scope$', '', v2).rstrip('/')}/{name}")
    return files
