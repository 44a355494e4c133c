"""webui: GET /json -> {"coins", "hashes", "now", "workers", "rate"}, GET
/history -> the last two minutes of rates, and a live page.

/json keeps the original's three fields, so the original page works against
this backend; "workers" and "rate" are extra. This process samples the
counter once a second and fits the rate over the last twenty seconds, so a
reader (the page, the rack's status screen) gets the rate from one request
instead of two requests seconds apart, and the page opens with the big
number and its chart already right. The page and its script are served from
this process: racks are often offline, so there is no CDN and no chart
library, just a canvas.
"""

from __future__ import annotations

import mimetypes
import statistics
import threading
import time
from collections import deque
from pathlib import Path

from common import keys
from common.resp import Redis, RedisError, read_password
from common.service import App, Request, Response, env_int, env_str, read_secret, serve, setup_logging

from webui.monitor import DEFAULT_TARGETS, DEFAULT_TOKEN_FILE, add_routes, parse_targets

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


# Workers hand in their counts in batches about once a second, out of step
# with each other and with the sampler, so the counter climbs in steps of a
# few hashes. A least-squares slope over twenty seconds of samples averages
# the steps out: with 4 workers it stays within about 2 % of the workers' own
# counts, where the difference of two samples five seconds apart (what the
# page used to show) strayed by 7 % and more (BENCHMARKS.md).
RATE_SPAN = 20.0  # seconds of counter samples one rate is fitted over
RATE_MINIMUM = 10.0  # no rate from fewer seconds of samples: it would jump about
HISTORY_SPAN = 120.0  # seconds of rates kept for the page's chart


class RateWindow:
    """The hashes counter sampled over the last ``span`` seconds, and the
    rate fitted at each sample over the last ``keep`` seconds."""

    def __init__(self, span: float = RATE_SPAN, minimum: float = RATE_MINIMUM,
                 keep: float = HISTORY_SPAN) -> None:
        self.span = span
        self.minimum = minimum
        self.keep = keep
        self.samples: deque[tuple[float, int]] = deque()
        self.rates: deque[tuple[float, float]] = deque()
        self.lock = threading.Lock()

    def add(self, now: float, hashes: int | None) -> None:
        """One sample; None (redis did not answer) or a counter that went
        down (redis lost data) starts the fit afresh. The rates already
        fitted stay: they were true when they were taken."""
        with self.lock:
            if hashes is None or (self.samples and hashes < self.samples[-1][1]):
                self.samples.clear()
            if hashes is not None:
                self.samples.append((now, hashes))
            while len(self.samples) > 2 and now - self.samples[0][0] > self.span:
                self.samples.popleft()
            rate = self._fit()
            if rate is not None:
                self.rates.append((now, rate))
            while self.rates and now - self.rates[0][0] > self.keep:
                self.rates.popleft()

    def _fit(self) -> float | None:
        if len(self.samples) < 2 or self.samples[-1][0] - self.samples[0][0] < self.minimum:
            return None
        t0 = self.samples[0][0]
        fit = statistics.linear_regression([t - t0 for t, _ in self.samples],
                                           [float(v) for _, v in self.samples])
        return round(fit.slope, 2)  # >= 0: the samples never go down

    def rate(self) -> float | None:
        """The rate at the newest sample; None while the fit has too little."""
        with self.lock:
            if not self.rates or not self.samples or self.rates[-1][0] != self.samples[-1][0]:
                return None
            return self.rates[-1][1]

    def history(self) -> list[list[float]]:
        """[[unix time, rate], ...], oldest first: what the page's chart
        starts with."""
        with self.lock:
            return [[round(t, 3), r] for t, r in self.rates]


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

    def history_view(_req: Request) -> Response:
        return Response.json({"now": time.time(), "span": rates.keep, "rates": rates.history()})

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
    app.route("GET", "/history", history_view)
    app.route("GET", r"/(index\.html)?", asset, label="/")
    app.route("GET", r"/static/([\w.-]+)", asset, label="/static")
    # Prometheus' way to the other services' /metrics (webui/monitor.py).
    add_routes(app, parse_targets(env_str("MONITOR_TARGETS", DEFAULT_TARGETS)),
               read_secret("MONITOR_TOKEN_FILE", DEFAULT_TOKEN_FILE))
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
