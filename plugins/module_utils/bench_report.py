# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From a benchmark result folder to numbers a person reads in a minute.

A result folder (results/<timestamp>/ on the controller) holds the raw
recordings the playbook wrote: run.json (inventory, versions, settings),
sweep.json, overhead.json and density.json (each optional, so a run with a
step turned off still reports). bench_results reads and checks them; here
everything is pure: summarise -> document blocks -> Markdown / HTML / CSV,
until `commit` writes the files, all or none. Plots are the only part that
needs a third-party library (matplotlib), imported when plots are drawn.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import html
import io
import json
import os
import tempfile
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.pirack.cluster.plugins.module_utils.bench_results import (
    ReportError,
    load,
)
from ansible_collections.pirack.cluster.plugins.module_utils.bench_stats import (
    knee,
    latency_summary,
    median,
    parse_sysbench,
    ratio,
    scaling,
    steady_state,
    throughput,
)

__all__ = ["ReportError", "load", "summarise", "write_report", "changed_files", "commit"]

# The container/native cpu ratio of a quiet machine: the published Linpack
# anchor (528 vs 525 Mflops) sits well inside it. Outside it the report must
# say why.
CPU_BAND = (0.97, 1.03)
# One host's pairs disagreeing by more than this ((max - min) / median)
# were measured on a machine that was not quiet.
SPREAD_LIMIT = 0.05
# Below this scaling efficiency another worker no longer pays for itself.
EFFICIENCY_KNEE = 0.8
# virtualization_type values of a host that is itself a container.
NESTED = ("docker", "container", "lxc", "podman", "containerd", "systemd-nspawn", "openvz")
# Bits of a Raspberry Pi's get_throttled word that matter for a CPU benchmark.
PI_THROTTLE_BITS = {0: "under-voltage", 1: "ARM frequency capped", 2: "throttled",
                    3: "soft temperature limit"}

Block = Tuple[str, Any]


def _fmt(value: Optional[float], digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}{suffix}"


def summarise_sweep(sweep: Dict[str, Any]) -> Dict[str, Any]:
    """One row per (cluster, mode, rng layout, workers): the median over the
    iterations of each iteration's steady-state rate (and of its
    least-squares rate over the settled stretch, the steadier figure the
    expectations use), with pooled prober latencies; then scaling per series
    and where it bends. Takes a sweep bench_results checked."""
    groups: Dict[Tuple[str, str, str, int], List[Dict[str, Any]]] = {}
    for point in sweep["points"]:
        key = (point["cluster"], point["mode"], point["rng_layout"], point["workers"])
        groups.setdefault(key, []).append(point)
    rows: List[Dict[str, Any]] = []
    for (cluster, mode, layout, workers), points in sorted(groups.items()):
        rates, fits, steady = [], [], True
        pooled: Dict[str, List[float]] = {}
        errors: Dict[str, int] = {}
        for point in points:
            stats = steady_state(point["samples"], warmup=point["warmup"], width=point["window"])
            if stats["median"] is not None:
                rates.append(stats["median"])
            if stats["mean"] is not None:
                fits.append(stats["mean"])
            steady = steady and bool(stats["steady"])
            for name, probe in point["latency"].items():
                pooled.setdefault(name, []).extend(probe["seconds"])
                errors[name] = errors.get(name, 0) + probe["errors"]
        rows.append({
            "cluster": cluster, "mode": mode, "rng_layout": layout, "workers": workers,
            "iterations": len(points), "rate": median(rates), "rate_fit": median(fits),
            "rate_min": min(rates) if rates else None,
            "rate_max": max(rates) if rates else None,
            "steady": steady and bool(rates),
            "latency": {name: dict(latency_summary(values), errors=errors[name])
                        for name, values in sorted(pooled.items())},
        })
    series: Dict[str, Dict[str, Any]] = {}
    for row in rows:
        label = f"{row['cluster']} {row['mode']} rng={row['rng_layout']}"
        series.setdefault(label, {"cluster": row["cluster"], "mode": row["mode"],
                                  "rng_layout": row["rng_layout"], "rows": []})
        series[label]["rows"].append(row)
    for entry in series.values():
        entry["scaling"] = scaling([(r["workers"], r["rate"]) for r in entry["rows"]
                                    if r["rate"] is not None])
        entry["knee"] = knee(entry["scaling"], EFFICIENCY_KNEE)
        entry["bottleneck"] = bottleneck(entry["rows"], entry["knee"])
    return {"rows": rows, "series": series}


def bottleneck(rows: Sequence[Dict[str, Any]], bend: Optional[int]) -> Dict[str, Any]:
    """Which service's latency grew most between the lightest load and the
    point where scaling bent (or the heaviest load): the workers wait on it,
    so it is where more replicas or less delay would help."""
    if not rows:
        return {"service": None, "growth": None}
    first = rows[0]
    last = next((r for r in rows if r["workers"] == bend), rows[-1])
    best: Dict[str, Any] = {"service": None, "growth": None, "from_ms": None, "to_ms": None}
    for name, lat in last["latency"].items():
        base = first["latency"].get(name, {}).get("p95_ms")
        growth = ratio(lat.get("p95_ms"), base)
        if growth is not None and (best["growth"] is None or growth > best["growth"]):
            best = {"service": name, "growth": growth, "from_ms": base, "to_ms": lat["p95_ms"]}
    return best


