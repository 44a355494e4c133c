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

import math
import os
import time
from collections import Counter

import pytest
from rackkit import APP, Manager, Sampler, controller_docker, decreases, hash_rate, read_hashes, wait_for

ENV = ("PIRACK_FAILOVER_WEBUI", "PIRACK_FAILOVER_MANAGER", "PIRACK_FAILOVER_SSH_KEY", "PIRACK_FAILOVER_VICTIMS")
AOF_WINDOW_SECONDS = 1.0  # appendfsync everysec, coinminer/redis/redis.conf
MEASURE_SECONDS = 10.0
RESCHEDULE_TIMEOUT = 120.0

pytestmark = pytest.mark.skipif(
    not all(os.environ.get(name) for name in ENV),
    reason="needs a deployed swarm rack: set " + ", ".join(ENV) + " (molecule scenario swarm does)")


def test_worker_board_lost_then_redis_killed() -> None:
    webui = os.environ["PIRACK_FAILOVER_WEBUI"].rstrip("/")
    manager = Manager(os.environ["PIRACK_FAILOVER_MANAGER"], os.environ["PIRACK_FAILOVER_SSH_KEY"])
    candidates = [name.strip() for name in os.environ["PIRACK_FAILOVER_VICTIMS"].split(",") if name.strip()]

    placed = Counter(manager.running_tasks("worker"))
    if not any(placed[name] for name in candidates):
        # Every miner sits on a board that may not be stopped (the master).
        # One more miner per candidate board: Swarm spreads a service's
        # tasks, so each lands on a board that has none yet.
        wanted = sum(placed.values()) + len(candidates)
        manager.docker("service", "scale", "--detach=false", f"{APP}_worker={wanted}")
        placed = Counter(manager.running_tasks("worker"))
    replicas = manager.replicas("worker")
    before = hash_rate(webui, MEASURE_SECONDS)
    assert before > 0, "the app mines nothing before the failure"
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
        after = hash_rate(webui, MEASURE_SECONDS)
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
        assert hash_rate(webui, MEASURE_SECONDS) > 0, "mining did not resume after redis came back"
    finally:
        sampler.stop()
        controller_docker("start", victim)
