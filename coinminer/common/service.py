"""What every coin-miner service shares: env config, logging, the HTTP server
with /healthz and /metrics, and clean SIGTERM shutdown.

Why the stdlib's http.server under our own bounded pool: a thread per open
connection gives rng and hasher real concurrency (the 0.1 s delay is a sleep,
which releases the GIL), keep-alive works with HTTP/1.1, and it adds no package
to the images. The pool is capped (503 beyond MAX_CONNECTIONS), every request
has a deadline and size limits, so a hostile client on the LAN costs a bounded
number of threads and bytes. An idle service stays around 21 MiB RSS, which
matters on a 1 GB Pi 3B+.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import queue
import re
import signal
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from .metrics import Registry

log = logging.getLogger("coinminer")

# Per-request limits. With MAX_CONNECTIONS (128) requests at once they bound a
# service's buffers to about 128 x (32 + 64 + 64) KiB = 20 MiB, inside the
# 64 MiB the app spec gives each service, whatever clients send.
MAX_BODY = 64 << 10  # far above the 32 bytes the worker sends
MAX_HEAD = 32 << 10  # request line + headers; the worker sends about 100 bytes
MAX_LINE = 1024  # a chunk-size or trailer line
MAX_TRAILERS = 32


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


def read_secret(variable: str, default_file: str,
                env: dict[str, str] | None = None) -> bytes | None:
    """A secret from the file the env var `variable` names (its first line,
    CR/LF removed), never from an environment value, which `docker inspect`
    and /proc show.

    Without the variable the default path (where Swarm mounts a secret, and
    the app's k3s manifests a Secret) is used if it exists, and None
    otherwise. A file that is named but missing or empty stops the service
    at start-up: a typo must not quietly run it without its secret.
    """
    environ = os.environ if env is None else env
    named = environ.get(variable, "").strip()
    path = Path(named or default_file)
    if not named and not path.exists():
        return None
    try:
        first = path.read_bytes().split(b"\n", 1)[0].replace(b"\r", b"")
    except OSError as exc:
        raise SystemExit(f"{variable}={path}: {exc.strerror}") from None
    if not first:
        raise SystemExit(f"{variable}={path}: the file is empty")
    return first


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


class RequestTooLarge(OSError):
    """The client sent more request-head bytes than MAX_HEAD."""


class _DeadlineReader(io.RawIOBase):
    """The socket as a raw stream whose reads share one deadline and one byte
    budget per request.

    Why: a socket timeout restarts on every byte, so a client trickling one
    byte a second held a thread for as long as it liked; here the whole
    request must arrive before `deadline`. The budget bounds what a request
    head can make us buffer, whatever http.server's own per-line limits are.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock
        self.deadline = math.inf
        self.budget = math.inf
        self.probe = False  # answer "nothing yet" instead of blocking

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int | None:
        if self.probe:
            return None
        if self.budget <= 0:
            raise RequestTooLarge("request head too large")
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request deadline passed")
        self.sock.settimeout(min(remaining, 3600.0))
        view = memoryview(buf)
        if self.budget < len(view):
            view = view[: max(1, int(self.budget))]
        n = self.sock.recv_into(view)
        self.budget -= n
        return n


class _SocketWriter(io.BufferedIOBase):
    """Writes go straight to sendall(): _write() hands over a whole response
    at once, so no buffering layer is wanted."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.sock.sendall(data)
        return len(data)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, a strict body parser, an idle timeout
    between requests and a deadline for each whole request."""

    protocol_version = "HTTP/1.1"  # keep-alive: the worker reuses connections
    server_version = "coinminer"
    sys_version = ""
    app: App
    server: BoundedHTTPServer

    def setup(self) -> None:
        self.connection = self.request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = _DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self.reader, 8192)
        self.wfile = _SocketWriter(self.connection)

    def finish(self) -> None:
        self.rfile.close()

    def handle(self) -> None:
        """Serve requests until the client closes, idles too long, or a
        request breaks the rules."""
        self.close_connection = True
        try:
            while self._next_request_arrives():
                self.reader.deadline = time.monotonic() + self.server.request_deadline
                self.reader.budget = MAX_HEAD
                self.handle_one_request()
                if self.close_connection:
                    return
        except RequestTooLarge:
            self._refuse(431, "request head too large")
        except (TimeoutError, ConnectionError):
            pass  # a slow or vanished client: close, nothing to answer

    def _next_request_arrives(self) -> bool:
        """Wait up to the idle timeout for the first byte of the next request
        (it may already be buffered: a pipelining client)."""
        self.reader.probe = True
        try:
            if self.rfile.peek(1):
                return True
        finally:
            self.reader.probe = False
        self.reader.deadline = time.monotonic() + self.server.idle_timeout
        self.reader.budget = MAX_HEAD
        return bool(self.rfile.peek(1))

    def _refuse(self, status: int, reason: str) -> None:
        with contextlib.suppress(OSError):
            self.connection.settimeout(1.0)
            self.connection.sendall(plain_response(status, reason))

    def _serve(self) -> None:
        start = time.perf_counter()
        app = self.app
        try:
            body = self._read_body()
        except BadRequest as exc:
            self.close_connection = True
            self._write(Response(exc.status, f"bad request: {exc}\n".encode()))
            return
        resp, label = app.dispatch(self.command, self.path, dict(self.headers), body)
        self._write(resp)
        app.requests.inc(labels={"route": label, "method": self.command,
                                 "code": str(resp.status)})
        app.latency.observe(time.perf_counter() - start, labels={"route": label})

    def _read_body(self) -> bytes:
        self.reader.budget = math.inf  # the body has its own cap, MAX_BODY
        framing = body_framing(self.headers.get_all("Content-Length") or [],
                               self.headers.get_all("Transfer-Encoding") or [])
        if framing == "chunked":
            return read_chunked(self.rfile)
        if framing:
            data = self.rfile.read(framing)
            if len(data) != framing:
                raise BadRequest("body shorter than Content-Length")
            return data
        return b""

    def _write(self, resp: Response) -> None:
        self.connection.settimeout(self.server.request_deadline)
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for key, value in resp.headers.items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body in one send(): two small writes on a keep-alive
        # connection meet Nagle plus delayed ACK and cost 40 ms per request.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(resp.body)
        self.flush_headers()

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Access logs are off: /metrics counts requests; logs keep events."""


class BadRequest(ValueError):
    """A request body whose framing breaks HTTP/1.1's rules: answered with
    `status` and the connection closed (the stream can no longer be trusted)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


