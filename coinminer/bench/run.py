"""Benchmark the coin miner on this machine's Docker engine.

    .venv/bin/python coinminer/bench/run.py [--duration 20] [--warmup 5] [--json FILE]

Scenarios (each on a fresh stack of containers, ports on 127.0.0.1 only):
  a  faithful mode (0.1 s delays), 1 worker: hashes/s
  b  faithful mode, 10 workers, one rng and one hasher: hashes/s; and the
     same with MAX_CONCURRENCY=1 on rng and hasher (the original's ceiling)
  c  max-speed mode (DELAY=0), 1, 2 and 4 workers: hashes/s and the workers'
     p50/p95 round-trip latency to rng and hasher
  d  idle RSS of each service and image sizes

Prints a Markdown entry for BENCHMARKS.md and writes the raw numbers as JSON.
Numbers, not asserts: the machine is shared, so the load average is recorded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import Stack, build_images, docker_client, image_size  # noqa: E402
from bench.stats import (  # noqa: E402
    counter_rate,
    diff_buckets,
    histogram_buckets,
    histogram_quantile,
    parse_prometheus,
)

SERVICES = ("redis", "rng", "hasher", "worker", "webui")
LATENCY = "coinminer_worker_peer_request_seconds"


def scrape_latency(stack: Stack) -> dict[str, dict[float, float]]:
    """Sum every worker's latency histogram, per peer."""
    samples = []
    for role in stack.workers():
        samples += parse_prometheus(stack.get(role, "/metrics").decode())
    return {peer: histogram_buckets(samples, LATENCY, {"peer": peer}) for peer in ("rng", "hasher")}


def measure(stack: Stack, warmup: float, duration: float) -> dict[str, Any]:
    """Sample the `hashes` counter every 0.5 s; latency from histogram deltas
    over the same window (after warm-up)."""
    db = stack.redis()
    samples: list[tuple[float, float]] = []
    start = time.monotonic()
    before = None
    while (now := time.monotonic()) - start < warmup + duration:
        if before is None and now - start >= warmup:
            before = scrape_latency(stack)
        samples.append((now, float(db.get_int("hashes"))))
        time.sleep(0.5)
    after = scrape_latency(stack)
    result: dict[str, Any] = {"hashes_per_s": round(counter_rate(samples, warmup), 2)}
    for peer in ("rng", "hasher"):
        window = diff_buckets(after[peer], (before or {}).get(peer, {}))
        for q in (0.5, 0.95):
            value = histogram_quantile(window, q)
            result[f"{peer}_p{int(q * 100)}_ms"] = round(value * 1000, 2)
    return result


def wait_mining(stack: Stack, timeout: float = 60) -> None:
    db = stack.redis()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if db.get_int("hashes") > 0:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError("no hashes counted: " + stack.logs(stack.workers()[0]))


def run_mining(client, label: str, workers: list[int], delay: float, warmup: float,
               duration: float, **up: Any) -> list[dict[str, Any]]:
    rows = []
    with Stack(client, prefix="cmbench").up(workers=workers[0], delay=delay, webui=False, **up) as stack:
        for count in workers:
            stack.scale_workers(count, delay)
            wait_mining(stack)
            load = os.getloadavg()[0]
            row = {"scenario": label, "workers": count, "delay_s": delay,
                   **measure(stack, warmup, duration), "load1": round(load, 2)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def idle_footprint(client, settle: float) -> dict[str, Any]:
    with Stack(client, prefix="cmbench").up(workers=0) as stack:
        time.sleep(settle)
        rss = {role: stack.rss_kib(role) for role in ("redis", "rng", "hasher", "webui")}
        stack.scale_workers(1)
        wait_mining(stack)
        time.sleep(settle)
        rss["worker (mining, faithful)"] = stack.rss_kib("worker1")
    sizes = {svc: image_size(client, svc) for svc in SERVICES}
    return {"rss_kib": rss, "image_bytes": sizes}


def markdown(results: dict[str, Any], command: str) -> str:
    lines = [
        f"### {results['date']} — coin miner (issue 5)",
        "",
        f"- Machine: {results['machine']}; load average before the run {results['load_before']}"
        " (2 cores shared with other engineers' jobs: expect noise).",
        f"- Command: `{command}`",
        "",
        "| scenario | workers | hashes/s | rng p50 / p95 ms | hasher p50 / p95 ms | load1 |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in results["mining"]:
        lines.append(
            f"| {row['scenario']} | {row['workers']} | {row['hashes_per_s']} | "
            f"{row['rng_p50_ms']} / {row['rng_p95_ms']} | "
            f"{row['hasher_p50_ms']} / {row['hasher_p95_ms']} | {row['load1']} |")
    foot = results["footprint"]
    lines += ["", "| service | idle RSS (MiB) | image (MB) |", "| --- | ---: | ---: |"]
    for svc in SERVICES:
        role = "worker (mining, faithful)" if svc == "worker" else svc
        lines.append(f"| {svc} | {foot['rss_kib'][role] / 1024:.1f} | "
                     f"{foot['image_bytes'][svc] / 1e6:.0f} |")
    lines += ["", "Image sizes include the 117 MB debian:bookworm base; the four Python "
              "images share it and one 45 MB python3 layer."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20, help="measured seconds per point")
    parser.add_argument("--warmup", type=float, default=5, help="seconds ignored per point")
    parser.add_argument("--json", type=Path, default=Path("build/bench/coinminer.json"))
    args = parser.parse_args()
    client = docker_client()
    if client is None:
        print("no Docker engine answers", file=sys.stderr)
        return 2
    print(build_images(), end="", flush=True)
    results: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                   f"{platform.system()} {platform.release()}, Docker "
                   f"{client.version().get('Version')}",
        "load_before": round(os.getloadavg()[0], 2),
        "mining": [],
    }
    w, d = args.warmup, args.duration
    results["mining"] += run_mining(client, "a/b faithful", [1, 10], 0.1, w, d)
    results["mining"] += run_mining(
        client, "b faithful, original-like rng+hasher (MAX_CONCURRENCY=1)", [10], 0.1, w, d,
        rng_env={"MAX_CONCURRENCY": "1"}, hasher_env={"MAX_CONCURRENCY": "1"})
    results["mining"] += run_mining(client, "c max speed (DELAY=0)", [1, 2, 4], 0.0, w, d)
    results["footprint"] = idle_footprint(client, settle=5)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print()
    print(markdown(results, f"coinminer/bench/run.py --duration {d:g} --warmup {w:g}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
