# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A report as a list of blocks (heading, paragraph, list, table, image),
built once from a summary so the Markdown and the HTML page (markdown.py,
html_page.py) always say the same."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.pirack.cluster.plugins.module_utils.bench.summary import SPREAD_LIMIT, bounds_text

Block = Tuple[str, Any]


def fmt(value: Optional[float], digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}{suffix}"


def blocks(summary: Dict[str, Any], images: Mapping[str, bytes]) -> List[Block]:
    """The report as a list of (kind, content) blocks, rendered to Markdown
    and to HTML by the two writers below, so both always say the same.
    Images are referred to by name (<name>.png next to the report)."""
    run = summary.get("run", {})
    out: List[Block] = [("h1", f"pirack benchmark {run.get('started', '')}".strip())]
    out.append(("list", summary["headline"] or ["no results recorded"]))
    if "sweep" in summary:
        out.append(("h2", "Coin-miner scaling sweep"))
        out.append(("p", "Steady-state hashes/s: median over iterations of the median "
                         "windowed rate after warm-up; latencies from a prober on the master "
                         "(keep-alive requests, like the workers make)."))
        header = ["cluster", "mode", "rng", "workers", "hashes/s", "min–max", "ideal",
                  "efficiency", "rng p50/p95 ms", "hasher p50/p95 ms", "steady"]
        table = []
        for entry in summary["sweep"]["series"].values():
            ideal = {r["workers"]: r for r in entry["scaling"]}
            for row in entry["rows"]:
                scale = ideal.get(row["workers"], {})
                lat = row["latency"]
                table.append([
                    row["cluster"], row["mode"], row["rng_layout"], str(row["workers"]),
                    fmt(row["rate"]), f"{fmt(row['rate_min'])}–{fmt(row['rate_max'])}",
                    fmt(scale.get("ideal")),
                    fmt(scale["efficiency"] * 100, 0, "%") if scale else "—",
                    _latency_cell(lat.get("rng")), _latency_cell(lat.get("hasher")),
                    "yes" if row["steady"] else "NO",
                ])
        out.append(("table", (header, table)))
        for name in ("hashrate", "efficiency", "latency"):
            if name in images:
                out.append(("img", name))
    if "overhead" in summary:
        out.append(("h2", "Container vs native"))
        settings = summary.get("overhead_settings", {})
        how = {True: "one host at a time (they share hardware)",
               False: "on every host at once"}.get(settings.get("one_at_a_time"), "")
        out.append(("p", "The same sysbench binary and arguments, run on the host and in a "
                         "container made from that binary (docker import, no network), "
                         "interleaved native, container, native, container"
                         + (f", {how}" if how else "") + ". Ratio: container/native "
                         f"throughput per pair, median and min–max over the pairs; spread "
                         f"(max − min) / median, flagged above {SPREAD_LIMIT:.0%}."))
        out.append(("p", summary["overhead_verdict"]))
        boards = summary.get("overhead_boards") or []
        if boards:
            out.append(("table", (["board", "its app while measured", "load before", "load during (max)"],
                                  [[b["host"], _paused_cell(b["paused"]), fmt(b["load_before"], 2),
                                    fmt(b["load_during"], 2)] for b in boards])))
        header = ["host", "test", "pairs", "native", "container", "unit", "ratio", "min–max",
                  "spread", "load max", "throttled n/c"]
        table = [[r["host"], r["test"], str(r["pairs"]), fmt(r["native"]), fmt(r["container"]),
                  r["unit"], fmt(r["ratio"], 3),
                  f"{fmt(r['ratio_min'], 3)}–{fmt(r['ratio_max'], 3)}",
                  fmt(r["spread"] * 100 if r["spread"] is not None else None, 1, "%")
                  + (" ⚠" if r["noisy"] else ""),
                  fmt(r["loadavg"], 1),
                  f"{fmt(r['throttled_native'], 0)}/{fmt(r['throttled_container'], 0)}"]
                 for r in summary["overhead"]]
        out.append(("table", (header, table)))
        if "overhead" in images:
            out.append(("img", "overhead"))
    if "density" in summary:
        out.append(("h2", "Container density"))
        out.append(("p", "Minimal containers started one after another on one board (busybox "
                         "httpd, its page on a tmpfs, read-only root), once per compared setting "
                         "(the network, the log driver, an init, the engine), until the memory floor "
                         "or the first failure, then all removed. Memory used: MemTotal − "
                         "MemAvailable; start: create to up (serving its page on the host "
                         "network, running without one)."))
        header = ["host", "model", "setting", "containers", "stopped by", "MiB per container",
                  "start p50/p95 ms", "available at peak MiB"]
        table = [[r["host"], str(r.get("model") or ""), r["variant"], str(r.get("containers")),
                  str(r.get("stopped_by")), fmt(r["mb_per_container"], 2),
                  f"{fmt(r['start_p50_ms'], 0)}/{fmt(r['start_p95_ms'], 0)}",
                  fmt(r.get("mem_available_mb"), 0)] for r in summary["density"]]
        out.append(("table", (header, table)))
        if "density" in images:
            out.append(("img", "density"))
        costs = [r for r in summary["density"] if r["breakdown"].get("total_kb") is not None]
        if costs:
            out.append(("p", "What one container cost at the peak, in KiB: by process (proportional "
                             "set size, shared pages split among their users), by the board cgroup's "
                             "memory.stat class, and the part no process holds (kernel objects: the "
                             "container's namespaces, cgroup, mounts)."))
            kinds = sorted({k for r in costs for k in r["breakdown"]["processes_kb"]} - {"board"})
            classes = sorted({k for r in costs for k in r["breakdown"]["memory_stat_kb"]})
            header = (["host", "setting", "total"] + [f"{k} (PSS)" for k in kinds]
                      + ["outside processes"] + classes)
            table = [[r["host"], r["variant"], fmt(r["breakdown"]["total_kb"], 0)]
                     + [fmt(r["breakdown"]["processes_kb"].get(k), 0) for k in kinds]
                     + [fmt(r["breakdown"]["outside_processes_kb"], 0)]
                     + [fmt(r["breakdown"]["memory_stat_kb"].get(k), 0) for k in classes]
                     for r in costs]
            out.append(("table", (header, table)))
    out.append(("h2", "What produced this"))
    settings = run.get("settings", {})
    out.append(("table", (["setting", "value"],
                          [[k, json.dumps(v)] for k, v in sorted(settings.items())])))
    versions = run.get("versions", {})
    out.append(("table", (["component", "version"],
                          [[k, str(v)] for k, v in sorted(versions.items())])))
    host_rows = [[h, str(f.get("cluster", "")), str(f.get("model", "")),
                  str(f.get("architecture", "")), str(f.get("cores", "")),
                  str(f.get("memory_mb", "")), str(f.get("virtualization_type", ""))]
                 for h, f in sorted(run.get("hosts", {}).items())]
    if host_rows:
        out.append(("table", (["host", "cluster", "model", "arch", "cores", "MiB",
                               "virtualization"], host_rows)))
    return out


