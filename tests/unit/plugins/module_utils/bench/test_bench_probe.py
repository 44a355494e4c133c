"""bench/probe.py against a real local HTTP server that counts like the webui,
and its option checks against random options."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.bench.probe import (
    MAX_BODY_BYTES,
    Endpoint,
    ProbeError,
    check_params,
    record,
)
from ansible_collections.pirack.cluster.plugins.module_utils.bench.stats import steady_state
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- option checks: only ProbeError, whatever the options -----------------

ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)
URLS = st.one_of(
    ANY,
    st.builds(lambda host, port, path: f"http://{host}:{port}/{path}",
              st.sampled_from(["127.0.0.1", "[::1]", "[::1", "localhost", "", "a b"]),
              st.one_of(st.integers(-5, 100000), st.text(max_size=6)), st.text(max_size=8)),
    st.sampled_from(["http://127.0.0.1:8000/json", "https://x/", "ftp://x", "123", "http://[::1]/"]),
)
NUMBERS = st.one_of(ANY, st.floats(), st.integers(-10, 10 ** 20), st.text(max_size=8))
TARGET = st.one_of(ANY, st.fixed_dictionaries(
    {"url": URLS},
    optional={"method": st.one_of(ANY, st.sampled_from(["GET", "POST", "get", "P OST"])),
              "body_bytes": st.one_of(NUMBERS, st.integers(-1, 2 * MAX_BODY_BYTES)),
              "extra": ANY}))
PARAMS = st.fixed_dictionaries(
    {"counter_url": URLS, "duration": NUMBERS},
    optional={"counter_field": ANY, "interval": NUMBERS, "warmup": NUMBERS, "window": NUMBERS,
              "pause": NUMBERS, "timeout": NUMBERS,
              "targets": st.one_of(ANY, st.dictionaries(st.text(max_size=5), TARGET, max_size=3))})


@settings(max_examples=400, deadline=None)
@given(PARAMS)
def test_option_checks_raise_only_their_own_error(params: dict) -> None:
    try:
        checked = check_params(params)
    except ProbeError as exc:
        assert "\n" not in str(exc) and ":" in str(exc)
        return
    # Whatever passed can be recorded with: the endpoints build, bodies fit.
    assert checked["warmup"] < checked["duration"]
    Endpoint(checked["counter_url"])
    for spec in checked["targets"].values():
        Endpoint(spec["url"], spec["method"], b"\0" * spec["body_bytes"])
        assert 0 <= spec["body_bytes"] <= MAX_BODY_BYTES


def test_checked_options_are_normalised() -> None:
    checked = check_params({"counter_url": "http://[::1]:8000/json?x=1", "duration": "30",
                            "targets": {"h": {"url": "http://h/", "method": "POST",
                                              "body_bytes": "32"}}})
    assert checked["duration"] == 30.0 and checked["interval"] == 1.0
    assert checked["targets"]["h"] == {"url": "http://h/", "method": "POST", "body_bytes": 32}
    endpoint = Endpoint(checked["counter_url"])
    assert (endpoint.host, endpoint.port, endpoint.path) == ("::1", 8000, "/json?x=1")
