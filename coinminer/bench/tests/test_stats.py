"""bench/stats.py: the numbers the coin-miner's BENCHMARKS.md entries are built from."""

from __future__ import annotations

import math

import pytest
from bench.stats import (
    counter_rate,
    diff_buckets,
    histogram_buckets,
    histogram_quantile,
    parse_prometheus,
)
from common.metrics import Registry


def test_counter_rate_fits_batched_counters_and_skips_warmup() -> None:
    # 10/s, but handed in once a second: a staircase sampled every 0.5 s.
    samples = [(t / 2, 10 * math.floor(t / 2)) for t in range(0, 41)]
    assert counter_rate(samples) == pytest.approx(10, rel=0.05)
    slow_start = [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)] + [(float(t), 5.0 * (t - 2)) for t in range(3, 13)]
    assert counter_rate(slow_start, warmup=3) == pytest.approx(5)


def test_counter_rate_needs_two_samples_spanning_time() -> None:
    with pytest.raises(ValueError):
        counter_rate([])
    with pytest.raises(ValueError):
        counter_rate([(0.0, 1.0), (1.0, 2.0)], warmup=0.5)
    with pytest.raises(ValueError):
        counter_rate([(0.0, 1.0)])
    with pytest.raises(ValueError):
        counter_rate([(1.0, 1.0), (1.0, 2.0)])


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
