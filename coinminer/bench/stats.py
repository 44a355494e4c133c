"""The coin-miner bench's statistics: its hash rate from counter samples and
latency quantiles from the services' own Prometheus histograms.

Pure functions with no I/O, so the numbers of a BENCHMARKS.md entry can be
recomputed from its raw JSON and the tests run on recordings. They live with
the app (not in the collection) because only this bench scrapes `/metrics`:
the coin-miner stands alone and imports nothing from the collection.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence

Sample = tuple[float, float]
PromSample = tuple[str, dict[str, str], float]


def counter_rate(samples: Sequence[Sample], warmup: float = 0.0) -> float:
    """Units per second of a counter sampled as (seconds, value) pairs: the
    least-squares slope over the samples taken `warmup` seconds after the first.

    Why a fit rather than (last - first) / dt: workers hand in their counts
    about once a second, so any two samples are quantised by a whole batch;
    a slope over every sample averages that out. The bench's stack is fresh
    and never restarted mid-measurement, so the counter only grows.

    The collection has the same estimator (``steady_rate`` in
    plugins/module_utils/bench/stats.py, which also splices counter resets
    out); this copy stays because the coin-miner ships and is tested on its
    own, with Debian's Python and nothing of the collection installed.
    """
    if not samples:
        raise ValueError("no samples")
    start = samples[0][0] + warmup
    window = [(t, v) for t, v in samples if t >= start]
    if len(window) < 2:
        raise ValueError("need at least two samples after the warm-up")
    times = [t for t, _ in window]
    if max(times) == min(times):
        raise ValueError("samples span no time")
    return statistics.linear_regression(times, [v for _, v in window]).slope


_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text: str) -> list[PromSample]:
    """Samples of a Prometheus text exposition: (name, labels, value)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        labels = {k: v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                  for k, v in _LABEL.findall(m.group(3) or "")}
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def histogram_buckets(samples: Iterable[PromSample], name: str,
                      match: Mapping[str, str] | None = None) -> dict[float, float]:
    """Cumulative bucket counts {upper bound: count} of histogram `name`,
    summed over every series whose labels include `match` (e.g. all workers'
    latencies to rng)."""
    buckets: dict[float, float] = {}
    for sample_name, labels, value in samples:
        if sample_name != f"{name}_bucket":
            continue
        if any(labels.get(k) != v for k, v in (match or {}).items()):
            continue
        bound = float(labels["le"])  # "+Inf" parses as inf
        buckets[bound] = buckets.get(bound, 0.0) + value
    return buckets


def diff_buckets(after: Mapping[float, float], before: Mapping[float, float]) -> dict[float, float]:
    """Observations made between two scrapes of the same histogram."""
    return {bound: count - before.get(bound, 0.0) for bound, count in after.items()}


def histogram_quantile(buckets: Mapping[float, float], q: float) -> float:
    """Estimate the q-quantile (0..1) from cumulative buckets, interpolating
    linearly inside the bucket, as Prometheus' histogram_quantile() does.
    Returns nan without observations; the highest finite bound if the
    quantile falls in the +Inf bucket."""
    if not 0 <= q <= 1:
        raise ValueError(f"q={q} outside 0..1")
    bounds = sorted(buckets)
    if not bounds or not math.isinf(bounds[-1]):
        raise ValueError("buckets need a +Inf bound")
    total = buckets[bounds[-1]]
    if total <= 0:
        return math.nan
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound  # pragma: no cover - the +Inf bucket always matches