def parse_snapshot(text: str) -> Dict[str, Optional[float]]:
    """What one ``grep -H '' /proc/loadavg <cgroup>/cpu.stat <Pi>/get_throttled``
    on a host saw: the 1-minute load average, the CFS throttling counters of
    the host's own cgroup (nr_throttled, throttled time in ms; v1 counts ns,
    v2 us) and the Raspberry Pi firmware's throttling word. Missing files and
    unreadable lines leave None: a report names only what it saw."""
    out: Dict[str, Optional[float]] = {"loadavg": None, "nr_throttled": None,
                                       "throttled_ms": None, "pi_throttled": None}
    for line in text.splitlines():
        path, _, content = line.rpartition(":")
        fields = content.split()
        try:
            if path.endswith("loadavg") and fields:
                out["loadavg"] = float(fields[0])
            elif path.endswith("cpu.stat") and len(fields) == 2:
                key, value = fields[0], int(fields[1])
                if key == "nr_throttled":
                    out["nr_throttled"] = float(value)
                elif key == "throttled_time":
                    out["throttled_ms"] = value / 1e6
                elif key == "throttled_usec":
                    out["throttled_ms"] = value / 1e3
            elif path.endswith("get_throttled") and len(fields) == 1:
                out["pi_throttled"] = float(int(fields[0], 16))
        except (ValueError, OverflowError):
            continue
    return out


def _delta(before: Optional[float], after: Optional[float]) -> Optional[float]:
    """Growth of a counter between two snapshots; None when it was not
    read both times or went backwards (a reset, not negative throttling)."""
    if before is None or after is None or after < before:
        return None
    return after - before


def pair_context(snapshots: Sequence[str]) -> Dict[str, Optional[float]]:
    """The host around one native/container pair, from the snapshots taken
    before the native run, between the two and after the container run:
    the highest load average seen and the throttling during each run."""
    seen = [parse_snapshot(text) for text in snapshots]
    loads = [s["loadavg"] for s in seen if s["loadavg"] is not None]
    words = [int(s["pi_throttled"]) for s in seen if s["pi_throttled"] is not None]
    out: Dict[str, Optional[float]] = {
        "loadavg": max(loads) if loads else None,
        "throttled_native": None, "throttled_container": None,
        "pi_throttled": None,
    }
    if words:
        flags = 0
        for word in words:
            flags |= word
        out["pi_throttled"] = float(flags)
    if len(seen) == 3:
        out["throttled_native"] = _delta(seen[0]["nr_throttled"], seen[1]["nr_throttled"])
        out["throttled_container"] = _delta(seen[1]["nr_throttled"], seen[2]["nr_throttled"])
    return out


