# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a benchmark result folder and checking what it holds.

The raw files are written by the benchmark role, but a person can edit them,
copy a half-written folder or point the report at the wrong directory. Every
shape the report's arithmetic relies on is checked here, once, so the
summarising code can trust its input and a bad file is reported as one line
naming the file and the field (`sweep.json: points[2].samples: ...`) instead
of a traceback from deep inside the statistics.

The checks return normalised copies (worker counts as int, host facts typed),
never the caller's objects.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Callable, Dict, List, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.bench.density import variant_label

RAW_FILES = ("run.json", "sweep.json", "overhead.json", "density.json")
# Counters, seconds and throughputs beyond this are corrupt data; the bound
# also keeps the least-squares sums far from float overflow.
MAX_NUMBER = 1e15


class ReportError(ValueError):
    """A result folder the report cannot be built from, in one line that
    names the file and the field."""


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def printable(text: str) -> str:
    """Names from the files (host names, keys) on one line, whatever they hold."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _fail(where: str, expected: str, value: Any) -> ReportError:
    where = printable(where)
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ReportError(f"{where}: expected {expected}, got {_kind(value)} {shown}")


def _dict(where: str, value: Any) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "an object", value)
    return value


def _list(where: str, value: Any) -> List[Any]:
    if not isinstance(value, list):
        raise _fail(where, "a list", value)
    return value


def _text(where: str, value: Any, empty: bool = True) -> str:
    if not isinstance(value, str) or (not empty and not value):
        raise _fail(where, "a string" if empty else "a non-empty string", value)
    return value


def _number(where: str, value: Any, low: float = -MAX_NUMBER, low_open: bool = False) -> float:
    """A finite float within [low, MAX_NUMBER] (or (low, ...] when low_open)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, "a number", value)
    try:
        number = float(value)
    except OverflowError:
        raise _fail(where, f"a number up to {MAX_NUMBER:g}", value) from None
    if not math.isfinite(number) or number > MAX_NUMBER or number < low or (low_open and number == low):
        bound = f"above {low:g}" if low_open else f"from {low:g}"
        raise _fail(where, f"a number {bound} to {MAX_NUMBER:g}", value)
    return number


def _count(where: str, value: Any, low: int = 0) -> int:
    """A whole number >= low; digit strings too (Ansible templates write them)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() \
            and len(value.strip()) < 16:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_NUMBER:
        raise _fail(where, f"a whole number from {low}", value)
    return value


def _optional(where: str, value: Any, check: Callable[[str, Any], Any]) -> Any:
    return None if value is None else check(where, value)


def _facts(where: str, value: Any) -> Dict[str, Any]:
    """One host's facts as the role records them; cores and memory typed,
    the rest kept as text for the report's table."""
    facts = dict(_dict(where, value))
    for key in ("cores", "memory_mb"):
        if facts.get(key) not in (None, ""):
            facts[key] = _count(f"{where}.{key}", facts[key], 1 if key == "cores" else 0)
        else:
            facts[key] = None
    for key, item in facts.items():
        if key not in ("cores", "memory_mb") and isinstance(item, (dict, list)):
            raise _fail(f"{where}.{key}", "a plain value", item)
    return facts


def check_run(run: Any) -> Dict[str, Any]:
    """run.json: when, how and on what the benchmark ran."""
    out = dict(_dict("run.json", run))
    for key in ("settings", "versions"):
        out[key] = dict(_dict(f"run.json: {key}", out.get(key, {})))
    out["hosts"] = {str(h): _facts(f"run.json: hosts.{h}", f)
                    for h, f in _dict("run.json: hosts", out.get("hosts", {})).items()}
    for key in ("started", "finished", "orchestrator"):
        if isinstance(out.get(key), (dict, list)):
            raise _fail(f"run.json: {key}", "a plain value", out[key])
    return out


def _samples(where: str, value: Any) -> List[List[float]]:
    """[seconds, counter] pairs in strictly increasing time: the rate fits
    divide by the time they span."""
    pairs = []
    for i, item in enumerate(_list(where, value)):
        if not isinstance(item, list) or len(item) != 2:
            raise _fail(f"{where}[{i}]", "a [seconds, value] pair", item)
        pairs.append([_number(f"{where}[{i}][0]", item[0]), _number(f"{where}[{i}][1]", item[1])])
        if i and pairs[-1][0] <= pairs[-2][0]:
            raise _fail(f"{where}[{i}][0]", f"a time after {pairs[-2][0]:g}", item[0])
    return pairs


