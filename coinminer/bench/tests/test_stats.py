"""bench_stats (plugins/module_utils): the numbers BENCHMARKS.md is built from."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / ".collections"))

from ansible_collections.pirack.cluster.plugins.module_utils.bench_stats import (  # noqa: E402
    diff_buckets,
    histogram_buckets,
    histogram_quantile,
    parse_prometheus,
    percentile,
    steady_rate,
)
from common.metrics import Registry  # noqa: E402


def test_percentile_interpolates_like_numpy() -> None:
    values = [15, 20, 35, 40, 50]
    assert percentile(values, 0) == 15 and percentile(values, 100) == 50
    assert percentile(values, 50) == 35
    assert percentile(values, 40) == pytest.approx(29.0)
    assert percentile([7], 95) == 7
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_steady_rate_fits_batched_counters_and_skips_warmup() -> None:
    # 10/s, but handed in once a second: a staircase sampled every 0.5 s.
    samples = [(t / 2, 10 * math.floor(t / 2)) for t in range(0, 41)]
    assert steady_rate(samples) == pytest.approx(10, rel=0.05)
    slow_start = [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)] + [(float(t), 5.0 * (t - 2)) for t in range(3, 13)]
    assert steady_rate(slow_start, warmup=3) == pytest.approx(5)


def test_steady_rate_survives_a_counter_reset() -> None:
    samples = [(0.0, 100.0), (1.0, 110.0), (2.0, 120.0), (3.0, 5.0), (4.0, 15.0)]
    assert steady_rate(samples) > 0
    with pytest.raises(ValueError):
        steady_rate([(0.0, 1.0)])
    with pytest.raises(ValueError):
        steady_rate([(1.0, 1.0), (1.0, 2.0)])


def test_histogram_quantile_matches_prometheus_semantics() -> None:
    buckets = {0.1: 50.0, 0.2: 90.0, 0.5: 100.0, math.inf: 100.0}
    assert histogram_quantile(buckets, 0.5) == pytest.approx(0.1)
    assert histogram_quantile(buckets, 0.7) == pytest.approx(0.15)
    assert histogram_quantile(buckets, 0.95) == pytest.approx(0.35)
    assert math.isnan(histogram_quantile({math.inf: 0.0}, 0.5))
    assert histogram_quantile({1.0: 0.0, math.inf: 4.0}, 0.5) == 1.0  # beyond the last bound
    with pytest.raises(ValueError):
        histogram_quantile({1.0: 1.0}, 0.5)


def test_quantiles_from_two_scrapes_of_our_own_metrics() -> None:
    reg = Registry()
    h = reg.histogram("lat_seconds", "Latency.", buckets=(0.01, 0.1, 1.0))
    h.observe(5.0, labels={"peer": "rng"})  # before the window: must not count
    before = histogram_buckets(parse_prometheus(reg.render()), "lat_seconds", {"peer": "rng"})
    for _ in range(9):
        h.observe(0.05, labels={"peer": "rng"})
    h.observe(0.5, labels={"peer": "rng"})
    h.observe(0.001, labels={"peer": "hasher"})  # other series: filtered out
    after = histogram_buckets(parse_prometheus(reg.render()), "lat_seconds", {"peer": "rng"})
    window = diff_buckets(after, before)
    assert window[math.inf] == 10
    assert 0.01 < histogram_quantile(window, 0.5) < 0.1
    assert 0.1 < histogram_quantile(window, 0.95) <= 1.0


def test_parse_prometheus_reads_labels_and_skips_comments() -> None:
    text = '# HELP x X.\n# TYPE x counter\nx{a="1",b="q\\"uote"} 3\ny 2.5\n\n'
    assert parse_prometheus(text) == [("x", {"a": "1", "b": 'q"uote'}, 3.0), ("y", {}, 2.5)]
