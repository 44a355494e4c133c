"""Our redis.conf on Debian's redis-server: counters survive a restart."""

from __future__ import annotations

from pathlib import Path

from common.resp import Redis

CONF = Path(__file__).resolve().parents[1] / "redis.conf"


def test_aof_everysec_and_counters_survive_restart(redis_factory) -> None:
    server = redis_factory(CONF)
    db = Redis(server.url)
    assert db.execute("CONFIG", "GET", "appendonly") == [b"appendonly", b"yes"]
    assert db.execute("CONFIG", "GET", "appendfsync") == [b"appendfsync", b"everysec"]
    assert db.execute("CONFIG", "GET", "save") == [b"save", b""]
    db.incrby("hashes", 41)
    db.hset("wallet", "0abc", b"bytes")
    server.stop()  # SIGTERM: redis flushes the AOF on a clean shutdown
    assert any(server.workdir.rglob("*.aof")), "no append-only file written"
    server.start()
    db = Redis(server.url)
    assert db.incrby("hashes", 1) == 42
    assert db.hlen("wallet") == 1
