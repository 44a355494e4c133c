# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container vs native on one board, in one module call.

The same sysbench binary runs on the board and in a container made from
that binary and its libraries (no base image, no registry), interleaved
native, container, native, container, ... with a snapshot of the board's
load and throttling counters before, between and after each pair. While it
runs, the board's own app containers are paused (the engine's freezer:
their memory stays, their CPU is free), so the ratio is taken on a quiet
board; they are resumed whatever happens.

The decisions (options, library paths, which files a snapshot reads, the
order of the runs) are pure functions; the runs, the pause and the image
are thin I/O at the end, passed in as callables so the order and the
resume-on-failure are unit-tested without an engine.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from ansible_collections.pirack.cluster.plugins.module_utils.bench.cgroup import own_cgroup_files

# Files a snapshot reads when the board has them: the load average, the CFS
# throttling counters of the board's own cgroup and the Pi firmware's word.
LOADAVG = "/proc/loadavg"
PI_THROTTLED = "/sys/devices/platform/soc/soc:firmware/get_throttled"
MAX_PAIRS = 100
MAX_SECONDS = 3600


class OverheadError(ValueError):
    """A bad option or a board that cannot run the comparison: one line."""


def _whole(option: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise OverheadError(f"{option}: expected an integer between {low} and {high}, got {value!r}")
    return value


def check_params(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The module's options, checked: at least three pairs (the report takes
    a median and a spread), sysbench arguments as lists of strings, the
    pause filters as the engine's ``docker ps --filter`` mapping."""
    tests = params.get("tests")
    if not isinstance(tests, dict) or not tests:
        raise OverheadError("tests: expected a mapping of test name to sysbench arguments, "
                            f"such as {{cpu: [cpu, --cpu-max-prime=10000]}}, got {tests!r}")
    for name, args in tests.items():
        if not isinstance(args, list) or not args or not all(isinstance(a, str) and a for a in args):
            raise OverheadError(f"tests.{name}: expected a list of sysbench arguments, got {args!r}")
    pause = params.get("pause") or {}
    if not isinstance(pause, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, list)) for k, v in pause.items()):
        raise OverheadError(f"pause: expected engine filters such as {{label: [com.docker.swarm.service.name]}}, "
                            f"got {pause!r}")
    image = params.get("image")
    if not isinstance(image, str) or not image:
        raise OverheadError(f"image: expected an image name such as pirack/sysbench:local, got {image!r}")
    binary = params.get("sysbench")
    if not isinstance(binary, str) or not os.path.isabs(binary):
        raise OverheadError(f"sysbench: expected an absolute path, got {binary!r}")
    return {
        "tests": {str(k): list(v) for k, v in tests.items()},
        "pairs": _whole("pairs", params.get("pairs"), 3, MAX_PAIRS),
        "time": _whole("time", params.get("time"), 1, MAX_SECONDS),
        "threads": _whole("threads", params.get("threads"), 0, 4096),
        "pause": {k: v if isinstance(v, list) else [v] for k, v in pause.items()},
        "image": image,
        "sysbench": binary,
    }


def run_plan(tests: Mapping[str, List[str]], pairs: int) -> List[tuple]:
    """(pair number, test) in the order they run: every test once per pair,
    so a drift of the machine over the run touches each test alike."""
    return [(n, test) for n in range(1, pairs + 1) for test in tests]


def sysbench_argv(binary: str, test_args: Sequence[str], threads: int, seconds: int) -> List[str]:
    """The one command line both runs use."""
    return [binary, *test_args, f"--threads={threads}", f"--time={seconds}", "run"]


def snapshot_files(proc1_cgroup: str) -> List[str]:
    """What one snapshot reads: the load average, the board's own cgroup's
    cpu.stat (a simulated board's CPU quota sits there) and the Pi
    firmware's throttling word."""
    return [LOADAVG, *own_cgroup_files(proc1_cgroup, "cpu", "cpu.stat"), PI_THROTTLED]


def read_snapshot(files: Sequence[str]) -> str:
    """The files' lines as ``path:line``, what ``grep -H ''`` prints: the
    report's parser reads that. A file the board does not have is skipped."""
    lines = []
    for path in files:
        try:
            with open(path, encoding="ascii", errors="replace") as handle:
                lines += [f"{path}:{line}" for line in handle.read().splitlines()]
        except OSError:
            continue
    return "\n".join(lines)


def measure(settings: Mapping[str, Any], native: Callable[[List[str]], str],
            container: Callable[[List[str]], str], snapshot: Callable[[], str],
            pause: Callable[[], List[str]], resume: Callable[[], None]) -> Dict[str, Any]:
    """Pause the board's app, run every pair, resume the app (also when a run
    fails), and return the recording the report reads: per test its pairs
    ({native, container, snapshots}), the containers paused and the load
    average before the pause."""
    threads = settings["threads"]
    before = snapshot()
    try:
        paused = pause()
        tests: Dict[str, Any] = {name: {"pairs": []} for name in settings["tests"]}
        for _, name in run_plan(settings["tests"], settings["pairs"]):
            argv = sysbench_argv(settings["sysbench"], settings["tests"][name], threads, settings["time"])
            first = snapshot()
            native_out = native(argv)
            between = snapshot()
            container_out = container(argv)
            tests[name]["pairs"].append({"native": native_out, "container": container_out,
                                         "snapshots": [first, between, snapshot()]})
    finally:
        resume()
    return {"tests": tests, "paused": paused, "before": before, "threads": threads}


# --- I/O: the board's sysbench, its engine ------------------------------------

def run_native(argv: List[str], timeout: float) -> str:
    """sysbench on the board; its report, or OverheadError with its error."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OverheadError(f"sysbench on the board: {exc}") from None
    if done.returncode != 0:
        raise OverheadError(f"sysbench on the board exited {done.returncode}: "
                            f"{(done.stderr or done.stdout).strip()[-300:]}")
    return done.stdout


def run_in_container(client: Any, image: str, argv: List[str], timeout: float) -> str:
    """The same command in a container of ``image``: no network, removed after."""
    box = client.containers.create(image, command=argv, network_mode="none")
    try:
        box.start()
        status = box.wait(timeout=timeout)
        out = box.logs(stdout=True, stderr=True).decode("utf-8", "replace")
    finally:
        box.remove(force=True)
    if status.get("StatusCode") != 0:
        raise OverheadError(f"sysbench in a container exited {status.get('StatusCode')}: {out.strip()[-300:]}")
    return out


def pause_matching(client: Any, filters: Mapping[str, List[str]], paused: List[Any]) -> None:
    """Pause the running containers the filters match (none without
    filters), adding each to ``paused`` as soon as it is, so a failure
    half-way leaves the list ``resume_all`` needs."""
    if not filters:
        return
    for box in client.containers.list(filters=dict(filters)):
        if box.status == "running":
            box.pause()
            paused.append(box)


def resume_all(boxes: Sequence[Any], errors: tuple) -> Optional[str]:
    """Unpause every container paused here; the first failure, as text,
    once every other one was tried."""
    failure = None
    for box in boxes:
        try:
            box.unpause()
        except errors as exc:
            failure = failure or f"{box.name}: {exc}"
    return failure
