# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters that turn what pirack.cluster.docker_op answered on many
hosts into one table: ``docker_table`` merges the answers, ``text_table``
prints the merge.

A host that failed or was unreachable gets a row too, because a missing row
reads as "nothing running there", which is the wrong conclusion. Each filter
is documented in the YAML file of its own name next to this one.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

from ansible.errors import AnsibleFilterError

Cell = Union[str, int, float, None]
# How a column gets its value from one item (or from the whole host result).
Getter = Callable[[Any], Cell]


def _path(dotted: str) -> Getter:
    """Getter for ``a.b`` inside nested dicts; absent parts give None."""

    def get(value: Any) -> Cell:
        for part in dotted.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return get


def _same(value: Any) -> Cell:
    return value


def _tags(image: dict) -> str:
    return ", ".join(image.get("tags") or []) or "<none>"


def _deleted(result: dict) -> str:
    deleted = result.get("deleted") or {}
    return ", ".join(f"{kind} {len(items)}" for kind, items in deleted.items()) or "nothing"


# op -> (key of the list that becomes one row per item, or None for one row
# per host; the columns as (title, getter)).
LAYOUTS: dict[str, tuple[Optional[str], list[tuple[str, Getter]]]] = {
    "ps": ("containers", [("CONTAINER", _path("name")), ("IMAGE", _path("image")),
                          ("STATE", _path("state")), ("STATUS", _path("status"))]),
    "images": ("images", [("IMAGE", _tags), ("ID", _path("id")), ("SIZE MB", _path("size_mb"))]),
    "stats": ("stats", [("CONTAINER", _path("name")), ("CPU %", _path("cpu_percent")),
                        ("MEM MB", _path("memory_mb")), ("MEM %", _path("memory_percent"))]),
    "logs": ("lines", [("LOG", _same)]),
    "run": ("stdout_lines", [("OUTPUT", _same)]),
    "exec": ("stdout_lines", [("OUTPUT", _same)]),
    "info": (None, [("VERSION", _path("engine.version")), ("STORAGE", _path("engine.storage_driver")),
                    ("CGROUP", _path("engine.cgroup_version")), ("ARCH", _path("engine.architecture")),
                    ("MEM MB", _path("engine.mem_total_mb")),
                    ("RUNNING", _path("engine.containers_running"))]),
    "pull": (None, [("IMAGE", _path("image")), ("ID", _path("id"))]),
    "import": (None, [("IMAGE", _path("image")), ("ID", _path("id"))]),
    "stop": (None, [("CONTAINER", _path("container.name")), ("STATE", _path("container.state"))]),
    "rm": (None, [("CONTAINER", _path("container.name")), ("STATE", _path("container.state"))]),
    "prune": (None, [("DELETED", _deleted), ("RECLAIMED MB", _path("reclaimed_mb"))]),
}


def _status(result: Optional[dict]) -> str:
    if not isinstance(result, dict):
        return "NO ANSWER"
    if result.get("unreachable"):
        return "UNREACHABLE"
    if result.get("failed"):
        return "FAILED"
    if result.get("skipped"):
        return "SKIPPED"
    return "changed" if result.get("changed") else "ok"


def _reason(result: Optional[dict], limit: int = 90) -> str:
    """The one line that says why a host has no data, short enough for a table."""
    if not isinstance(result, dict):
        return "the play did not run on this host"
    text = " ".join(str(result.get("msg") or "no message").split())
    text = text.removeprefix("Task failed: ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def docker_table(results: Any, op: str, hosts: Optional[list] = None) -> dict:
    """Merge per-host docker_op results into one table.

    ``results`` maps host name to the registered result (None for a host
    that has none). ``hosts`` fixes the host order and
    makes hosts without any result show up; by default the mapping's keys.
    Returns ``columns``, ``rows`` (lists of cells) and the host names by
    outcome, so a caller can both print and act on it.
    """
    if op not in LAYOUTS:
        raise AnsibleFilterError(f"docker_table: unknown op {op!r}; known: {', '.join(sorted(LAYOUTS))}")
    items_key, columns = LAYOUTS[op]
    names = list(hosts) if hosts is not None else sorted(results)
    table: dict[str, Any] = {"op": op, "columns": ["HOST", "RESULT"] + [c[0] for c in columns], "rows": [],
                             "ok": [], "failed": [], "unreachable": [], "no_answer": []}
    blanks: list[Cell] = [""] * (len(columns) - 1)
    for host in names:
        result = results.get(host)
        status = _status(result)
        if status in ("FAILED", "UNREACHABLE", "NO ANSWER", "SKIPPED"):
            key = {"FAILED": "failed", "UNREACHABLE": "unreachable"}.get(status, "no_answer")
            table[key].append(host)
            table["rows"].append([host, status, _reason(result)] + blanks)
            continue
        table["ok"].append(host)
        if items_key is None:
            table["rows"].append([host, status] + [get(result) for _, get in columns])
            continue
        items = result.get(items_key) or []
        if not items:
            table["rows"].append([host, status, "(none)"] + blanks)
        for item in items:
            table["rows"].append([host, status] + [get(item) for _, get in columns])
    return table


def _text(cell: Cell) -> str:
    if cell is None:
        return "-"
    if isinstance(cell, float):
        return f"{cell:g}"
    return str(cell)


def text_table(table: dict) -> str:
    """Aligned plain text of a docker_table, with a one-line summary under it.

    A row that only carries a failure reason does not set the column widths:
    one long error message would otherwise push every other row apart.
    """
    header = [_text(c) for c in table["columns"]]
    rows = [[_text(c) for c in row] for row in table["rows"]]
    failures = {"FAILED", "UNREACHABLE", "NO ANSWER", "SKIPPED"}
    data = [header] + [r for r in rows if r[1] not in failures]
    widths = [max(len(line[i]) for line in data) for i in range(len(header))]
    widths[:2] = [max(widths[i], *(len(r[i]) for r in rows)) if rows else widths[i] for i in range(2)]

    def render(line: list[str]) -> str:
        if line is not header and line[1] in failures:
            return "  ".join([line[0].ljust(widths[0]), line[1].ljust(widths[1]), line[2]])
        return "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()

    total = sum(len(table[key]) for key in ("ok", "failed", "unreachable", "no_answer"))
    summary = f"{total} hosts: {len(table['ok'])} answered"
    for key in ("failed", "unreachable", "no_answer"):
        if table[key]:
            summary += f", {len(table[key])} {key.replace('_', ' ')} ({', '.join(table[key])})"
    return "\n".join([render(header)] + [render(r) for r in rows] + ["", summary])


class FilterModule:
    """Registers the filters under pirack.cluster."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"docker_table": docker_table, "text_table": text_table}