def _latency(where: str, value: Any) -> Dict[str, Dict[str, Any]]:
    out = {}
    for name, probe in _dict(where, value).items():
        here = f"{where}.{name}"
        probe = _dict(here, probe)
        out[str(name)] = {
            "seconds": [_number(f"{here}.seconds[{i}]", s, 0.0)
                        for i, s in enumerate(_list(f"{here}.seconds", probe.get("seconds", [])))],
            "errors": _count(f"{here}.errors", probe.get("errors", 0)),
            "last_error": None if probe.get("last_error") is None else str(probe["last_error"]),
        }
    return out


def check_sweep(sweep: Any, name: str = "sweep.json") -> Dict[str, Any]:
    """sweep.json (or one cluster's sweep-<cluster>.json): one entry per
    measured point, with the raw counter samples and prober latencies."""
    sweep = _dict(name, sweep)
    settings = dict(_dict(f"{name}: settings", sweep.get("settings", {})))
    warmup = _number(f"{name}: settings.warmup", settings.get("warmup", 0), 0.0)
    window = _number(f"{name}: settings.window", settings.get("window", 5), 0.0, True)
    settings.update(warmup=warmup, window=window)
    points = []
    for i, point in enumerate(_list(f"{name}: points", sweep.get("points"))):
        where = f"{name}: points[{i}]"
        point = _dict(where, point)
        points.append({
            "cluster": _text(f"{where}.cluster", point.get("cluster", "cluster1"), empty=False),
            "mode": _text(f"{where}.mode", point.get("mode"), empty=False),
            "rng_layout": _text(f"{where}.rng_layout", point.get("rng_layout"), empty=False),
            "workers": _count(f"{where}.workers", point.get("workers"), 1),
            "iteration": point.get("iteration") if isinstance(point.get("iteration"), int) else None,
            "warmup": _number(f"{where}.warmup", point.get("warmup", warmup), 0.0),
            "window": _number(f"{where}.window", point.get("window", window), 0.0, True),
            "samples": _samples(f"{where}.samples", point.get("samples", [])),
            "latency": _latency(f"{where}.latency", point.get("latency") or {}),
        })
    return {"settings": settings, "points": points}


def _overhead_test(where: str, runs: Any) -> Dict[str, Any]:
    """One host's test: ABAB pairs ({pairs: [{native, container, snapshots}]}),
    or a single pair as results before pairs were recorded."""
    runs = _dict(where, runs)
    if "pairs" in runs:
        pairs = []
        for i, pair in enumerate(_list(f"{where}.pairs", runs["pairs"])):
            here = f"{where}.pairs[{i}]"
            pair = _dict(here, pair)
            pairs.append({
                "native": _text(f"{here}.native", pair.get("native", "")),
                "container": _text(f"{here}.container", pair.get("container", "")),
                "snapshots": [_text(f"{here}.snapshots[{j}]", s) for j, s in
                              enumerate(_list(f"{here}.snapshots", pair.get("snapshots", [])))],
            })
        return {"pairs": pairs}
    loadavg = _optional(f"{where}.loadavg", runs.get("loadavg"), _list)
    snapshot = ""
    if loadavg:
        snapshot = "/proc/loadavg:" + " ".join(
            f"{_number(f'{where}.loadavg[{j}]', v, 0.0):g}" for j, v in enumerate(loadavg[:3]))
    return {"pairs": [{"native": _text(f"{where}.native", runs.get("native", "")),
                       "container": _text(f"{where}.container", runs.get("container", "")),
                       "snapshots": [snapshot] if snapshot else []}]}


