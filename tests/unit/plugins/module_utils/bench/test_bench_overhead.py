"""Container vs native on one board (bench/overhead.py) and the image made
from a board's own binary (bench/rootfs.py): options, the order of the runs,
the app resumed on every path, the files a snapshot reads, the tar the
engine imports. The real runs on a real engine are molecule/e2e's."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any, List

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.bench import overhead, rootfs

PARAMS = {"tests": {"cpu": ["cpu", "--cpu-max-prime=10000"], "memory": ["memory"]}, "pairs": 3, "time": 2,
          "threads": 0, "image": "pirack/sysbench:local", "sysbench": "/usr/bin/sysbench", "pause": {}}


def with_params(**changes: Any) -> dict:
    return dict(PARAMS, **changes)


def test_good_options_come_back_clean() -> None:
    settings = overhead.check_params(with_params(pause={"label": "com.docker.swarm.service.name"}))
    assert settings["tests"] == PARAMS["tests"] and settings["pairs"] == 3 and settings["time"] == 2
    assert settings["pause"] == {"label": ["com.docker.swarm.service.name"]}


@pytest.mark.parametrize(("changes", "expected"), [
    ({"pairs": 2}, "pairs: expected an integer between 3 and 100, got 2"),
    ({"pairs": True}, "pairs: expected an integer between 3 and 100, got True"),
    ({"time": 0}, "time: expected an integer between 1 and 3600, got 0"),
    ({"threads": -1}, "threads: expected an integer between 0 and 4096"),
    ({"tests": {}}, "tests: expected a mapping of test name to sysbench arguments"),
    ({"tests": ["cpu"]}, "tests: expected a mapping of test name to sysbench arguments"),
    ({"tests": {"cpu": "cpu"}}, "tests.cpu: expected a list of sysbench arguments, got 'cpu'"),
    ({"tests": {"cpu": ["cpu", 5]}}, "tests.cpu: expected a list of sysbench arguments"),
    ({"pause": ["label"]}, "pause: expected engine filters such as"),
    ({"pause": {"label": 5}}, "pause: expected engine filters such as"),
    ({"image": ""}, "image: expected an image name"),
    ({"sysbench": "sysbench"}, "sysbench: expected an absolute path, got 'sysbench'"),
])
def test_each_bad_option_is_one_line_naming_it(changes: dict, expected: str) -> None:
    with pytest.raises(overhead.OverheadError) as caught:
        overhead.check_params(with_params(**changes))
    assert str(caught.value).startswith(expected) and "\n" not in str(caught.value)


def test_every_test_runs_once_per_pair_and_both_runs_share_one_command_line() -> None:
    assert overhead.run_plan(PARAMS["tests"], 3) == [(1, "cpu"), (1, "memory"), (2, "cpu"), (2, "memory"),
                                                     (3, "cpu"), (3, "memory")]
    assert overhead.sysbench_argv("/usr/bin/sysbench", ["cpu", "--cpu-max-prime=10000"], 4, 3) == [
        "/usr/bin/sysbench", "cpu", "--cpu-max-prime=10000", "--threads=4", "--time=3", "run"]


@pytest.mark.parametrize(("cgroup", "files"), [
    # cgroup v2, a simulated board (cgroupns host): its scope, not its init.
    ("0::/system.slice/docker-0123abcd.scope/init.scope\n",
     ["/proc/loadavg", "/sys/fs/cgroup/system.slice/docker-0123abcd.scope/cpu.stat",
      "/sys/devices/platform/soc/soc:firmware/get_throttled"]),
    # cgroup v2 on a Pi: the root.
    ("0::/init.scope\n", ["/proc/loadavg", "/sys/fs/cgroup/cpu.stat",
                          "/sys/devices/platform/soc/soc:firmware/get_throttled"]),
    # cgroup v1: the cpu controller's directory.
    ("12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n",
     ["/proc/loadavg", "/sys/fs/cgroup/cpu/docker/abc/cpu.stat",
      "/sys/devices/platform/soc/soc:firmware/get_throttled"]),
])
def test_a_snapshot_reads_the_boards_own_cgroup(cgroup: str, files: List[str]) -> None:
    assert overhead.snapshot_files(cgroup) == files


def test_a_snapshot_is_what_grep_h_prints_and_skips_missing_files(tmp_path: Path) -> None:
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.42 0.30 0.20 1/200 999\n")
    stat = tmp_path / "cpu.stat"
    stat.write_text("nr_periods 10\nnr_throttled 2\n")
    text = overhead.read_snapshot([str(loadavg), str(tmp_path / "missing"), str(stat)])
    assert text.splitlines() == [f"{loadavg}:0.42 0.30 0.20 1/200 999", f"{stat}:nr_periods 10",
                                 f"{stat}:nr_throttled 2"]


class Board:
    """A board's runs as calls in order: what measure() does, and when."""

    def __init__(self, fail_on: str = "") -> None:
        self.calls: List[str] = []
        self.fail_on = fail_on

    def step(self, name: str, answer: str = "") -> str:
        self.calls.append(name)
        if name == self.fail_on:
            raise overhead.OverheadError(f"{name} failed")
        return answer

    def measure(self) -> dict:
        settings = overhead.check_params(with_params(threads=2))
        return overhead.measure(
            settings,
            native=lambda argv: self.step("native", " ".join(argv[1:2])),
            container=lambda argv: self.step("container", " ".join(argv[1:2])),
            snapshot=lambda: self.step("snapshot", f"/proc/loadavg:0.{len(self.calls)} 0 0 1/1 1"),
            pause=lambda: [self.step("pause")] and ["coinminer_rng.1", "coinminer_worker.1"],
            resume=lambda: self.step("resume") and None)


