# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a benchmark run measured, as data: the sweep's steady rates and
scaling, the container/native ratios with their spread and verdict, the
density ramps, the expected figures and the comparison of two runs.

Pure functions over what results.load returns (checked and normalised), so
every number of a report can be recomputed from its raw JSON; the document
(document.py) and its outputs only format what is decided here.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.pirack.cluster.plugins.module_utils.bench.stats import (
    knee,
    latency_summary,
    median,
    parse_sysbench,
    ratio,
    scaling,
    steady_state,
    throughput,
)

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


def summarise_sweep(sweep: Dict[str, Any]) -> Dict[str, Any]:
    """One row per (cluster, mode, rng layout, workers): the median over the
    iterations of each iteration's steady-state rate (and of its
    least-squares rate over the settled stretch, the steadier figure the
    expectations use), with pooled prober latencies; then scaling per series
    and where it bends. Takes a sweep results.py checked."""
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
    an overhead.json results.py checked."""
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


def summarise_boards(overhead: Dict[str, Any], rows: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Per measured board, how quiet it was: the app containers paused
    while it was measured, the load average before the pause (the app
    running) and the highest one seen during the runs. Boards recorded
    before pausing existed have no ``paused`` (None: not known)."""
    out = []
    for host in sorted(overhead["hosts"]):
        board = overhead.get("boards", {}).get(host)
        during = [r["loadavg"] for r in rows if r["host"] == host and r["loadavg"] is not None]
        out.append({
            "host": host,
            "paused": None if board is None else list(board["paused"]),
            "load_before": parse_snapshot(board["before"])["loadavg"] if board else None,
            "load_during": max(during) if during else None,
        })
    return out


def summarise_density(density: Dict[str, Any], hosts: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """Per ramp (a board and a compared setting): its model, the peak count
    and why it stopped, the memory each container cost on average (peak
    minus the board before any, over the count), the start latency's median
    and p95 in ms, and the breakdown of one container's cost. Takes a
    density.json results.py checked."""
    rows = []
    for row in sorted(density["runs"], key=lambda r: (r["host"], r["variant"])):
        steps = row["steps"]
        used = [s for s in steps if s["mem_used_mb"] is not None]
        per_container = None
        if len(used) > 1 and used[-1]["containers"] > used[0]["containers"]:
            per_container = ((used[-1]["mem_used_mb"] - used[0]["mem_used_mb"])
                             / (used[-1]["containers"] - used[0]["containers"]))
        starts = latency_summary([s["start_s"] for s in steps if s["start_s"] is not None])
        rows.append(dict(row, model=hosts.get(row["host"], {}).get("model"),
                         mb_per_container=per_container, start_p50_ms=starts["p50_ms"],
                         start_p95_ms=starts["p95_ms"]))
    return rows


def summarise(data: Dict[str, Any]) -> Dict[str, Any]:
    """Everything the report shows, as data (the module returns it too).
    Takes what results.load returns (checked and normalised)."""
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
        summary["overhead_boards"] = summarise_boards(data["overhead"], rows)
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
        text = (f"container/native median: {', '.join(figures)} over "
                f"{len({r['host'] for r in rows})} hosts × {'/'.join(map(str, pairs))} pairs; "
                f"{noisy} of {len(rows)} spreads over {SPREAD_LIMIT:.0%}")
        boards = [b for b in summary.get("overhead_boards", []) if b["paused"] is not None]
        if boards:
            quiet = sum(1 for b in boards if b["paused"])
            text += f"; the app paused on {quiet} of {len(boards)} measured boards"
        lines.append(text)
    for row in summary.get("density", []):
        model = f" ({row['model']})" if row.get("model") else ""
        cost = (f", {row['mb_per_container']:.2f} MiB each" if row["mb_per_container"] is not None
                else "")
        lines.append(f"density {row['host']}{model}, {row['variant']}: {row.get('containers')} "
                     f"containers{cost} (stopped by {row.get('stopped_by') or '?'})")
    return lines


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
                values[f"density {row['host']} {row['variant']}"] = float(row["containers"])
        return values

    left, right = flat(a), flat(b)
    return [{"what": key, "a": left.get(key), "b": right.get(key),
             "b_over_a": ratio(right.get(key), left.get(key))}
            for key in sorted(set(left) | set(right))]


def expectations(summary: Dict[str, Any],
                 expect: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """The sweep's figures against the expected ranges (the coin-miner's
    known rates), one result per expectation and cluster.

    Each expectation (checked by results.check_expect) selects sweep
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
            bounds = bounds_text(low, high)
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


def bounds_text(low: Optional[float], high: Optional[float]) -> str:
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
