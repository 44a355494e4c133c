"""The merged table of many hosts' docker_op answers, and its text."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.pirack.cluster.plugins.filter.docker_table import (
    LAYOUTS,
    FilterModule,
    docker_table,
    text_table,
)

PS_OK = {"changed": False, "op": "ps", "containers": [
    {"name": "redis", "image": "redis:7", "state": "running", "status": "Up 2 hours"},
    {"name": "worker", "image": "coin/worker", "state": "running", "status": "Up 1 hour"},
]}
PS_EMPTY = {"changed": False, "op": "ps", "containers": []}
PS_FAILED = {"failed": True, "msg": "no Docker engine answers at unix:///var/run/docker.sock"}
UNREACHABLE = {"unreachable": True, "msg": "Task failed: Failed to connect to the host via ssh: timed out"}


def test_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {"docker_table", "text_table"}


def test_documented_ops_are_the_layouts() -> None:
    doc = yaml.safe_load((Path(docker_table.__code__.co_filename).with_name("docker_table.yml")).read_text())
    assert sorted(doc["DOCUMENTATION"]["options"]["op"]["choices"]) == sorted(LAYOUTS)


def test_every_host_gets_a_row_whatever_happened() -> None:
    results = {"w1": PS_OK, "w2": PS_EMPTY, "w3": PS_FAILED, "w4": UNREACHABLE, "w5": None}
    table = docker_table(results, "ps", ["w1", "w2", "w3", "w4", "w5", "w6"])
    assert table["columns"] == ["HOST", "RESULT", "CONTAINER", "IMAGE", "STATE", "STATUS"]
    assert [r[:3] for r in table["rows"]] == [
        ["w1", "ok", "redis"], ["w1", "ok", "worker"], ["w2", "ok", "(none)"],
        ["w3", "FAILED", PS_FAILED["msg"]],
        ["w4", "UNREACHABLE", "Failed to connect to the host via ssh: timed out"],
        ["w5", "NO ANSWER", "the play did not run on this host"],
        ["w6", "NO ANSWER", "the play did not run on this host"],
    ]
    assert table["ok"] == ["w1", "w2"]
    assert table["failed"] == ["w3"]
    assert table["unreachable"] == ["w4"]
    assert table["no_answer"] == ["w5", "w6"]


def test_one_row_per_host_ops_and_changed_status() -> None:
    results = {"m": {"changed": True, "container": {"name": "web", "state": "exited"}}}
    table = docker_table(results, "stop")
    assert table["rows"] == [["m", "changed", "web", "exited"]]


def test_prune_summary_counts_by_kind() -> None:
    deleted = {"containers": ["a", "b"], "images": []}
    results = {"m": {"changed": True, "deleted": deleted, "reclaimed_mb": 12.5}}
    assert docker_table(results, "prune")["rows"] == [["m", "changed", "containers 2, images 0", 12.5]]


def test_unknown_op_names_the_known_ones() -> None:
    with pytest.raises(AnsibleFilterError, match="known: exec, images"):
        docker_table({}, "restart")


def test_long_reasons_are_cut_to_one_short_line() -> None:
    row = docker_table({"h": {"failed": True, "msg": "x\n" * 200}}, "ps")["rows"][0]
    assert len(row[2]) == 90 and row[2].endswith("...") and "\n" not in row[2]


def test_text_table_aligns_and_failures_do_not_widen_columns() -> None:
    text = text_table(docker_table({"c1-worker1": PS_OK, "c1-worker2": PS_FAILED}, "ps"))
    lines = text.splitlines()
    assert lines[0].split() == ["HOST", "RESULT", "CONTAINER", "IMAGE", "STATE", "STATUS"]
    assert lines[1].index("redis") == lines[0].index("CONTAINER")
    # CONTAINER is as wide as "worker", not as the error message.
    assert lines[0].index("IMAGE") - lines[0].index("CONTAINER") == len("CONTAINER") + 2
    assert lines[3].startswith("c1-worker2  FAILED  no Docker engine answers")
    assert lines[-1] == "2 hosts: 1 answered, 1 failed (c1-worker2)"
