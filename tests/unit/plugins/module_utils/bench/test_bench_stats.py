"""bench/stats.py on recorded coin-miner samples and sysbench output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.bench.stats import (
    knee,
    latency_summary,
    median,
    parse_sysbench,
    percentile,
    ratio,
    scaling,
    steady_rate,
    steady_start,
    steady_state,
    throughput,
    windowed_rates,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "bench" / "local-run"


def recorded(mode: str, workers: int) -> dict:
    sweep = json.loads((FIXTURES / "sweep.json").read_text())
    return next(p for p in sweep["points"] if p["mode"] == mode and p["workers"] == workers)


def test_percentile_interpolates_like_numpy_and_median_of_nothing() -> None:
    values = [15, 20, 35, 40, 50]
    assert percentile(values, 0) == 15 and percentile(values, 100) == 50
    assert percentile(values, 50) == 35
    assert percentile(values, 40) == pytest.approx(29.0)
    assert percentile([7], 95) == 7
    assert median([]) is None
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_recorded_faithful_runs_give_five_hashes_per_worker() -> None:
    # Faithful mode: 0.1 s in rng + 0.1 s in hasher per hash = 5 hashes/s a worker.
    for workers in (1, 2, 4, 8):
        state = steady_state(recorded("faithful", workers)["samples"], warmup=3, width=5)
        assert state["steady"], workers
        assert state["median"] == pytest.approx(5 * workers, rel=0.06)
        assert state["mean"] == pytest.approx(state["median"], rel=0.06)


def test_windows_smooth_the_once_a_second_flush() -> None:
    # Sample-to-sample rates of a counter flushed every second alias; 5 s windows do not.
    samples = [(t / 2, 10 * math.floor(t / 2)) for t in range(0, 61)]
    rates = [r for _, r in windowed_rates(samples, 5)]
    assert len(rates) == 6
    assert all(r == pytest.approx(10, rel=0.1) for r in rates)


def test_a_ramp_is_cut_off_and_a_never_settling_run_is_flagged() -> None:
    ramp = [(float(t), 5.0 * min(t, 10) * t / 2 if t < 10 else 250.0 + 50.0 * (t - 10))
            for t in range(0, 41)]
    state = steady_state(ramp, width=5)
    assert state["steady"] and state["settled_after"] >= 5
    assert state["median"] == pytest.approx(50, rel=0.02)
    accelerating = [(float(t), float(t * t)) for t in range(0, 41)]
    assert steady_state(accelerating, width=5)["steady"] is False
    assert steady_start([(5.0, 1.0)]) is None
    assert steady_state([])["median"] is None


def test_steady_rate_splices_a_restart() -> None:
    samples = [(0.0, 100.0), (1.0, 110.0), (2.0, 120.0), (3.0, 5.0), (4.0, 15.0)]
    assert steady_rate(samples) > 0


def test_latency_summary_of_the_recorded_prober() -> None:
    lat = latency_summary(recorded("faithful", 1)["latency"]["rng"]["seconds"])
    assert lat["count"] > 50
    assert 100 <= lat["p50_ms"] < 105  # the 0.1 s faithful delay
    assert lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"] <= lat["max_ms"]
    assert latency_summary([])["p95_ms"] is None


def test_scaling_efficiency_and_knee() -> None:
    rows = scaling([(2, 10.0), (4, 20.0), (8, 24.0), (1, None)])
    assert [r["workers"] for r in rows] == [2, 4, 8]
    assert rows[0]["ideal"] == 10.0 and rows[2]["ideal"] == 40.0
    assert rows[1]["efficiency"] == pytest.approx(1.0)
    assert rows[2]["efficiency"] == pytest.approx(0.6)
    assert knee(rows) == 8
    assert knee(rows[:2]) is None
    assert scaling([]) == []


def test_ratio_refuses_missing_or_zero() -> None:
    assert ratio(528.0, 525.0) == pytest.approx(1.0057, rel=1e-3)
    assert ratio(None, 1.0) is None and ratio(1.0, 0) is None


def test_parse_recorded_sysbench_cpu_and_memory() -> None:
    runs = json.loads((FIXTURES / "overhead.json").read_text())["hosts"]["devvm-run1"]
    cpu = parse_sysbench(runs["cpu"]["native"])
    assert cpu["events_per_second"] == pytest.approx(1861.87)
    assert cpu["threads"] == 1 and cpu["version"] == "1.0.20"
    assert throughput(cpu) == pytest.approx(1861.87)
    mem = parse_sysbench(runs["memory"]["container"])
    assert throughput(mem) == pytest.approx(381.91)
    assert parse_sysbench("sysbench 1.0.20\nkilled") == {"version": "1.0.20"}
    assert throughput({}) is None
