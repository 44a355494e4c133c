"""The shared helpers: metrics text format, the RESP client against a real
redis-server, and the HTTP App's routing and error handling."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from common.metrics import Registry
from common.resp import Redis, RedisError, encode, parse_url
from common.service import App, Response


def test_metrics_render_prometheus_text() -> None:
    reg = Registry()
    c = reg.counter("jobs_total", "Jobs.")
    h = reg.histogram("lat_seconds", "Latency.", buckets=(0.1, 1.0))
    c.inc(labels={"route": "/x"})
    c.inc(2, labels={"route": "/x"})
    h.observe(0.05)
    h.observe(0.5)
    h.observe(7)
    text = reg.render()
    assert "# TYPE jobs_total counter" in text
    assert 'jobs_total{route="/x"} 3' in text
    # Buckets are cumulative and +Inf equals the count.
    assert 'lat_seconds_bucket{le="0.1"} 1' in text
    assert 'lat_seconds_bucket{le="1"} 2' in text
    assert 'lat_seconds_bucket{le="+Inf"} 3' in text
    assert "lat_seconds_count 3" in text
    assert "lat_seconds_sum 7.55" in text


def test_label_values_are_escaped() -> None:
    reg = Registry()
    reg.counter("x_total", "X.").inc(labels={"path": 'a"b\\c'})
    assert 'x_total{path="a\\"b\\\\c"} 1' in reg.render()


def test_resp_encoding_and_url_parsing() -> None:
    assert encode("SET", "k", 5) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n5\r\n"
    assert encode(b"\x00\r\n") == b"*1\r\n$3\r\n\x00\r\n\r\n"
    assert parse_url("redis://redis") == ("redis", 6379, 0)
    assert parse_url("redis://10.0.0.5:6380/2") == ("10.0.0.5", 6380, 2)
    assert parse_url("cache:7000") == ("cache", 7000, 0)


def test_redis_client_commands(redis_server) -> None:
    db = Redis(redis_server.url)
    assert db.ping()
    assert db.get_int("hashes") == 0
    assert db.incrby("hashes", 5) == 5
    binary = bytes(range(256))
    db.hset("wallet", "00ab", binary)
    assert db.hlen("wallet") == 1
    assert db.hgetall("wallet") == {b"00ab": binary}  # binary-safe values
    replies = db.pipeline([("INCRBY", "hashes", 2), ("HLEN", "wallet")])
    assert replies == [7, 1]


def test_redis_error_reply_keeps_connection_usable(redis_server) -> None:
    db = Redis(redis_server.url)
    db.execute("SET", "s", "text")
    with pytest.raises(RedisError):
        db.incrby("s", 1)
    with pytest.raises(RedisError):  # pipeline reads every reply even after an error
        db.pipeline([("INCRBY", "s", 1), ("SET", "after", 1)])
    assert db.execute("GET", "after") == b"1"


def test_redis_client_reconnects_after_restart(redis_server) -> None:
    db = Redis(redis_server.url, timeout=1)
    db.incrby("n", 1)
    redis_server.stop()
    with pytest.raises(OSError):
        db.incrby("n", 1)
    redis_server.start()
    assert db.incrby("n", 1) == 1  # fresh server (no persistence in this fixture)


def _get(url: str, path: str, method: str = "GET", body: bytes | None = None):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request(method, path, body=body)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


def test_app_routes_errors_and_health(serve_app) -> None:
    app = App("demo")
    app.route("GET", "/boom", lambda req: 1 / 0)  # type: ignore[arg-type, return-value]
    app.route("GET", "/ok", lambda req: Response(body=b"fine"))
    base = serve_app(app)
    assert _get(base, "/ok")[1] == b"fine"
    assert _get(base, "/ok", "POST")[0].status == 405
    assert _get(base, "/nope")[0].status == 404
    resp, _ = _get(base, "/boom")
    assert resp.status == 500  # a handler bug answers 500, the server lives on
    assert _get(base, "/ok")[0].status == 200
    resp, data = _get(base, "/healthz")
    assert resp.status == 200 and json.loads(data)["service"] == "demo"
    app.health = lambda: (False, {"why": "test"})
    resp, data = _get(base, "/healthz")
    assert resp.status == 503 and json.loads(data)["why"] == "test"
    metrics = _get(base, "/metrics")[1].decode()
    assert 'coinminer_http_requests_total{code="500",method="GET",route="/boom"} 1' in metrics
    assert 'coinminer_http_requests_total{code="404",method="GET",route="other"} 1' in metrics
