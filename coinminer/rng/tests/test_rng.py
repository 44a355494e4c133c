"""rng handlers over real sockets, and the process's SIGTERM behaviour."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from rng.app import MAX_BYTES, create_app

ROOT = Path(__file__).resolve().parents[2]


def _conn(base: str) -> http.client.HTTPConnection:
    parts = urlsplit(base)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def _get(base: str, path: str) -> tuple[int, bytes, str]:
    conn = _conn(base)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body, resp.getheader("Content-Type", "")


def test_serves_n_random_bytes(serve_app) -> None:
    base = serve_app(create_app(delay=0))
    status, first, ctype = _get(base, "/32")
    assert status == 200 and len(first) == 32 and ctype == "application/octet-stream"
    assert _get(base, "/32")[1] != first
    assert _get(base, "/0")[1] == b""
    assert _get(base, "/1000")[1].__len__() == 1000


def test_banner_errors_and_limits(serve_app) -> None:
    base = serve_app(create_app(delay=0))
    status, body, _ = _get(base, "/")
    assert status == 200 and body.startswith(b"RNG running on ")
    assert _get(base, f"/{MAX_BYTES + 1}")[0] == 413
    assert _get(base, "/abc")[0] == 404
    conn = _conn(base)
    conn.request("POST", "/32", body=b"")
    assert conn.getresponse().status == 405


def test_keep_alive_serves_many_requests_on_one_connection(serve_app) -> None:
    base = serve_app(create_app(delay=0))
    conn = _conn(base)
    for _ in range(5):
        conn.request("GET", "/32")
        resp = conn.getresponse()
        assert len(resp.read()) == 32 and not resp.will_close
    sock = conn.sock
    conn.request("GET", "/8")
    conn.getresponse().read()
    assert conn.sock is sock  # same TCP connection throughout


def _parallel_elapsed(base: str, n: int) -> float:
    start = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda _: _get(base, "/32"), range(n)))
    assert all(r[0] == 200 for r in results)
    return time.monotonic() - start


def test_requests_overlap_unless_limited_to_one(serve_app) -> None:
    # Five requests that each sleep 0.3 s: one at a time they cannot finish
    # in under 1.5 s. Concurrent, they overlap; MAX_CONCURRENCY=1 (the
    # original's single thread) serialises them again.
    concurrent = _parallel_elapsed(serve_app(create_app(delay=0.3)), 5)
    serial = _parallel_elapsed(serve_app(create_app(delay=0.3, max_concurrency=1)), 5)
    assert concurrent < 1.5 <= serial


def test_metrics_count_requests_and_bytes(serve_app) -> None:
    base = serve_app(create_app(delay=0))
    _get(base, "/16")
    _get(base, "/16")
    text = _get(base, "/metrics")[1].decode()
    assert 'coinminer_http_requests_total{code="200",method="GET",route="/{n}"} 2' in text
    assert "coinminer_rng_bytes_total 32" in text
    assert 'coinminer_http_request_duration_seconds_count{route="/{n}"} 2' in text


def test_process_stops_cleanly_on_sigterm() -> None:
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PORT": str(port), "DELAY": "0", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "rng.app"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if _get(f"http://127.0.0.1:{port}", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=8)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "received SIGTERM, shutting down" in out and out.rstrip().endswith("rng stopped")
