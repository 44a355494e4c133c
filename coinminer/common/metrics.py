"""Prometheus text-format metrics without the prometheus_client dependency.

Why not prometheus_client: it is not needed for three metric kinds, it adds
import time and resident memory on a 1 GB Pi 3B+, and the images install
Debian packages only. The exposition format is small and stable, so a few
dozen lines cover it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence

Labels = tuple[tuple[str, str], ...]

# Latency buckets that resolve both modes: sub-millisecond to a few ms in
# max-speed mode, and the 100 ms band (the faithful delay) up to the ~1 s
# queueing the original showed when rng was the bottleneck.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05,
    0.1, 0.105, 0.11, 0.125, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0,
)


def _labels(pairs: dict[str, str] | None) -> Labels:
    return tuple(sorted((pairs or {}).items()))


def _fmt_labels(labels: Labels, extra: Labels = ()) -> str:
    items = labels + extra
    if not items:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in items)
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        self._lock = threading.Lock()

    def samples(self) -> Iterable[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def render(self) -> str:
        head = f"# HELP {self.name} {self.help}\n# TYPE {self.name} {self.kind}\n"
        return head + "".join(line + "\n" for line in self.samples())


class Counter(_Metric):
    """Monotonic count; resets only when the process restarts."""

    kind = "counter"

    def __init__(self, name: str, help_text: str) -> None:
        super().__init__(name, help_text)
        self._values: dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, labels: dict[str, str] | None = None) -> None:
        key = _labels(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, labels: dict[str, str] | None = None) -> float:
        with self._lock:
            return self._values.get(_labels(labels), 0.0)

    def samples(self) -> Iterable[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_fmt_labels(k)} {_fmt_value(v)}" for k, v in items]


class Gauge(Counter):
    """A value that goes up and down (queue lengths, peers seen)."""

    kind = "gauge"

    def set(self, value: float, labels: dict[str, str] | None = None) -> None:
        with self._lock:
            self._values[_labels(labels)] = value


class Histogram(_Metric):
    """Cumulative-bucket histogram, so percentiles can be estimated later
    from two scrapes (see coinminer/bench/stats.py)."""

    kind = "histogram"

    def __init__(
        self, name: str, help_text: str, buckets: Sequence[float] = LATENCY_BUCKETS
    ) -> None:
        super().__init__(name, help_text)
        self.buckets = tuple(sorted(buckets))
        self._series: dict[Labels, list[float]] = {}

    def observe(self, value: float, labels: dict[str, str] | None = None) -> None:
        key = _labels(labels)
        with self._lock:
            # Layout: one count per bucket, then +Inf count, then sum.
            series = self._series.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    series[i] += 1
            series[-2] += 1
            series[-1] += value

    def count(self, labels: dict[str, str] | None = None) -> float:
        with self._lock:
            series = self._series.get(_labels(labels))
            return series[-2] if series else 0.0

    def samples(self) -> Iterable[str]:
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._series.items())
        lines: list[str] = []
        for key, series in items:
            for bound, n in zip(self.buckets, series):
                le = (("le", _fmt_value(bound)),)
                lines.append(f"{self.name}_bucket{_fmt_labels(key, le)} {_fmt_value(n)}")
            inf = (("le", "+Inf"),)
            lines.append(f"{self.name}_bucket{_fmt_labels(key, inf)} {_fmt_value(series[-2])}")
            lines.append(f"{self.name}_count{_fmt_labels(key)} {_fmt_value(series[-2])}")
            lines.append(f"{self.name}_sum{_fmt_labels(key)} {_fmt_value(series[-1])}")
        return lines


class Registry:
    """The metrics one process exposes on GET /metrics."""

    def __init__(self) -> None:
        self._metrics: list[_Metric] = []

    def counter(self, name: str, help_text: str) -> Counter:
        return self._add(Counter(name, help_text))

    def gauge(self, name: str, help_text: str) -> Gauge:
        return self._add(Gauge(name, help_text))

    def histogram(
        self, name: str, help_text: str, buckets: Sequence[float] = LATENCY_BUCKETS
    ) -> Histogram:
        return self._add(Histogram(name, help_text, buckets))

    def _add(self, metric):  # type: ignore[no-untyped-def]
        self._metrics.append(metric)
        return metric

    def render(self) -> str:
        return "".join(m.render() for m in self._metrics)
