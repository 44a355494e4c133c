"""The benchmark report (bench/report.py and the modules it renders with)
on recorded result folders: numbers, verdict, files, plots, comparison,
expected figures, all-or-none writes; and property tests that random raw
files only ever raise the report's own error."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Dict, List

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.bench import (
    document,
    html_page,
    markdown,
    report,
    results,
    tables,
)
from ansible_collections.pirack.cluster.plugins.module_utils.bench import (
    summary as bench_summary,
)
from ansible_collections.pirack.cluster.plugins.module_utils.bench.results import ReportError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "bench"
LOCAL_RUN = FIXTURES / "local-run"
NATIVE_CPU = json.loads((LOCAL_RUN / "overhead.json").read_text())["hosts"]["devvm-run1"]["cpu"]["native"]
CPU_LINE = "    events per second:  1861.87"


def sysbench_cpu(events_per_second: float) -> str:
    """A recorded `sysbench cpu run` report with another throughput."""
    return NATIVE_CPU.replace(CPU_LINE, f"    events per second:  {events_per_second:.2f}")


def snapshot(load: float, throttled: int | None = None, pi: str | None = None) -> str:
    """What `grep -H '' /proc/loadavg <cpu.stat> <get_throttled>` prints."""
    lines = [f"/proc/loadavg:{load:.2f} 0.50 0.40 2/300 4242"]
    if throttled is not None:
        stat = "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.stat"
        lines += [f"{stat}:nr_periods 900", f"{stat}:nr_throttled {throttled}",
                  f"{stat}:throttled_time {throttled * 2_000_000}"]
    if pi is not None:
        lines.append(f"/sys/devices/platform/soc/soc:firmware/get_throttled:{pi}")
    return "\n".join(lines) + "\n"


def abab(pairs: List[tuple], load: float = 0.3) -> Dict[str, Any]:
    """One host's test as the role records it: (native, container) events/s
    per pair, with quiet snapshots around them."""
    return {"pairs": [{"native": sysbench_cpu(n), "container": sysbench_cpu(c),
                       "snapshots": [snapshot(load), snapshot(load), snapshot(load)]}
                      for n, c in pairs]}


def board_facts(**extra: Any) -> Dict[str, Any]:
    return dict({"cores": 2, "virtualization_type": "docker", "virtualization_role": "guest"},
                **extra)


def write_folder(folder: Path, **files: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / f"{name}.json").write_text(json.dumps(content))
    return folder


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "20261123T130500Z"
    shutil.copytree(LOCAL_RUN, folder)
    return folder


def test_summary_of_the_recorded_run(run_dir: Path) -> None:
    summary = bench_summary.summarise(results.load(str(run_dir)))
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
    # Recorded before pairs existed: read as one pair, no spread to speak of.
    assert cpu["ratio"] == pytest.approx(387.30 / 1861.87, rel=1e-4)
    assert cpu["pairs"] == 1 and cpu["spread"] is None and not cpu["noisy"]
    # Far outside the band, so the one verdict says why: the load it recorded.
    verdict = summary["overhead_verdict"]
    assert "outside 0.97–1.03" in verdict
    assert "load average reached 23.4 on 2 cores" in verdict
    assert any("faithful" in line and "8 workers" in line for line in summary["headline"])


def test_pairs_give_the_median_ratio_and_flag_a_wide_spread() -> None:
    data = {"run": results.check_run({"hosts": {"b1": board_facts(), "b2": board_facts()}}),
            "overhead": results.check_overhead({
                "settings": {"pairs": 3, "one_at_a_time": True},
                "hosts": {"b1": {"cpu": abab([(1000, 990), (1000, 1000), (1000, 1080)])},
                          "b2": {"cpu": abab([(1000, 1000), (1010, 1000), (990, 1000)])}}})}
    summary = bench_summary.summarise(data)
    rows = {r["host"]: r for r in summary["overhead"]}
    assert rows["b1"]["ratio"] == pytest.approx(1.0)
    assert (rows["b1"]["ratio_min"], rows["b1"]["ratio_max"]) == pytest.approx((0.99, 1.08))
    assert rows["b1"]["spread"] == pytest.approx(0.09) and rows["b1"]["noisy"]
    assert rows["b2"]["spread"] < 0.05 and not rows["b2"]["noisy"]
    verdict = summary["overhead_verdict"]
    assert "cpu 1.000" in verdict and "within 0.97–1.03" in verdict
    assert "1 of 2 host/test spreads exceed 5%" in verdict and "b1 cpu" in verdict
    assert "likely causes" not in verdict  # in the band: nothing to explain


def _cpu_verdict(pairs: List[tuple], snapshots: List[str], one_at_a_time: bool = True,
                 **facts: Any) -> str:
    record = {"pairs": [{"native": sysbench_cpu(n), "container": sysbench_cpu(c),
                         "snapshots": snapshots} for n, c in pairs]}
    data = {"run": results.check_run({"hosts": {"b1": board_facts(**facts)}}),
            "overhead": results.check_overhead({
                "settings": {"one_at_a_time": one_at_a_time}, "hosts": {"b1": {"cpu": record}}})}
    return bench_summary.summarise(data)["overhead_verdict"]


def test_verdict_names_the_causes_it_can_see() -> None:
    slow = [(1000, 900)] * 3
    # The board's CPU quota throttled the native runs (cpu.stat before,
    # between and after the pair).
    throttled = _cpu_verdict(slow, [snapshot(0.5, 10), snapshot(0.5, 40), snapshot(0.5, 41)])
    assert "10% slower" in throttled
    assert "throttled them in 90 periods during native runs and 3 during container runs" in throttled
    # Load above the cores during the runs.
    loaded = _cpu_verdict(slow, [snapshot(14.0), snapshot(9.0), snapshot(3.0)])
    assert "load average reached 14.0 on 2 cores" in loaded
    # Boards sharing hardware measured together.
    together = _cpu_verdict(slow, [snapshot(0.5)] * 3, one_at_a_time=False)
    assert "share hardware but were measured at the same time" in together
    # A Pi whose firmware capped the clock.
    pi = _cpu_verdict(slow, [snapshot(0.5, pi="0x0"), snapshot(0.5, pi="0x50002"), snapshot(0.5)],
                      virtualization_type="", virtualization_role="NA")
    assert "ARM frequency capped" in pi and "get_throttled 0x50002" in pi
    assert "nesting" not in pi
    # Nothing seen: the report says so and names what is left.
    unexplained = _cpu_verdict(slow, [snapshot(0.5)] * 3, virtualization_type="",
                               virtualization_role="NA")
    assert "nothing recorded explains it" in unexplained and "seccomp" in unexplained


def test_the_report_says_which_boards_were_quiet_and_their_load() -> None:
    """What benchmark_overhead records per board (its app paused, a snapshot
    before the pause) becomes a table of the section and part of the headline."""
    data = {"run": results.check_run({"hosts": {"b1": board_facts(), "b2": board_facts(), "b3": board_facts()}}),
            "overhead": results.check_overhead({
                "settings": {"pairs": 3, "one_at_a_time": True},
                "hosts": {"b1": {"cpu": abab([(1000, 1000)] * 3, load=0.4)},
                          "b2": {"cpu": abab([(1000, 1000)] * 3, load=0.9)},
                          "b3": {"cpu": abab([(1000, 1000)] * 3)}},
                "boards": {"b1": {"paused": ["coinminer_rng.x", "coinminer_worker.y"], "before": snapshot(2.5)},
                           "b2": {"paused": [], "before": snapshot(1.25)}}})}
    summary = bench_summary.summarise(data)
    assert summary["overhead_boards"] == [
        {"host": "b1", "paused": ["coinminer_rng.x", "coinminer_worker.y"], "load_before": 2.5, "load_during": 0.4},
        {"host": "b2", "paused": [], "load_before": 1.25, "load_during": 0.9},
        {"host": "b3", "paused": None, "load_before": None, "load_during": 0.3}]
    assert summary["headline"][0].endswith("; the app paused on 1 of 2 measured boards")
    text = markdown_of(summary)
    assert "| board | its app while measured | load before | load during (max) |" in text
    assert "| b1 | paused (2 containers) | 2.50 | 0.40 |" in text
    assert "| b2 | running (no container matched the pause filter) | 1.25 | 0.90 |" in text
    assert "| b3 | not recorded | — | 0.30 |" in text


def markdown_of(summary: Dict[str, Any]) -> str:
    return markdown.to_markdown(document.blocks(summary, {}))


def test_snapshot_parsing_keeps_what_it_can_read() -> None:
    seen = bench_summary.parse_snapshot(snapshot(1.5, 7, pi="0x4") + "garbage\n/x/cpu.stat:nr_throttled z\n")
    assert seen == {"loadavg": 1.5, "nr_throttled": 7.0, "throttled_ms": 14.0, "pi_throttled": 4.0}
    v2 = bench_summary.parse_snapshot("/sys/fs/cgroup/cpu.stat:throttled_usec 2500\n")
    assert v2["throttled_ms"] == 2.5 and v2["loadavg"] is None
    # A counter that went backwards (the board restarted) is no throttling.
    context = bench_summary.pair_context([snapshot(1, 50), snapshot(1, 3), snapshot(1, 4)])
    assert context["throttled_native"] is None and context["throttled_container"] == 1


def test_report_files_are_complete_and_self_contained(run_dir: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib draws the plots (requirements.txt)")
    before = sorted(os.listdir(run_dir))
    summary, files = report.write_report(str(run_dir))
    assert sorted(os.listdir(run_dir)) == before  # rendering writes nothing
    assert {"report.md", "report.html", "sweep.csv", "overhead.csv", "summary.json"} <= set(files)
    markdown = files["report.md"].decode()
    for name in ("hashrate", "efficiency", "latency", "overhead"):
        assert files[f"{name}.png"].startswith(b"\x89PNG"), name
        assert f"![{name}]({name}.png)" in markdown
    html = files["report.html"].decode()
    assert html.count('src="data:image/png;base64,') == 4 and "<img src=\"http" not in html
    assert "| local | faithful | single | 8 |" in markdown
    # The verdict is said once, in its section, not on every row.
    assert markdown.count(summary["overhead_verdict"]) == 1
    assert markdown.count("likely causes") == 1
    rows = files["sweep.csv"].decode().splitlines()
    assert rows[0].startswith("cluster,mode,rng_layout,workers") and len(rows) == 9
    assert json.loads(files["summary.json"])["headline"] == summary["headline"]
    report.commit(str(run_dir), files, report.changed_files(str(run_dir), files))
    assert report.changed_files(str(run_dir), files) == []  # the same run twice: no change
    assert not [n for n in os.listdir(run_dir) if n.startswith(".")]  # no temporary files left


def test_report_without_plots_or_optional_steps(tmp_path: Path) -> None:
    shutil.copy(LOCAL_RUN / "run.json", tmp_path)
    shutil.copy(LOCAL_RUN / "overhead.json", tmp_path)
    summary, files = report.write_report(str(tmp_path), draw=False)
    assert "sweep" not in summary and "sweep.csv" not in files
    markdown = files["report.md"].decode()
    assert "Container vs native" in markdown and "![" not in markdown
    with pytest.raises(ReportError, match="not a folder"):
        results.load(str(tmp_path / "nothing"))


def test_comparison_of_two_folders_in_one_table(run_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "after"
    shutil.copytree(run_dir, other)
    sweep = json.loads((other / "sweep.json").read_text())
    for point in sweep["points"]:  # the same run with every counter doubled
        point["samples"] = [[t, 2 * v] for t, v in point["samples"]]
    (other / "sweep.json").write_text(json.dumps(sweep))
    summary, files = report.write_report(str(other), compare_to=str(run_dir), draw=False)
    rows = {r["what"]: r for r in summary["comparison"]}
    one = rows["hashes/s faithful rng=single workers=1"]
    assert one["b_over_a"] == pytest.approx(2.0, rel=0.01)
    assert rows["container/native cpu devvm-run1"]["b_over_a"] == pytest.approx(1.0)
    assert f"## Comparison: A = {run_dir.name}, B = after" in files["report.md"].decode()


def test_density_curve_table_and_plot(tmp_path: Path) -> None:
    steps = [{"containers": n, "mem_used_mb": 300 + 4.5 * n, "start_s": None if n == 0 else 0.25 + n / 1000}
             for n in range(0, 121)]
    folder = write_folder(tmp_path / "run", run={"hosts": {"pi3-1": {"model": "Raspberry Pi 3 Model B Plus"}}},
                          density={"hosts": {"pi3-1": {"containers": 120, "steps": steps,
                                                       "stopped_by": "memory floor (98 MiB available)",
                                                       "mem_available_mb": 98.0}}})
    pytest.importorskip("matplotlib", reason="matplotlib draws the plots (requirements.txt)")
    summary, files = report.write_report(str(folder))
    (row,) = summary["density"]
    assert row["mb_per_container"] == pytest.approx(4.5) and row["start_p50_ms"] == pytest.approx(310.5)
    markdown = files["report.md"].decode()
    # A file of one ramp per board (before settings were compared) is the "default" setting.
    assert ("| pi3-1 | Raspberry Pi 3 Model B Plus | default | 120 | memory floor (98 MiB available) | 4.50 |"
            in markdown)
    assert files["density.png"].startswith(b"\x89PNG") and "![density](density.png)" in markdown
    assert ("density pi3-1 (Raspberry Pi 3 Model B Plus), default: 120 containers, 4.50 MiB each"
            in summary["headline"][0])
    assert "What one container cost" not in markdown  # no breakdown recorded


def test_density_per_setting_with_the_breakdown_of_one_container(tmp_path: Path) -> None:
    def ramp(settings: dict, mib: float, count: int, shim: float) -> dict:
        return {"settings": settings, "containers": count, "stopped_by": "memory floor",
                "steps": [{"containers": n, "mem_used_mb": 200 + mib * n, "start_s": 0.1} for n in range(count + 1)],
                "breakdown": {"total_kb": mib * 1024, "outside_processes_kb": 600.0,
                              "processes_kb": {"shim": shim, "servers": 180.0, "board": 0.0},
                              "memory_stat_kb": {"anon": 2000.0, "percpu": 90.5}}}
    docker = {"engine": "docker 20.10.24", "network": "host", "log_driver": "", "init": False}
    lean = {"engine": "podman 4.3.1", "network": "none", "log_driver": "none", "init": True}
    folder = write_folder(tmp_path / "run", run={"hosts": {"pi3-1": {"model": "pi3bplus"}}},
                          density={"hosts": {"pi3-1": [ramp(docker, 3.3, 30, 2400.0), ramp(lean, 3.0, 33, 2390.0)]}})
    summary, files = report.write_report(str(folder), draw=False)
    assert [(r["variant"], r["containers"]) for r in summary["density"]] == [
        ("docker, network host, log default", 30), ("podman, network none, log none, init", 33)]
    markdown = files["report.md"].decode()
    assert "| host | setting | total | servers (PSS) | shim (PSS) | outside processes | anon | percpu |" in markdown
    assert "| pi3-1 | podman, network none, log none, init | 3,072 | 180 | 2,390 | 600 | 2,000 | 90 |" in markdown
    assert any(line.startswith("density pi3-1 (pi3bplus), podman, network none, log none, init: 33 containers")
               for line in summary["headline"])


def test_a_slower_coin_miner_is_named_with_its_number(run_dir: Path) -> None:
    # The recorded local run mined 5 hashes/s per worker (0.1 s delays, no
    # network): far above the rack's 3.2-3.4, so the check must trip.
    expect = results.check_expect([
        {"mode": "faithful", "max_workers": 8, "per_worker": [3.2, 3.4]},
        {"mode": "faithful", "workers": 8, "rate": [30, None]},
        {"mode": "faithful", "rng_layout": "per-node", "per_worker": [3.2, 3.4]},
    ])
    summary, files = report.write_report(str(run_dir), draw=False, expect=expect)
    per_worker, floor, absent = summary["expectations"]
    assert per_worker["ok"] is False and per_worker["measured"] == pytest.approx(5.0, rel=0.05)
    assert per_worker["message"].startswith("local faithful ≤ 8 workers: 4.90 hashes/s per worker")
    assert "measured, OUTSIDE the expected 3.2–3.4 (hashes/s: 1 workers 5.00," in per_worker["message"]
    assert floor["ok"] is True and floor["measured"] == pytest.approx(40, rel=0.06)
    assert absent["ok"] is None and "not measured" in absent["message"]
    assert per_worker["message"] in summary["headline"]
    assert "1 of 3 expected figures were missed" in files["report.md"].decode()


def test_rate_bounds_report_the_worst_point(run_dir: Path) -> None:
    expect = results.check_expect([{"mode": "max-speed", "rate": [None, 100]}])
    summary, _ = report.write_report(str(run_dir), draw=False, expect=expect)
    (result,) = summary["expectations"]
    fast = summary["sweep"]["series"]["local max-speed rng=single"]["rows"]
    assert result["ok"] is False
    assert result["measured"] == pytest.approx(max(r["rate_fit"] for r in fast))


@pytest.mark.parametrize(("expect", "where"), [
    ("faithful", "expect"),
    ([{"mode": "faithful"}], "expect[0]: expected exactly one of per_worker or rate"),
    ([{"mode": "faithful", "per_worker": [3.4, 3.2]}], "expect[0].per_worker"),
    ([{"mode": "faithful", "rate": [None, None]}], "expect[0].rate"),
    ([{"mode": "faithful", "rate": [30], "works": 10}], "expect[0]: unknown key(s) works"),
    ([{"mode": "", "rate": [30, None]}], "expect[0].mode"),
    ([{"mode": "faithful", "workers": 0, "rate": [30, None]}], "expect[0].workers"),
])
def test_bad_expectations_are_named(expect: Any, where: str) -> None:
    with pytest.raises(ReportError) as caught:
        results.check_expect(expect)
    assert str(caught.value).startswith(where)


# --- bad raw files and all-or-none writes -----------------------------------

@pytest.mark.parametrize(("files", "message"), [
    ({"run": [1, 2]}, "run.json: expected an object, got list"),
    ({"sweep": {"points": [1]}}, "sweep.json: points[0]: expected an object, got int"),
    ({"sweep": {"points": None}}, "sweep.json: points: expected a list, got null"),
    ({"sweep": {"points": [{"mode": "faithful", "rng_layout": "single", "workers": 1,
                            "samples": "0,1"}]}},
     "sweep.json: points[0].samples: expected a list, got str"),
    ({"sweep": {"points": [{"mode": "faithful", "rng_layout": "single", "workers": 1,
                            "samples": [[0, 1], [0, 2]]}]}},
     "sweep.json: points[0].samples[1][0]: expected a time after 0"),
    ({"overhead": {"hosts": {"b1": {"cpu": {"pairs": [{"native": 1}]}}}}},
     "overhead.json: hosts.b1.cpu.pairs[0].native: expected a string"),
    ({"overhead": {"hosts": {}, "boards": {"b1": {"paused": "all"}}}},
     "overhead.json: boards.b1.paused: expected a list, got str"),
    ({"run": {"hosts": {"b1": {"cores": "two"}}}}, "run.json: hosts.b1.cores"),
    ({"density": {"hosts": {"b1": {"containers": -1}}}}, "density.json: hosts.b1.containers"),
    ({"density": {"hosts": {"b1": [{"breakdown": {"total_kb": "big"}}]}}},
     "density.json: hosts.b1[0].breakdown.total_kb"),
    ({"density": {"hosts": {"b1": [{"settings": "lean"}]}}}, "density.json: hosts.b1[0].settings"),
])
def test_bad_raw_files_are_one_line_naming_file_and_field(tmp_path: Path, files: dict,
                                                          message: str) -> None:
    with pytest.raises(ReportError) as caught:
        report.write_report(str(write_folder(tmp_path, **files)), draw=False)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_undecodable_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_bytes(b"{\"started\": \"\xff\"}")
    with pytest.raises(ReportError, match=r"^run.json: not UTF-8"):
        results.load(str(tmp_path))
    (tmp_path / "run.json").write_text("[" * 100000)
    with pytest.raises(ReportError, match=r"^run.json: "):
        results.load(str(tmp_path))
    (tmp_path / "run.json").write_text("{\"n\": " + "9" * 5000 + "}")
    with pytest.raises(ReportError, match=r"^run.json: not valid JSON"):
        results.load(str(tmp_path))


def test_a_directory_in_the_way_refuses_before_writing(run_dir: Path) -> None:
    (run_dir / "report.html").write_text("the earlier report")
    (run_dir / "report.md").mkdir()
    _, files = report.write_report(str(run_dir), draw=False)
    with pytest.raises(ReportError, match=r"^report.md: .* is not a regular file; nothing was written"):
        report.changed_files(str(run_dir), files)
    assert (run_dir / "report.html").read_text() == "the earlier report"


def test_a_failure_half_way_puts_every_file_back(run_dir: Path) -> None:
    (run_dir / "report.html").write_text("the earlier report")
    (run_dir / "report.md").mkdir()  # changed_files would refuse; commit must still recover
    files = {"report.html": b"new", "report.md": b"new", "sweep.csv": b"new"}
    with pytest.raises(ReportError, match="nothing was replaced"):
        report.commit(str(run_dir), files, ["report.html", "sweep.csv", "report.md"])
    assert (run_dir / "report.html").read_text() == "the earlier report"
    assert not (run_dir / "sweep.csv").exists() and (run_dir / "report.md").is_dir()
    assert not [n for n in os.listdir(run_dir) if n.startswith(".")]


# --- property tests: random raw files raise only ReportError ----------------

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
ANY = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                   | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=10)


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly the right shape, sometimes anything at all."""
    return st.one_of(strategy, strategy, strategy, ANY)


