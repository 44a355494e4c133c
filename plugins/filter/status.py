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


def _size(value: float) -> str:
    """Bytes as a person reads them: 512 B, 63.9 MiB, 21.4 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def board_health(answer: Any) -> str:
    """What pirack.cluster.board_health read on a board, in one line: SoC
    temperature, throttling now and since boot, root filesystem, clock.
    "unknown" where the board does not report it; empty when not read."""
    if not isinstance(answer, Mapping) or answer.get("failed") or answer.get("unreachable") \
            or "rootfs" not in answer:
        return ""
    temperature = answer.get("temperature_c")
    parts = [f"SoC {temperature:.1f} °C" if isinstance(temperature, (int, float)) else "SoC unknown"]
    throttled = answer.get("throttled")
    if isinstance(throttled, Mapping):
        now = ", ".join(throttled.get("now") or []) or "no"
        since = ", ".join(throttled.get("since_boot") or []) or "no"
        parts.append(f"throttled now: {now}, since boot: {since}")
    else:
        parts.append("throttled unknown")
    fs = answer.get("rootfs")
    if isinstance(fs, Mapping) and fs.get("size_bytes"):
        disk = f"disk {_size(fs.get('avail_bytes') or 0)} free ({fs.get('used_percent')} % used)"
        parts.append(disk + (", READ-ONLY" if fs.get("readonly") else ""))
    else:
        parts.append("disk unknown")
    synced = answer.get("clock_synchronised")
    parts.append("clock unknown" if synced is None else "clock synchronised" if synced else "clock NOT synchronised")
    return "; ".join(parts)


def firing_alerts(answer: Any) -> Optional[list[str]]:
    """``alertname (board)`` of each firing alert in Prometheus' /api/v1/alerts
    answer, sorted; None when Prometheus did not answer."""
    try:
        alerts = answer["json"]["data"]["alerts"]
    except (KeyError, TypeError):
        return None
    names = set()
    for alert in alerts if isinstance(alerts, list) else []:
        if not isinstance(alert, Mapping) or alert.get("state") != "firing":
            continue
        labels = alert.get("labels") if isinstance(alert.get("labels"), Mapping) else {}
        where = labels.get("board") or labels.get("service") or labels.get("path")
        names.add(f"{labels.get('alertname', '?')}" + (f" ({where})" if where else ""))
    return sorted(names)


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
        alerts = firing_alerts(cluster.get("alerts"))
        if alerts is not None:
            lines.append(f"  alerts firing: {', '.join(alerts)}" if alerts else "  alerts firing: none")
    if orchestrator == "k3s" and cluster.get("kubeconfig"):
        lines.append(f"  kubeconfig {cluster['kubeconfig']}")
        lines.append(f"  kubectl --kubeconfig {cluster['kubeconfig']} get nodes")
        if cluster.get("merged_into"):
            lines.append(f"  kubectl --context {cluster.get('context')} get nodes"
                         f"   (merged into {cluster['merged_into']})")
    return lines


def rack_status(clusters: Sequence[Mapping[str, Any]], boards: Sequence[Mapping[str, Any]],
                report: Optional[str] = None) -> list[str]:
    """The status screen: per board one line with its health, then per
    cluster its boards, orchestrator, services (running/desired), web UI and
    hash rate, registry, monitoring page and firing alerts and, on k3s, the
    kubeconfig and a kubectl line; last the latest benchmark report.

    ``boards``: ``{name, cluster, model, state, health}`` each (``health``:
    what board_health returned); ``clusters``: ``{name, orchestrator,
    master, address, webui_port, services, first, second, registry,
    prometheus, monitoring, alerts, kubeconfig, context, merged_into}`` each,
    where ``services``, ``first``, ``second`` and ``alerts`` (Prometheus'
    /api/v1/alerts) are the registered answers as Ansible returned them
    (``json`` inside, or ``failed``/``unreachable``).
    """
    if not isinstance(clusters, Sequence) or not isinstance(boards, Sequence):
        raise AnsibleFilterError("rack_status: expects a list of clusters and a list of boards")
    lines = []
    for b in sorted(boards, key=lambda b: str(b.get("name"))):
        health = board_health(b.get("health"))
        lines.append(f"{b.get('name', '?'):<24} {b.get('cluster') or '-':<10} {b.get('model') or '-':<9} "
                     f"{b.get('state')}" + (f"  {health}" if health else ""))
    for cluster in sorted(clusters, key=lambda c: str(c.get("name"))):
        lines.extend(_cluster_lines(cluster, boards))
    lines.append(f"benchmark report: {report}" if report
                 else "benchmark report: none yet (ansible-playbook pirack.cluster.benchmark)")
    return lines


class FilterModule:
    """The status screen."""

    def filters(self) -> dict[str, Any]:
        return {"rack_status": rack_status, "board_state": board_state}
