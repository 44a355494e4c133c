#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure how many minimal containers one board holds, then remove them."""

from __future__ import annotations

DOCUMENTATION = r"""
module: benchmark_density
short_description: Start minimal containers on a board until memory runs low, record the curve, clean up
version_added: 0.1.0
description:
  - Starts one tiny static HTTP server after another on the host's engine,
    busybox C(httpd) on the host network (no network namespace to set up), its
    page written into a tmpfs, a read-only root. Each must serve its page before
    the next starts.
  - After each one the module records how many run, the memory used
    (C(MemTotal - MemAvailable) of C(/proc/meminfo)) and the start latency
    (create to first page served). It stops at the first of O(memory_floor_mb)
    of memory left, a start that fails, O(max_containers) or O(max_seconds),
    then removes every container it started (and any an interrupted run left,
    found by their label).
  - Runs on the board it measures. The image is made from the board's own
    busybox and the libraries it loads (C(docker import), no base image, no
    registry) when it is missing or holds another build.
extends_documentation_fragment:
  - pirack.cluster.action_groups.docker
  - pirack.cluster.docker
attributes:
  check_mode:
    description: Not supported; measuring means starting containers.
    support: none
  diff_mode:
    description: Nothing is left changed, so there is no diff.
    support: none
  idempotent:
    description: Leaves the engine as it found it but for the image, imported once per busybox build.
    support: full
options:
  image:
    description: The image the servers run; made from O(busybox) when missing or made from another build.
    type: str
    default: pirack/busybox:local
  busybox:
    description: The board's busybox, with its C(sh) and C(httpd) applets.
    type: path
    default: /bin/busybox
  network:
    description:
      - C(host) (no network namespace to set up; each server must serve its
        page on a port of its own) or C(none) (a namespace with only a
        loopback; each server must be running).
    type: str
    choices: [host, none]
    default: host
  log_driver:
    description: The containers' log driver (C(none), C(json-file), C(local), ...); empty for the engine's default.
    type: str
    default: ""
  init:
    description: Run an init process (C(docker run --init)) in front of each server.
    type: bool
    default: false
  memory_floor_mb:
    description: Stop when the board has this much memory available or less.
    type: int
    default: 100
  max_containers:
    description: Stop after this many (0 = no limit but memory, failure and time).
    type: int
    default: 0
  max_seconds:
    description: Stop starting new containers after this many seconds.
    type: float
    default: 900
  port_base:
    description: First host port the servers listen on; each takes the next free one.
    type: int
    default: 20000
  ready_timeout:
    description: Seconds a server has to serve its page before the start counts as failed.
    type: float
    default: 10
  tmpfs_size:
    description: Size of each server's tmpfs (for example V(64k)).
    type: str
    default: 64k
seealso:
  - module: pirack.cluster.benchmark_report
  - module: pirack.cluster.benchmark_overhead
"""

EXAMPLES = r"""
- name: Containers a board holds, leaving 100 MB free
  pirack.cluster.benchmark_density:
    memory_floor_mb: 100
  register: density

- name: The same without a network namespace per server or a log file
  pirack.cluster.benchmark_density:
    network: none
    log_driver: none
  register: density_lean
"""

RETURN = r"""
containers:
  description: How many servers ran at the peak.
  returned: success
  type: int
stopped_by:
  description: Why the ramp stopped (memory floor, a failure and its reason, max_containers, time limit).
  returned: success
  type: str
steps:
  description: After each start, C(containers), C(mem_used_mb) and C(start_s); the first step is the board before any.
  returned: success
  type: list
  elements: dict
mem_total_mb:
  description: Memory of the board in MiB.
  returned: success
  type: float
mem_available_mb:
  description: Memory available at the peak, in MiB.
  returned: success
  type: float
removed:
  description: Containers removed at the end.
  returned: success
  type: int
settings:
  description: The compared settings of this ramp (C(network), C(log_driver), C(init)) and the C(engine) that ran it.
  returned: success
  type: dict
breakdown:
  description:
    - What one container cost, in KiB, from readings of the board before the first and at the peak.
    - C(processes_kb) by process kind (PSS, shared pages split among their users) such as C(shim),
      C(conmon), C(dockerd), C(containerd), C(servers); C(memory_stat_kb) by class of the board
      cgroup's memory.stat (C(anon), C(kernel_stack), C(pagetables), C(percpu), C(slab_unreclaimable),
      ...); C(total_kb) from MemTotal - MemAvailable; C(outside_processes_kb) the part no process holds.
  returned: success
  type: dict
"""

import os  # noqa: E402

from ansible_collections.pirack.cluster.plugins.module_utils.bench.cgroup import own_cgroup_files  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.bench.density import (  # noqa: E402
    DensityError,
    check_params,
    engine_name,
    ramp,
    read_board,
)
from ansible_collections.pirack.cluster.plugins.module_utils.bench.rootfs import (  # noqa: E402
    RootfsError,
    ensure_image,
)
from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import (  # noqa: E402
    ENGINE_ERRORS,
    client_from_module,
    docker_argument_spec,
)
from ansible_collections.pirack.cluster.plugins.module_utils.errors import exception_text  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402


def read_meminfo() -> str:
    """The board's /proc/meminfo (lxcfs answers for a simulated board)."""
    with open("/proc/meminfo", encoding="ascii", errors="replace") as handle:
        return handle.read()


def main() -> None:
    """Entry point: check the options, connect, ramp, report."""
    module = build_module(
        argument_spec=docker_argument_spec(
            image={"type": "str", "default": "pirack/busybox:local"},
            busybox={"type": "path", "default": "/bin/busybox"},
            network={"type": "str", "choices": ["host", "none"], "default": "host"},
            log_driver={"type": "str", "default": ""},
            init={"type": "bool", "default": False},
            memory_floor_mb={"type": "int", "default": 100},
            max_containers={"type": "int", "default": 0},
            max_seconds={"type": "float", "default": 900.0},
            port_base={"type": "int", "default": 20000},
            ready_timeout={"type": "float", "default": 10.0},
            tmpfs_size={"type": "str", "default": "64k"},
        ),
        supports_check_mode=False,
    )
    try:
        settings = check_params(module.params)
    except DensityError as exc:
        module.fail_json(msg=str(exc))
    if not os.access(module.params["busybox"], os.X_OK):
        module.fail_json(msg=f"busybox: {module.params['busybox']} is not on this board "
                             f"(install the busybox package)")
    client = client_from_module(module)
    try:
        from docker.errors import ImageNotFound

        imported = ensure_image(client, settings["image"], module.params["busybox"], ImageNotFound)
        with open("/proc/1/cgroup", encoding="ascii", errors="replace") as handle:
            stat_files = own_cgroup_files(handle.read(), "memory", "memory.stat")
        result = ramp(client, settings, read_meminfo, ENGINE_ERRORS,
                      read_board=lambda: read_board(stat_files, read_meminfo))
        result["settings"]["engine"] = engine_name(client.version())
    except RootfsError as exc:
        module.fail_json(msg=str(exc))
    except ENGINE_ERRORS as exc:
        module.fail_json(msg=f"the engine failed during the density ramp: {exception_text(exc)}")
    finally:
        client.close()
    module.exit_json(changed=imported, **result)


if __name__ == "__main__":
    main()