def _total(values: Sequence[Optional[float]]) -> Optional[float]:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def summarise_overhead(overhead: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Per host and test: the median native and container throughput of
    the interleaved pairs (native, container, native, container, ...), the
    median of the per-pair ratios and their spread, flagged above
    SPREAD_LIMIT, with the load and throttling seen around the runs. Takes
    an overhead.json bench_results checked."""
    rows = []
    for host, tests in sorted(overhead["hosts"].items()):
        for test, record in sorted(tests.items()):
            natives, containers, ratios, contexts = [], [], [], []
            unit = "events/s"
            for pair in record["pairs"]:
                native = parse_sysbench(pair["native"])
                contained = parse_sysbench(pair["container"])
                if "mib_per_second" in native or "mib_per_second" in contained:
                    unit = "MiB/s"
                natives.append(throughput(native))
                containers.append(throughput(contained))
                value = ratio(containers[-1], natives[-1])
                if value is not None:
                    ratios.append(value)
                contexts.append(pair_context(pair["snapshots"]))
            middle = median(ratios)
            spread = None
            if len(ratios) > 1 and middle:
                spread = (max(ratios) - min(ratios)) / middle
            loads = [c["loadavg"] for c in contexts if c["loadavg"] is not None]
            words = [int(c["pi_throttled"]) for c in contexts if c["pi_throttled"] is not None]
            rows.append({
                "host": host, "test": test, "unit": unit, "pairs": len(record["pairs"]),
                "native": median([v for v in natives if v is not None]),
                "container": median([v for v in containers if v is not None]),
                "ratio": middle, "ratios": ratios,
                "ratio_min": min(ratios) if ratios else None,
                "ratio_max": max(ratios) if ratios else None,
                "spread": spread, "noisy": spread is not None and spread > SPREAD_LIMIT,
                "loadavg": max(loads) if loads else None,
                "throttled_native": _total([c["throttled_native"] for c in contexts]),
                "throttled_container": _total([c["throttled_container"] for c in contexts]),
                "pi_throttled": max(words) if words else None,
            })
    return rows


def overhead_causes(rows: Sequence[Dict[str, Any]], hosts: Mapping[str, Any],
                    settings: Mapping[str, Any]) -> List[str]:
    """Likely causes of a container/native ratio off the quiet-machine band,
    from what the run recorded (facts, load average, cgroup and Pi
    throttling counters), strongest evidence first."""
    causes = []
    shared = [h for h in sorted({r["host"] for r in rows})
              if hosts.get(h, {}).get("virtualization_role") == "guest"
              or hosts.get(h, {}).get("virtualization_type") in NESTED]
    if shared and settings.get("one_at_a_time") is False:
        causes.append(f"{len(shared)} boards share hardware but were measured at the same time")
    loaded = [(r["loadavg"], hosts.get(r["host"], {}).get("cores"), r["host"]) for r in rows
              if r["loadavg"] is not None and hosts.get(r["host"], {}).get("cores")
              and r["loadavg"] > hosts[r["host"]]["cores"]]
    if loaded:
        top = max(loaded)
        causes.append(f"load: the load average reached {top[0]:.1f} on {top[1]} cores ({top[2]}) "
                      "during the runs, so other work competed with them")
    native = _total([r["throttled_native"] for r in rows]) or 0
    contained = _total([r["throttled_container"] for r in rows]) or 0
    if native or contained:
        causes.append(f"throttling: the boards' CPU quota throttled them in {native:.0f} periods "
                      f"during native runs and {contained:.0f} during container runs "
                      "(cgroup cpu.stat nr_throttled)")
    pi = [r for r in rows if r["pi_throttled"]]
    if pi:
        word = max(int(r["pi_throttled"]) for r in pi)
        names = [name for bit, name in sorted(PI_THROTTLE_BITS.items()) if word & (1 << bit)
                 or word & (1 << (bit + 16))]
        causes.append(f"throttling: the Pi firmware reports {', '.join(names) or 'a flag'} "
                      f"(get_throttled {word:#x}) on {', '.join(sorted({r['host'] for r in pi}))}")
    nested = [h for h in sorted({r["host"] for r in rows})
              if hosts.get(h, {}).get("virtualization_type") in NESTED]
    if nested:
        causes.append("nesting: the boards are themselves containers, so the benchmark container "
                      "and the board's own processes sit in different cgroups with different "
                      "CPU shares and limits")
    if not causes:
        causes.append("nothing recorded explains it (no load above the cores, no throttling "
                      "counted): suspect the engine's seccomp filter, which every system call "
                      "of the container passes, or CPU frequency scaling")
    return causes


def overhead_verdict(rows: Sequence[Dict[str, Any]], hosts: Mapping[str, Any],
                     settings: Mapping[str, Any]) -> str:
    """The one verdict of the container-vs-native section: per test the
    median of the hosts' median ratios, whether cpu lands in CPU_BAND (and
    if not, the likely causes), and which hosts were too noisy to trust."""
    if not rows:
        return "No container/native pair was recorded."
    parts = []
    for test in sorted({r["test"] for r in rows}):
        values = [r["ratio"] for r in rows if r["test"] == test and r["ratio"] is not None]
        if values:
            parts.append(f"{test} {median(values):.3f} (hosts {min(values):.3f}–{max(values):.3f})")
        else:
            parts.append(f"{test} not measured (a run reported no throughput)")
    text = "Container/native throughput, median over hosts: " + "; ".join(parts) + "."
    cpu_rows = [r for r in rows if r["test"] == "cpu"]
    cpu = median([r["ratio"] for r in cpu_rows if r["ratio"] is not None])
    low, high = CPU_BAND
    if cpu is not None and low <= cpu <= high:
        text += f" The cpu median is within {low}–{high}: a container costs no CPU measurable here."
    elif cpu is not None:
        word = "slower" if cpu < 1 else "faster"
        text += (f" The cpu median is {abs(1 - cpu) * 100:.0f}% {word} than native, outside "
                 f"{low}–{high}; likely causes: " + "; ".join(overhead_causes(cpu_rows, hosts, settings))
                 + ".")
    noisy = [r for r in rows if r["noisy"]]
    if noisy:
        names = ", ".join(sorted({f"{r['host']} {r['test']}" for r in noisy}))
        text += (f" {len(noisy)} of {len(rows)} host/test spreads exceed {SPREAD_LIMIT:.0%} "
                 f"({names}): that machine was not quiet; repeat with more pairs.")
    return text


def summarise_density(density: Dict[str, Any], hosts: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """Per ramped board: its model, the peak count and why it stopped, the
    memory each container cost on average (peak minus the board before any,
    over the count) and the start latency's median and p95 in ms. Takes a
    density.json bench_results checked."""
    rows = []
    for host, row in sorted(density["hosts"].items()):
        steps = row["steps"]
        used = [s for s in steps if s["mem_used_mb"] is not None]
        per_container = None
        if len(used) > 1 and used[-1]["containers"] > used[0]["containers"]:
            per_container = ((used[-1]["mem_used_mb"] - used[0]["mem_used_mb"])
                             / (used[-1]["containers"] - used[0]["containers"]))
        starts = latency_summary([s["start_s"] for s in steps if s["start_s"] is not None])
        rows.append(dict(row, host=host, model=hosts.get(host, {}).get("model"),
                         mb_per_container=per_container, start_p50_ms=starts["p50_ms"],
                         start_p95_ms=starts["p95_ms"]))
    return rows


def summarise(data: Dict[str, Any]) -> Dict[str, Any]:
    """Everything the report shows, as data (the module returns it too).
    Takes what bench_results.load returns (checked and normalised)."""
    run = data.get("run", {"settings": {}, "versions": {}, "hosts": {}})
    hosts = run["hosts"]
    summary: Dict[str, Any] = {"run": run}
    if "sweep" in data:
        summary["sweep"] = summarise_sweep(data["sweep"])
    if "overhead" in data:
        rows = summarise_overhead(data["overhead"])
        summary["overhead"] = rows
        summary["overhead_settings"] = data["overhead"]["settings"]
        summary["overhead_verdict"] = overhead_verdict(rows, hosts, data["overhead"]["settings"])
    if "density" in data:
        summary["density"] = summarise_density(data["density"], hosts)
    summary["headline"] = headline(summary)
    return summary


def headline(summary: Dict[str, Any]) -> List[str]:
    """The few sentences of the one-screen summary."""
    lines: List[str] = []
    for label, entry in summary.get("sweep", {}).get("series", {}).items():
        scale = entry["scaling"]
        if not scale:
            lines.append(f"{label}: no steady hash rate measured")
            continue
        top = max(scale, key=lambda r: r["rate"])
        text = (f"{label}: peak {top['rate']:.1f} hashes/s at {top['workers']} workers "
                f"({top['efficiency'] * 100:.0f}% of ideal)")
        neck = entry["bottleneck"]
        if entry["knee"] is not None:
            text += f"; scaling bends at {entry['knee']} workers"
        if neck.get("service") and neck["growth"] and neck["growth"] > 1.5:
            text += (f"; {neck['service']} p95 {neck['from_ms']:.0f} -> {neck['to_ms']:.0f} ms, "
                     f"the likely bottleneck")
        lines.append(text)
    rows = summary.get("overhead", [])
    figures = []
    for test in sorted({r["test"] for r in rows}):
        values = [r["ratio"] for r in rows if r["test"] == test and r["ratio"] is not None]
        if values:
            figures.append(f"{test} {median(values):.3f}")
    if figures:
        pairs = sorted({r["pairs"] for r in rows})
        noisy = sum(1 for r in rows if r["noisy"])
        lines.append(f"container/native median: {', '.join(figures)} over "
                     f"{len({r['host'] for r in rows})} hosts × {'/'.join(map(str, pairs))} pairs; "
                     f"{noisy} of {len(rows)} spreads over {SPREAD_LIMIT:.0%}")
    for row in summary.get("density", []):
        model = f" ({row['model']})" if row.get("model") else ""
        cost = (f", {row['mb_per_container']:.1f} MiB each" if row["mb_per_container"] is not None
                else "")
        lines.append(f"density {row['host']}{model}: {row.get('containers')} containers{cost} "
                     f"(stopped by {row.get('stopped_by') or '?'})")
    return lines


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
                    _fmt(row["rate"]), f"{_fmt(row['rate_min'])}–{_fmt(row['rate_max'])}",
                    _fmt(scale.get("ideal")),
                    _fmt(scale["efficiency"] * 100, 0, "%") if scale else "—",
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
        header = ["host", "test", "pairs", "native", "container", "unit", "ratio", "min–max",
                  "spread", "load max", "throttled n/c"]
        table = [[r["host"], r["test"], str(r["pairs"]), _fmt(r["native"]), _fmt(r["container"]),
                  r["unit"], _fmt(r["ratio"], 3),
                  f"{_fmt(r['ratio_min'], 3)}–{_fmt(r['ratio_max'], 3)}",
                  _fmt(r["spread"] * 100 if r["spread"] is not None else None, 1, "%")
                  + (" ⚠" if r["noisy"] else ""),
                  _fmt(r["loadavg"], 1),
                  f"{_fmt(r['throttled_native'], 0)}/{_fmt(r['throttled_container'], 0)}"]
                 for r in summary["overhead"]]
        out.append(("table", (header, table)))
        if "overhead" in images:
            out.append(("img", "overhead"))
    if "density" in summary:
        out.append(("h2", "Container density"))
        out.append(("p", "Minimal containers started one after another on one board (busybox "
                         "httpd, host network, page on a tmpfs, read-only root) until the memory "
                         "floor or the first failure, then all removed. Memory used: MemTotal − "
                         "MemAvailable; start: create to first page served."))
        header = ["host", "model", "containers", "stopped by", "MiB per container",
                  "start p50/p95 ms", "available at peak MiB"]
        table = [[r["host"], str(r.get("model") or ""), str(r.get("containers")),
                  str(r.get("stopped_by")), _fmt(r["mb_per_container"], 2),
                  f"{_fmt(r['start_p50_ms'], 0)}/{_fmt(r['start_p95_ms'], 0)}",
                  _fmt(r.get("mem_available_mb"), 0)] for r in summary["density"]]
        out.append(("table", (header, table)))
        if "density" in images:
            out.append(("img", "density"))
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


def _latency_cell(lat: Optional[Dict[str, Any]]) -> str:
    if not lat or not lat.get("count"):
        return "—"
    cell = f"{_fmt(lat['p50_ms'])}/{_fmt(lat['p95_ms'])}"
    return cell + (f" ({lat['errors']} err)" if lat.get("errors") else "")


def to_markdown(doc: Sequence[Block]) -> str:
    """GitHub-flavoured Markdown; images referenced by file name."""
    parts: List[str] = []
    for kind, content in doc:
        if kind == "h1":
            parts.append(f"# {content}")
        elif kind == "h2":
            parts.append(f"## {content}")
        elif kind == "p":
            parts.append(content)
        elif kind == "list":
            parts.append("\n".join(f"- {line}" for line in content))
        elif kind == "table":
            header, rows = content
            esc = [[c.replace("|", "\\|").replace("\n", " ") for c in row]
                   for row in [header] + rows]
            lines = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(row) + " |" for row in esc[1:]]
            parts.append("\n".join(lines))
        elif kind == "img":
            parts.append(f"![{content}]({content}.png)")
    return "\n\n".join(parts) + "\n"


HTML_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}"
    "th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}"
    "th{background:#f2f2f2}img{max-width:100%;border:1px solid #ddd;margin:.5rem 0}"
)


def to_html(doc: Sequence[Block], images: Mapping[str, bytes]) -> str:
    """A single self-contained page: PNGs are inlined as data: URIs so the
    file can be mailed or opened from a USB stick on an offline rack."""
    title = next((c for k, c in doc if k == "h1"), "pirack benchmark")
    body: List[str] = []
    for kind, content in doc:
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{html.escape(content)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{html.escape(content)}</p>")
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in content) + "</ul>")
        elif kind == "table":
            header, rows = content
            head = "".join(f"<th>{html.escape(c)}</th>" for c in header)
            cells = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                            for row in rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
        elif kind == "img":
            data = base64.b64encode(images[content]).decode("ascii")
            body.append(f'<img alt="{html.escape(content)}" src="data:image/png;base64,{data}">')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{HTML_STYLE}</style></head>"
            f"<body>\n" + "\n".join(body) + "\n</body></html>\n")


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """CSV text with a header row, for spreadsheets and pandas."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue()


