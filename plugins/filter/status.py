# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters: the rack's status screen (playbooks/status.yml, and the
summary at the end of site.yml).

The play only reads (board pings, the app_info module's answer, the web
UI's counter) and hands the raw answers here; turning them into lines is
pure, so what an owner reads after a run is unit-tested answer by answer,
including the boards that did not answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from ansible.errors import AnsibleFilterError


def board_state(first: Optional[Mapping[str, Any]], again: Optional[Mapping[str, Any]] = None) -> str:
    """up, unreachable or failed, from the ping of the status play and, for a
    board an earlier play of the same run dropped (no answer there), the ping
    the controller sent it directly."""
    for answer, note in ((first, ""), (again, " (dropped earlier in this run)")):
        if not answer:
            continue
        if answer.get("unreachable"):
            return "unreachable" + note
        if answer.get("failed"):
            return "failed" + note
        return "up" + note
    return "not checked"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def app_services(answer: Any) -> list[dict[str, Any]]:
    """Rows from what pirack.cluster.app_info returned: ``<app>/<service>``,
    running and desired, and the first thing in the way when they differ."""
    services = answer.get("services") if isinstance(answer, Mapping) else None
    app = ((answer or {}).get("invocation") or {}).get("module_args", {}).get("name") \
        if isinstance(answer, Mapping) else None
    rows = []
    for name, state in sorted(services.items()) if isinstance(services, Mapping) else []:
        state = state if isinstance(state, Mapping) else {}
        problems = state.get("problems") if isinstance(state.get("problems"), list) else []
        rows.append({"name": f"{app}/{name}" if app else str(name), "running": _int(state.get("running")),
                     "desired": _int(state.get("desired")), "problem": str(problems[0]) if problems else ""})
    return rows


def _unread(answer: Any) -> Optional[str]:
    """Why a read gave no services (its first line; may be empty), or None when it did."""
    if not isinstance(answer, Mapping):
        return ""
    # failed_when: false in the play keeps "failed" off: no services is the sign.
    if answer.get("failed") or answer.get("unreachable") or "services" not in answer:
        return (str(answer.get("msg") or "").strip().splitlines() or [""])[0][:120]
    return None


def hash_rate(first: Any, second: Any) -> Optional[float]:
    """Hashes per second: the rate the web UI's /json reports itself (fitted
    over its last twenty seconds), else the change between two reads of /json; None
    when neither is there."""
    try:
        if first["json"].get("rate") is not None:
            return float(first["json"]["rate"])
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
    try:
        hashes = second["json"]["hashes"] - first["json"]["hashes"]
        seconds = second["json"]["now"] - first["json"]["now"]
    except (KeyError, TypeError):
        return None
    return hashes / seconds if seconds > 0 else None


def _cluster_lines(cluster: Mapping[str, Any], boards: Sequence[Mapping[str, Any]]) -> list[str]:
    name = cluster.get("name", "?")
    orchestrator = cluster.get("orchestrator") or "?"
    mine = [b for b in boards if b.get("cluster") == name]
    up = sum(1 for b in mine if str(b.get("state", "")).startswith("up"))
    down = [b["name"] for b in mine if not str(b.get("state", "")).startswith("up")]
    lines = [f"{name} ({orchestrator}): {up} of {len(mine)} boards up"
             + (f"; not answering: {', '.join(down)}" if down else "")]
    raw = cluster.get("services")
    why = _unread(raw)
    if why is not None:
        lines.append(f"  services: cannot be read from {cluster.get('master', 'the master')}"
                     + (f" ({why})" if why else ""))
    else:
        rows = app_services(raw)
        if not rows:
            lines.append("  services: none deployed")
        for row in rows:
            mark = "" if row["running"] == row["desired"] else "  <- not all running"
            if mark and row["problem"]:
                mark += f": {row['problem'][:100]}"
            lines.append(f"  {row['name']:<24} {row['running']}/{row['desired']} running{mark}")
    url = f"http://{cluster.get('address')}:{cluster.get('webui_port')}/"
    rate = hash_rate(cluster.get("first"), cluster.get("second"))
    if rate is None:
        lines.append(f"  web UI {url} does not answer")
    else:
        newest = next((r["json"] for r in (cluster.get("second"), cluster.get("first"))
                       if isinstance(r, Mapping) and isinstance(r.get("json"), Mapping)), {})
        coins = newest.get("coins", 0)
        lines.append(f"  web UI {url}  hash rate {rate:.1f} hashes/s, {coins} coins")
    if cluster.get("registry"):
        lines.append(f"  registry {cluster['registry']}")
    if cluster.get("monitoring") and cluster.get("prometheus"):
        lines.append(f"  monitoring {cluster['prometheus']}/consoles/pirack.html")
    if orchestrator == "k3s" and cluster.get("kubeconfig"):
        lines.append(f"  kubeconfig {cluster['kubeconfig']}")
        lines.append(f"  kubectl --kubeconfig {cluster['kubeconfig']} get nodes")
        if cluster.get("merged_into"):
            lines.append(f"  kubectl --context {cluster.get('context')} get nodes"
                         f"   (merged into {cluster['merged_into']})")
    return lines


def rack_status(clusters: Sequence[Mapping[str, Any]], boards: Sequence[Mapping[str, Any]],
                report: Optional[str] = None) -> list[str]:
    """The status screen: per board one line, then per cluster its boards,
    orchestrator, services (running/desired), web UI and hash rate,
    registry and, on k3s, the kubeconfig and a kubectl line; last the
    latest benchmark report.

    ``boards``: ``{name, cluster, model, state}`` each; ``clusters``: ``{name,
    orchestrator, master, address, webui_port, services, first, second,
    registry, kubeconfig, context, merged_into}`` each, where ``services``,
    ``first`` and ``second`` are the registered answers as Ansible returned
    them (``json`` inside, or ``failed``/``unreachable``).
    """
    if not isinstance(clusters, Sequence) or not isinstance(boards, Sequence):
        raise AnsibleFilterError("rack_status: expects a list of clusters and a list of boards")
    lines = [f"{b.get('name', '?'):<24} {b.get('cluster') or '-':<10} {b.get('model') or '-':<9} {b.get('state')}"
             for b in sorted(boards, key=lambda b: str(b.get("name")))]
    for cluster in sorted(clusters, key=lambda c: str(c.get("name"))):
        lines.extend(_cluster_lines(cluster, boards))
    lines.append(f"benchmark report: {report}" if report
                 else "benchmark report: none yet (ansible-playbook pirack.cluster.benchmark)")
    return lines


class FilterModule:
    """The status screen."""

    def filters(self) -> dict[str, Any]:
        return {"rack_status": rack_status, "board_state": board_state}
