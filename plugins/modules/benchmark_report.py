#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn a benchmark result folder into a report, on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
module: benchmark_report
short_description: Write the Markdown/HTML report, CSV tables and plots of a benchmark run
version_added: 0.1.0
description:
  - Reads the raw recordings of a C(pirack.cluster.benchmark) playbook run, handed
    in as O(recordings) or left in a result folder (C(run.json),
    C(sweep-<cluster>.json), C(overhead.json), C(density.json); any but the
    first may be missing) and writes next to them C(report.md), a self-contained C(report.html) (plots inlined),
    C(sweep.csv), C(overhead.csv), C(summary.json) and the PNG plots
    (hash rate vs workers with the ideal line, scaling efficiency, latency vs
    load, container overhead per host, container density).
  - With O(compare_to), the report ends with one table comparing the two folders
    (before/after, swarm vs k3s, Pi rack vs simulated rack).
  - Runs where the result folder is, normally the controller
    (C(delegate_to=localhost)). Also usable ad hoc, for example
    C(ansible localhost -m pirack.cluster.benchmark_report -a "path=results/A compare_to=results/B").
author:
  - pirack.cluster contributors (@pirack)
requirements:
  - matplotlib (for the plots; O(plots=false) writes the report without them)
attributes:
  check_mode:
    description: Says whether a file would change without writing.
    support: full
    details:
      - Computes the report and says whether a file would change, without writing.
  diff_mode:
    description: No diff is shown.
    support: none
  idempotent:
    description: Files are rewritten only when their content changes.
    support: full
    details:
      - Rewrites only files whose content changed.
options:
  path:
    description: The result folder.
    type: path
    required: true
  compare_to:
    description: Another result folder; adds the comparison table (A = this one, B = O(path)).
    type: path
  plots:
    description: Draw the PNG plots (needs matplotlib on the controller).
    type: bool
    default: true
  expect:
    description:
      - Expected sweep figures, checked after the report is written; each miss is
        returned in RV(unmet) with the number measured (the benchmark role fails on
        it). An entry selects sweep points by C(mode) and optionally C(rng_layout),
        C(cluster), C(workers) (exact) or C(max_workers), and bounds either
        C(per_worker) (hashes/s per worker over the selected points) or C(rate)
        (hashes/s of each point) as C([low, high]), either side null for open.
      - Points the run did not measure are reported as not measured, not missed.
    type: list
    elements: dict
    default: []
  recordings:
    description:
      - Raw recordings of this run to write into O(path) with the report, by file
        name (C(run.json), C(overhead.json), C(density.json), C(sweep-<cluster>.json)),
        each the data as the benchmark role recorded it. They take the place of files
        of those names; O(path) is made when it does not exist.
    type: dict
    default: {}
  latest:
    description:
      - A link to point at O(path) once the report is written (the role's
        C(results/latest)); replaced when it points elsewhere.
    type: path
notes:
  - Every file is written to a temporary file first and all are renamed at the
    end; on any failure nothing in the folder is replaced. A raw file that is
    not what the benchmark role writes fails with one line naming the file and
    the field.
seealso:
  - module: pirack.cluster.benchmark_probe
  - module: pirack.cluster.benchmark_density
  - module: pirack.cluster.benchmark_overhead
"""

EXAMPLES = r"""
- name: Write the report of this run
  pirack.cluster.benchmark_report:
    path: "{{ benchmark_run_dir }}"
  delegate_to: localhost
  run_once: true
  register: report

- name: Fail loudly if the faithful coin-miner got slower
  pirack.cluster.benchmark_report:
    path: "{{ benchmark_run_dir }}"
    expect:
      - {mode: faithful, max_workers: 8, per_worker: [3.2, 3.4]}
      - {mode: faithful, rng_layout: single, workers: 10, rate: [30, null]}
  delegate_to: localhost
  register: report
  failed_when: report.unmet | length > 0

- name: Compare a k3s run with a swarm run
  pirack.cluster.benchmark_report:
    path: results/20261124T101500
    compare_to: results/20261123T180000
  delegate_to: localhost
"""

RETURN = r"""
files:
  description: Files of the report, with their full paths.
  returned: always
  type: list
  elements: str
headline:
  description: The sentences of the one-screen summary (peak rate, knee, bottleneck, overhead).
  returned: always
  type: list
  elements: str
summary:
  description: Every number of the report as data (sweep rows and series, overhead rows, density rows, comparison rows).
  returned: always
  type: dict
changed_files:
  description: Names of the files that were (or in check mode would be) rewritten.
  returned: always
  type: list
  elements: str
expectations:
  description:
    - Each O(expect) entry per cluster, with the figure measured and whether it
      is in range (null when not measured).
  returned: always
  type: list
  elements: dict
unmet:
  description: One line per missed expectation, naming the figure, the number measured and the range.
  returned: always
  type: list
  elements: str
"""

import os  # noqa: E402
import traceback  # noqa: E402

from ansible.module_utils.basic import missing_required_lib  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.bench.report import (  # noqa: E402
    changed_files,
    commit,
    point_latest,
    write_report,
)
from ansible_collections.pirack.cluster.plugins.module_utils.bench.results import (  # noqa: E402
    ReportError,
    check_expect,
)
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402

try:
    import matplotlib  # noqa: F401

    HAS_MATPLOTLIB = True
    MATPLOTLIB_ERROR = None
except ImportError:
    HAS_MATPLOTLIB = False
    MATPLOTLIB_ERROR = traceback.format_exc()


def main() -> None:
    """Entry point: check the options and the raw files, render everything
    in memory, then write only what changed, all or none."""
    module = build_module(
        argument_spec={
            "path": {"type": "path", "required": True},
            "compare_to": {"type": "path"},
            "plots": {"type": "bool", "default": True},
            "expect": {"type": "list", "elements": "dict", "default": []},
            "recordings": {"type": "dict", "default": {}},
            "latest": {"type": "path"},
        },
        supports_check_mode=True,
    )
    folder = module.params["path"]
    if module.params["plots"] and not HAS_MATPLOTLIB:
        module.fail_json(msg=missing_required_lib("matplotlib"), exception=MATPLOTLIB_ERROR)
    try:
        expect = check_expect(module.params["expect"])
        recordings = module.params["recordings"]
        for option in ("path", "compare_to"):
            where = module.params[option]
            if where is not None and not os.path.isdir(where) and not (option == "path" and recordings):
                raise ReportError(f"{option}: {where} is not a folder of benchmark results")
        summary, files = write_report(folder, module.params["compare_to"],
                                      draw=module.params["plots"], expect=expect, recordings=recordings)
        changed = changed_files(folder, files)
        if changed and not module.check_mode:
            commit(folder, files, changed)
        latest = module.params["latest"]
        if latest and not module.check_mode:
            moved = point_latest(latest, folder)
        else:
            moved = bool(latest) and os.path.realpath(latest) != os.path.realpath(folder)
    except ReportError as exc:
        module.fail_json(msg=str(exc))
    unmet = [r["message"] for r in summary["expectations"] if r["ok"] is False]
    module.exit_json(changed=bool(changed) or moved, changed_files=changed,
                     files=[os.path.join(folder, name) for name in sorted(files)],
                     headline=summary["headline"], summary=summary,
                     expectations=summary["expectations"], unmet=unmet)


if __name__ == "__main__":
    main()
