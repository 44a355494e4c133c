# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recording a running coin-miner from the outside: counter samples and
request latencies, the way the course did it with `watch` and `httping`.

Runs on the host that can reach the services (the cluster's master), so the
numbers do not include the controller's SSH link. Only records; the
statistics are in stats.py so they can be recomputed from the raw samples.
"""

from __future__ import annotations

import http.client
import json
import math
import re
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

# A hasher probe sends this many zero bytes at most: the coin-miner's hasher
# hashes 32; a body of gigabytes would only measure memory allocation.
MAX_BODY_BYTES = 16 * 1024 * 1024
# A recording longer than a day is a typo (seconds taken for milliseconds).
MAX_SECONDS = 86400.0
TARGET_KEYS = ("url", "method", "body_bytes")
_METHOD = re.compile(r"^[A-Z]{1,16}$")


class ProbeError(ValueError):
    """A probe option that cannot be recorded with, said in one line that
    names the option; the module turns it into its failure message."""


def check_url(option: str, value: Any) -> Tuple[str, int, str]:
    """(host, port, path) of a plain-HTTP URL, or ProbeError naming `option`.

    Why so strict: urlsplit accepts "123" or "localhost" and the prober would
    then poll port 80 of this host, recording a refused connection instead of
    saying the URL was wrong; a bad port or IPv6 literal only raises deep in
    http.client, as a traceback.
    """
    if not isinstance(value, str):
        raise ProbeError(f"{option}: expected an http:// URL, got {type(value).__name__} {value!r}")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ProbeError(f"{option}: {value!r} is not a valid URL ({exc})") from None
    if parts.scheme != "http" or not parts.hostname:
        raise ProbeError(f"{option}: expected an http://host[:port]/path URL, got {value!r}")
    if port == 0 or any(c.isspace() or ord(c) < 32 for c in value):
        raise ProbeError(f"{option}: {value!r} is not a valid URL (port 0 or a control character)")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, port or 80, path


def _number(option: str, value: Any, low: float, high: float, low_open: bool) -> float:
    """A finite float within [low, high] (or (low, high]) or ProbeError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ProbeError(f"{option}: expected a number of seconds, got {value!r}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ProbeError(f"{option}: expected a number of seconds, got {value!r}") from None
    too_low = number <= low if low_open else number < low
    if not math.isfinite(number) or too_low or number > high:
        bound = "above" if low_open else "at least"
        raise ProbeError(f"{option}: expected a number {bound} {low:g} and at most {high:g}, "
                         f"got {value!r}")
    return number


def check_body_bytes(option: str, value: Any) -> int:
    """Size of a probe's request body: a whole number 0..MAX_BODY_BYTES."""
    if value is None:
        return 0
    number: Any = value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value.strip()):
        number = int(value.strip())
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= MAX_BODY_BYTES:
        raise ProbeError(f"{option}: expected a whole number of bytes from 0 to {MAX_BODY_BYTES}, "
                         f"got {value!r}")
    return number


def check_target(name: Any, spec: Any) -> Dict[str, Any]:
    """One latency prober's {url, method, body_bytes}, normalised."""
    option = "targets." + "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(name))
    if not isinstance(spec, Mapping):
        raise ProbeError(f"{option}: expected a dict with a url, got {spec!r}")
    unknown = sorted(str(k) for k in spec if k not in TARGET_KEYS)
    if unknown:
        raise ProbeError(f"{option}: unknown key(s) {', '.join(unknown)}; "
                         f"expected {', '.join(TARGET_KEYS)}")
    if "url" not in spec:
        raise ProbeError(f"{option}: expected a dict with a url")
    check_url(f"{option}.url", spec["url"])
    method = spec.get("method") or "GET"
    if not isinstance(method, str) or not _METHOD.match(method):
        raise ProbeError(f"{option}.method: expected an HTTP method such as GET or POST, "
                         f"got {method!r}")
    return {"url": spec["url"], "method": method,
            "body_bytes": check_body_bytes(f"{option}.body_bytes", spec.get("body_bytes"))}


def check_params(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The probe module's options, checked and normalised before anything is
    recorded; every problem raises ProbeError naming the option, nothing else.
    """
    out: Dict[str, Any] = {}
    check_url("counter_url", params.get("counter_url"))
    out["counter_url"] = params["counter_url"]
    field = params.get("counter_field", "hashes")
    if not isinstance(field, str) or not field:
        raise ProbeError(f"counter_field: expected the name of a JSON field, got {field!r}")
    out["counter_field"] = field
    out["duration"] = _number("duration", params.get("duration"), 0.0, MAX_SECONDS, True)
    out["interval"] = _number("interval", params.get("interval", 1.0), 0.0, MAX_SECONDS, True)
    out["warmup"] = _number("warmup", params.get("warmup", 0.0), 0.0, MAX_SECONDS, False)
    out["window"] = _number("window", params.get("window", 5.0), 0.0, MAX_SECONDS, True)
    out["pause"] = _number("pause", params.get("pause", 0.0), 0.0, MAX_SECONDS, False)
    out["timeout"] = _number("timeout", params.get("timeout", 10.0), 0.0, MAX_SECONDS, True)
    if out["warmup"] >= out["duration"]:
        raise ProbeError(f"warmup: {out['warmup']:g} s leaves nothing of duration "
                         f"{out['duration']:g} s to measure")
    targets = params.get("targets") or {}
    if not isinstance(targets, Mapping):
        raise ProbeError(f"targets: expected a dict of name: {{url, method, body_bytes}}, got {targets!r}")
    out["targets"] = {str(name): check_target(name, spec) for name, spec in targets.items()}
    return out


class Endpoint:
    """One HTTP/1.1 keep-alive connection to a URL.

    Keep-alive because the workers use it too: a new TCP handshake per probe
    would measure the network stack, not the service the workers wait for.
    """

    def __init__(self, url: str, method: str = "GET", body: Optional[bytes] = None,
                 timeout: float = 10.0) -> None:
        self.host, self.port, self.path = check_url("url", url)
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

    `targets` maps a name to {"url", "method", "body_bytes"} as check_target
    normalises it (the module checks every option first). Errors are
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
        body = b"\0" * check_body_bytes(f"targets.{name}.body_bytes", spec.get("body_bytes")) or None
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
