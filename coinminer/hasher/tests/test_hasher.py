"""hasher handlers over real sockets: the digest is the wire contract."""

from __future__ import annotations

import hashlib
import http.client
from urllib.parse import urlsplit

from hasher.app import create_app


def _post(base: str, body: bytes, headers: dict[str, str] | None = None,
          chunked: bool = False) -> tuple[int, bytes]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    payload = iter([body]) if chunked else body
    conn.request("POST", "/", body=payload, headers=headers or {}, encode_chunked=chunked)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def test_returns_sha256_hex_of_body(serve_app) -> None:
    base = serve_app(create_app(delay=0))
    body = bytes(range(32))
    status, data = _post(base, body, {"Content-Type": "application/octet-stream"})
    assert status == 200
    assert data.decode() == hashlib.sha256(body).hexdigest()


def test_chunked_and_empty_bodies(serve_app) -> None:
    base = serve_app(create_app(delay=0))
    body = b"x" * 5000
    assert _post(base, body, chunked=True)[1].decode() == hashlib.sha256(body).hexdigest()
    assert _post(base, b"")[1].decode() == hashlib.sha256(b"").hexdigest()


def test_banner_health_and_metrics(serve_app) -> None:
    base = serve_app(create_app(delay=0))
    _post(base, b"abc")
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", "/")
    assert conn.getresponse().read().startswith(b"HASHER running on ")
    conn.request("GET", "/healthz")
    resp = conn.getresponse()
    assert resp.status == 200 and b'"status": "ok"' in resp.read()
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    assert 'coinminer_http_requests_total{code="200",method="POST",route="/hash"} 1' in text
    assert "coinminer_hasher_bytes_total 3" in text