def test_the_app_is_paused_around_interleaved_pairs_with_snapshots_between() -> None:
    board = Board()
    result = board.measure()
    pair = ["snapshot", "native", "snapshot", "container", "snapshot"]
    assert board.calls == ["snapshot", "pause"] + pair * 6 + ["resume"]
    assert [p["native"] for p in result["tests"]["cpu"]["pairs"]] == ["cpu"] * 3
    assert [p["container"] for p in result["tests"]["memory"]["pairs"]] == ["memory"] * 3
    assert all(len(p["snapshots"]) == 3 for p in result["tests"]["cpu"]["pairs"])
    assert result["paused"] == ["coinminer_rng.1", "coinminer_worker.1"]
    assert result["before"] == "/proc/loadavg:0.0 0 0 1/1 1" and result["threads"] == 2


@pytest.mark.parametrize("fail_on", ["pause", "native", "container"])
def test_the_app_is_resumed_when_anything_fails(fail_on: str) -> None:
    board = Board(fail_on)
    with pytest.raises(overhead.OverheadError):
        board.measure()
    assert board.calls[-1] == "resume" and board.calls.count("resume") == 1


class Box:
    def __init__(self, name: str, status: str = "running", fail: bool = False) -> None:
        self.name, self.status, self.fail, self.log = name, status, fail, []

    def pause(self) -> None:
        if self.fail:
            raise RuntimeError("engine said no")
        self.log.append("pause")

    def unpause(self) -> None:
        if self.fail:
            raise RuntimeError("engine said no")
        self.log.append("unpause")


class Containers:
    def __init__(self, boxes: List[Box]) -> None:
        self.boxes, self.filters = boxes, None

    def list(self, filters: dict) -> List[Box]:
        self.filters = filters
        return self.boxes


class Client:
    def __init__(self, boxes: List[Box]) -> None:
        self.containers = Containers(boxes)


def test_only_running_matches_are_paused_and_every_one_is_resumed() -> None:
    boxes = [Box("rng"), Box("old", status="paused"), Box("worker")]
    client, paused = Client(boxes), []
    overhead.pause_matching(client, {"label": ["com.docker.swarm.service.name"]}, paused)
    assert client.containers.filters == {"label": ["com.docker.swarm.service.name"]}
    assert [b.name for b in paused] == ["rng", "worker"] and boxes[1].log == []
    assert overhead.resume_all(paused, (RuntimeError,)) is None
    assert boxes[0].log == ["pause", "unpause"] and boxes[2].log == ["pause", "unpause"]


def test_no_filter_pauses_nothing_and_a_failed_resume_is_named_after_trying_all() -> None:
    client, paused = Client([Box("rng")]), []
    overhead.pause_matching(client, {}, paused)
    assert paused == [] and client.containers.filters is None
    stuck, fine = Box("stuck", fail=True), Box("fine")
    assert overhead.resume_all([stuck, fine], (RuntimeError,)) == "stuck: engine said no"
    assert fine.log == ["unpause"]