_DIGITS = re.compile(rb"[0-9]{1,10}\Z")
_HEX = re.compile(rb"[0-9a-fA-F]{1,8}\Z")


def body_framing(lengths: list[str], encodings: list[str]) -> int | str:
    """How the body is delimited: "chunked", or its length (0: no body).

    Strict where ambiguity would let a proxy and this server disagree about
    where a request ends: one Content-Length of plain digits, never both
    Content-Length and Transfer-Encoding, no coding but chunked.
    """
    if encodings:
        if lengths:
            raise BadRequest("both Content-Length and Transfer-Encoding")
        if [e.strip().lower() for e in encodings] != ["chunked"]:
            raise BadRequest("only Transfer-Encoding: chunked is supported", 501)
        return "chunked"
    if not lengths:
        return 0
    if len(lengths) > 1:
        raise BadRequest("more than one Content-Length")
    raw = lengths[0].strip().encode("latin-1", "replace")
    if not _DIGITS.match(raw):
        raise BadRequest("Content-Length is not a number")
    length = int(raw)
    if length > MAX_BODY:
        raise BadRequest(f"body over {MAX_BODY} bytes", 413)
    return length


def read_chunked(rfile: io.BufferedIOBase) -> bytes:
    """A chunked body, at most MAX_BODY bytes, every line length-limited."""
    chunks: list[bytes] = []
    total = 0
    while True:
        line = _line(rfile)
        size_field = line.split(b";", 1)[0].strip()
        if not _HEX.match(size_field):
            raise BadRequest("bad chunk size")
        size = int(size_field, 16)
        if size == 0:
            break
        total += size
        if total > MAX_BODY:
            raise BadRequest(f"body over {MAX_BODY} bytes", 413)
        data = rfile.read(size)
        if len(data) != size or _line(rfile) != b"":
            raise BadRequest("chunk shorter than its size")
        chunks.append(data)
    for _ in range(MAX_TRAILERS + 1):
        if _line(rfile) == b"":
            return b"".join(chunks)
    raise BadRequest("too many trailer lines")


def _line(rfile: io.BufferedIOBase) -> bytes:
    """One CRLF- or LF-terminated line of at most MAX_LINE bytes, without
    its ending; BadRequest when longer or cut off."""
    line = rfile.readline(MAX_LINE + 2)
    if not line.endswith(b"\n"):
        raise BadRequest("line too long or cut off")
    return line.rstrip(b"\r\n")


def plain_response(status: int, reason: str) -> bytes:
    """A complete one-shot response that closes the connection."""
    body = f"{status} {reason}\n".encode()
    phrase = HTTPStatus(status).phrase
    return (f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
            ).encode() + body


