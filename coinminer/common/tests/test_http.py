"""The HTTP layer under hostile clients: strict body framing, a deadline for
a whole request, a bounded pool with a 503 cap, and bounded memory. Every
test talks to a real server over a real socket."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from common.service import MAX_BODY, App, Response, make_server
from hasher.app import create_app as create_hasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rng.app import create_app as create_rng

COINMINER = Path(__file__).resolve().parents[2]


def exchange(port: int, data: bytes, *, half_close: bool = True, timeout: float = 3.0) -> bytes:
    """Send `data`, then read until the server closes or `timeout` passes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before taking everything
        return read_all(sock, timeout)


def read_all(sock: socket.socket, timeout: float) -> bytes:
    out = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0


def healthz_ok(port: int) -> bool:
    reply = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                     half_close=False, timeout=2.0)
    return status(reply) == 200


@pytest.fixture
def server_port() -> Iterator[callable]:
    servers = []

    def start(app: App, **limits: float) -> int:
        server = make_server(app, 0, "127.0.0.1", **limits)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_negative_chunk_size_is_refused_without_reading_to_eof(server_port) -> None:
    # rfile.read(-1) used to read until the client closed: 20 MiB accepted.
    port = server_port(create_hasher(delay=0))
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n"
    reply = exchange(port, head + b"a" * 4096, half_close=False, timeout=3)
    assert status(reply) == 400


def test_chunk_size_line_is_length_limited(server_port) -> None:
    # The size line used to be read without a limit (a 16 MiB line was buffered).
    port = server_port(create_hasher(delay=0))
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    reply = exchange(port, head + b"0" * 65536, half_close=False, timeout=3)
    assert status(reply) == 400


@pytest.mark.parametrize("headers", [
    b"Content-Length: 4\r\nContent-Length: 4\r\n",
    b"Content-Length: 4\r\nContent-Length: 5\r\n",
    b"Content-Length: +4\r\n",
    b"Content-Length: 4_0\r\n",
    b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
])
def test_ambiguous_body_length_is_400(server_port, headers: bytes) -> None:
    port = server_port(create_hasher(delay=0))
    reply = exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\nabcd")
    assert status(reply) == 400


def test_body_framing_still_accepts_what_the_worker_and_curl_send(server_port) -> None:
    port = server_port(create_hasher(delay=0))
    plain = exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
    chunked = exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"2;ext=1\r\nab\r\n1\r\nc\r\n0\r\nTrailer: x\r\n\r\n")
    digest = b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert status(plain) == 200 and plain.endswith(digest)
    assert status(chunked) == 200 and chunked.endswith(digest)
    too_big = exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                       % (MAX_BODY + 1))
    assert status(too_big) == 413


