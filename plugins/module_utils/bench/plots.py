# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's PNG plots, drawn with matplotlib (the one part of the
report that needs a third-party library, imported only when plots are
drawn)."""

from __future__ import annotations

import io
from typing import Any, Dict, List, Tuple

from ansible_collections.pirack.cluster.plugins.module_utils.bench.summary import CPU_BAND, EFFICIENCY_KNEE


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
            label = f"{row['host']}, {row['variant']}"
            mem.plot([u[0] for u in used], [u[1] for u in used], marker=".", label=label)
            timed = [(step["containers"], step["start_s"] * 1000) for step in row["steps"]
                     if step["start_s"] is not None]
            if timed:
                start.plot([t[0] for t in timed], [t[1] for t in timed], marker=".", label=label)
        mem.set(xlabel="containers running", ylabel="memory used MiB",
                title="Memory vs containers, per setting (minimal httpd, tmpfs)")
        start.set(xlabel="containers running", ylabel="start latency ms",
                  title="Start latency of the next container")
        for ax in (mem, start):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        save(fig, "density")
    return images