def _paused_cell(paused: Optional[List[str]]) -> str:
    if paused is None:
        return "not recorded"
    if not paused:
        return "running (no container matched the pause filter)"
    return f"paused ({len(paused)} containers)"


def _latency_cell(lat: Optional[Dict[str, Any]]) -> str:
    if not lat or not lat.get("count"):
        return "—"
    cell = f"{fmt(lat['p50_ms'])}/{fmt(lat['p95_ms'])}"
    return cell + (f" ({lat['errors']} err)" if lat.get("errors") else "")


def comparison_blocks(rows: Sequence[Dict[str, Any]], name_a: str, name_b: str) -> List[Block]:
    """The comparison as report blocks."""
    table = [[r["what"], fmt(r["a"], 2), fmt(r["b"], 2), fmt(r["b_over_a"], 3)] for r in rows]
    return [("h2", f"Comparison: A = {name_a}, B = {name_b}"),
            ("table", (["what", "A", "B", "B/A"], table))]


def expectation_blocks(results: Sequence[Dict[str, Any]]) -> List[Block]:
    """The expectations as report blocks: a failed one is the first thing
    said, with the number measured."""
    if not results:
        return []
    failed = [r for r in results if r["ok"] is False]
    out: List[Block] = [("h2", "Expected figures")]
    if failed:
        out.append(("p", f"{len(failed)} of {len(results)} expected figures were missed: "
                         "a change slowed the coin-miner (or the machine was busy)."))
    table = [[r["what"], fmt(r["measured"], 2), bounds_text(r["low"], r["high"]), r["unit"],
              {True: "yes", False: "NO", None: "not measured"}[r["ok"]]] for r in results]
    out.append(("table", (["what", "measured", "expected", "unit", "met"], table)))
    return out
