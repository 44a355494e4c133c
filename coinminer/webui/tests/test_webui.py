"""webui: /json against a real redis, and the page served without a CDN."""

from __future__ import annotations

import http.client
import json
import re
import time
from urllib.parse import urlsplit

from common import keys
from common.resp import Redis
from webui.app import RateWindow, create_app


def _get(base: str, path: str) -> tuple[int, bytes, str]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body, resp.getheader("Content-Type", "")


def test_json_on_an_empty_redis(serve_app, redis_server) -> None:
    base = serve_app(create_app(Redis(redis_server.url)))
    status, body, ctype = _get(base, "/json")
    data = json.loads(body)
    assert status == 200 and ctype == "application/json"
    assert {k: data[k] for k in ("coins", "hashes", "workers")} == {
        "coins": 0, "hashes": 0, "workers": 0}
    assert abs(data["now"] - time.time()) < 5


def test_json_counts_coins_hashes_and_fresh_workers(serve_app, redis_server) -> None:
    db = Redis(redis_server.url)
    now = time.time()
    db.incrby(keys.HASHES, 1234)
    db.hset(keys.WALLET, "0abc", b"\x00" * 32)
    db.hset(keys.WALLET, "0def", b"\x01" * 32)
    db.hset(keys.WORKERS, "fresh", now - 1)
    db.hset(keys.WORKERS, "quiet", now - 60)  # not counted, kept for a while
    db.hset(keys.WORKERS, "gone", now - 2 * keys.WORKER_FORGET_SECONDS)  # forgotten
    base = serve_app(create_app(db))
    data = json.loads(_get(base, "/json")[1])
    assert (data["coins"], data["hashes"], data["workers"]) == (2, 1234, 1)
    assert set(db.hgetall(keys.WORKERS)) == {b"fresh", b"quiet"}


def test_json_answers_503_while_redis_is_down(serve_app, redis_server) -> None:
    base = serve_app(create_app(Redis(redis_server.url, timeout=1)))
    redis_server.stop()
    status, body, _ = _get(base, "/json")
    assert status == 503 and "redis unavailable" in json.loads(body)["error"]
    status, body, _ = _get(base, "/healthz")  # alive, and says why the page is empty
    assert status == 200 and "unavailable" in json.loads(body)["redis"]
    redis_server.start()
    assert _get(base, "/json")[0] == 200


def test_page_and_assets_are_served_locally(serve_app, redis_server) -> None:
    base = serve_app(create_app(Redis(redis_server.url)))
    for path in ("/", "/index.html"):
        status, body, ctype = _get(base, path)
        assert status == 200 and ctype.startswith("text/html") and b'id="rate"' in body
    page = _get(base, "/")[1].decode()
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert refs and all(r.startswith("/static/") for r in refs)  # nothing off-box
    for ref in refs:
        status, body, _ = _get(base, ref)
        assert status == 200 and b"http://" not in body and b"https://" not in body
    assert _get(base, "/static/app.js")[2].endswith("javascript; charset=utf-8")
    assert _get(base, "/static/missing.js")[0] == 404
    assert _get(base, "/static/../app.py")[0] == 404


def test_rate_needs_five_seconds_and_spans_the_last_ten() -> None:
    window = RateWindow()
    assert window.rate() is None
    for second in range(5):
        window.add(1000.0 + second, 100 * second)
    assert window.rate() is None, "four seconds of samples are not enough"
    window.add(1005.0, 500)
    assert window.rate() == 100.0
    for second in range(6, 30):
        window.add(1000.0 + second, 500 + 30 * (second - 5))  # slower from here on
    assert window.rate() == 30.0, "only the last ten seconds count"
    assert window.samples[-1][0] - window.samples[0][0] <= 10


def test_rate_starts_afresh_when_redis_is_gone_or_the_counter_goes_down() -> None:
    window = RateWindow()
    for second in range(8):
        window.add(float(second), 10 * second)
    window.add(8.0, None)
    assert window.rate() is None
    for second in range(9, 20):
        window.add(float(second), 5 * second)
    window.add(20.0, 3)  # redis came back with less: no negative rate
    assert window.rate() is None


def test_json_carries_the_rate_of_its_window(serve_app, redis_server) -> None:
    window = RateWindow()
    for second in range(7):
        window.add(2000.0 + second, 7 * second)
    base = serve_app(create_app(Redis(redis_server.url), window=window))
    assert json.loads(_get(base, "/json")[1])["rate"] == 7.0
    fresh = serve_app(create_app(Redis(redis_server.url)))
    assert json.loads(_get(fresh, "/json")[1])["rate"] is None
