"""Failover of the coin-miner on a simulated swarm rack, against the real thing.

One worker board (a simulated Pi container) is stopped while the app runs:
Swarm must reschedule its miners on the boards left, the hash rate must come
back, and the redis ``hashes`` counter, read through the webui, must never go
down. Then redis is killed with SIGKILL: with AOF (appendfsync everysec) the
count it comes back with may lag the last acknowledged one by at most one
second of mining.

It needs a deployed rack, so it runs from the molecule ``swarm`` scenario's
verify step, which sets the variables below; run by hand it skips.

  PIRACK_FAILOVER_WEBUI      http://<master>:8000
  PIRACK_FAILOVER_MANAGER    ssh target of the swarm manager, user@host:port
  PIRACK_FAILOVER_SSH_KEY    private key for it
  PIRACK_FAILOVER_VICTIMS    containers that may be stopped (comma-separated worker boards)
"""

from __future__ import annotations

import json
import math
import os
import shlex
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from typing import Callable, Optional

import pytest

ENV = ("PIRACK_FAILOVER_WEBUI", "PIRACK_FAILOVER_MANAGER", "PIRACK_FAILOVER_SSH_KEY", "PIRACK_FAILOVER_VICTIMS")
APP = "coinminer"
AOF_WINDOW_SECONDS = 1.0  # appendfsync everysec, coinminer/redis/redis.conf
MEASURE_SECONDS = 10.0
RESCHEDULE_TIMEOUT = 120.0

pytestmark = pytest.mark.skipif(
    not all(os.environ.get(name) for name in ENV),
    reason="needs a deployed swarm rack: set " + ", ".join(ENV) + " (molecule scenario swarm does)")


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


def hash_rate(webui: str, seconds: float = MEASURE_SECONDS) -> float:
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
    """Runs docker commands on the swarm manager over SSH, as an operator would."""

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

    def replicas(self, service: str) -> int:
        return int(self.docker("service", "inspect", f"{APP}_{service}", "--format",
                               "{{.Spec.Mode.Replicated.Replicas}}").strip())

    def kill_redis(self) -> None:
        """SIGKILL redis in its container: no shutdown, no final AOF rewrite."""
        container = self.docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={APP}_redis").split()
        assert len(container) == 1, f"expected one redis container on the manager, found {container}"
        self.docker("kill", "--signal", "KILL", container[0])


def controller_docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True, timeout=120)


def test_worker_board_lost_then_redis_killed() -> None:
    webui = os.environ["PIRACK_FAILOVER_WEBUI"].rstrip("/")
    manager = Manager(os.environ["PIRACK_FAILOVER_MANAGER"], os.environ["PIRACK_FAILOVER_SSH_KEY"])
    candidates = [name.strip() for name in os.environ["PIRACK_FAILOVER_VICTIMS"].split(",") if name.strip()]

    before = hash_rate(webui)
    assert before > 0, "the app mines nothing before the failure"
    replicas = manager.replicas("worker")
    placed = Counter(manager.running_tasks("worker"))
    victim = max(candidates, key=lambda name: placed[name])
    assert placed[victim] > 0, f"no miner runs on {candidates} ({dict(placed)}): nothing would be rescheduled"

    sampler = Sampler(webui)
    sampler.start()
    controller_docker("stop", "--time", "5", victim)
    try:
        # Rescheduled: every replica runs again, none on the stopped board.
        def rescheduled() -> bool:
            nodes = manager.running_tasks("worker")
            return len(nodes) == replicas and victim not in nodes

        wait_for(f"{replicas} miners running without {victim}", rescheduled, RESCHEDULE_TIMEOUT, interval=2)
        after = hash_rate(webui)
        failover_samples = sampler.stop()
        print(f"hash rate {before:.1f}/s before, {after:.1f}/s after losing {victim} "
              f"({placed[victim]} of {replicas} miners moved)")
        assert after > 0.3 * before, f"hash rate did not recover: {before:.1f}/s before, {after:.1f}/s after"
        assert len(failover_samples) > 10, "the webui hardly answered during the failover"
        assert not decreases(failover_samples), f"hashes went down: {decreases(failover_samples)}"

        # Redis killed: what it comes back with is bounded by the AOF window.
        acknowledged = wait_for("webui answers", lambda: read_hashes(webui), 30)
        manager.kill_redis()
        gone = time.monotonic()
        recovered = wait_for("redis back behind the webui", lambda: read_hashes(webui), RESCHEDULE_TIMEOUT)
        allowed = math.ceil(after * AOF_WINDOW_SECONDS)
        print(f"redis killed at {acknowledged} hashes, back with {recovered} after "
              f"{time.monotonic() - gone:.1f}s (at most {allowed} may be lost)")
        assert int(recovered) >= int(acknowledged) - allowed, (
            f"redis lost {int(acknowledged) - int(recovered)} acknowledged hashes; the AOF window allows {allowed}")
        assert hash_rate(webui) > 0, "mining did not resume after redis came back"
    finally:
        sampler.stop()
        controller_docker("start", victim)
