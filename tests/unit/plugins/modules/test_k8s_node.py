"""k8s_node: check mode, diff, idempotence, drain and delete, over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.pirack.cluster.plugins.modules import k8s_node
from fake_api import FakeApi, run_module


@pytest.fixture
def args(api: FakeApi, tmp_path: Path) -> dict:
    return {"kubeconfig": str(api.kubeconfig(tmp_path)), "name": "c1-worker1"}


def test_label_and_taint_then_rerun_changes_nothing(api: FakeApi, args: dict, capsys) -> None:
    args.update(labels={"pirack.io/rack-slot": "1", "pirack.io/cluster": None},
                taints=[{"key": "dedicated", "value": "coinminer", "effect": "NoSchedule"}])
    first = run_module(k8s_node.main, dict(args), capsys)
    assert first["changed"] is True
    assert first["diff"]["after"]["labels"]["pirack.io/rack-slot"] == "1"
    assert first["node"]["taints"] == [{"key": "dedicated", "value": "coinminer", "effect": "NoSchedule"}]
    second = run_module(k8s_node.main, dict(args), capsys)
    assert second["changed"] is False
    assert len(api.calls("PATCH")) == 1


def test_check_mode_reports_without_patching(api: FakeApi, args: dict, capsys) -> None:
    result = run_module(k8s_node.main, {**args, "schedulable": False, "_ansible_check_mode": True}, capsys)
    assert result["changed"] is True
    assert result["diff"]["before"]["unschedulable"] is False
    assert result["diff"]["after"]["unschedulable"] is True
    assert api.calls("PATCH") == []


def test_drain_cordons_evicts_and_is_idempotent(api: FakeApi, args: dict, capsys) -> None:
    api.evictions["redis-5c8b-fghij"] = [429, 201]
    args.update(state="drained", delete_emptydir_data=True, drain_retry_delay=1)
    first = run_module(k8s_node.main, dict(args), capsys)
    assert first["changed"] is True
    assert first["node"]["unschedulable"] is True
    assert len(first["drain"]["evicted"]) == 3
    second = run_module(k8s_node.main, dict(args), capsys)
    assert second["changed"] is False
    assert "drain" not in second
    uncordon = run_module(k8s_node.main, {**args, "state": "present", "schedulable": True}, capsys)
    assert uncordon["changed"] is True and uncordon["node"]["unschedulable"] is False


def test_drain_blocked_by_budget_fails_with_pod_and_reason(api: FakeApi, args: dict, capsys) -> None:
    api.evictions["redis-5c8b-fghij"] = [429]
    result = run_module(k8s_node.main, {**args, "state": "drained", "delete_emptydir_data": True,
                                        "drain_timeout": 1, "drain_retry_delay": 1}, capsys)
    assert result["failed"] is True
    assert "dockercoins/redis-5c8b-fghij (eviction refused: 429 Cannot evict pod" in result["msg"]


def test_delete_and_delete_again(api: FakeApi, args: dict, capsys) -> None:
    check = run_module(k8s_node.main, {**args, "state": "absent", "_ansible_check_mode": True}, capsys)
    assert check["changed"] is True
    assert "c1-worker1" in api.nodes
    assert run_module(k8s_node.main, {**args, "state": "absent"}, capsys)["changed"] is True
    assert "c1-worker1" not in api.nodes
    assert run_module(k8s_node.main, {**args, "state": "absent"}, capsys)["changed"] is False


def test_unknown_node_and_bad_taint_effect(args: dict, capsys) -> None:
    result = run_module(k8s_node.main, {**args, "name": "c9-worker1", "schedulable": True}, capsys)
    assert result["failed"] is True and "c9-worker1 is not registered" in result["msg"]
    result = run_module(k8s_node.main, {**args, "taints": [{"key": "a", "effect": "NoWay"}]}, capsys)
    assert result["failed"] is True and "NoWay" in result["msg"]
