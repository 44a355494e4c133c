#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a board's Docker engine and kernel offer, in one answer."""

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_host_info
short_description: Facts about a host's Docker engine, cgroups and Raspberry Pi board
version_added: 0.1.0
seealso:
  - module: pirack.cluster.docker_op
description:
  - Reports the Docker engine version, storage driver, cgroup version and whether
    the memory cgroup is enabled, the CPU architecture, the Raspberry Pi model,
    memory, and the running containers and images of the host it runs on.
  - The memory cgroup matters on a Pi because Raspberry Pi OS has shipped it
    disabled; container memory limits (and k3s) need it. It is read from the
    kernel (C(/proc/cgroups) on cgroup v1, C(cgroup.controllers) on v2), not
    only from what the engine claims.
  - The board model comes from C(/proc/device-tree/model); hosts that are not a
    Raspberry Pi (a PC, a simulated Pi in a container) report RV(pi_model) as null.
extends_documentation_fragment:
  - pirack.cluster.action_groups.docker
  - pirack.cluster.docker
  - pirack.cluster.read_only
options:
  containers:
    description: Also list the running containers.
    type: bool
    default: true
  images:
    description: Also list the images.
    type: bool
    default: true
  device_tree_model:
    description: Where the kernel publishes the board model. Change only for tests.
    type: path
    default: /proc/device-tree/model
"""

EXAMPLES = r"""
- name: Read the engine and board facts
  pirack.cluster.docker_host_info:
  register: dockerhost

- name: Refuse to go on where container memory limits cannot work
  ansible.builtin.assert:
    that: dockerhost.memory_cgroup
    fail_msg: >-
      {{ inventory_hostname }}: the memory cgroup is off; add
      cgroup_enable=memory cgroup_memory=1 to /boot/firmware/cmdline.txt and reboot.
"""

RETURN = r"""
engine:
  description: Engine facts.
  returned: always
  type: dict
  contains:
    version: {description: Engine version., type: str, sample: 20.10.24+dfsg1}
    storage_driver: {description: Storage driver., type: str, sample: overlay2}
    logging_driver: {description: Default logging driver., type: str, sample: json-file}
    cgroup_version: {description: Cgroup version the engine uses., type: str, sample: "2"}
    cgroup_driver: {description: Cgroup driver., type: str, sample: systemd}
    memory_limit_support: {description: Whether the engine can limit container memory., type: bool}
    swap_limit_support: {description: Whether the engine can limit container swap., type: bool}
    live_restore: {description: Whether containers survive an engine restart., type: bool}
    architecture: {description: Engine host architecture as the kernel names it., type: str, sample: aarch64}
    os: {description: Operating system., type: str, sample: Debian GNU/Linux 12 (bookworm)}
    kernel: {description: Kernel version., type: str}
    cpus: {description: CPUs the engine sees., type: int, sample: 4}
    mem_total_mb: {description: "Memory the engine sees, in MiB.", type: int, sample: 909}
    containers: {description: All containers., type: int}
    containers_running: {description: Running containers., type: int}
    images: {description: Images., type: int}
    registry_mirrors: {description: Configured registry mirrors., type: list, elements: str}
    swarm_state: {description: "Swarm membership (inactive, active, ...).", type: str}
    warnings: {description: Warnings the engine gives about its host., type: list, elements: str}
cgroup_version:
  description: Cgroup version the engine reports for the host (V(1) for engines too old to say).
  returned: always
  type: str
  sample: "1"
memory_cgroup:
  description: Whether the kernel has the memory cgroup controller enabled.
  returned: always
  type: bool
architecture:
  description: Machine architecture of the host kernel.
  returned: always
  type: str
  sample: armv7l
pi_model:
  description: The Raspberry Pi board, or null on a host that is not one.
  returned: always
  type: dict
  contains:
    key: {description: Key in the board table (null for an unknown board)., type: str, sample: pi3bplus}
    name: {description: The model string as the kernel gives it., type: str,
           sample: Raspberry Pi 3 Model B Plus Rev 1.3}
    revision: {description: Board revision., type: str, sample: "1.3"}
    cores: {description: CPU cores of the board., type: int, sample: 4}
mem_total_mb:
  description: Memory of the host in MiB, as the engine sees it.
  returned: always
  type: int
containers:
  description: Running containers, as C(pirack.cluster.docker_op) returns them for C(op=ps).
  returned: when O(containers=true)
  type: list
  elements: dict
images:
  description: Images, as C(pirack.cluster.docker_op) returns them for C(op=images).
  returned: when O(images=true)
  type: list
  elements: dict
"""

import platform  # noqa: E402
import traceback  # noqa: E402
from typing import Optional  # noqa: E402

from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import (  # noqa: E402
    DockerException,
    client_from_module,
    docker_argument_spec,
)
from ansible_collections.pirack.cluster.plugins.module_utils.docker_ops import (  # noqa: E402
    op_images,
    op_ps,
    shape_engine_info,
)
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.pi_model import (  # noqa: E402
    parse_device_tree_model,
)


def read_text(path: str) -> Optional[str]:
    """File contents, or None when it does not exist (not a Pi, not cgroup v2)."""
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None


def memory_cgroup_enabled(proc_cgroups: Optional[str], controllers: Optional[str]) -> bool:
    """Whether the kernel offers the memory controller.

    On cgroup v2 the root's ``cgroup.controllers`` lists it; on v1
    ``/proc/cgroups`` has a row whose last column is 1. A kernel booted with
    ``cgroup_disable=memory`` (older Raspberry Pi OS) shows 0 there.
    """
    if controllers is not None:
        return "memory" in controllers.split()
    for line in (proc_cgroups or "").splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == "memory":
            return fields[3] == "1"
    return False


def main() -> None:
    """Entry point: read engine and kernel facts; never changes anything."""
    module = build_module(
        argument_spec=docker_argument_spec(
            containers={"type": "bool", "default": True},
            images={"type": "bool", "default": True},
            device_tree_model={"type": "path", "default": "/proc/device-tree/model"},
        ),
        supports_check_mode=True,
    )
    client = client_from_module(module)
    try:
        engine = shape_engine_info(client.info())
        result = {
            "changed": False,
            "engine": engine,
            "mem_total_mb": engine["mem_total_mb"],
        }
        if module.params["containers"]:
            result["containers"] = op_ps(client, {}, True)["containers"]
        if module.params["images"]:
            result["images"] = op_images(client, {}, True)["images"]
    except DockerException as exc:
        module.fail_json(msg=f"reading the engine failed: {exc}", exception=traceback.format_exc())
    finally:
        client.close()

    controllers = read_text("/sys/fs/cgroup/cgroup.controllers")
    result["cgroup_version"] = engine["cgroup_version"]
    result["memory_cgroup"] = memory_cgroup_enabled(read_text("/proc/cgroups"), controllers)
    result["architecture"] = platform.machine()
    result["pi_model"] = parse_device_tree_model(read_text(module.params["device_tree_model"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
