"""What every coin-miner service shares: env config, logging, the HTTP server
with /healthz and /metrics, and clean SIGTERM shutdown.

Why the stdlib ThreadingHTTPServer: one thread per connection gives rng and
hasher real concurrency (the 0.1 s delay is a sleep, which releases the GIL),
keep-alive is supported with HTTP/1.1, and it adds no package to the images.
An idle service stays around 21 MiB RSS, which matters on a 1 GB Pi 3B+.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .metrics import Registry

log = logging.getLogger("coinminer")

MAX_BODY = 1 << 20  # 1 MiB: far above the 32 bytes the worker sends.


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_float(name: str, default: float) -> float:
    """Read a float env var; a typo fails at start-up, not mid-run."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a number") from None


def env_int(name: str, default: int) -> int:
    value = env_float(name, float(default))
    if not value.is_integer():
        raise SystemExit(f"{name}={value!r} is not an integer")
    return int(value)


def setup_logging(service: str) -> logging.Logger:
    """One line per event, to stdout, with the service name in every line so
    `docker compose logs` or `kubectl logs` of a mixed rack stay readable."""
    level = env_str("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format=f"%(asctime)s %(levelname)s {service} %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    return logging.getLogger(f"coinminer.{service}")


@dataclass
class Request:
    method: str
    path: str
    match: re.Match[str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(data).encode(), "application/json")


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    label: str  # bounded metric label, e.g. "/{n}" rather than "/32"
    handler: Handler
    work: bool  # counted against MAX_CONCURRENCY; health/metrics never are


class App:
    """Routing plus the endpoints every service has.

    `max_concurrency` > 0 limits how many work requests run at once. 1
    reproduces the original single-threaded rng, so instructors can still show
    the 10 hashes/s ceiling; 0 (the default) means no limit.
    """

    def __init__(self, service: str, max_concurrency: int = 0) -> None:
        self.service = service
        self.hostname = socket.gethostname()
        self.metrics = Registry()
        self.routes: list[Route] = []
        self.health: Callable[[], tuple[bool, dict[str, Any]]] = lambda: (True, {})
        self._limit = threading.Semaphore(max_concurrency) if max_concurrency > 0 else None
        self.requests = self.metrics.counter(
            "coinminer_http_requests_total", "HTTP requests served, by route and status code."
        )
        self.latency = self.metrics.histogram(
            "coinminer_http_request_duration_seconds",
            "Time from request parsed to response written, by route.",
        )
        self.inflight = self.metrics.gauge(
            "coinminer_http_requests_in_flight", "Work requests being served right now."
        )
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self.route("GET", "/healthz", self._healthz, work=False)
        self.route("GET", "/metrics", self._metrics, work=False)

    def add_banner(self) -> None:
        """GET / -> "RNG running on <host>", as the original services answer:
        the quickest way to see which replica a request reached."""
        text = f"{self.service.upper()} running on {self.hostname}\n".encode()
        self.route("GET", "/", lambda _req: Response(body=text), work=False)

    def route(
        self, method: str, pattern: str, handler: Handler, *, label: str | None = None,
        work: bool = True,
    ) -> None:
        self.routes.append(
            Route(method, re.compile(pattern + r"\Z"), label or pattern, handler, work)
        )

    def _healthz(self, _req: Request) -> Response:
        ok, detail = self.health()
        body = {"status": "ok" if ok else "failing", "service": self.service,
                "host": self.hostname, **detail}
        return Response.json(body, 200 if ok else 503)

    def _metrics(self, _req: Request) -> Response:
        return Response(200, self.metrics.render().encode(),
                        "text/plain; version=0.0.4; charset=utf-8")

    def find(self, method: str, path: str) -> tuple[Route | None, re.Match[str] | None, bool]:
        """Return (route, match, path_known) so 405 can be told from 404."""
        known = False
        for route in self.routes:
            m = route.pattern.match(path)
            if m:
                known = True
                if route.method == method or (method == "HEAD" and route.method == "GET"):
                    return route, m, True
        return None, None, known

    def dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[
        Response, str
    ]:
        """Run the handler for a request; returns the response and the metric label."""
        route, match, known = self.find(method, path.split("?", 1)[0])
        if route is None or match is None:
            status = 405 if known else 404
            return Response(status, f"{status} {method} {path}\n".encode()), "other"
        req = Request(method, path, match, headers, body)
        if not route.work:
            return self._call(route, req), route.label
        self._track(+1)
        try:
            if self._limit is None:
                return self._call(route, req), route.label
            with self._limit:
                return self._call(route, req), route.label
        finally:
            self._track(-1)

    @staticmethod
    def _call(route: Route, req: Request) -> Response:
        try:
            return route.handler(req)
        except Exception:  # a handler bug answers 500; the connection thread lives on
            log.exception("handler failed for %s %s", req.method, req.path)
            return Response(500, b"internal error\n")

    def _track(self, delta: int) -> None:
        with self._inflight_lock:
            self._inflight += delta
            self.inflight.set(self._inflight)

    def idle(self) -> bool:
        with self._inflight_lock:
            return self._inflight == 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the worker reuses connections
    server_version = "coinminer"
    sys_version = ""
    timeout = 120  # idle keep-alive connections release their thread
    app: App

    def _serve(self) -> None:
        start = time.perf_counter()
        app = self.app
        try:
            body = self._read_body()
        except ValueError as exc:
            self._write(Response(400, f"bad request body: {exc}\n".encode()))
            self.close_connection = True
            return
        resp, label = app.dispatch(self.command, self.path, dict(self.headers), body)
        self._write(resp)
        app.requests.inc(labels={"route": label, "method": self.command,
                                 "code": str(resp.status)})
        app.latency.observe(time.perf_counter() - start, labels={"route": label})

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise ValueError("too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _write(self, resp: Response) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for key, value in resp.headers.items():
            self.send_header(key, value)
        # Headers and body in one send(): two small writes on a keep-alive
        # connection meet Nagle plus delayed ACK and cost 40 ms per request.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(resp.body)
        self.flush_headers()

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Access logs are off: /metrics counts requests; logs keep events."""


def make_server(app: App, port: int, host: str = "") -> ThreadingHTTPServer:
    handler = type(f"{app.service}Handler", (_Handler,), {"app": app})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve(app: App, port: int, logger: logging.Logger,
          background: Callable[[threading.Event], None] | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then stop accepting, let in-flight work
    finish (up to 5 s), stop the background loop and return (exit code 0).

    Running as PID 1 in a container, Python gets SIGTERM only through a
    handler, so this is what makes `docker stop` fast instead of a 10 s kill.
    """
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        logger.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = make_server(app, port)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    worker = None
    if background is not None:
        worker = threading.Thread(target=background, args=(stop,), name="loop")
        worker.start()
    logger.info("listening on port %d", server.server_address[1])
    while not stop.wait(1.0):
        if worker is not None and not worker.is_alive():
            logger.error("main loop ended unexpectedly")
            break
    server.shutdown()
    deadline = time.monotonic() + 5.0
    while not app.idle() and time.monotonic() < deadline:
        time.sleep(0.02)
    server.server_close()
    if worker is not None:
        stop.set()
        worker.join(timeout=5.0)
    logger.info("stopped")


def main_delay_service(service: str, create_app: Callable[[float, int], App]) -> None:
    """Entry point of rng and hasher: both read DELAY and MAX_CONCURRENCY
    and serve on PORT (default 80, as in the original)."""
    logger = setup_logging(service)
    delay = env_float("DELAY", 0.1)
    limit = env_int("MAX_CONCURRENCY", 0)
    logger.info("starting delay=%ss max_concurrency=%s", delay, limit or "unlimited")
    serve(create_app(delay, limit), env_int("PORT", 80), logger)