def csv_files(summary: Dict[str, Any]) -> Dict[str, str]:
    """sweep.csv and overhead.csv: the summary tables, machine-readable."""
    files: Dict[str, str] = {}
    if "sweep" in summary:
        header = ["cluster", "mode", "rng_layout", "workers", "iterations", "rate",
                  "rate_min", "rate_max", "efficiency", "steady", "rng_p50_ms", "rng_p95_ms",
                  "hasher_p50_ms", "hasher_p95_ms"]
        rows = []
        for entry in summary["sweep"]["series"].values():
            eff = {r["workers"]: r["efficiency"] for r in entry["scaling"]}
            for r in entry["rows"]:
                lat = r["latency"]
                rows.append([r["cluster"], r["mode"], r["rng_layout"], r["workers"],
                             r["iterations"], r["rate"], r["rate_min"], r["rate_max"],
                             eff.get(r["workers"]), r["steady"],
                             lat.get("rng", {}).get("p50_ms"), lat.get("rng", {}).get("p95_ms"),
                             lat.get("hasher", {}).get("p50_ms"),
                             lat.get("hasher", {}).get("p95_ms")])
        files["sweep.csv"] = to_csv(header, rows)
    if "overhead" in summary:
        header = ["host", "test", "unit", "pairs", "native", "container", "ratio", "ratio_min",
                  "ratio_max", "spread", "noisy", "loadavg", "throttled_native",
                  "throttled_container"]
        files["overhead.csv"] = to_csv(header, [[r[k] for k in header]
                                                for r in summary["overhead"]])
    return files


