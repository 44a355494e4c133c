# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From a benchmark result folder to the files of its report.

A result folder (results/<timestamp>/ on the controller) holds the raw
recordings the playbook wrote: run.json (inventory, versions, settings),
sweep.json, overhead.json and density.json (each optional, so a run with a
step turned off still reports). results.py reads and checks them,
summary.py decides what they say, document.py lays that out once and
markdown.py, html_page.py, tables.py and plots.py render it; nothing is
written until ``commit`` writes every file, all or none.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.pirack.cluster.plugins.module_utils.bench.document import (
    blocks,
    comparison_blocks,
    expectation_blocks,
)
from ansible_collections.pirack.cluster.plugins.module_utils.bench.html_page import to_html
from ansible_collections.pirack.cluster.plugins.module_utils.bench.markdown import to_markdown
from ansible_collections.pirack.cluster.plugins.module_utils.bench.plots import plot
from ansible_collections.pirack.cluster.plugins.module_utils.bench.results import ReportError, load
from ansible_collections.pirack.cluster.plugins.module_utils.bench.summary import compare, expectations, summarise
from ansible_collections.pirack.cluster.plugins.module_utils.bench.tables import csv_files


def write_report(folder: str, compare_to: Optional[str] = None, draw: bool = True,
                 expect: Sequence[Mapping[str, Any]] = (),
                 recordings: Optional[Mapping[str, Any]] = None) -> Tuple[Dict[str, Any], Dict[str, bytes]]:
    """Render a result folder's report: (summary, {file name: content}) of
    every file it consists of, PNGs included when `draw`, and the raw
    ``recordings`` handed in (written with the report, all or none). Reads,
    never writes: `changed_files` and `commit` do that, so check mode can
    compare and a failure half-way leaves the folder as it was."""
    data = load(folder, dict(recordings or {}))
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
    texts.update((name, json.dumps(value, indent=2, sort_keys=True) + "\n")
                 for name, value in (recordings or {}).items())
    files = {name: text.encode("utf-8") for name, text in texts.items()}
    files.update((f"{name}.png", png) for name, png in images.items())
    return summary, files


def point_latest(link: str, folder: str) -> bool:
    """Make ``link`` a relative symlink to ``folder`` (results/latest ->
    <timestamp>) unless it is one already; whether it changed. Anything
    but a link in its place is refused."""
    target = os.path.relpath(folder, os.path.dirname(os.path.abspath(link)) or ".")
    if os.path.islink(link) and os.readlink(link) == target:
        return False
    if os.path.lexists(link) and not os.path.islink(link):
        raise ReportError(f"latest: {link} exists and is not a link; nothing was pointed")
    staged = f"{link}.{os.getpid()}.new"
    try:
        os.symlink(target, staged)
        os.replace(staged, link)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(staged)
        raise ReportError(f"latest: cannot point {link} at {folder} ({exc.strerror or exc})") from None
    return True


def changed_files(folder: str, files: Mapping[str, bytes]) -> List[str]:
    """Names of the files whose content differs from what is in `folder`
    (or that are missing). A name taken by something other than a regular
    file (a directory, a link) is refused before anything is written."""
    changed = []
    if not os.path.isdir(folder):
        return sorted(files)
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
    """Write `names` of `files` into `folder` (made when missing), all or none.

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
        os.makedirs(folder, mode=0o755, exist_ok=True)
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