def raw_files(wrap: Any) -> st.SearchStrategy:
    """Result folders shaped like the role's, every part passed through
    `wrap`: the identity gives well-formed files with random numbers (to
    reach deep into the summaries), `maybe` sprinkles garbage anywhere."""
    number = wrap(st.one_of(st.integers(0, 50), st.floats(0, 1e6)))
    # Counters as the webui's: a rate with jitter and, sometimes, a reset.
    samples = wrap(st.builds(lambda n, r, j, reset: [[t * 0.5, (t % reset) * r + (j if t % 3 else 0)]
                                                     for t in range(n)],
                             st.integers(0, 40), st.floats(0, 100), st.integers(-3, 3),
                             st.integers(1, 60)))
    probe = wrap(st.fixed_dictionaries({}, optional={
        "seconds": wrap(st.lists(number, max_size=4)), "errors": wrap(st.integers(0, 9)),
        "last_error": ANY}))
    point = wrap(st.fixed_dictionaries(
        {"mode": wrap(st.sampled_from(["faithful", "max-speed"])),
         "rng_layout": wrap(st.sampled_from(["single", "per-node"])),
         "workers": wrap(st.integers(1, 12)), "samples": samples},
        optional={"cluster": wrap(st.sampled_from(["c1", "c2"])),
                  "warmup": wrap(st.floats(0, 10)), "window": wrap(st.floats(0.5, 10)),
                  "latency": wrap(st.dictionaries(st.sampled_from(["rng", "hasher"]), probe))}))
    sweep = wrap(st.fixed_dictionaries({"points": wrap(st.lists(point, max_size=6))},
                                       optional={"settings": wrap(st.fixed_dictionaries(
                                           {}, optional={"warmup": wrap(st.floats(0, 10)),
                                                         "window": wrap(st.floats(0.5, 10))}))}))
    output = wrap(st.builds(sysbench_cpu, st.floats(0, 1e6)) | st.text(max_size=30))
    snap = wrap(st.builds(snapshot, st.floats(0, 100), st.none() | st.integers(0, 10 ** 30),
                          st.none() | st.sampled_from(["0x0", "0x50005", "zz"]))
                | st.text(max_size=40))
    pair = wrap(st.fixed_dictionaries({"native": output, "container": output},
                                      optional={"snapshots": wrap(st.lists(snap, max_size=3))}))
    test = wrap(st.fixed_dictionaries({"pairs": wrap(st.lists(pair, max_size=3))})
                | st.fixed_dictionaries({"native": output, "container": output},
                                        optional={"loadavg": wrap(st.lists(number, max_size=3))}))
    hosts = st.sampled_from(["b1", "b2", "b3"])
    overhead = wrap(st.fixed_dictionaries(
        {"hosts": wrap(st.dictionaries(hosts, wrap(st.dictionaries(
            st.sampled_from(["cpu", "memory"]), test)), max_size=3))},
        optional={"settings": wrap(st.fixed_dictionaries({}, optional={"one_at_a_time": ANY}))}))
    facts = wrap(st.fixed_dictionaries({}, optional={
        "cores": wrap(st.integers(1, 8) | st.sampled_from(["2", ""])), "memory_mb": wrap(st.integers(0, 9000)),
        "virtualization_type": wrap(st.sampled_from(["docker", "kvm", ""])),
        "virtualization_role": wrap(st.sampled_from(["guest", "host", "NA"]))}))
    run = wrap(st.fixed_dictionaries({}, optional={
        "hosts": wrap(st.dictionaries(hosts, facts, max_size=3)),
        "settings": wrap(st.dictionaries(st.text(max_size=5), ANY, max_size=2)),
        "versions": wrap(st.dictionaries(st.text(max_size=5), ANY, max_size=2)),
        "started": wrap(st.text(max_size=10))}))
    step = wrap(st.fixed_dictionaries({"containers": wrap(st.integers(0, 3000)), "mem_used_mb": number},
                                      optional={"start_s": wrap(st.floats(0, 5))}))
    density = wrap(st.fixed_dictionaries({"hosts": wrap(st.dictionaries(hosts, wrap(
        st.fixed_dictionaries({}, optional={"containers": wrap(st.integers(0, 3000)), "stopped_by": ANY,
                                            "mem_available_mb": number,
                                            "steps": wrap(st.lists(step, max_size=4))})), max_size=2))}))
    bounds = st.one_of(st.lists(st.floats(0, 100), min_size=2, max_size=2).map(sorted),
                       st.tuples(st.none(), st.floats(0, 100)).map(list),
                       st.tuples(st.floats(0, 100), st.none()).map(list))
    entry = wrap(st.fixed_dictionaries(
        {"mode": wrap(st.sampled_from(["faithful", "max-speed"]))},
        optional={"workers": wrap(st.integers(1, 10)), "max_workers": wrap(st.integers(1, 10)),
                  "rng_layout": wrap(st.sampled_from(["single", "per-node"]))})
        .flatmap(lambda e: st.builds(lambda key, b: dict(e, **{key: b}) if isinstance(e, dict) else e,
                                     st.sampled_from(["per_worker", "rate"]), wrap(bounds))))
    return st.tuples(st.fixed_dictionaries({}, optional={"run": run, "sweep": sweep, "overhead": overhead,
                                                         "density": density}),
                     wrap(st.lists(entry, max_size=3)))


