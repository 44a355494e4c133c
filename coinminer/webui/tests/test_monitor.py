"""The webui's way in for Prometheus: real services on this machine found
through the real resolver ("localhost" stands for a dnsrr service name) and
scraped over real sockets."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from common.resp import Redis
from common.service import App
from hypothesis import given
from hypothesis import strategies as st
from webui import monitor
from webui.app import create_app

TOKEN = b"s3cret-token-of-the-rack"
RACK = {"Authorization": "Bearer " + TOKEN.decode()}


def _get(base: str, path: str, headers: dict[str, str] = RACK) -> tuple[int, bytes]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body


def _webui(serve_app, targets: list[tuple[str, int]], token: bytes | None = TOKEN) -> str:
    app = App("webui")
    monitor.add_routes(app, targets, token)
    return serve_app(app)


def test_default_targets_are_the_services_that_serve_metrics() -> None:
    assert monitor.parse_targets(monitor.DEFAULT_TARGETS) == [
        ("rng", 80), ("hasher", 80), ("worker", 8080), ("webui", 80)]
    assert monitor.parse_targets(" rng:80 , ") == [("rng", 80)]


@pytest.mark.parametrize("bad", ["rng", "rng:", ":80", "rng:http", "rng:0", "rng:70000"])
def test_a_malformed_target_is_named(bad: str) -> None:
    with pytest.raises(ValueError, match=f"MONITOR_TARGETS: expected name:port, got '{bad}'"):
        monitor.parse_targets(bad)


@given(st.text(max_size=40))
def test_parse_targets_raises_only_its_own_error(text: str) -> None:
    try:
        for name, port in monitor.parse_targets(text):
            assert name and 0 < port < 65536
    except ValueError as exc:
        assert str(exc).startswith("MONITOR_TARGETS: ")


def test_resolver_gives_every_address_or_none() -> None:
    assert "127.0.0.1" in monitor.resolve_ipv4("localhost")
    assert monitor.resolve_ipv4("no-such-service.invalid") == []


def test_targets_list_each_task_with_its_service(serve_app) -> None:
    rng = serve_app(App("rng"))
    port = urlsplit(rng).port
    base = _webui(serve_app, [("localhost", port), ("no-such-service.invalid", 80)])
    status, body = _get(base, "/monitor/targets")
    assert status == 200
    # A service without tasks is left out rather than listed empty.
    assert json.loads(body) == [{"targets": [f"127.0.0.1:{port}"], "labels": {"service": "localhost"}}]


def test_scrape_fetches_a_task_metrics(serve_app) -> None:
    rng = serve_app(App("rng"))
    port = urlsplit(rng).port
    _get(rng, "/healthz")
    base = _webui(serve_app, [("localhost", port)])
    status, body = _get(base, f"/monitor/scrape?target=127.0.0.1:{port}")
    assert status == 200
    assert 'coinminer_http_requests_total{code="200",method="GET",route="/healthz"} 1' in body.decode()


@pytest.mark.parametrize("target", ["127.0.0.1:1", "10.0.0.1:80", "", "127.0.0.1", "[::1]:80"])
def test_scrape_refuses_anything_not_a_current_task(serve_app, target: str) -> None:
    port = urlsplit(serve_app(App("rng"))).port
    base = _webui(serve_app, [("localhost", port)])
    status, body = _get(base, f"/monitor/scrape?target={target}")
    assert status == 404
    assert b"not a task of localhost" in body


def test_scrape_of_a_task_that_does_not_answer_is_a_bad_gateway(serve_app, unused_port: int) -> None:
    base = _webui(serve_app, [("localhost", unused_port)])
    status, body = _get(base, f"/monitor/scrape?target=127.0.0.1:{unused_port}")
    assert status == 502
    assert body.startswith(f"127.0.0.1:{unused_port}: ".encode())


def test_scrape_caps_what_it_reads(serve_app, monkeypatch: pytest.MonkeyPatch) -> None:
    port = urlsplit(serve_app(App("rng"))).port
    base = _webui(serve_app, [("localhost", port)])
    monkeypatch.setattr(monitor, "MAX_METRICS_BYTES", 100)
    status, body = _get(base, f"/monitor/scrape?target=127.0.0.1:{port}")
    assert (status, body) == (502, f"127.0.0.1:{port}: metrics larger than 100 bytes\n".encode())


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer " + TOKEN.decode()[:-1]},
    {"Authorization": "Basic " + TOKEN.decode()}, {"Authorization": TOKEN.decode()},
    {"X-Token": TOKEN.decode()},
])
def test_only_the_rack_token_opens_the_routes(serve_app, headers: dict[str, str]) -> None:
    port = urlsplit(serve_app(App("rng"))).port
    base = _webui(serve_app, [("localhost", port)])
    for path in ("/monitor/targets", f"/monitor/scrape?target=127.0.0.1:{port}"):
        status, body = _get(base, path, headers)
        assert status == 401 and b"127.0.0.1" not in body, path
    assert _get(base, "/monitor/targets", {"authorization": "bearer  " + TOKEN.decode()})[0] == 200


def test_without_a_token_the_routes_are_off(serve_app) -> None:
    port = urlsplit(serve_app(App("rng"))).port
    base = _webui(serve_app, [("localhost", port)], token=None)
    for headers in ({}, RACK, {"Authorization": "Bearer "}):
        status, body = _get(base, "/monitor/targets", headers)
        assert (status, body) == (403, b"monitoring is off: the web UI has no token "
                                       b"(MONITOR_TOKEN_FILE)\n")


def test_the_webui_serves_both_routes(serve_app, unused_port: int, monkeypatch: pytest.MonkeyPatch,
                                      tmp_path) -> None:
    port = urlsplit(serve_app(App("hasher"))).port
    monkeypatch.setenv("MONITOR_TARGETS", f"localhost:{port}")
    (tmp_path / "token").write_bytes(TOKEN + b"\n")
    monkeypatch.setenv("MONITOR_TOKEN_FILE", str(tmp_path / "token"))
    base = serve_app(create_app(Redis(f"redis://127.0.0.1:{unused_port}")))
    assert json.loads(_get(base, "/monitor/targets")[1])[0]["targets"] == [f"127.0.0.1:{port}"]
    assert _get(base, f"/monitor/scrape?target=127.0.0.1:{port}")[0] == 200
    assert _get(base, "/monitor/targets", {})[0] == 401


def test_a_named_token_file_that_is_missing_stops_the_webui(monkeypatch, tmp_path, unused_port) -> None:
    monkeypatch.setenv("MONITOR_TOKEN_FILE", str(tmp_path / "absent"))
    with pytest.raises(SystemExit, match=r"MONITOR_TOKEN_FILE=.*absent: No such file"):
        create_app(Redis(f"redis://127.0.0.1:{unused_port}"))
