"""What the tests that drive a simulated rack share: running the playbooks
from the checkout, reading their recap, and watching the coin-miner's
``hashes`` counter through the webui and the swarm manager over SSH.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = "coinminer"


def run(*args: str, extra: Optional[dict] = None, logs: Path, check: bool = True) -> tuple[str, float, int]:
    """Run an ansible command from the checkout with its log in ``logs``.

    Returns output, seconds taken and exit code; with ``check`` a non-zero
    exit fails the test, quoting the end of the output.
    """
    cmd = list(args)
    if extra:
        cmd += ["-e", json.dumps(extra)]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                                   ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"))
    took = time.monotonic() - start
    logs.mkdir(parents=True, exist_ok=True)
    what = next((Path(arg).stem for arg in args[1:] if not arg.startswith("-")), "cmd")
    log = logs / f"{what}-{int(start)}.log"
    log.write_text(proc.stdout + proc.stderr)
    if check:
        assert proc.returncode == 0, (f"{' '.join(args)} failed (log: {log}):\n"
                                      f"{proc.stdout[-4000:]}{proc.stderr[-2000:]}")
    return proc.stdout, took, proc.returncode


class LiveRun:
    """An ansible command from the checkout whose output is read as it
    comes, so a test can strike when the run reaches a named point (a task
    banner) rather than after a fixed number of seconds, which holds only
    on the machine it was measured on. The log goes to ``logs`` too."""

    def __init__(self, *args: str, extra: Optional[dict] = None, logs: Path) -> None:
        cmd = list(args) + (["-e", json.dumps(extra)] if extra else [])
        self.start = time.monotonic()
        logs.mkdir(parents=True, exist_ok=True)
        what = next((Path(arg).stem for arg in args[1:] if not arg.startswith("-")), "cmd")
        self.log = logs / f"{what}-live-{int(self.start)}.log"
        self.lines: list[tuple[float, str]] = []
        self.changed = threading.Condition()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                                              ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", PYTHONUNBUFFERED="1"))
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.changed:
                self.lines.append((time.monotonic() - self.start, line))
                self.changed.notify_all()
        with self.changed:
            self.lines.append((time.monotonic() - self.start, ""))  # end of output
            self.changed.notify_all()

    def output(self) -> str:
        with self.changed:
            return "".join(line for _, line in self.lines)

    def reached(self, marker: str, timeout: float) -> float:
        """Wait until a line of the output contains ``marker``; the run's
        seconds at that line. Fails naming the marker if the run ends or the
        time runs out first."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self.changed:
            while True:
                for when, line in self.lines[seen:]:
                    if marker in line:
                        return when
                    if line == "":
                        pytest.fail(f"the run ended without reaching {marker!r}:\n{self.output()[-3000:]}")
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"the run did not reach {marker!r} within {timeout:.0f}s")
                self.changed.wait(left)

    def finish(self, timeout: float) -> tuple[str, float, int]:
        """Output, seconds taken and exit code once the run ends (killed after ``timeout``)."""
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self.stop()
        return self.output(), time.monotonic() - self.start, code

    def stop(self) -> None:
        """End the run if it still goes; its output so far goes to the log either way."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self.reader.join(10)
        self.log.write_text(self.output())


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host."""
    hosts = {}
    for line in output.split("PLAY RECAP")[-1].splitlines():
        match = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
        if match:
            hosts[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return hosts


def changed_hosts(output: str) -> dict[str, int]:
    """Hosts whose recap says changed > 0."""
    return {h: c["changed"] for h, c in recap(output).items() if c["changed"]}


def json_of(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def pi_image_or_skip() -> None:
    probe = subprocess.run(["docker", "image", "inspect", "pirack/pi-host:bookworm"],
                           capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("no Docker engine or no pirack/pi-host:bookworm image (make images)")


@contextmanager
def simulated_rack(rack: dict, logs: Path, label: str) -> Iterator[dict[str, float]]:
    """A simulated rack with these ``sim_rack_*`` settings, removed afterwards
    whatever happened. Yields the timings dict (rack_up already in it) for the
    caller to add to; they are printed at the end for BENCHMARKS.md."""
    pi_image_or_skip()
    logs.mkdir(parents=True, exist_ok=True)  # the rack's inventory is written there too
    timings: dict[str, float] = {}
    try:
        _, timings["rack_up"], _ = run("ansible-playbook", "playbooks/rack_up.yml", extra=rack, logs=logs)
        yield timings
    finally:
        subprocess.run(["ansible-playbook", "playbooks/rack_down.yml", "-e", f"sim_rack_name={rack['sim_rack_name']}"],
                       cwd=ROOT, capture_output=True, check=False)
        print(f"\n{label} timings (s): " + ", ".join(f"{k}={v:.1f}" for k, v in timings.items()))


def read_hashes(webui: str, timeout: float = 3.0) -> Optional[int]:
    """The hashes counter as the webui reads it from redis, or None while it cannot."""
    try:
        with urllib.request.urlopen(f"{webui}/json", timeout=timeout) as response:
            return int(json.load(response)["hashes"])
    except (OSError, ValueError, KeyError, urllib.error.URLError):
        return None


def wait_for(what: str, probe: Callable[[], Optional[object]], timeout: float, interval: float = 1.0) -> object:
    """Poll ``probe`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"{what}: not within {timeout:.0f}s")


def hash_rate(webui: str, seconds: float) -> float:
    """Hashes per second over ``seconds``, from two reads of the counter."""
    start_value = wait_for("webui answers", lambda: read_hashes(webui), 60)
    start = time.monotonic()
    time.sleep(seconds)
    end_value = wait_for("webui answers", lambda: read_hashes(webui), 60)
    return (int(end_value) - int(start_value)) / (time.monotonic() - start)


class Sampler(threading.Thread):
    """Reads the counter twice a second in the background, keeping every answer."""

    def __init__(self, webui: str) -> None:
        super().__init__(daemon=True)
        self.webui = webui
        self.samples: list[int] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            value = read_hashes(self.webui, timeout=1.0)
            if value is not None:
                self.samples.append(value)
            self.stopping.wait(0.5)

    def stop(self) -> list[int]:
        self.stopping.set()
        self.join(5)
        return self.samples


def decreases(samples: list[int]) -> list[tuple[int, int]]:
    """Every consecutive pair of samples where the counter went down."""
    return [(a, b) for a, b in zip(samples, samples[1:]) if b < a]


class Manager:
    """Runs docker commands on a swarm manager over SSH, as an operator would."""

    def __init__(self, target: str, key: str) -> None:
        user_host, _, port = target.rpartition(":")
        self.ssh = ["ssh", "-i", key, "-p", port, "-o", "StrictHostKeyChecking=no",
                    "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", user_host]

    def docker(self, *args: str) -> str:
        # ssh hands the remote shell one string: quote, or "{{.Node}} ..." splits.
        remote = shlex.join(["sudo", "docker", *args])
        done = subprocess.run([*self.ssh, remote], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"docker {' '.join(args)} on the manager: {done.stderr.strip()}"
        return done.stdout

    def running_tasks(self, service: str) -> list[str]:
        """Node of every task of ``service`` that should run and does."""
        out = self.docker("service", "ps", f"{APP}_{service}", "--filter", "desired-state=running",
                          "--format", "{{.Node}} {{.CurrentState}}")
        return [line.split()[0] for line in out.splitlines() if line.split()[1:2] == ["Running"]]

    def task_images(self, service: str) -> dict[str, str]:
        """Node -> image of every task of ``service`` that should run and does."""
        out = self.docker("service", "ps", "--no-trunc", f"{APP}_{service}", "--filter", "desired-state=running",
                          "--format", "{{.Node}} {{.CurrentState}} {{.Image}}")
        return {parts[0]: parts[-1] for parts in (line.split() for line in out.splitlines())
                if parts[1:2] == ["Running"]}

    def replicas(self, service: str) -> int:
        return int(self.docker("service", "inspect", f"{APP}_{service}", "--format",
                               "{{.Spec.Mode.Replicated.Replicas}}").strip())

    def ready_nodes(self) -> list[str]:
        """Hostnames of the swarm's nodes that are Ready and Active."""
        out = self.docker("node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.Availability}}")
        return sorted(line.split()[0] for line in out.splitlines() if line.split()[1:] == ["Ready", "Active"])

    def kill_redis(self) -> None:
        """SIGKILL redis in its container: no shutdown, no final AOF rewrite."""
        container = self.docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={APP}_redis").split()
        assert len(container) == 1, f"expected one redis container on the manager, found {container}"
        self.docker("kill", "--signal", "KILL", container[0])


def controller_docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True, timeout=120).stdout