def _summarise_or_refuse(raw: dict, expect: Any) -> Dict[str, Any] | None:
    """The module's path without files: check, summarise, render. Returns
    the summary, or None when the checks refused the input (one line)."""
    try:
        data = results.check(raw)
        checked_expect = results.check_expect(expect)
    except ReportError as exc:
        assert "\n" not in str(exc) and ": " in str(exc)
        return None
    summary = bench_summary.summarise(data)
    summary["expectations"] = bench_summary.expectations(summary, checked_expect)
    doc = document.blocks(summary, {})
    doc[2:2] = document.expectation_blocks(summary["expectations"])
    assert markdown.to_markdown(doc).startswith("# pirack benchmark")
    assert html_page.to_html(doc, {}).startswith("<!DOCTYPE html>")
    tables.csv_files(summary)
    json.dumps(summary, default=str)
    return summary


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_files(maybe))
def test_random_raw_files_raise_only_the_report_error(case: tuple) -> None:
    _summarise_or_refuse(*case)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_files(lambda strategy: strategy))
def test_well_formed_files_with_random_numbers_always_summarise(case: tuple) -> None:
    summary = _summarise_or_refuse(*case)
    assert summary is not None, "well-formed files were refused"
    for row in summary.get("overhead", []):
        assert row["ratio"] is None or row["ratio_min"] <= row["ratio"] <= row["ratio_max"]
    for result in summary["expectations"]:
        assert result["ok"] in (True, False, None) and "\n" not in result["message"]


