# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recording a running coin-miner from the outside: counter samples and
request latencies, the way the course did it with `watch` and `httping`.

Runs on the host that can reach the services (the cluster's master), so the
numbers do not include the controller's SSH link. Only records; the
statistics are in bench_stats so they can be recomputed from the raw samples.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit


class Endpoint:
    """One HTTP/1.1 keep-alive connection to a URL.

    Keep-alive because the workers use it too: a new TCP handshake per probe
    would measure the network stack, not the service the workers wait for.
    """

    def __init__(self, url: str, method: str = "GET", body: Optional[bytes] = None,
                 timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.port = parts.port or 80
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.method = method
        self.body = body
        self.timeout = timeout
        self._conn: Optional[http.client.HTTPConnection] = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def call(self) -> Tuple[float, bytes]:
        """(seconds, body) of one request; raises OSError/HTTPException on
        failure and ValueError on a non-200 answer."""
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        start = time.perf_counter()
        try:
            self._conn.request(self.method, self.path, body=self.body)
            resp = self._conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        elapsed = time.perf_counter() - start
        if resp.will_close:
            self.close()
        if resp.status != 200:
            raise ValueError(f"{self.method} {self.path} answered {resp.status}")
        return elapsed, data


def read_counter(body: bytes, field: str) -> float:
    """The counter `field` of a JSON answer such as the webui's /json."""
    value = json.loads(body.decode("utf-8"))[field]
    return float(value)


def record(counter_url: str, counter_field: str, duration: float, interval: float,
           targets: Optional[Dict[str, Dict[str, Any]]] = None, pause: float = 0.0,
           timeout: float = 10.0,
           clock: Callable[[], float] = time.monotonic) -> Dict[str, Any]:
    """Sample the counter every `interval` seconds for `duration` seconds
    while one thread per latency target calls it back to back (with `pause`
    between calls).

    `targets` maps a name to {"url", "method", "body_bytes"}. Errors are
    counted, with the last message kept, never dropped silently: a prober
    that only saw timeouts must not report a good p95.
    """
    stop = threading.Event()
    latencies: Dict[str, Dict[str, Any]] = {}
    threads: List[threading.Thread] = []

    def probe(name: str, endpoint: Endpoint) -> None:
        slot = latencies[name]
        while not stop.is_set():
            try:
                elapsed, _ = endpoint.call()
                slot["seconds"].append(round(elapsed, 6))
            except (OSError, http.client.HTTPException, ValueError) as exc:
                slot["errors"] += 1
                slot["last_error"] = str(exc)
                stop.wait(min(1.0, interval))
            if pause > 0:
                stop.wait(pause)
        endpoint.close()

    for name, spec in (targets or {}).items():
        body = b"\0" * int(spec.get("body_bytes") or 0) or None
        endpoint = Endpoint(spec["url"], spec.get("method") or "GET", body, timeout)
        latencies[name] = {"seconds": [], "errors": 0, "last_error": None}
        threads.append(threading.Thread(target=probe, args=(name, endpoint), daemon=True))

    counter = Endpoint(counter_url, timeout=timeout)
    samples: List[List[float]] = []
    errors = 0
    last_error = None
    for thread in threads:
        thread.start()
    start = clock()
    next_tick = start
    try:
        while True:
            now = clock()
            if now - start > duration:
                break
            try:
                _, body = counter.call()
                samples.append([round(clock() - start, 4), read_counter(body, counter_field)])
            except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
                errors += 1
                last_error = str(exc)
            next_tick += interval
            stop.wait(max(0.0, next_tick - clock()))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout + 1)
        counter.close()
    return {"samples": samples, "errors": errors, "last_error": last_error,
            "latency": latencies}
