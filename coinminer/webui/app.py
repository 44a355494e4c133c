"""webui: GET /json -> {"coins", "hashes", "now", "workers", "rate"} and a live page.

/json keeps the original's three fields (so the original page works against
this backend and this page against the original's /json); "workers" and
"rate" are extra. "rate" is hashes per second over the last ten seconds,
from the counter this process samples once a second, so a reader (the
rack's status screen) gets the rate from one request instead of two
requests seconds apart; it is null until five seconds of samples exist.
The page and its script are served from this process: racks are often
offline, so there is no CDN and no chart library, just a canvas.
"""

from __future__ import annotations

import mimetypes
import threading
import time
from collections import deque
from pathlib import Path

from common import keys
from common.resp import Redis, RedisError, read_password
from common.service import App, Request, Response, env_int, env_str, serve, setup_logging

from webui.monitor import DEFAULT_TARGETS, add_routes, parse_targets

STATIC = Path(__file__).resolve().parent / "static"


def load_static(root: Path = STATIC) -> dict[str, tuple[bytes, str]]:
    """Read the assets once at start-up: a handful of small files, and no
    path from a request ever reaches the filesystem."""
    files: dict[str, tuple[bytes, str]] = {}
    for path in sorted(root.iterdir()):
        if path.is_file():
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if ctype.startswith("text/") or ctype.endswith("javascript"):
                ctype += "; charset=utf-8"
            files[path.name] = (path.read_bytes(), ctype)
    return files


class RateWindow:
    """The hashes counter sampled over the last ``span`` seconds."""

    def __init__(self, span: float = 10.0, minimum: float = 5.0) -> None:
        self.span = span
        self.minimum = minimum
        self.samples: deque[tuple[float, int]] = deque()
        self.lock = threading.Lock()

    def add(self, now: float, hashes: int | None) -> None:
        """One sample; None (redis did not answer) or a counter that went
        down (redis lost data) starts the window afresh."""
        with self.lock:
            if hashes is None or (self.samples and hashes < self.samples[-1][1]):
                self.samples.clear()
            if hashes is not None:
                self.samples.append((now, hashes))
            while len(self.samples) > 2 and now - self.samples[0][0] > self.span:
                self.samples.popleft()

    def rate(self) -> float | None:
        with self.lock:
            if len(self.samples) < 2 or self.samples[-1][0] - self.samples[0][0] < self.minimum:
                return None
            (t0, v0), (t1, v1) = self.samples[0], self.samples[-1]
            return round((v1 - v0) / (t1 - t0), 2)


def sample_forever(db: Redis, window: RateWindow, interval: float = 1.0) -> None:
    """Feed the window once a second (a daemon thread of main())."""
    while True:
        try:
            hashes = db.get_int(keys.HASHES)
        except (OSError, RedisError):
            hashes = None
        window.add(time.time(), hashes)
        time.sleep(interval)


def snapshot(db: Redis, now: float) -> dict[str, float | int]:
    """Current counters; also forgets workers silent for an hour."""
    seen = db.hgetall(keys.WORKERS)
    fresh = 0
    stale: list[bytes] = []
    for name, stamp in seen.items():
        try:
            age = now - float(stamp)
        except ValueError:
            age = float("inf")
        if age <= keys.WORKER_FRESH_SECONDS:
            fresh += 1
        elif age > keys.WORKER_FORGET_SECONDS:
            stale.append(name)
    if stale:
        db.execute("HDEL", keys.WORKERS, *stale)
    return {
        "coins": db.hlen(keys.WALLET),
        "hashes": db.get_int(keys.HASHES),
        "now": now,
        "workers": fresh,
    }


def create_app(db: Redis, static: dict[str, tuple[bytes, str]] | None = None,
               window: RateWindow | None = None) -> App:
    app = App("webui")
    assets = load_static() if static is None else static
    rates = window or RateWindow()

    def json_view(_req: Request) -> Response:
        try:
            return Response.json({**snapshot(db, time.time()), "rate": rates.rate()})
        except (OSError, RedisError) as exc:
            return Response.json({"error": f"redis unavailable: {exc}"}, 503)

    def asset(req: Request) -> Response:
        name = req.match.group(1) or "index.html"
        if name not in assets:
            return Response(404, b"not found\n")
        body, ctype = assets[name]
        return Response(body=body, content_type=ctype,
                        headers={"Cache-Control": "no-cache"})

    def health() -> tuple[bool, dict[str, str]]:
        try:
            db.ping()
            return True, {"redis": "ok"}
        except (OSError, RedisError) as exc:
            # Still "ok" for liveness: restarting the web UI would not bring
            # redis back; the detail tells a person what is wrong.
            return True, {"redis": f"unavailable: {exc}"}

    app.health = health
    app.route("GET", "/json", json_view)
    app.route("GET", r"/(index\.html)?", asset, label="/")
    app.route("GET", r"/static/([\w.-]+)", asset, label="/static")
    # Prometheus' way to the other services' /metrics (webui/monitor.py).
    add_routes(app, parse_targets(env_str("MONITOR_TARGETS", DEFAULT_TARGETS)))
    return app


def main() -> None:
    log = setup_logging("webui")
    db = Redis(env_str("REDIS_URL", "redis://redis:6379"), password=read_password())
    window = RateWindow()
    threading.Thread(target=sample_forever, args=(db, window), daemon=True, name="rate").start()
    app = create_app(db, window=window)
    serve(app, env_int("PORT", 80), log)


if __name__ == "__main__":
    main()
