"""bench_probe against a real local HTTP server that counts like the webui."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.bench_probe import record
from ansible_collections.pirack.cluster.plugins.module_utils.bench_stats import steady_state

RATE = 40.0  # hashes/s the fake miner produces


class Miner(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    started = time.monotonic()

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/json":
            hashes = int((time.monotonic() - self.started) * RATE)
            self._answer(200, json.dumps({"hashes": hashes, "coins": 0}).encode())
        elif self.path == "/32":
            time.sleep(0.01)
            self._answer(200, b"x" * 32)
        else:
            self._answer(503, b"down")

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(200, b"0" * 64)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def miner() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Miner)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_records_counter_and_latencies(miner: str) -> None:
    out = record(f"{miner}/json", "hashes", 2.5, 0.25, targets={
        "rng": {"url": f"{miner}/32"},
        "hasher": {"url": f"{miner}/", "method": "POST", "body_bytes": 32},
        "broken": {"url": f"{miner}/nothing"},
    })
    assert out["errors"] == 0 and len(out["samples"]) >= 9
    state = steady_state(out["samples"], width=0.5)
    assert state["median"] == pytest.approx(RATE, rel=0.1)
    rng = out["latency"]["rng"]
    assert rng["errors"] == 0 and len(rng["seconds"]) > 20
    assert min(rng["seconds"]) >= 0.01  # the server's sleep is measured
    assert out["latency"]["hasher"]["seconds"]
    broken = out["latency"]["broken"]
    assert broken["errors"] >= 1 and "503" in broken["last_error"] and not broken["seconds"]


def test_unreachable_counter_is_reported_not_hidden() -> None:
    out = record("http://127.0.0.1:9/json", "hashes", 0.3, 0.1, timeout=0.5)
    assert out["samples"] == [] and out["errors"] >= 1 and out["last_error"]
