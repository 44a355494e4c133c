"""Prometheus' way into the app's overlay network, through the webui.

On Swarm the app's services share an overlay network that nothing outside
the app may join, and only the webui publishes a port. Prometheus runs on
the master's host (pirack.cluster.monitoring), so it cannot reach a task.
The webui can: it lists every task for Prometheus' HTTP service discovery
(GET /monitor/targets; with dnsrr a service name resolves to the address of
each of its tasks) and fetches one task's /metrics on Prometheus' behalf
(GET /monitor/scrape?target=ADDRESS:PORT). Only an address:port that is a
task of a listed service right now is fetched, so this is not an open proxy.

Both answer only the rack's Prometheus: a request must carry the token from
MONITOR_TOKEN_FILE as `Authorization: Bearer <token>` (401 without it), and
without a token file the routes are off (403). The task addresses and every
service's metrics are not for anyone on the LAN who can open the page. Why
a token rather than the caller's address: Prometheus reaches the published
port from the master's own host, so the web UI sees a Docker or CNI
gateway address, which an outsider's NAT could share.
"""

from __future__ import annotations

import hmac
import http.client
import socket
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from common.service import App, Request, Response

# service:port of the services that serve /metrics (apps/coinminer.yml;
# redis does not). MONITOR_TARGETS overrides.
DEFAULT_TARGETS = "rng:80,hasher:80,worker:8080,webui:80"
# Where Swarm mounts the app secret monitor-token (apps/coinminer.yml), used
# when MONITOR_TOKEN_FILE is not set.
DEFAULT_TOKEN_FILE = "/run/secrets/monitor-token"
# A service's /metrics is a few KiB; this caps what a bad answer can cost.
MAX_METRICS_BYTES = 4 * 1024 * 1024
SCRAPE_TIMEOUT = 5.0

Resolver = Callable[[str], list[str]]
Fetcher = Callable[[str, int], tuple[int, bytes]]


def parse_targets(text: str) -> list[tuple[str, int]]:
    """"name:port,name:port" -> [(name, port)]; a malformed entry is an
    error at start-up, not a silently unscraped service."""
    targets: list[tuple[str, int]] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, port = item.rpartition(":")
        if not sep or not name or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"MONITOR_TARGETS: expected name:port, got {item!r}")
        targets.append((name, int(port)))
    return targets


def resolve_ipv4(name: str) -> list[str]:
    """Every IPv4 address the name has (each task's, under dnsrr), sorted;
    [] when it does not resolve (the service is scaled to zero or absent)."""
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos}, key=socket.inet_aton)


def current_tasks(targets: list[tuple[str, int]], resolve: Resolver) -> dict[str, list[str]]:
    """service -> ["address:port" of each of its tasks], services with none left out."""
    tasks: dict[str, list[str]] = {}
    for name, port in targets:
        addresses = resolve(name)
        if addresses:
            tasks[name] = [f"{address}:{port}" for address in addresses]
    return tasks


def fetch_metrics(address: str, port: int) -> tuple[int, bytes]:
    """GET http://address:port/metrics -> (status, body); HTTPException past
    MAX_METRICS_BYTES."""
    conn = http.client.HTTPConnection(address, port, timeout=SCRAPE_TIMEOUT)
    try:
        conn.request("GET", "/metrics")
        resp = conn.getresponse()
        body = resp.read(MAX_METRICS_BYTES + 1)
        if len(body) > MAX_METRICS_BYTES:
            raise http.client.HTTPException(f"metrics larger than {MAX_METRICS_BYTES} bytes")
        return resp.status, body
    finally:
        conn.close()


def bearer(headers: dict[str, str]) -> bytes:
    """The token of an `Authorization: Bearer ...` header, b"" without one."""
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.strip().partition(" ")
    return token.strip().encode("latin-1", "replace") if scheme.lower() == "bearer" else b""


def add_routes(app: App, targets: list[tuple[str, int]], token: bytes | None,
               resolve: Resolver = resolve_ipv4, fetch: Fetcher = fetch_metrics) -> None:
    """GET /monitor/targets and /monitor/scrape on the webui, for whoever
    holds `token` (None: the routes answer 403)."""

    def only_with_token(view: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def guarded(req: Request) -> Response:
            if token is None:
                return Response(403, b"monitoring is off: the web UI has no token "
                                     b"(MONITOR_TOKEN_FILE)\n")
            if not hmac.compare_digest(bearer(req.headers), token):
                return Response(401, b"the rack's monitoring token is required\n",
                                headers={"WWW-Authenticate": 'Bearer realm="pirack monitoring"'})
            return view(req)
        return guarded

    def targets_view(_req: Request) -> Response:
        # Prometheus' HTTP SD format: a list of {targets, labels} groups.
        return Response.json([{"targets": found, "labels": {"service": name}}
                              for name, found in current_tasks(targets, resolve).items()])

    def scrape_view(req: Request) -> Response:
        wanted = parse_qs(urlsplit(req.path).query).get("target", [""])[0]
        tasks = current_tasks(targets, resolve)
        if not any(wanted in found for found in tasks.values()):
            return Response(404, f"not a task of {', '.join(n for n, _ in targets)}: {wanted!r}\n"
                            .encode())
        address, _, port = wanted.rpartition(":")
        try:
            status, body = fetch(address, int(port))
        except (OSError, http.client.HTTPException) as exc:
            return Response(502, f"{wanted}: {exc}\n".encode())
        if status != 200:
            return Response(502, f"{wanted} answered {status}\n".encode())
        return Response(200, body, "text/plain; version=0.0.4; charset=utf-8")

    # Not work: Prometheus' scrapes never wait behind the page's requests.
    app.route("GET", "/monitor/targets", only_with_token(targets_view), work=False)
    app.route("GET", r"/monitor/scrape", only_with_token(scrape_view), work=False)