def check_overhead(overhead: Any) -> Dict[str, Any]:
    """overhead.json: per host and sysbench test, the native and container
    outputs and what the host looked like around them; per board (results
    from before the pause have none) the app containers paused meanwhile
    and a snapshot taken before the pause."""
    overhead = _dict("overhead.json", overhead)
    settings = dict(_dict("overhead.json: settings", overhead.get("settings", {})))
    one_at_a_time = settings.get("one_at_a_time")
    settings["one_at_a_time"] = one_at_a_time if isinstance(one_at_a_time, bool) else None
    hosts = {}
    for host, tests in _dict("overhead.json: hosts", overhead.get("hosts", {})).items():
        where = f"overhead.json: hosts.{host}"
        hosts[str(host)] = {str(test): _overhead_test(f"{where}.{test}", runs)
                            for test, runs in _dict(where, tests).items()}
    boards = {}
    for host, board in _dict("overhead.json: boards", overhead.get("boards", {})).items():
        where = f"overhead.json: boards.{host}"
        board = _dict(where, board)
        boards[str(host)] = {
            "paused": [_text(f"{where}.paused[{i}]", name) for i, name in
                       enumerate(_list(f"{where}.paused", board.get("paused", [])))],
            "before": _text(f"{where}.before", board.get("before", "")),
        }
    return {"settings": settings, "hosts": hosts, "boards": boards}


def _density_run(where: str, row: Any, host: Any, variant: Any) -> Dict[str, Any]:
    row = dict(_dict(where, row))
    row["host"] = _text(f"{where}.host", host, empty=False)
    row["variant"] = _text(f"{where}.variant", variant, empty=False)
    row["containers"] = _optional(f"{where}.containers", row.get("containers"), _count)
    row["mem_available_mb"] = _optional(f"{where}.mem_available_mb", row.get("mem_available_mb"), _number)
    row["stopped_by"] = None if row.get("stopped_by") is None else str(row["stopped_by"])
    steps = []
    for i, step in enumerate(_list(f"{where}.steps", row.get("steps", []))):
        here = f"{where}.steps[{i}]"
        step = _dict(here, step)
        steps.append({"containers": _count(f"{here}.containers", step.get("containers")),
                      "mem_used_mb": _optional(f"{here}.mem_used_mb", step.get("mem_used_mb"),
                                               lambda w, v: _number(w, v, 0.0)),
                      "start_s": _optional(f"{here}.start_s", step.get("start_s"),
                                           lambda w, v: _number(w, v, 0.0))})
    row["steps"] = steps
    cost = _dict(f"{where}.breakdown", row.get("breakdown") or {})
    row["breakdown"] = {
        "total_kb": _optional(f"{where}.breakdown.total_kb", cost.get("total_kb"), _number),
        "outside_processes_kb": _optional(f"{where}.breakdown.outside_processes_kb",
                                          cost.get("outside_processes_kb"), _number),
        **{part: {str(k): _optional(f"{where}.breakdown.{part}.{k}", v, _number)
                  for k, v in _dict(f"{where}.breakdown.{part}", cost.get(part) or {}).items()}
           for part in ("processes_kb", "memory_stat_kb")},
    }
    return row


def check_density(density: Any) -> Dict[str, Any]:
    """density.json: per board the list of its ramps, one per compared
    setting (each with the ``settings`` the module answered, which name its
    variant); a file of one ramp per board (``hosts``: {host: ramp}) reads
    as the variant "default"."""
    density = _dict("density.json", density)
    runs = []
    for host, ramps in _dict("density.json: hosts", density.get("hosts", {})).items():
        if isinstance(ramps, dict):
            runs.append(_density_run(f"density.json: hosts.{host}", ramps, host, "default"))
            continue
        for i, row in enumerate(_list(f"density.json: hosts.{host}", ramps)):
            where = f"density.json: hosts.{host}[{i}]"
            settings = _dict(f"{where}.settings", _dict(where, row).get("settings") or {})
            runs.append(_density_run(where, row, host, variant_label(settings)))
    return {"runs": runs}


EXPECT_KEYS = ("mode", "rng_layout", "cluster", "workers", "max_workers", "per_worker", "rate")


def _bound_pair(where: str, value: Any) -> List[Any]:
    """[low, high] hashes/s with either side null (open), not both."""
    if not isinstance(value, list) or len(value) != 2 or value == [None, None]:
        raise _fail(where, "[low, high] (either may be null, not both)", value)
    low, high = (None if v is None else _number(f"{where}[{i}]", v, 0.0) for i, v in enumerate(value))
    if low is not None and high is not None and low > high:
        raise _fail(where, "low <= high", value)
    return [low, high]


