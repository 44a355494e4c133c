#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container vs native on one board, its own app paused, in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: benchmark_overhead
short_description: Run sysbench natively and in a container on a board, interleaved, its app paused
version_added: 0.1.0
description:
  - Runs the board's own sysbench binary natively and in a container made from
    that binary and its libraries (C(docker import), no base image, no
    registry), O(pairs) times per test, interleaved native, container, native,
    container, ... so a drift of the board over the run touches both alike.
  - Before, between and after each pair it reads the board's load average,
    the CFS throttling counters of the board's own cgroup and the Raspberry Pi
    firmware's throttling word; the benchmark report names what it saw there
    when a ratio is off.
  - The containers O(pause) matches (the board's Swarm tasks, for example) are
    paused while it measures, so the ratio is taken on a quiet board; they are
    resumed when it ends, failed runs included. Their memory stays where it
    is; the engine stops their health checks while they are paused.
  - Runs on the board it measures. One call replaces a dozen tasks (snapshot,
    run, snapshot, run, snapshot per pair and test), so the measurement is not
    spread over Ansible round trips.
extends_documentation_fragment:
  - pirack.cluster.action_groups.docker
  - pirack.cluster.docker
attributes:
  check_mode:
    description: Not supported; measuring means running containers.
    support: none
  diff_mode:
    description: Nothing is left changed but the image, so there is no diff.
    support: none
  idempotent:
    description: The image is imported once per sysbench build; the runs leave nothing behind.
    support: full
options:
  tests:
    description:
      - sysbench tests to compare, by name, each with its arguments before
        C(--threads), C(--time) and C(run), which the module adds.
    type: dict
    required: true
  pairs:
    description: Native/container pairs per test (the report takes their median and spread).
    type: int
    default: 3
  time:
    description: Seconds of each sysbench run.
    type: int
    default: 10
  threads:
    description: sysbench threads (0 = one per CPU this board may use).
    type: int
    default: 0
  image:
    description: The image made from the board's sysbench; imported when missing or made from another build.
    type: str
    default: pirack/sysbench:local
  sysbench:
    description: The sysbench binary on the board.
    type: path
    default: /usr/bin/sysbench
  pause:
    description:
      - "Engine filters (as C(docker ps --filter) takes them) of the running
        containers to pause during the runs, for example
        V({label: [com.docker.swarm.service.name]}) for every Swarm task of the
        board. Empty pauses nothing."
    type: dict
    default: {}
author:
  - pirack.cluster contributors (@pirack)
seealso:
  - module: pirack.cluster.benchmark_report
  - module: pirack.cluster.benchmark_density
"""

EXAMPLES = r"""
- name: Container vs native, the board's Swarm tasks paused meanwhile
  pirack.cluster.benchmark_overhead:
    tests:
      cpu: [cpu, --cpu-max-prime=10000]
      memory: [memory, --memory-block-size=1K, --memory-total-size=100G]
    pairs: 3
    time: 3
    pause: {label: [com.docker.swarm.service.name]}
  register: overhead
"""

RETURN = r"""
tests:
  description: Per test, its pairs; each the native and container sysbench reports and three snapshots.
  returned: success
  type: dict
  sample: {cpu: {pairs: [{native: "...events per second: 1012.4...", container: "...",
                          snapshots: ["/proc/loadavg:0.31 0.40 0.52 1/230 4321"]}]}}
paused:
  description: Names of the containers paused during the runs (and resumed).
  returned: success
  type: list
  elements: str
before:
  description: The snapshot taken before anything was paused (the board's load with its app running).
  returned: success
  type: str
threads:
  description: sysbench threads each run used.
  returned: success
  type: int
changed:
  description: Whether the sysbench image was imported.
  returned: always
  type: bool
"""

import os  # noqa: E402

from ansible_collections.pirack.cluster.plugins.module_utils.bench.overhead import (  # noqa: E402
    OverheadError,
    check_params,
    measure,
    pause_matching,
    read_snapshot,
    resume_all,
    run_in_container,
    run_native,
    snapshot_files,
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


def main() -> None:
    """Entry point: check the options, make the image, pause, measure, resume."""
    module = build_module(
        argument_spec=docker_argument_spec(
            tests={"type": "dict", "required": True},
            pairs={"type": "int", "default": 3},
            time={"type": "int", "default": 10},
            threads={"type": "int", "default": 0},
            image={"type": "str", "default": "pirack/sysbench:local"},
            sysbench={"type": "path", "default": "/usr/bin/sysbench"},
            pause={"type": "dict", "default": {}},
        ),
        supports_check_mode=False,
    )
    try:
        settings = check_params(module.params)
    except OverheadError as exc:
        module.fail_json(msg=str(exc))
    if not os.access(settings["sysbench"], os.X_OK):
        module.fail_json(msg=f"sysbench: {settings['sysbench']} is not on this board "
                             f"(install the sysbench package)")
    settings["threads"] = settings["threads"] or len(os.sched_getaffinity(0))
    with open("/proc/1/cgroup", encoding="ascii", errors="replace") as handle:
        files = snapshot_files(handle.read())
    # A run that hangs is stopped well after sysbench should have ended.
    timeout = settings["time"] * 3 + 60
    client = client_from_module(module)
    paused: list = []
    try:
        from docker.errors import ImageNotFound

        imported = ensure_image(client, settings["image"], settings["sysbench"], ImageNotFound)

        def pause() -> list:
            pause_matching(client, settings["pause"], paused)
            return sorted(box.name for box in paused)

        def resume() -> None:
            failure = resume_all(paused, ENGINE_ERRORS)
            if failure:
                raise OverheadError(f"could not resume a paused container: {failure}")

        result = measure(settings, lambda argv: run_native(argv, timeout),
                         lambda argv: run_in_container(client, settings["image"], argv, timeout),
                         lambda: read_snapshot(files), pause, resume)
    except (OverheadError, RootfsError) as exc:
        module.fail_json(msg=str(exc), paused=sorted(box.name for box in paused))
    except ENGINE_ERRORS as exc:
        module.fail_json(msg=f"the engine failed during container vs native: {exception_text(exc)}",
                         paused=sorted(box.name for box in paused))
    finally:
        client.close()
    module.exit_json(changed=imported, **result)


if __name__ == "__main__":
    main()
