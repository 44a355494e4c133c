"""bench_report on a recorded result folder: numbers, files, plots, comparison."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils import bench_report

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bench" / "local-run"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "20261123T130500Z"
    shutil.copytree(FIXTURES, folder)
    return folder


def test_summary_of_the_recorded_run(run_dir: Path) -> None:
    summary = bench_report.summarise(bench_report.load(str(run_dir)))
    series = summary["sweep"]["series"]
    faithful = series["local faithful rng=single"]
    assert [r["workers"] for r in faithful["scaling"]] == [1, 2, 4, 8]
    assert faithful["knee"] is None  # 5 hashes/s per worker all the way
    assert faithful["scaling"][-1]["rate"] == pytest.approx(40, rel=0.06)
    fast = series["local max-speed rng=single"]
    assert fast["knee"] == 2  # one rng and one hasher process on two cores
    assert all(r["steady"] for r in faithful["rows"])
    overhead = {(r["host"], r["test"]): r for r in summary["overhead"]}
    cpu = overhead[("devvm-run1", "cpu")]
    assert cpu["ratio"] == pytest.approx(387.30 / 1861.87, rel=1e-4)
    # Far outside the noise band, so the report must say why: the load it recorded.
    assert "load average 23.4 on 2 cores" in cpu["verdict"]
    assert any("faithful" in line and "8 workers" in line for line in summary["headline"])


def test_verdicts_name_noise_and_nesting() -> None:
    assert bench_report.overhead_verdict(528 / 525, {}).startswith("about the same")
    nested = bench_report.overhead_verdict(0.8, {"virtualization_type": "docker", "cores": 2},
                                           [1.0, 1.0, 1.0])
    assert "itself a container" in nested and "overloaded" not in nested
    assert bench_report.overhead_verdict(None, {}).startswith("missing")


def test_report_files_are_complete_and_self_contained(run_dir: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib draws the plots (requirements.txt)")
    summary, files = bench_report.write_report(str(run_dir))
    assert {"report.md", "report.html", "sweep.csv", "overhead.csv", "summary.json"} <= set(files)
    for name in ("hashrate", "efficiency", "latency", "overhead"):
        png = run_dir / f"{name}.png"
        assert png.read_bytes().startswith(b"\x89PNG"), name
        assert f"![{name}]({name}.png)" in files["report.md"]
    html = files["report.html"]
    assert html.count('src="data:image/png;base64,') == 4 and "<img src=\"http" not in html
    assert "| local | faithful | single | 8 |" in files["report.md"]
    rows = files["sweep.csv"].splitlines()
    assert rows[0].startswith("cluster,mode,rng_layout,workers") and len(rows) == 9
    assert json.loads(files["summary.json"])["headline"] == summary["headline"]


def test_report_without_plots_or_optional_steps(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "run.json", tmp_path)
    shutil.copy(FIXTURES / "overhead.json", tmp_path)
    summary, files = bench_report.write_report(str(tmp_path), draw=False)
    assert "sweep" not in summary and "sweep.csv" not in files
    assert "Container vs native" in files["report.md"] and "![" not in files["report.md"]
    with pytest.raises(ValueError):
        bench_report.load(str(tmp_path / "nothing"))


def test_comparison_of_two_folders_in_one_table(run_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "after"
    shutil.copytree(run_dir, other)
    sweep = json.loads((other / "sweep.json").read_text())
    for point in sweep["points"]:  # the same run with every counter doubled
        point["samples"] = [[t, 2 * v] for t, v in point["samples"]]
    (other / "sweep.json").write_text(json.dumps(sweep))
    summary, files = bench_report.write_report(str(other), compare_to=str(run_dir), draw=False)
    rows = {r["what"]: r for r in summary["comparison"]}
    one = rows["hashes/s faithful rng=single workers=1"]
    assert one["b_over_a"] == pytest.approx(2.0, rel=0.01)
    assert rows["container/native cpu devvm-run1"]["b_over_a"] == pytest.approx(1.0)
    assert f"## Comparison: A = {run_dir.name}, B = after" in files["report.md"]