def compare(a: Dict[str, Any], b: Dict[str, Any]) -> List[Dict[str, Any]]:
    """One table of the numbers two summaries share (before/after, swarm vs
    k3s, Pi rack vs simulated rack): what, value in A, value in B, B/A."""
    def flat(summary: Dict[str, Any]) -> Dict[str, float]:
        values: Dict[str, float] = {}
        for entry in summary.get("sweep", {}).get("series", {}).values():
            for row in entry["scaling"]:
                values[f"hashes/s {entry['mode']} rng={entry['rng_layout']} "
                       f"workers={row['workers']}"] = row["rate"]
        for row in summary.get("overhead", []):
            if row["ratio"] is not None:
                values[f"container/native {row['test']} {row['host']}"] = row["ratio"]
        for row in summary.get("density", []):
            if row.get("containers") is not None:
                values[f"density {row['host']}"] = float(row["containers"])
        return values

    left, right = flat(a), flat(b)
    return [{"what": key, "a": left.get(key), "b": right.get(key),
             "b_over_a": ratio(right.get(key), left.get(key))}
            for key in sorted(set(left) | set(right))]


def comparison_blocks(rows: Sequence[Dict[str, Any]], name_a: str, name_b: str) -> List[Block]:
    """The comparison as report blocks."""
    table = [[r["what"], _fmt(r["a"], 2), _fmt(r["b"], 2), _fmt(r["b_over_a"], 3)] for r in rows]
    return [("h2", f"Comparison: A = {name_a}, B = {name_b}"),
            ("table", (["what", "A", "B", "B/A"], table))]


