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
  - Reads the raw recordings a C(pirack.cluster.benchmark) playbook run left in a
    result folder (C(run.json), C(sweep.json), C(overhead.json),
    C(density.json); any of the last three may be missing) and writes next to
    them C(report.md), a self-contained C(report.html) (plots inlined),
    C(sweep.csv), C(overhead.csv), C(summary.json) and the PNG plots
    (hash rate vs workers with the ideal line, scaling efficiency, latency vs
    load, container overhead per host).
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
"""

EXAMPLES = r"""
- name: Write the report of this run
  pirack.cluster.benchmark_report:
    path: "{{ benchmark_run_dir }}"
  delegate_to: localhost
  run_once: true
  register: report

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
"""

import os  # noqa: E402
import traceback  # noqa: E402

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.bench_report import (  # noqa: E402
    write_report,
)

try:
    import matplotlib  # noqa: F401

    HAS_MATPLOTLIB = True
    MATPLOTLIB_ERROR = None
except ImportError:
    HAS_MATPLOTLIB = False
    MATPLOTLIB_ERROR = traceback.format_exc()


def main() -> None:
    """Entry point: summarise, then write only what changed."""
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "compare_to": {"type": "path"},
            "plots": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    folder = module.params["path"]
    if module.params["plots"] and not HAS_MATPLOTLIB:
        module.fail_json(msg=missing_required_lib("matplotlib"), exception=MATPLOTLIB_ERROR)
    # PNGs are drawn straight into the folder, so check mode skips them.
    draw = module.params["plots"] and not module.check_mode
    try:
        summary, files = write_report(folder, module.params["compare_to"], draw=draw)
    except (OSError, ValueError, KeyError) as exc:
        module.fail_json(msg=f"{folder}: cannot build the report: {exc}",
                         exception=traceback.format_exc())
    changed = False
    written = []
    for name, text in sorted(files.items()):
        target = os.path.join(folder, name)
        written.append(target)
        try:
            with open(target, encoding="utf-8") as handle:
                if handle.read() == text:
                    continue
        except OSError:
            pass
        changed = True
        if not module.check_mode:
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(text)
    written += sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".png"))
    module.exit_json(changed=changed, files=written, headline=summary["headline"],
                     summary=summary)


if __name__ == "__main__":
    main()