def test_huge_number_in_rng_path_is_413_not_a_traceback(server_port, caplog) -> None:
    port = server_port(create_rng(delay=0))
    with caplog.at_level(logging.ERROR):
        reply = exchange(port, b"GET /" + b"9" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status(reply) == 413
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_request_trickled_byte_by_byte_meets_its_deadline(server_port) -> None:
    # The socket timeout used to restart on every byte: a byte a second held
    # a thread for ever.
    port = server_port(create_hasher(delay=0), request_deadline=1.0)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        start = time.monotonic()
        closed_after = None
        for byte in b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed_after = time.monotonic() - start
                break
            time.sleep(0.1)
            sock.settimeout(0.001)
            try:
                if sock.recv(1) == b"":
                    closed_after = time.monotonic() - start
                    break
            except TimeoutError:
                pass
            except OSError:
                closed_after = time.monotonic() - start
                break
    assert closed_after is not None and closed_after < 2.0


def test_connections_beyond_the_cap_get_503_and_threads_stay_bounded(server_port) -> None:
    app = App("demo")
    app.route("GET", "/ok", lambda _req: Response(body=b"fine"))
    before = threading.active_count()
    port = server_port(app, max_connections=8)
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(200)]
    try:
        time.sleep(0.3)
        # 200 idle connections used to make 203 threads.
        assert threading.active_count() - before <= 8 + 1  # the pool + the accept loop
        refused = [read_all(s, 0.2) for s in idle[8:12]]
        assert all(status(r) == 503 for r in refused)
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.3)
    reply = exchange(port, b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status(reply) == 200 and reply.endswith(b"fine")


def test_one_address_holds_only_its_share_of_the_connections(server_port) -> None:
    """A hostile client on the LAN opens as many idle connections as it can:
    it gets its share (a quarter), a 503 beyond it, and the workers and
    browsers at other addresses are still served; the cap on the whole
    service still holds against several such addresses."""
    app = App("demo")
    app.route("GET", "/ok", lambda _req: Response(body=b"fine"))
    port = server_port(app, max_connections=16)

    def connect(address: str) -> socket.socket:
        return socket.create_connection(("127.0.0.1", port), timeout=5,
                                        source_address=(address, 0))

    def ask(address: str) -> bytes:
        with connect(address) as sock:
            sock.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return read_all(sock, 3.0)

    hostile = [connect("127.0.0.2") for _ in range(40)]
    try:
        time.sleep(0.3)
        replies = [read_all(sock, 0.05) for sock in hostile]
        held = [r for r in replies if r == b""]
        assert len(held) == 4, "a quarter of 16 slots for one address"
        assert all(b"from your address" in r and status(r) == 503 for r in replies if r)
        for other in ("127.0.0.1", "127.0.0.3"):
            reply = ask(other)
            assert status(reply) == 200 and reply.endswith(b"fine"), other
        # Three more hostile addresses fill the service; its own cap answers.
        crowd = [connect(f"127.0.0.{n}") for n in (4, 5, 6) for _ in range(4)]
        try:
            time.sleep(0.3)
            last = ask("127.0.0.7")
            assert status(last) == 503 and b"from your address" not in last
        finally:
            for sock in crowd:
                sock.close()
    finally:
        for sock in hostile:
            sock.close()
    time.sleep(0.3)
    assert status(ask("127.0.0.2")) == 200, "the share comes back when connections close"
    metrics = exchange(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").decode()
    assert 'coinminer_http_connections_refused_total{limit="client"} 36' in metrics
    assert 'coinminer_http_connections_refused_total{limit="service"} 1' in metrics


def test_keep_alive_and_pipelined_requests_are_served_in_order(server_port) -> None:
    port = server_port(create_hasher(delay=0))
    one = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na"
    reply = exchange(port, one + one, timeout=2)
    assert reply.count(b"HTTP/1.1 200 OK") == 2


# Property tests: whatever a client sends, no 500, and the others are served.

TOKENS = st.sampled_from([b"GET", b"POST", b"HEAD", b"PUT", b"OPTIONS", b"G\x00T", b""])
PATHS = st.one_of(st.sampled_from([b"/", b"/32", b"/healthz", b"/metrics", b"/json", b"*"]),
                  st.binary(max_size=64).map(lambda b: b"/" + b),
                  st.text("0123456789-+", max_size=40).map(lambda t: ("/" + t).encode()))
VERSIONS = st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/0.9", b"HTTP/2.0", b"HTTP/1.x", b""])
HEADER_NAMES = st.sampled_from([b"Content-Length", b"Transfer-Encoding", b"Host", b"Connection",
                                b"Expect", b"X-A", b" Content-Length", b"content-length"])
HEADER_VALUES = st.one_of(
    st.integers(-2, 2 * MAX_BODY).map(lambda n: str(n).encode()),
    st.sampled_from([b"chunked", b"gzip, chunked", b"close", b"keep-alive", b"100-continue",
                     b"", b"0x10", b"1e3"]),
    st.binary(max_size=32),
)
CHUNK_SIZES = st.one_of(
    st.integers(-1, 1 << 24).map(lambda n: b"%x" % n if n >= 0 else b"-1"),
    st.binary(max_size=12),
)
CHUNKS = st.lists(st.tuples(CHUNK_SIZES, st.binary(max_size=64)), max_size=4)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(st.binary(max_size=512))
    line = b" ".join(x for x in (draw(TOKENS), draw(PATHS), draw(VERSIONS)) if x)
    headers = b"".join(b"%s: %s\r\n" % (n, v.replace(b"\n", b""))
                       for n, v in draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES),
                                                 max_size=5)))
    body = draw(st.one_of(
        st.binary(max_size=128),
        CHUNKS.map(lambda cs: b"".join(b"%s\r\n%s\r\n" % (size, data) for size, data in cs)
                   + b"0\r\n\r\n"),
    ))
    return line + b"\r\n" + headers + b"\r\n" + body


