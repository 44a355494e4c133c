"""All five images as containers on one Docker network, default settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bench.stack import Stack
from common.resp import AuthError, Redis


def test_hashes_grow_and_json_answers(stack: Stack, wait_for) -> None:
    first = wait_for(lambda: stack.redis().get_int("hashes"))
    wait_for(lambda: stack.redis().get_int("hashes") > first)
    data = stack.json("webui", "/json")
    assert set(data) >= {"coins", "hashes", "now"}
    assert data["hashes"] >= first and data["coins"] == stack.redis().hlen("wallet")
    assert data["workers"] == 1


def test_services_answer_health_banners_and_metrics(stack: Stack) -> None:
    for role in ("rng", "hasher", "webui", "worker1"):
        assert stack.json(role, "/healthz")["status"] == "ok"
    assert stack.get("rng", "/").startswith(b"RNG running on ")
    assert len(stack.get("rng", "/32")) == 32
    rng_metrics = stack.get("rng", "/metrics").decode()
    assert re.search(r'coinminer_http_requests_total\{code="200",method="GET",route="/\{n\}"\} '
                     r"[1-9]", rng_metrics)
    worker_metrics = stack.get("worker1", "/metrics").decode()
    assert re.search(r"coinminer_worker_hashes_total [1-9]", worker_metrics)


def test_counters_survive_redis_restart_and_worker_recovers(stack: Stack, wait_for) -> None:
    before = wait_for(lambda: stack.redis().get_int("hashes"))
    stack.api.restart(stack.containers["redis"], timeout=10)
    after = wait_for(lambda: stack.redis().get_int("hashes"), timeout=30)
    assert after >= before  # AOF on the volume kept the count
    wait_for(lambda: stack.redis().get_int("hashes") > after + 3, timeout=30)  # mining resumed
    assert "redis reachable again" in stack.logs("worker1")


def test_worker_stops_cleanly_on_sigterm(stack: Stack) -> None:
    stack.scale_workers(2)
    stack.wait_healthy(["worker2"])
    cid = stack.containers["worker2"]
    stack.api.stop(cid, timeout=10)
    assert stack.api.wait(cid, timeout=15)["StatusCode"] == 0
    logs = stack.logs("worker2")
    assert "received SIGTERM" in logs and "mining stopped" in logs
    stack.scale_workers(1)


def test_every_service_runs_as_a_non_root_user(stack: Stack) -> None:
    for role, cid in stack.containers.items():
        info = stack.api.inspect_container(cid)
        assert info["Config"]["User"] not in ("", "root", "0", "0:0"), role
        status = Path(f"/proc/{info['State']['Pid']}/status").read_text()
        uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
        assert uid != "0", f"{role} runs as root"


def test_redis_refuses_a_client_without_the_password(stack: Stack) -> None:
    url = f"redis://127.0.0.1:{stack.host_port('redis')}"
    with pytest.raises(AuthError, match="NOAUTH"):
        Redis(url, timeout=2).get_int("hashes")
    assert stack.redis().get_int("hashes") > 0  # the worker, with it, counts
    env = stack.api.inspect_container(stack.containers["worker1"])["Config"]["Env"]
    assert not [e for e in env if stack.password and stack.password in e]
