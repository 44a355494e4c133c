"""The mining loop against real rng and hasher servers and a real redis."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from common import keys
from common.resp import Redis
from common.service import make_server
from hasher.app import create_app as create_hasher
from rng.app import create_app as create_rng
from worker.app import Miner, Peer, backoff


class FakeClock:
    """Only the flush schedule reads it, so tests decide when a flush is due."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def peers(serve_app):
    return serve_app(create_rng(delay=0)), serve_app(create_hasher(delay=0))


def make_miner(rng_url: str, hasher_url: str, redis_url: str, clock=None) -> Miner:
    return Miner(Peer("rng", rng_url, timeout=2), Peer("hasher", hasher_url, timeout=2),
                 Redis(redis_url, timeout=1), name="w1", delay=0, flush_interval=1.0,
                 clock=clock or FakeClock())


def test_backoff_grows_caps_and_jitters() -> None:
    assert backoff(1, jitter=lambda: 0) == pytest.approx(0.05)
    assert backoff(1, jitter=lambda: 1) == pytest.approx(0.1)
    assert backoff(4, jitter=lambda: 1) == pytest.approx(0.8)
    assert backoff(50, jitter=lambda: 1) == 5.0  # capped, no overflow
    assert 2.5 <= backoff(50) <= 5.0


def test_mines_hashes_and_coins_into_redis(peers, redis_server) -> None:
    clock = FakeClock()
    miner = make_miner(*peers, redis_server.url, clock)
    # At least 64 hashes and a coin (1 hash in 16 is one): 64 alone miss
    # every coin once in 60 runs.
    digests = [miner.mine_once() for _ in range(64)]
    while not any(d.startswith("0") for d in digests) and len(digests) < 2000:
        digests.append(miner.mine_once())
    db = Redis(redis_server.url)
    assert db.get_int(keys.HASHES) == 0  # batched: nothing written before the flush
    clock.now += 1.0
    miner.step()
    assert db.get_int(keys.HASHES) == len(digests) + 1
    wallet = db.hgetall(keys.WALLET)
    coins = {d for d in digests if d.startswith("0")}
    assert coins and coins <= {k.decode() for k in wallet}
    for digest, data in wallet.items():  # a coin is the hash of its stored bytes
        assert hashlib.sha256(data).hexdigest() == digest.decode()
        assert len(data) == 32
    assert b"w1" in db.hgetall(keys.WORKERS)


def test_reuses_one_connection_per_peer(peers, redis_server) -> None:
    miner = make_miner(*peers, redis_server.url)
    miner.mine_once()
    rng_sock, hasher_sock = miner.rng._conn.sock, miner.hasher._conn.sock
    for _ in range(10):
        miner.mine_once()
    assert miner.rng._conn.sock is rng_sock and miner.hasher._conn.sock is hasher_sock


def test_keeps_hashes_while_redis_is_down_and_flushes_after(peers, redis_server) -> None:
    clock = FakeClock()
    miner = make_miner(*peers, redis_server.url, clock)
    redis_server.stop()
    for _ in range(5):
        clock.now += 1.0
        miner.step()  # flush fails, the loop goes on
    assert miner.failures["redis"] >= 1 and miner.pending_hashes == 5
    redis_server.start()
    clock.now += 10.0  # past any backoff
    miner.step()
    assert Redis(redis_server.url).get_int(keys.HASHES) == 6
    assert miner.failures["redis"] == 0 and miner.pending_hashes == 0


def test_keeps_hashes_while_redis_refuses_writes_and_says_why(peers, redis_server) -> None:
    """Redis answers but refuses every write (as with MISCONF on a full
    disk): nothing is lost, the mining goes on, and /healthz names the reason."""
    clock = FakeClock()
    miner = make_miner(*peers, redis_server.url, clock)
    admin = Redis(redis_server.url)
    admin.execute("CONFIG", "SET", "min-replicas-to-write", "1")
    try:
        for _ in range(3):
            clock.now += 1.0
            miner.step()
        assert miner.pending_hashes == 3 and miner.failures["redis"] >= 1
        ok, detail = miner.health()
        assert ok and "NOREPLICAS" in detail["peers"]["redis"], detail
    finally:
        admin.execute("CONFIG", "SET", "min-replicas-to-write", "0")
    clock.now += 10.0  # past any backoff
    miner.step()
    assert admin.get_int(keys.HASHES) == 4 and miner.pending_hashes == 0
    assert miner.health()[1]["peers"]["redis"] == "ok"


def test_retries_with_backoff_when_a_peer_is_down(serve_app, redis_server, unused_port) -> None:
    port = unused_port
    hasher = serve_app(create_hasher(delay=0))
    miner = make_miner(f"http://127.0.0.1:{port}", hasher, redis_server.url)
    waits = [miner.step() for _ in range(4)]
    assert miner.failures["rng"] == 4 and miner.pending_hashes == 0
    assert all(w > 0 for w in waits) and waits[-1] > waits[0] / 2  # growing, jittered
    # rng comes up on that port: the next step mines again.
    server = make_server(create_rng(delay=0), port, host="127.0.0.1")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert miner.step() == 0 and miner.failures["rng"] == 0 and miner.pending_hashes == 1
    finally:
        server.shutdown()
        server.server_close()


def test_speaks_to_http_1_0_close_delimited_peers(serve_app, redis_server) -> None:
    # Like the original's Flask rng: HTTP/1.0, no keep-alive.
    class OldRng(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(os.urandom(32))

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), OldRng)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        miner = make_miner(f"http://127.0.0.1:{server.server_address[1]}",
                           serve_app(create_hasher(delay=0)), redis_server.url)
        for _ in range(3):
            assert len(miner.mine_once()) == 64
    finally:
        server.shutdown()
        server.server_close()


def test_run_loop_stops_and_hands_in_its_last_hashes(peers, redis_server) -> None:
    miner = Miner(Peer("rng", peers[0]), Peer("hasher", peers[1]), Redis(redis_server.url),
                  name="loop", delay=0.01, flush_interval=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=miner.run, args=(stop,))
    thread.start()
    time.sleep(0.5)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    total = Redis(redis_server.url).get_int(keys.HASHES)
    assert total > 0 and total == miner.m_hashes.value()  # nothing lost at exit
    assert b"loop" not in Redis(redis_server.url).hgetall(keys.WORKERS)  # signed off the count
    ok, detail = miner.health()
    assert ok and detail["peers"] == {"rng": "ok", "hasher": "ok", "redis": "ok"}


def test_a_locked_redis_is_retried_like_a_lost_one(peers, redis_factory, tmp_path) -> None:
    """Without the password (or with a stale one) the worker keeps its
    hashes and backs off instead of crashing; with it, they are written."""
    secret = tmp_path / "redis_password"
    secret.write_text("pw\n")
    start = ["sh", str(Path(__file__).resolve().parents[2] / "redis" / "start.sh")]
    server = redis_factory(launcher=start, env={"PATH": os.environ["PATH"],
                                                "REDIS_CONF": "/dev/null",
                                                "REDIS_PASSWORD_FILE": str(secret)})
    clock = FakeClock()
    miner = make_miner(*peers, server.url, clock)
    miner.mine_once()
    assert miner.flush() is False and miner.pending_hashes == 1
    assert miner.failures["redis"] == 1
    miner.store = Redis(server.url, timeout=1, password=b"pw")
    assert miner.flush() is True
    assert Redis(server.url, password=b"pw").get_int(keys.HASHES) == 1