@pytest.fixture(scope="module")
def in_process_servers() -> Iterator[dict[str, int]]:
    ports = {}
    servers = []
    for name, app in (("rng", create_rng(delay=0)), ("hasher", create_hasher(delay=0))):
        server = make_server(app, 0, "127.0.0.1", request_deadline=0.5, idle_timeout=0.3)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        ports[name] = server.server_address[1]
    yield ports
    for server in servers:
        server.shutdown()
        server.server_close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests(), target=st.sampled_from(["rng", "hasher"]), half_close=st.booleans())
def test_no_request_gets_500_or_blocks_other_clients(in_process_servers, caplog, request: bytes,
                                                     target: str, half_close: bool) -> None:
    port = in_process_servers[target]
    with socket.create_connection(("127.0.0.1", port), timeout=3) as hostile:
        try:
            hostile.sendall(request)
            if half_close:
                hostile.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        # While the hostile connection is open (maybe mid-request), others are served.
        assert healthz_ok(port)
        reply = read_all(hostile, 1.0)
    assert b" 500 " not in reply
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture(scope="module")
def hasher_process(tmp_path_factory) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """The real hasher as its own process, so its memory can be read."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("hasher") / "stderr.log"
    env = {**os.environ, "PORT": str(port), "DELAY": "0", "BIND": "127.0.0.1",
           "PYTHONPATH": str(COINMINER)}
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "hasher.app"], cwd=COINMINER, env=env,
                                stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            if healthz_ok(port):
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("hasher did not start: " + log.read_text())
        time.sleep(0.1)
    yield proc, port, log
    proc.terminate()
    proc.wait(timeout=10)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def flood(port: int, head: bytes, size: int) -> bytes:
    """Send `head` then `size` bytes as fast as the server takes them."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(head)
            block = b"f" * 65536
            for _ in range(size // len(block)):
                sock.sendall(block)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return read_all(sock, 3)


def test_memory_stays_bounded_under_oversized_requests(hasher_process) -> None:
    proc, port, log = hasher_process
    start = rss_mib(proc.pid)
    chunked = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert status(flood(port, chunked + b"-1\r\n", 20 << 20)) in (0, 400)  # was: 20 MiB read
    assert status(flood(port, chunked, 16 << 20)) in (0, 400)  # was: a 16 MiB size line
    assert status(flood(port, b"GET / HTTP/1.1\r\nX: ", 16 << 20)) in (0, 431)
    assert healthz_ok(port)
    assert rss_mib(proc.pid) - start < 8, f"RSS {start:.1f} -> {rss_mib(proc.pid):.1f} MiB"
    assert "Traceback" not in log.read_text()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_random_requests_keep_the_process_small_and_quiet(hasher_process, request: bytes) -> None:
    proc, port, log = hasher_process
    reply = exchange(port, request, timeout=2)
    assert b" 500 " not in reply
    assert rss_mib(proc.pid) < 64  # the image's memory limit in apps/coinminer.yml
    assert "Traceback" not in log.read_text()


def test_many_clients_with_big_bodies_stay_inside_the_memory_bound(hasher_process) -> None:
    """128 connections each holding a nearly complete maximum body: what the
    service buffers stays well inside its 64 MiB limit."""
    proc, port, _log = hasher_process
    start = rss_mib(proc.pid)
    socks = []
    try:
        for _ in range(120):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % MAX_BODY
                         + b"b" * (MAX_BODY - 1))
            socks.append(sock)
        time.sleep(0.5)
        grown = rss_mib(proc.pid) - start
    finally:
        for sock in socks:
            sock.close()
    assert grown < 32, f"RSS grew {grown:.1f} MiB"
    time.sleep(0.3)
    assert healthz_ok(port)