def test_a_pause_failing_half_way_leaves_the_ones_paused_in_the_list() -> None:
    client, paused = Client([Box("rng"), Box("worker", fail=True)]), []
    with pytest.raises(RuntimeError):
        overhead.pause_matching(client, {"label": ["x"]}, paused)
    assert [b.name for b in paused] == ["rng"]


LDD = """\tlinux-vdso.so.1 (0x00007ffd5a9e5000)
\tlibluajit-5.1.so.2 => /lib/x86_64-linux-gnu/libluajit-5.1.so.2 (0x00007f3c1c400000)
\tlibaio.so.1 => /lib/x86_64-linux-gnu/libaio.so.1 (0x00007f3c1c3f0000)
\tlibgone.so.3 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f3c1c200000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f3c1c600000)
"""


def test_library_paths_are_every_file_ldd_names() -> None:
    assert rootfs.library_paths(LDD) == ["/lib/x86_64-linux-gnu/libluajit-5.1.so.2",
                                         "/lib/x86_64-linux-gnu/libaio.so.1",
                                         "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]
    # A static binary (busybox): ldd says so on stderr, nothing to pack.
    assert rootfs.library_paths("") == []


def test_the_tar_holds_the_binary_and_each_library_under_its_own_path(tmp_path: Path) -> None:
    binary = tmp_path / "usr" / "bin" / "tool"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(b"\x7fELF tool")
    real = tmp_path / "lib" / "libx.so.1.2"
    real.parent.mkdir()
    real.write_bytes(b"library")
    link = tmp_path / "lib" / "libx.so.1"
    link.symlink_to(real.name)
    with tarfile.open(fileobj=io.BytesIO(rootfs.rootfs(str(binary), [str(link)]))) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert members["tmp"].isdir() and members["tmp"].mode == 0o1777
        name = str(link).lstrip("/")
        # The link's content under the link's name, as cp -L does.
        assert members[name].isfile() and tar.extractfile(name).read() == b"library"
        assert tar.extractfile(str(binary).lstrip("/")).read() == b"\x7fELF tool"
        parents = str(link.parent).lstrip("/").split("/")
        assert all(members["/".join(parents[:i])].isdir() for i in range(1, len(parents) + 1))


class Images:
    def __init__(self, labels: Any) -> None:
        self.labels = labels

    def get(self, name: str) -> Any:
        if self.labels is None:
            raise LookupError(name)
        return type("Image", (), {"labels": self.labels})()


class Api:
    def __init__(self) -> None:
        self.imported: List[dict] = []

    def import_image_from_data(self, data: bytes, **kwargs: Any) -> None:
        self.imported.append(dict(kwargs, size=len(data)))


class ImageClient:
    def __init__(self, labels: Any) -> None:
        self.images, self.api = Images(labels), Api()


def test_the_image_is_imported_once_per_build_of_the_binary(tmp_path: Path) -> None:
    binary = tmp_path / "tool"
    binary.write_bytes(b"build 1")
    digest = __import__("hashlib").sha256(b"build 1").hexdigest()
    missing = ImageClient(labels=None)
    assert rootfs.ensure_image(missing, "pirack/sysbench:local", str(binary), LookupError) is True
    assert missing.api.imported[0]["repository"] == "pirack/sysbench"
    assert missing.api.imported[0]["tag"] == "local"
    assert missing.api.imported[0]["changes"] == [f"LABEL {rootfs.IMAGE_LABEL}={digest}"]
    same = ImageClient(labels={rootfs.IMAGE_LABEL: digest})
    assert rootfs.ensure_image(same, "pirack/sysbench:local", str(binary), LookupError) is False
    assert same.api.imported == []
    other = ImageClient(labels={rootfs.IMAGE_LABEL: "another build"})
    assert rootfs.ensure_image(other, "registry.local:5000/tools/sysbench", str(binary), LookupError) is True
    assert (other.api.imported[0]["repository"], other.api.imported[0]["tag"]) == (
        "registry.local:5000/tools/sysbench", "latest")
