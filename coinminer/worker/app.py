"""worker: the mining loop. GET 32 random bytes from rng, POST them to hasher,
count the hash; a digest starting with "0" is a coin, stored in the redis hash
`wallet` (digest -> bytes). The `hashes` counter is INCRBY'd about once a
second, like the original, so redis load does not grow with the hash rate.

Better than the original: HTTP keep-alive to rng and hasher, and a lost peer
or redis means retry with capped exponential backoff (hashes found while redis
is away are kept and flushed later) instead of a crash loop. A small HTTP
server on WORKER_PORT serves /healthz and /metrics (client-side latencies of
rng and hasher, which is where the original's queueing shows up).
"""

from __future__ import annotations

import http.client
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from common import keys
from common.metrics import Registry
from common.resp import Redis, RedisError, read_password
from common.service import App, env_float, env_int, env_str, serve, setup_logging

log = logging.getLogger("coinminer.worker")

MAX_PENDING_COINS = 10_000  # memory bound while redis is away


class PeerError(Exception):
    """A peer answered, but not with 200."""


def backoff(attempt: int, base: float = 0.1, cap: float = 5.0,
            jitter: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number `attempt` (1-based): exponential,
    capped, with "equal jitter" so ten workers that lost the same peer do not
    come back in lock-step."""
    ceiling = min(cap, base * (2 ** (attempt - 1)))
    return ceiling / 2 + jitter() * ceiling / 2


class Peer:
    """A keep-alive HTTP/1.1 connection to rng or hasher.

    http.client copes with every response framing the original services use
    (Content-Length, chunked, or close-delimited), so either side's rng and
    hasher can be mixed with this worker.
    """

    def __init__(self, name: str, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        self.name = name
        self.host = parts.hostname or "localhost"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        headers = {"Content-Type": "application/octet-stream"} if body is not None else {}
        reused = self._conn is not None
        try:
            return self._send(method, path, body, headers)
        except (http.client.HTTPException, OSError):
            self.close()
            if not reused:
                raise
            # The server may have closed an idle keep-alive connection: one
            # immediate retry on a fresh connection is safe (GET and a hash
            # are idempotent), anything beyond that is the caller's backoff.
            return self._send(method, path, body, headers)

    def _send(self, method: str, path: str, body: bytes | None,
              headers: dict[str, str]) -> bytes:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        self._conn.request(method, self.prefix + path, body=body, headers=headers)
        resp = self._conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self.close()
        if resp.status != 200:
            raise PeerError(f"{self.name} answered {resp.status}: {data[:80]!r}")
        return data


class Store(Protocol):
    def pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]: ...


class Miner:
    """One mining loop. I/O goes through `rng`, `hasher` and `store`, so tests
    drive it against real servers and a real redis, step by step."""

    def __init__(self, rng: Peer, hasher: Peer, store: Store, *, name: str,
                 delay: float = 0.1, flush_interval: float = 1.0,
                 metrics: Registry | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wallclock: Callable[[], float] = time.time) -> None:
        self.rng, self.hasher, self.store = rng, hasher, store
        self.name = name
        self.delay = delay
        self.flush_interval = flush_interval
        self.clock, self.wallclock = clock, wallclock
        self.pending_hashes = 0
        self.pending_coins: list[tuple[str, bytes]] = []
        self.failures: dict[str, int] = {"rng": 0, "hasher": 0, "redis": 0}
        # The newest failure of each peer, in one line: what /healthz shows.
        self.last_error: dict[str, str] = {}
        self.next_flush = clock() + flush_interval
        self.last_progress = clock()
        reg = metrics or Registry()
        self.m_hashes = reg.counter("coinminer_worker_hashes_total", "Hashes computed.")
        self.m_coins = reg.counter("coinminer_worker_coins_total", "Coins found.")
        self.m_errors = reg.counter("coinminer_worker_errors_total",
                                    "Failed calls, by peer (rng, hasher, redis).")
        self.m_latency = reg.histogram("coinminer_worker_peer_request_seconds",
                                       "Round-trip time of calls to rng and hasher.")
        self.m_pending = reg.gauge("coinminer_worker_pending_hashes",
                                   "Hashes counted but not yet written to redis.")

    def _call(self, peer: Peer, method: str, path: str, body: bytes | None = None) -> bytes:
        start = time.perf_counter()
        data = peer.request(method, path, body)
        self.m_latency.observe(time.perf_counter() - start, labels={"peer": peer.name})
        return data

    def mine_once(self) -> str:
        """One unit of work; returns the hex digest. Raises on peer failure."""
        try:
            data = self._call(self.rng, "GET", "/32")
        except (PeerError, http.client.HTTPException, OSError):
            self._failed("rng")
            raise
        self._recovered("rng")
        try:
            digest = self._call(self.hasher, "POST", "/", data).decode().strip()
        except (PeerError, http.client.HTTPException, OSError):
            self._failed("hasher")
            raise
        self._recovered("hasher")
        self.pending_hashes += 1
        self.m_hashes.inc()
        self.last_progress = self.clock()
        if digest.startswith("0"):
            self.m_coins.inc()
            log.debug("coin found %s", digest)
            self.pending_coins.append((digest, data))
            if len(self.pending_coins) > MAX_PENDING_COINS:
                dropped = self.pending_coins.pop(0)
                log.warning("redis away too long, dropped coin %s", dropped[0])
        self.m_pending.set(self.pending_hashes)
        return digest

    def flush(self) -> bool:
        """Write pending counts to redis in one round trip. On failure keep
        them for the next attempt, so a redis restart loses no hashes."""
        commands: list[tuple[Any, ...]] = []
        if self.pending_hashes:
            commands.append(("INCRBY", keys.HASHES, self.pending_hashes))
        commands += [("HSET", keys.WALLET, digest, data) for digest, data in self.pending_coins]
        commands.append(("HSET", keys.WORKERS, self.name, f"{self.wallclock():.3f}"))
        try:
            self.store.pipeline(commands)
        except (OSError, RedisError) as exc:
            # RedisError: redis answered but refused the writes (MISCONF on
            # a full disk, OOM at maxmemory); the counts stay here until it
            # takes them again, and /healthz says why.
            self._failed("redis", exc)
            return False
        self._recovered("redis")
        self.pending_hashes = 0
        self.pending_coins.clear()
        self.m_pending.set(0)
        return True

    def _failed(self, peer: str, exc: BaseException | None = None) -> None:
        self.failures[peer] += 1
        if exc is not None:
            self.last_error[peer] = " ".join(str(exc).split())[:200]
        self.m_errors.inc(labels={"peer": peer})
        n = self.failures[peer]
        if n == 1 or n % 20 == 0:  # one line when it starts, then a reminder
            log.warning("%s unreachable (attempt %d), retrying with backoff%s",
                        peer, n, f": {exc}" if exc else "")

    def _recovered(self, peer: str) -> None:
        if self.failures[peer]:
            log.info("%s reachable again after %d failed attempts", peer, self.failures[peer])
            self.failures[peer] = 0

    def step(self) -> float:
        """Mine once and flush when due; returns how long to wait before the
        next step (the faithful delay, or a backoff after a failure)."""
        try:
            self.mine_once()
            wait = self.delay
        except (PeerError, http.client.HTTPException, OSError):
            wait = backoff(max(self.failures["rng"], self.failures["hasher"]))
        now = self.clock()
        if now >= self.next_flush:
            if self.flush():
                self.next_flush = now + self.flush_interval
            else:
                self.next_flush = now + backoff(self.failures["redis"])
        return wait

    def run(self, stop: threading.Event) -> None:
        log.info("mining as %s: rng=%s:%d hasher=%s:%d delay=%ss", self.name,
                 self.rng.host, self.rng.port, self.hasher.host, self.hasher.port, self.delay)
        while not stop.is_set():
            wait = self.step()
            if wait > 0:
                stop.wait(wait)
        self.flush()  # hand in the last second's work before exiting
        self.sign_off()
        log.info("mining stopped")

    def sign_off(self) -> None:
        """Leave the web UI's worker count at once instead of an hour later
        (best effort: a redis that is away forgets this worker by age)."""
        try:
            self.store.execute("HDEL", keys.WORKERS, self.name)
        except (OSError, RedisError) as exc:
            log.info("could not sign off in redis (%s); the web UI forgets this worker by age", exc)

    def health(self) -> tuple[bool, dict[str, Any]]:
        state = {peer: ("ok" if n == 0 else f"failing ({n}): {self.last_error.get(peer, '')}".rstrip(": "))
                 for peer, n in self.failures.items()}
        return True, {"peers": state, "seconds_since_last_hash":
                      round(self.clock() - self.last_progress, 3)}


def main() -> None:
    setup_logging("worker")
    app = App("worker")
    miner = Miner(
        Peer("rng", env_str("RNG_URL", "http://rng:80")),
        Peer("hasher", env_str("HASHER_URL", "http://hasher:80")),
        Redis(env_str("REDIS_URL", "redis://redis:6379"), password=read_password()),
        name=env_str("WORKER_NAME", socket.gethostname()),
        delay=env_float("DELAY", 0.1),
        flush_interval=env_float("FLUSH_INTERVAL", 1.0),
        metrics=app.metrics,
    )
    app.health = miner.health
    serve(app, env_int("PORT", 8080), log, background=miner.run)


if __name__ == "__main__":
    main()