def check_expect(expect: Any) -> List[Dict[str, Any]]:
    """The expected sweep figures (the benchmark_report module's `expect`
    option): which rows each entry selects and the range it bounds."""
    out = []
    for i, entry in enumerate(_list("expect", expect)):
        where = f"expect[{i}]"
        entry = _dict(where, entry)
        unknown = sorted(str(k) for k in entry if k not in EXPECT_KEYS)
        if unknown:
            raise ReportError(f"{where}: unknown key(s) {printable(', '.join(unknown))}; "
                              f"expected {', '.join(EXPECT_KEYS)}")
        if ("per_worker" in entry) == ("rate" in entry):
            raise ReportError(f"{where}: expected exactly one of per_worker or rate")
        checked: Dict[str, Any] = {"mode": _text(f"{where}.mode", entry.get("mode"), empty=False)}
        for key in ("rng_layout", "cluster"):
            checked[key] = _optional(f"{where}.{key}", entry.get(key),
                                     lambda w, v: _text(w, v, empty=False))
        for key in ("workers", "max_workers"):
            checked[key] = _optional(f"{where}.{key}", entry.get(key), lambda w, v: _count(w, v, 1))
        bound = "per_worker" if "per_worker" in entry else "rate"
        checked[bound] = _bound_pair(f"{where}.{bound}", entry[bound])
        out.append(checked)
    return out


CHECKS: Dict[str, Callable[[Any], Dict[str, Any]]] = {
    "run": check_run, "sweep": check_sweep, "overhead": check_overhead, "density": check_density,
}


def read_json(path: str) -> Any:
    """A JSON file's content, or ReportError naming the file."""
    name = os.path.basename(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        return json.loads(raw.decode("utf-8"))
    except IsADirectoryError:
        raise ReportError(f"{name}: is a directory, expected a JSON file") from None
    except OSError as exc:
        raise ReportError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ReportError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    except ValueError as exc:  # json.JSONDecodeError, or a number beyond int's digit limit
        raise ReportError(f"{name}: not valid JSON ({str(exc).splitlines()[0]})") from None
    except RecursionError:
        raise ReportError(f"{name}: nested too deeply to be a benchmark result") from None


def check(data: Dict[str, Any]) -> Dict[str, Any]:
    """Every raw part of a result folder, checked and normalised."""
    return {key: CHECKS[key](value) for key, value in data.items() if key in CHECKS}


def recording_name(name: Any) -> str:
    """A raw file's name as a recording handed to the report: one of
    RAW_FILES or sweep-<cluster>.json, nothing with a path in it."""
    if not isinstance(name, str) or not (name in RAW_FILES or (
            name.startswith("sweep-") and name.endswith(".json") and "/" not in name and len(name) > 11)):
        raise ReportError(f"recordings: {printable(str(name))!r} is not a raw file of a benchmark "
                          f"(expected one of {', '.join(RAW_FILES)} or sweep-<cluster>.json)")
    return name


def load(folder: str, recordings: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The checked raw files of a result folder, by name without extension;
    ``recordings`` ({file name: content}) stand in for files not written
    yet (the folder may not exist then)."""
    recordings = {recording_name(name): value for name, value in (recordings or {}).items()}
    if not recordings and not os.path.isdir(folder):
        raise ReportError(f"{folder}: not a folder of benchmark results")
    names = set(recordings)
    if os.path.isdir(folder):
        names |= set(os.listdir(folder))

    def raw(name: str) -> Any:
        return recordings[name] if name in recordings else read_json(os.path.join(folder, name))

    data: Dict[str, Any] = {}
    for name in RAW_FILES:
        if name in recordings or os.path.lexists(os.path.join(folder, name)):
            data[name[:-5]] = CHECKS[name[:-5]](raw(name))
    # The sweep writes one file per cluster (sweep-<cluster>.json); pool them.
    for name in sorted(names):
        if name.startswith("sweep-") and name.endswith(".json"):
            part = check_sweep(raw(name), name)
            merged = data.setdefault("sweep", {"settings": part["settings"], "points": []})
            merged["points"].extend(part["points"])
    if not data:
        raise ReportError(f"{folder}: no benchmark results ({', '.join(RAW_FILES)})")
    return data
