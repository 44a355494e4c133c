# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From a benchmark result folder to numbers a person reads in a minute.

A result folder (results/<timestamp>/ on the controller) holds the raw
recordings the playbook wrote: run.json (inventory, versions, settings),
sweep.json, overhead.json and density.json (each optional, so a run with a
step turned off still reports). Everything here is pure: load -> summarise ->
document blocks -> Markdown / HTML / CSV text. Plots are the only part that
needs a third-party library (matplotlib), imported when plots are drawn.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

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

RAW_FILES = ("run.json", "sweep.json", "overhead.json", "density.json")
# A container costing less than this (either way) is "about nothing": the
# published Linpack anchor is 528 vs 525 Mflops, i.e. within 1 %; run-to-run
# noise on a busy Pi is a few percent.
OVERHEAD_NOISE = 0.05
# Below this scaling efficiency another worker no longer pays for itself.
EFFICIENCY_KNEE = 0.8

Block = Tuple[str, Any]


def load(folder: str) -> Dict[str, Any]:
    """The raw JSON files of a result folder, by name without extension."""
    data: Dict[str, Any] = {}
    for name in RAW_FILES:
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                data[name[:-5]] = json.load(handle)
    # The sweep writes one file per cluster (sweep-<cluster>.json); pool them.
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if name.startswith("sweep-") and name.endswith(".json"):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                part = json.load(handle)
            merged = data.setdefault("sweep", {"settings": part.get("settings", {}), "points": []})
            merged["points"].extend(part.get("points", []))
    if not data:
        raise ValueError(f"{folder}: no benchmark results ({', '.join(RAW_FILES)})")
    return data


def _fmt(value: Optional[float], digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}{suffix}"