def plot(summary: Dict[str, Any]) -> Dict[str, bytes]:
    """The PNGs of the report, {name: PNG bytes}, drawn in memory so that
    nothing in the folder changes before `commit` writes every file at
    once. Headless (Agg) so it works over SSH and in CI; host and series
    names are data, so "$" in them is text, not mathtext."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    with matplotlib.rc_context({"text.parse_math": False}):
        return _draw(summary, plt)


def _draw(summary: Dict[str, Any], plt: Any) -> Dict[str, bytes]:
    images: Dict[str, bytes] = {}

    def save(fig: Any, name: str) -> None:
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        images[name] = buf.getvalue()

    series = summary.get("sweep", {}).get("series", {})
    drawn = {label: e for label, e in series.items() if e["scaling"]}
    if drawn:
        # One panel per mode: faithful (tens of hashes/s) and max-speed
        # (thousands) on one axis would flatten the faithful line to zero.
        modes = sorted({e["mode"] for e in drawn.values()})

        def panels(height: float) -> Tuple[Any, List[Any]]:
            fig, axes = plt.subplots(1, len(modes), figsize=(6 * len(modes), height),
                                     squeeze=False)
            return fig, list(axes[0])

        fig, axes = panels(4.5)
        for ax, mode in zip(axes, modes):
            for label, entry in drawn.items():
                if entry["mode"] != mode:
                    continue
                xs = [r["workers"] for r in entry["scaling"]]
                line, = ax.plot(xs, [r["rate"] for r in entry["scaling"]], marker="o",
                                label=label)
                ax.plot(xs, [r["ideal"] for r in entry["scaling"]], linestyle="--",
                        color=line.get_color(), alpha=0.6, label="ideal (linear)")
            ax.set(xlabel="workers", ylabel="hashes/s (steady state)",
                   title=f"Hash rate vs workers, {mode}")
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        save(fig, "hashrate")

        fig, ax = plt.subplots(figsize=(8, 4))
        for label, entry in drawn.items():
            ax.plot([r["workers"] for r in entry["scaling"]],
                    [r["efficiency"] * 100 for r in entry["scaling"]], marker="o", label=label)
        ax.axhline(EFFICIENCY_KNEE * 100, color="grey", linestyle=":",
                   label=f"{EFFICIENCY_KNEE * 100:.0f}% (knee)")
        ax.set(xlabel="workers", ylabel="% of ideal", title="Scaling efficiency")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        save(fig, "efficiency")

        fig, axes = panels(4.5)
        for ax, mode in zip(axes, modes):
            for entry in drawn.values():
                if entry["mode"] != mode:
                    continue
                for service, style in (("rng", "-"), ("hasher", ":")):
                    points = [(r["workers"], r["latency"][service]["p95_ms"])
                              for r in entry["rows"] if service in r["latency"]
                              and r["latency"][service]["p95_ms"] is not None]
                    if points:
                        ax.plot([p[0] for p in points], [p[1] for p in points],
                                linestyle=style, marker="o",
                                label=f"{service} p95, rng={entry['rng_layout']}")
            ax.set(xlabel="workers (load)", ylabel="p95 latency ms (log)",
                   title=f"Latency vs load, {mode} (prober)")
            ax.set_yscale("log")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8)
        save(fig, "latency")

    rows = [r for r in summary.get("overhead", []) if r["ratio"] is not None]
    if rows:
        tests = sorted({r["test"] for r in rows})
        hosts = sorted({r["host"] for r in rows})
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(hosts) + 2), 4.5))
        width = 0.8 / len(tests)
        for i, test in enumerate(tests):
            by_host = {r["host"]: r for r in rows if r["test"] == test}
            xs = [h + i * width - 0.4 + width / 2 for h in range(len(hosts))]
            heights = [by_host[h]["ratio"] if h in by_host else 0 for h in hosts]
            # Error bars: the min-max of the pairs around the median.
            below = [by_host[h]["ratio"] - by_host[h]["ratio_min"] if h in by_host else 0
                     for h in hosts]
            above = [by_host[h]["ratio_max"] - by_host[h]["ratio"] if h in by_host else 0
                     for h in hosts]
            ax.bar(xs, heights, width=width, label=test, yerr=[below, above], capsize=3)
        ax.axhline(1.0, color="black", linewidth=1)
        for bound in CPU_BAND:
            ax.axhline(bound, color="grey", linestyle=":", linewidth=1)
        ax.set_xticks(range(len(hosts)))
        ax.set_xticklabels(hosts, rotation=30, ha="right")
        ax.set(ylabel="container / native throughput (median, min–max of pairs)",
               title=f"Container overhead per host (1.0 = none; dotted: {CPU_BAND[0]}–{CPU_BAND[1]})")
        ax.set_ylim(0, max(1.2, max(r["ratio_max"] for r in rows) * 1.1))
        ax.legend(fontsize=8)
        save(fig, "overhead")

    curves = [r for r in summary.get("density", []) if r.get("steps")]
    if curves:
        fig, (mem, start) = plt.subplots(1, 2, figsize=(12, 4.5))
        for row in curves:
            used = [(step["containers"], step["mem_used_mb"]) for step in row["steps"]
                    if step["mem_used_mb"] is not None]
            mem.plot([u[0] for u in used], [u[1] for u in used], marker=".", label=row["host"])
            timed = [(step["containers"], step["start_s"] * 1000) for step in row["steps"]
                     if step["start_s"] is not None]
            if timed:
                start.plot([t[0] for t in timed], [t[1] for t in timed], marker=".",
                           label=row["host"])
        mem.set(xlabel="containers running", ylabel="memory used MiB",
                title="Memory vs containers (minimal httpd, host network, tmpfs)")
        start.set(xlabel="containers running", ylabel="start latency ms",
                  title="Start latency of the next container")
        for ax in (mem, start):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        save(fig, "density")
    return images


def expectations(summary: Dict[str, Any],
                 expect: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """The sweep's figures against the expected ranges (the coin-miner's
    known rates), one result per expectation and cluster.

    Each expectation (checked by bench_results.check_expect) selects sweep
    rows by mode and optionally rng layout, cluster, exact worker count or
    a maximum, and bounds either the rate per worker (the rows' rates summed
    over their workers summed: one figure over all the selected points) or
    the rate of each selected row. The rate is the least-squares fit over
    the settled stretch, steadier than the median of a few short windows.
    An expectation no row matches is reported as not measured, not failed:
    a short benchmark does not sweep every point.
    """
    rows = summary.get("sweep", {}).get("rows", [])
    results = []
    for entry in expect:
        selected = [r for r in rows if r["mode"] == entry["mode"]
                    and entry.get("rng_layout") in (None, r["rng_layout"])
                    and entry.get("cluster") in (None, r["cluster"])
                    and entry.get("workers") in (None, r["workers"])
                    and (entry.get("max_workers") is None or r["workers"] <= entry["max_workers"])]
        what = _expectation_name(entry)
        clusters = sorted({r["cluster"] for r in selected}) or [entry.get("cluster") or "any"]
        for cluster in clusters:
            mine = [r for r in selected if r["cluster"] == cluster]
            measured = [r for r in mine if _rate(r) is not None]
            if "per_worker" in entry:
                low, high = entry["per_worker"]
                value = (sum(_rate(r) for r in measured) / sum(r["workers"] for r in measured)
                         if measured else None)
                unit = "hashes/s per worker"
            else:
                low, high = entry["rate"]
                rates = [_rate(r) for r in measured]
                below = [v for v in rates if low is not None and v < low]
                above = [v for v in rates if high is not None and v > high]
                # The figure shown is the worst point: the one outside, if any.
                value = min(below or above or rates) if rates else None
                if above and not below:
                    value = max(above)
                unit = "hashes/s"
            inside = value is not None and (low is None or value >= low) \
                and (high is None or value <= high)
            ok = None if value is None else inside
            bounds = _bounds(low, high)
            label = f"{cluster} {what}"
            if value is None:
                message = f"{label}: not measured in this run (expected {bounds} {unit})"
            else:
                points = ", ".join(f"{r['workers']} workers {_rate(r):.2f}" for r in measured)
                verdict = "as expected" if ok else "OUTSIDE the expected"
                message = (f"{label}: {value:.2f} {unit} measured, {verdict} {bounds} "
                           f"(hashes/s: {points})")
            results.append({"what": label, "measured": value, "low": low, "high": high,
                            "unit": unit, "ok": ok, "message": message})
    return results


def _rate(row: Mapping[str, Any]) -> Optional[float]:
    return row["rate_fit"] if row.get("rate_fit") is not None else row["rate"]


def _bounds(low: Optional[float], high: Optional[float]) -> str:
    if low is not None and high is not None:
        return f"{low:g}–{high:g}"
    return f"≥ {low:g}" if low is not None else f"≤ {high:g}"


def _expectation_name(entry: Mapping[str, Any]) -> str:
    parts = [entry["mode"]]
    if entry.get("rng_layout"):
        parts.append(f"rng={entry['rng_layout']}")
    if entry.get("workers") is not None:
        parts.append(f"{entry['workers']} workers")
    if entry.get("max_workers") is not None:
        parts.append(f"≤ {entry['max_workers']} workers")
    return " ".join(parts)


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
    table = [[r["what"], _fmt(r["measured"], 2), _bounds(r["low"], r["high"]), r["unit"],
              {True: "yes", False: "NO", None: "not measured"}[r["ok"]]] for r in results]
    out.append(("table", (["what", "measured", "expected", "unit", "met"], table)))
    return out


def write_report(folder: str, compare_to: Optional[str] = None, draw: bool = True,
                 expect: Sequence[Mapping[str, Any]] = ()) -> Tuple[Dict[str, Any], Dict[str, bytes]]:
    """Render a result folder's report: (summary, {file name: content}) of
    every file it consists of, PNGs included when `draw`. Reads, never
    writes: `changed_files` and `commit` do that, so check mode can compare
    and a failure half-way leaves the folder as it was."""
    data = load(folder)
    summary = summarise(data)
    summary["expectations"] = expectations(summary, expect)
    summary["headline"] += [r["message"] for r in summary["expectations"] if r["ok"] is False]
    images = plot(summary) if draw else {}
    doc = blocks(summary, images)
    doc[2:2] = expectation_blocks(summary["expectations"])
    if compare_to:
        rows = compare(summarise(load(compare_to)), summary)
        summary["comparison"] = rows
        doc += comparison_blocks(rows, os.path.basename(os.path.normpath(compare_to)),
                                 os.path.basename(os.path.normpath(folder)))
    texts = csv_files(summary)
    texts["report.md"] = to_markdown(doc)
    texts["report.html"] = to_html(doc, images)
    texts["summary.json"] = json.dumps(summary, indent=1, sort_keys=True, default=str) + "\n"
    files = {name: text.encode("utf-8") for name, text in texts.items()}
    files.update((f"{name}.png", png) for name, png in images.items())
    return summary, files


def changed_files(folder: str, files: Mapping[str, bytes]) -> List[str]:
    """Names of the files whose content differs from what is in `folder`
    (or that are missing). A name taken by something other than a regular
    file (a directory, a link) is refused before anything is written."""
    changed = []
    for name, content in sorted(files.items()):
        target = os.path.join(folder, name)
        if os.path.islink(target) or (os.path.lexists(target) and not os.path.isfile(target)):
            raise ReportError(f"{name}: {target} exists and is not a regular file; "
                              "nothing was written")
        try:
            with open(target, "rb") as handle:
                same = handle.read() == content
        except FileNotFoundError:
            same = False
        except OSError as exc:
            raise ReportError(f"{name}: cannot read {target} ({exc.strerror or exc}); "
                              "nothing was written") from None
        if not same:
            changed.append(name)
    return changed


def commit(folder: str, files: Mapping[str, bytes], names: Sequence[str]) -> None:
    """Write `names` of `files` into `folder`, all or none.

    Every new content goes to a temporary file in the same folder first
    (same file system, so the rename is atomic), the old versions are kept
    as hard links, then each temporary file is renamed over its target. If
    any step fails, the targets already replaced get their old content
    back (or are removed if they were new), so a report is never half old
    and half new. The temporary files are removed in every case.
    """
    staged: Dict[str, str] = {}
    backups: Dict[str, str] = {}
    done: List[str] = []
    try:
        for name in names:
            handle, path = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".new")
            staged[name] = path
            with os.fdopen(handle, "wb") as out:
                out.write(files[name])
                out.flush()
                os.fsync(out.fileno())
            os.chmod(path, 0o644)
        for name in names:
            target = os.path.join(folder, name)
            if os.path.exists(target):
                backup = os.path.join(folder, f".{name}.{os.getpid()}.old")
                os.link(target, backup)
                backups[name] = backup
        for name in names:
            os.replace(staged.pop(name), os.path.join(folder, name))
            done.append(name)
    except OSError as exc:
        for name in reversed(done):
            target = os.path.join(folder, name)
            with contextlib.suppress(OSError):
                if name in backups:
                    os.replace(backups.pop(name), target)
                else:
                    os.unlink(target)
        raise ReportError(f"{folder}: cannot write {exc.filename or 'the report'} "
                          f"({exc.strerror or exc}); nothing was replaced") from None
    finally:
        for path in list(staged.values()) + list(backups.values()):
            with contextlib.suppress(OSError):
                os.unlink(path)
