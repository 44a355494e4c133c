# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The statistics every pirack benchmark uses, in one place.

Pure functions over recorded samples, with no I/O, so that the numbers in a
report can be recomputed from its raw JSON and the unit tests run on
recordings instead of on a live rack. The collection's benchmark modules and
report all import this file: one definition of "steady-state hash rate" and
"p95" in the collection. (The coin-miner app keeps its own bench statistics,
the Prometheus parsing its bench needs, in coinminer/bench/stats.py: the app
stands alone and imports nothing from the collection.)

Samples are plain lists of ``(seconds, value)`` pairs (monotonic or wall-clock
seconds, only differences matter), as the probe module records them.
"""

from __future__ import annotations

import math
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

Sample = Tuple[float, float]

# A window is "steady" when its rate is within this fraction of the rate at
# the end of the run. 15 % tolerates the one-second flush quantisation of the
# worker's counter at a few hashes/s, and still rejects a ramp-up.
STEADY_TOLERANCE = 0.15


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between the
    closest ranks (numpy's default), so small samples give stable numbers."""
    data = sorted(values)
    if not data:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q={q} outside 0..100")
    pos = (len(data) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def median(values: Iterable[float]) -> Optional[float]:
    """p50, or None without values: in a report a missing number must show
    as missing, not stop the whole report."""
    data = list(values)
    return percentile(data, 50) if data else None


def steady_rate(samples: Sequence[Sample], warmup: float = 0.0) -> float:
    """Units per second of a monotonic counter, by least-squares slope over the
    samples taken after `warmup` seconds.

    Why a fit rather than (last-first)/dt: workers hand in their counts in
    batches about once a second, so any two samples are quantised; a slope
    over all of them averages that out. Counter resets (a value going down)
    are spliced out so a restart mid-run does not give a negative rate.
    """
    if not samples:
        raise ValueError("no samples")
    start = samples[0][0] + warmup
    window = [(t, v) for t, v in samples if t >= start]
    if len(window) < 2:
        raise ValueError("need at least two samples after the warm-up")
    spliced: List[Sample] = []
    offset = 0.0
    prev = window[0][1]
    for t, v in window:
        if v < prev:
            offset += prev
        spliced.append((t, v + offset))
        prev = v
    n = len(spliced)
    mean_t = sum(t for t, _ in spliced) / n
    mean_v = sum(v for _, v in spliced) / n
    var_t = sum((t - mean_t) ** 2 for t, _ in spliced)
    if var_t == 0:
        raise ValueError("samples span no time")
    return sum((t - mean_t) * (v - mean_v) for t, v in spliced) / var_t


def windowed_rates(samples: Sequence[Sample], width: float) -> List[Sample]:
    """Rates over consecutive windows at least `width` seconds long, stamped
    with each window's end.

    Why windows and not sample-to-sample differences: workers add to the
    counter about once a second, so rates between 1 s samples alternate
    between 0 and twice the truth. Windows of a few seconds smooth that out
    without hiding a ramp-up.
    """
    rates: List[Sample] = []
    start = 0
    for end in range(1, len(samples)):
        if samples[end][0] - samples[start][0] >= width:
            rates.append((samples[end][0], steady_rate(samples[start:end + 1])))
            start = end
    return rates


def steady_start(rates: Sequence[Sample], tolerance: float = STEADY_TOLERANCE) -> Optional[int]:
    """Index of the first windowed rate from which every later window stays
    within `tolerance` of the final level (the median of the last third),
    provided that stretch is at least half of the windows.

    None when the run never settles (the last window is already off the
    level, or there are fewer than two windows to compare): the caller
    reports the run as not steady instead of averaging a ramp.
    """
    if len(rates) < 2:
        return None
    tail = [r for _, r in rates[-max(1, len(rates) // 3):]]
    level = median(tail)
    if level is None:
        return None
    band = abs(level) * tolerance

    def inside(rate: float) -> bool:
        return abs(rate - level) <= band

    if not inside(rates[-1][1]):
        return None
    start = len(rates) - 1
    while start > 0 and inside(rates[start - 1][1]):
        start -= 1
    # A slow ramp looks flat in its last windows; settled means settled for
    # at least half of the measurement, not just at the very end.
    if len(rates) - start < max(2, math.ceil(len(rates) / 2)):
        return None
    return start


def steady_state(samples: Sequence[Sample], warmup: float = 0.0, width: float = 5.0,
                 tolerance: float = STEADY_TOLERANCE) -> Dict[str, Any]:
    """The steady-state rate of a counter: drop `warmup` seconds, detect where
    the windowed rate settles, and return the median of the windowed rates
    from there on, with the spread and the seconds actually measured.

    `steady` is False when no settled stretch was found; `median` is then the
    median of everything after the warm-up, so a report can still show it,
    flagged.
    """
    if not samples:
        return {"median": None, "p10": None, "p90": None, "mean": None,
                "seconds": 0.0, "windows": 0, "steady": False, "settled_after": None}
    t0 = samples[0][0]
    kept = [s for s in samples if s[0] - t0 >= warmup]
    rates = windowed_rates(kept, width)
    start = steady_start(rates, tolerance)
    steady = start is not None
    window = rates[start:] if start is not None else rates
    values = [r for _, r in window]
    # The settled stretch begins where the window before its first rate ended.
    if start:
        first_t = rates[start - 1][0]
    elif kept:
        first_t = kept[0][0]
    else:
        first_t = t0
    span_samples = [s for s in kept if s[0] >= first_t]
    return {
        "median": median(values),
        "p10": percentile(values, 10) if values else None,
        "p90": percentile(values, 90) if values else None,
        "mean": steady_rate(span_samples) if len(span_samples) > 1 else None,
        "seconds": (span_samples[-1][0] - span_samples[0][0]) if len(span_samples) > 1 else 0.0,
        "windows": len(values),
        "steady": steady,
        "settled_after": (first_t - t0) if steady else None,
    }


def latency_summary(seconds: Iterable[float]) -> Dict[str, Optional[float]]:
    """p50/p95/p99/max in milliseconds of latencies recorded in seconds by
    a prober; errors are counted by the caller, not hidden in here."""
    values = [float(v) * 1000.0 for v in seconds]
    return {
        "count": len(values),
        "p50_ms": percentile(values, 50) if values else None,
        "p95_ms": percentile(values, 95) if values else None,
        "p99_ms": percentile(values, 99) if values else None,
        "max_ms": max(values) if values else None,
    }


def ratio(numerator: Optional[float], denominator: Optional[float]) -> Optional[float]:
    """numerator / denominator, None when either is missing or the
    denominator is zero (a failed run must not read as infinitely fast)."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def scaling(points: Sequence[Tuple[int, float]]) -> List[Dict[str, float]]:
    """Speed-up and efficiency of rates measured at several worker counts.

    The baseline is the smallest worker count measured, scaled to one worker
    (rate / workers), so the ideal line is ``workers * per-worker baseline``
    even when the sweep does not start at 1.
    """
    clean = sorted((int(n), float(r)) for n, r in points if n and r is not None)
    if not clean:
        return []
    base_n, base_rate = clean[0]
    per_worker = base_rate / base_n
    rows = []
    for workers, rate in clean:
        ideal = per_worker * workers
        rows.append({
            "workers": workers,
            "rate": rate,
            "ideal": ideal,
            "speedup": rate / per_worker if per_worker else 0.0,
            "efficiency": rate / ideal if ideal else 0.0,
        })
    return rows


def knee(rows: Sequence[Dict[str, float]], threshold: float = 0.8) -> Optional[int]:
    """The first worker count whose scaling efficiency falls below
    `threshold`: where adding workers stopped paying, i.e. where a shared
    service became the bottleneck. None if the sweep scaled all the way."""
    for row in rows:
        if row["efficiency"] < threshold:
            return int(row["workers"])
    return None


_SYSBENCH_PATTERNS = {
    "events_per_second": r"events per second:\s+([0-9.]+)",
    "operations_per_second": r"Total operations:\s+\d+\s+\(([0-9.]+) per second\)",
    "mib_per_second": r"\(([0-9.]+) MiB/sec\)",
    "total_time_s": r"total time:\s+([0-9.]+)s",
    "total_events": r"total number of events:\s+([0-9]+)",
    "latency_avg_ms": r"avg:\s+([0-9.]+)",
    "latency_p95_ms": r"95th percentile:\s+([0-9.]+)",
    "threads": r"Number of threads:\s+([0-9]+)",
}


def parse_sysbench(output: str) -> Dict[str, float]:
    """The numbers of a `sysbench cpu|memory run` report; absent ones are
    left out, so a truncated run shows as missing fields, not zeros."""
    found: Dict[str, float] = {}
    for key, pattern in _SYSBENCH_PATTERNS.items():
        match = re.search(pattern, output)
        if match:
            found[key] = float(match.group(1))
    version = re.search(r"sysbench ([0-9][0-9.]*)", output)
    if version:
        found["version"] = version.group(1)  # type: ignore[assignment]
    return found


def throughput(result: Dict[str, float]) -> Optional[float]:
    """The headline throughput of a parsed sysbench run: MiB/s for memory,
    events/s for cpu."""
    for key in ("mib_per_second", "events_per_second"):
        if key in result:
            return float(result[key])
    return None