def summarise_sweep(sweep: Dict[str, Any]) -> Dict[str, Any]:
    """One row per (cluster, mode, rng layout, workers): the median over the
    iterations of each iteration's steady-state rate, with pooled prober
    latencies; then scaling per series and where it bends."""
    defaults = sweep.get("settings", {})
    groups: Dict[Tuple[str, str, str, int], List[Dict[str, Any]]] = {}
    for point in sweep.get("points", []):
        key = (point.get("cluster", "cluster1"), point["mode"], point["rng_layout"],
               int(point["workers"]))
        groups.setdefault(key, []).append(point)
    rows: List[Dict[str, Any]] = []
    for (cluster, mode, layout, workers), points in sorted(groups.items()):
        rates, steady = [], True
        pooled: Dict[str, List[float]] = {}
        errors: Dict[str, int] = {}
        for point in points:
            stats = steady_state(point.get("samples", []),
                                 warmup=float(point.get("warmup", defaults.get("warmup", 0))),
                                 width=float(point.get("window", defaults.get("window", 5))))
            if stats["median"] is not None:
                rates.append(stats["median"])
            steady = steady and bool(stats["steady"])
            for name, probe in (point.get("latency") or {}).items():
                pooled.setdefault(name, []).extend(probe.get("seconds", []))
                errors[name] = errors.get(name, 0) + int(probe.get("errors", 0))
        rows.append({
            "cluster": cluster, "mode": mode, "rng_layout": layout, "workers": workers,
            "iterations": len(points), "rate": median(rates),
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


def summarise_overhead(overhead: Dict[str, Any], hosts: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Per host and test: native and in-container throughput of the same
    sysbench command, their ratio, and a verdict that explains itself."""
    rows = []
    for host, tests in sorted(overhead.get("hosts", {}).items()):
        facts = hosts.get(host, {})
        for test, runs in sorted(tests.items()):
            native = parse_sysbench(runs.get("native", ""))
            contained = parse_sysbench(runs.get("container", ""))
            value = ratio(throughput(contained), throughput(native))
            rows.append({
                "host": host, "test": test, "loadavg": runs.get("loadavg"),
                "unit": "MiB/s" if "mib_per_second" in native else "events/s",
                "native": throughput(native), "container": throughput(contained),
                "ratio": value,
                "verdict": overhead_verdict(value, facts, runs.get("loadavg")),
            })
    return rows


def overhead_verdict(value: Optional[float], facts: Dict[str, Any],
                     loadavg: Optional[Sequence[float]] = None) -> str:
    """Plain words for a container/native ratio. A ratio outside the noise
    band must say why, so the likely causes are named, starting with the ones
    the recorded facts of this host point to (its load during the run, being
    itself a container)."""
    if value is None:
        return "missing: one of the two runs did not report a throughput"
    if abs(value - 1.0) <= OVERHEAD_NOISE:
        return "about the same (within run-to-run noise, as the Linpack anchor)"
    nested = facts.get("virtualization_type") in ("docker", "container", "lxc", "podman")
    why = []
    cores = facts.get("cores")
    if loadavg and cores and float(loadavg[0]) > float(cores):
        why.append(f"the host was overloaded (load average {float(loadavg[0]):.1f} on {cores} "
                   "cores): a container gets CPU by cgroup shares against every other "
                   "container, a host process by plain scheduling, so contention hits them "
                   "unequally")
    if nested:
        why.append("this host is itself a container sharing CPUs with its neighbours, "
                   "so both runs compete with the rest of the simulated rack")
    why.append("check for CPU throttling (vcgencmd get_throttled on a Pi), "
               "a cgroup CPU/memory limit on the container, or other load during the run")
    word = "slower" if value < 1.0 else "faster"
    return f"container {abs(1 - value) * 100:.0f}% {word}: " + "; ".join(why)


def summarise(data: Dict[str, Any]) -> Dict[str, Any]:
    """Everything the report shows, as data (the module returns it too)."""
    run = data.get("run", {})
    hosts = run.get("hosts", {})
    summary: Dict[str, Any] = {"run": run}
    if "sweep" in data:
        summary["sweep"] = summarise_sweep(data["sweep"])
    if "overhead" in data:
        summary["overhead"] = summarise_overhead(data["overhead"], hosts)
    if "density" in data:
        summary["density"] = [dict(host=h, **v) for h, v in
                              sorted(data["density"].get("hosts", {}).items())]
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
    ratios = [r["ratio"] for r in summary.get("overhead", []) if r["ratio"] is not None]
    if ratios:
        off = [r for r in summary["overhead"]
               if r["ratio"] is not None and abs(r["ratio"] - 1) > OVERHEAD_NOISE]
        lines.append(f"container/native: median ratio {median(ratios):.3f} over {len(ratios)} "
                     f"runs; {len(off)} outside ±{OVERHEAD_NOISE * 100:.0f}%")
    for row in summary.get("density", []):
        lines.append(f"density {row['host']}: {row.get('containers')} containers "
                     f"(stopped by {row.get('stopped_by', '?')})")
    return lines


def blocks(summary: Dict[str, Any], images: Dict[str, str]) -> List[Block]:
    """The report as a list of (kind, content) blocks, rendered to Markdown
    and to HTML by the two writers below, so both always say the same."""
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
                out.append(("img", (name, images[name])))
    if "overhead" in summary:
        out.append(("h2", "Container vs native"))
        out.append(("p", "The same sysbench binary and arguments, run on the host and in a "
                         "container made from that binary (docker import, no network)."))
        header = ["host", "test", "native", "container", "unit", "ratio", "verdict"]
        table = [[r["host"], r["test"], _fmt(r["native"]), _fmt(r["container"]), r["unit"],
                  _fmt(r["ratio"], 3), r["verdict"]] for r in summary["overhead"]]
        out.append(("table", (header, table)))
        if "overhead" in images:
            out.append(("img", ("overhead", images["overhead"])))
    if "density" in summary:
        out.append(("h2", "Container density"))
        header = ["host", "containers", "stopped by", "memory available at end MiB"]
        table = [[r["host"], str(r.get("containers")), str(r.get("stopped_by")),
                  _fmt(r.get("mem_available_mb"), 0)] for r in summary["density"]]
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
            esc = [[c.replace("|", "\\|") for c in row] for row in [header] + rows]
            lines = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(row) + " |" for row in esc[1:]]
            parts.append("\n".join(lines))
        elif kind == "img":
            name, path = content
            parts.append(f"![{name}]({os.path.basename(path)})")
    return "\n\n".join(parts) + "\n"


HTML_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}"
    "th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}"
    "th{background:#f2f2f2}img{max-width:100%;border:1px solid #ddd;margin:.5rem 0}"
)


def to_html(doc: Sequence[Block]) -> str:
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
            name, path = content
            with open(path, "rb") as handle:
                data = base64.b64encode(handle.read()).decode("ascii")
            body.append(f'<img alt="{html.escape(name)}" src="data:image/png;base64,{data}">')
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
        header = ["host", "test", "unit", "native", "container", "ratio"]
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


def plot(summary: Dict[str, Any], folder: str) -> Dict[str, str]:
    """Draw the PNGs into `folder`; returns {name: path}. Headless (Agg) so
    it works over SSH and in CI."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    images: Dict[str, str] = {}

    def save(fig: Any, name: str) -> None:
        path = os.path.join(folder, f"{name}.png")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        images[name] = path

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
            by_host = {r["host"]: r["ratio"] for r in rows if r["test"] == test}
            xs = [h + i * width - 0.4 + width / 2 for h in range(len(hosts))]
            ax.bar(xs, [by_host.get(h, 0) for h in hosts], width=width, label=test)
        ax.axhline(1.0, color="black", linewidth=1)
        for bound in (1 - OVERHEAD_NOISE, 1 + OVERHEAD_NOISE):
            ax.axhline(bound, color="grey", linestyle=":", linewidth=1)
        ax.set_xticks(range(len(hosts)))
        ax.set_xticklabels(hosts, rotation=30, ha="right")
        ax.set(ylabel="container / native throughput",
               title=f"Container overhead per host (1.0 = none; dotted: ±{OVERHEAD_NOISE:.0%})")
        ax.set_ylim(0, max(1.2, max(r["ratio"] for r in rows) * 1.1))
        ax.legend(fontsize=8)
        save(fig, "overhead")
    return images


def write_report(folder: str, compare_to: Optional[str] = None,
                 draw: bool = True) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """Render a result folder's report; returns (summary, {file name: text})
    of the text files, PNGs already drawn into the folder when `draw`.

    The caller writes the text files (so check mode can compare first).
    """
    summary = summarise(load(folder))
    images = plot(summary, folder) if draw else {}
    doc = blocks(summary, images)
    if compare_to:
        rows = compare(summarise(load(compare_to)), summary)
        summary["comparison"] = rows
        doc += comparison_blocks(rows, os.path.basename(os.path.normpath(compare_to)),
                                 os.path.basename(os.path.normpath(folder)))
    files = csv_files(summary)
    files["report.md"] = to_markdown(doc)
    files["report.html"] = to_html(doc)
    files["summary.json"] = json.dumps(summary, indent=1, sort_keys=True, default=str) + "\n"
    return summary, files