def test_recordings_handed_in_are_written_with_the_report_all_at_once(tmp_path: Path) -> None:
    """The role hands its raw recordings to the report module instead of
    writing each file in a task of its own: one call, one commit."""
    local = {name: json.loads((LOCAL_RUN / name).read_text()) for name in ("run.json", "overhead.json")}
    folder = tmp_path / "results" / "20261207T190000Z"
    summary, files = report.write_report(str(folder), draw=False, recordings=local)
    assert not folder.exists()  # rendering writes nothing
    assert json.loads(files["overhead.json"]) == local["overhead.json"] and "report.md" in files
    report.commit(str(folder), files, report.changed_files(str(folder), files))
    assert report.changed_files(str(folder), files) == []
    again, _ = report.write_report(str(folder), draw=False)  # read back from the files
    assert again["overhead"] == summary["overhead"]
    with pytest.raises(ReportError, match=r"^recordings: '../run.json' is not a raw file of a benchmark"):
        report.write_report(str(folder), draw=False, recordings={"../run.json": {}})


def test_latest_points_at_the_newest_folder_and_refuses_anything_but_a_link(tmp_path: Path) -> None:
    first, second = tmp_path / "A", tmp_path / "B"
    first.mkdir()
    second.mkdir()
    latest = tmp_path / "latest"
    assert report.point_latest(str(latest), str(first)) is True
    assert os.readlink(latest) == "A"
    assert report.point_latest(str(latest), str(first)) is False
    assert report.point_latest(str(latest), str(second)) is True and os.readlink(latest) == "B"
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    with pytest.raises(ReportError, match="blocked exists and is not a link"):
        report.point_latest(str(blocked), str(first))
