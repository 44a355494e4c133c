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


def test_rate_needs_ten_seconds_and_fits_the_last_twenty() -> None:
    window = RateWindow()
    assert window.rate() is None
    for second in range(10):
        window.add(1000.0 + second, 100 * second)
    assert window.rate() is None, "nine seconds of samples are not enough"
    window.add(1010.0, 1000)
    assert window.rate() == 100.0
    for second in range(11, 60):
        window.add(1000.0 + second, 1000 + 30 * (second - 10))  # slower from here on
    assert window.rate() == 30.0, "only the last twenty seconds count"
    assert window.samples[-1][0] - window.samples[0][0] <= 20


def batched_counter(workers: int, seconds: float, per_worker: float = 3.3,
                    flush: float = 1.15) -> list[tuple[float, int]]:
    """The redis counter as the web UI samples it once a second, while
    `workers` hand in their hashes in batches every `flush` seconds, each
    worker out of step with the others and with the sampler."""
    phases = [(i * 0.37) % flush for i in range(workers)]
    samples = []
    for k in range(int(seconds)):
        t = k + 0.5
        count = 0
        for phase in phases:
            handed_in = (t - phase) // flush * flush + phase if t >= phase else 0.0
            count += int(handed_in * per_worker)
        samples.append((t, count))
    return samples


def test_rate_is_steady_although_workers_hand_in_batches() -> None:
    """4 workers at 13.2 hashes/s: every fitted rate within 2 %, where the
    difference of two samples 5 s apart (the page's old figure) strays
    further: the counter climbs in steps of a few hashes."""
    samples = batched_counter(4, 150)
    window = RateWindow()
    for t, count in samples:
        window.add(t, count)
    fitted = [rate for _, rate in window.history()]
    assert len(fitted) >= 120 and all(abs(rate / 13.2 - 1) < 0.02 for rate in fitted), fitted
    naive = [(samples[i][1] - samples[i - 5][1]) / 5 for i in range(5, len(samples))]
    assert max(abs(rate / 13.2 - 1) for rate in naive) > 0.05


def test_history_keeps_two_minutes_of_rates_across_a_counter_reset() -> None:
    window = RateWindow()
    for second in range(200):
        window.add(float(second), 10 * second)
    history = window.history()
    assert history[0][0] == 199 - 120 and history[-1] == [199.0, 10.0]
    assert all(rate == 10.0 for _, rate in history)
    window.add(200.0, 3)  # redis came back with less: no negative rate...
    assert window.rate() is None
    assert window.history()[-1] == [199.0, 10.0], "...and the rates already fitted stay"


def test_rate_starts_afresh_when_redis_is_gone_or_the_counter_goes_down() -> None:
    window = RateWindow()
    for second in range(12):
        window.add(float(second), 10 * second)
    assert window.rate() == 10.0
    window.add(12.0, None)
    assert window.rate() is None
    for second in range(13, 30):
        window.add(float(second), 5 * second)
    window.add(30.0, 3)  # redis came back with less: no negative rate
    assert window.rate() is None


def test_json_and_history_carry_the_rates_of_the_window(serve_app, redis_server) -> None:
    window = RateWindow()
    for second in range(15):
        window.add(2000.0 + second, 7 * second)
    base = serve_app(create_app(Redis(redis_server.url), window=window))
    assert json.loads(_get(base, "/json")[1])["rate"] == 7.0
    status, body, ctype = _get(base, "/history")
    history = json.loads(body)
    assert status == 200 and ctype == "application/json"
    assert history["rates"] == [[2000.0 + s, 7.0] for s in range(10, 15)]
    assert history["span"] == 120.0
    fresh = serve_app(create_app(Redis(redis_server.url)))
    assert json.loads(_get(fresh, "/json")[1])["rate"] is None
    assert json.loads(_get(fresh, "/history")[1])["rates"] == []
