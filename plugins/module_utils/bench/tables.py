# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The summary's tables as CSV files (sweep.csv, overhead.csv) for
spreadsheets and pandas."""

from __future__ import annotations

import csv
import io
from typing import Any, Dict, Sequence


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