class BoundedHTTPServer(socketserver.TCPServer):
    """Accepts on one thread and serves connections on a pool of at most
    `max_connections` threads, at most `max_per_client` of them for one
    client address; a connection beyond either gets an immediate 503.

    Why not ThreadingHTTPServer: one thread per connection with no cap, so
    200 idle connections meant 203 threads; here threads and buffered
    requests are bounded, and the pool's threads are reused. Why a share per
    address: with the cap alone, one client on the LAN that opened 128 idle
    connections left every worker and every browser a 503.
    """

    allow_reuse_address = True

    def __init__(self, app: App, address: tuple[str, int], *, max_connections: int,
                 max_per_client: int, idle_timeout: float, request_deadline: float) -> None:
        # Listen backlog: room for a burst of reconnecting workers while the
        # accept loop answers 503s, without SYNs dropped (a 1 s client retry).
        self.request_queue_size = max(256, 2 * max_connections)
        handler = type(f"{app.service}Handler", (_Handler,), {"app": app})
        super().__init__(address, handler)
        self.app = app
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self.idle_timeout = idle_timeout
        self.request_deadline = request_deadline
        self._lock = threading.Lock()
        self._open: dict[socket.socket, str] = {}  # connection -> client address
        self._per_client: dict[str, int] = {}
        self._queue: queue.SimpleQueue[tuple[socket.socket, Any] | None] = queue.SimpleQueue()
        self._threads = 0
        self._idle_threads = 0
        self.refused = app.metrics.counter(
            "coinminer_http_connections_refused_total",
            "Connections answered 503, by the limit they met: service (max_connections "
            "open) or client (max_per_client open from that address).")

    def process_request(self, request: Any, client_address: Any) -> None:
        client = str(client_address[0])
        with self._lock:
            if len(self._open) >= self.max_connections:
                limit = "service"
            elif self._per_client.get(client, 0) >= self.max_per_client:
                limit = "client"
            else:
                limit = ""
                self._open[request] = client
                self._per_client[client] = self._per_client.get(client, 0) + 1
                grow = self._idle_threads == 0 and self._threads < self.max_connections
                if grow:
                    self._threads += 1
                else:
                    self._idle_threads -= 1
        if limit:
            self.refused.inc(labels={"limit": limit})
            reason = ("too many connections, retry later" if limit == "service"
                      else "too many connections from your address, retry later")
            with contextlib.suppress(OSError):
                request.setblocking(False)
                request.send(plain_response(503, reason))
            self.shutdown_request(request)
            return
        self._queue.put((request, client_address))
        if grow:
            threading.Thread(target=self._pool_thread, name="http", daemon=True).start()

    def _pool_thread(self) -> None:
        while (item := self._queue.get()) is not None:
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception as exc:  # one client's failure must not end the thread
                log.warning("connection from %s failed: %s", client_address, exc)
            finally:
                with self._lock:
                    client = self._open.pop(request)
                    if self._per_client[client] > 1:
                        self._per_client[client] -= 1
                    else:
                        del self._per_client[client]
                    self._idle_threads += 1
                self.shutdown_request(request)

    def server_close(self) -> None:
        """Stop listening and wake every connection thread (idle keep-alive
        ones would otherwise wait out their timeout)."""
        super().server_close()
        with self._lock:
            open_now = list(self._open)
            threads = self._threads
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for _ in range(threads):
            self._queue.put(None)


def make_server(app: App, port: int, host: str = "", *, max_connections: int = 128,
                max_per_client: int | None = None, idle_timeout: float = 15.0,
                request_deadline: float = 10.0) -> BoundedHTTPServer:
    """`max_per_client` defaults to a quarter of `max_connections`: a web UI
    behind one NAT address still serves dozens of browsers, and it takes
    four addresses, not one, to fill the service."""
    share = max(1, max_connections // 4) if max_per_client is None else max_per_client
    return BoundedHTTPServer(app, (host, port), max_connections=max_connections,
                             max_per_client=share, idle_timeout=idle_timeout,
                             request_deadline=request_deadline)


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
    max_connections = env_int("MAX_CONNECTIONS", 128)
    if max_connections < 1:
        raise SystemExit(f"MAX_CONNECTIONS={max_connections} must be at least 1")
    per_client = env_int("MAX_CONNECTIONS_PER_CLIENT", max(1, max_connections // 4))
    if per_client < 1:
        raise SystemExit(f"MAX_CONNECTIONS_PER_CLIENT={per_client} must be at least 1")
    # BIND "" is every interface: in a container that is its own network
    # namespace, which the app's peers must reach; on a host, BIND=127.0.0.1.
    server = make_server(app, port, env_str("BIND", ""), max_connections=max_connections,
                         max_per_client=per_client)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    worker = None
    if background is not None:
        worker = threading.Thread(target=background, args=(stop,), name="loop")
        worker.start()
    logger.info("listening on port %d (at most %d connections, %d from one address)",
                server.server_address[1], max_connections, per_client)
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
