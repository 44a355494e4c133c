"""k8s_node: check mode, diff, idempotence, drain and delete, over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import modkit
import pytest
from ansible_collections.pirack.cluster.plugins.filter import rack_facts
from ansible_collections.pirack.cluster.plugins.modules import k8s_node
from fake_api import FakeApi, run_module


@pytest.fixture
def args(api: FakeApi, tmp_path: Path) -> dict:
    return {"kubeconfig": str(api.kubeconfig(tmp_path)), "name": "c1-worker1"}


def test_a_node_of_the_earlier_label_scheme_moves_once(api: FakeApi, args: dict, capsys) -> None:
    """What the k3s role sends (the node_labels filter with retire): a node
    labelled pirack.io/* before the one scheme gets the new keys and loses
    the old ones on its next run, and the run after that changes nothing."""
    labels = api.nodes["c1-worker1"]["metadata"]["labels"]
    for key in ("pirack.role", "pirack.model", "pirack.cluster"):
        del labels[key]
    labels.update({"pirack.io/pi-model": "pi3bplus", "pirack.io/cluster": "cluster1", "pirack.io/rack-position": "1"})
    facts = {"role": "worker", "model": "pi3bplus", "cluster": "cluster1", "position": "1"}
    wanted = dict(rack_facts.node_labels({}, retire=True), **rack_facts.node_labels(facts))
    first = run_module(k8s_node.main, dict(args, labels=wanted), capsys)
    assert first["changed"] is True
    assert rack_facts.node_facts(first["node"]["labels"]) == facts
    assert not [key for key in first["node"]["labels"] if key.startswith("pirack.io/")]
    assert run_module(k8s_node.main, dict(args, labels=wanted), capsys)["changed"] is False


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


MARK = "pirack.io/cordoned-by"


def test_drain_marks_its_cordon_and_undrained_lifts_it(api: FakeApi, args: dict, capsys) -> None:
    drained = run_module(k8s_node.main, {**args, "state": "drained", "delete_emptydir_data": True,
                                         "drain_retry_delay": 1}, capsys)
    assert drained["cordon"] == "ours" and drained["node"]["cordoned_by"] == "pirack.cluster"
    # One patch carries the cordon and its mark.
    assert api.calls("PATCH")[0][2] == {"metadata": {"annotations": {MARK: "pirack.cluster"}},
                                        "spec": {"unschedulable": True}}
    lifted = run_module(k8s_node.main, {**args, "state": "undrained"}, capsys)
    assert lifted["changed"] is True and lifted["cordon"] == "none"
    assert api.nodes["c1-worker1"]["spec"]["unschedulable"] is False
    assert MARK not in api.nodes["c1-worker1"]["metadata"]["annotations"]
    again = run_module(k8s_node.main, {**args, "state": "undrained"}, capsys)
    assert again["changed"] is False
    assert len(api.calls("PATCH")) == 2


def test_undrained_leaves_an_operators_cordon_and_says_so(api: FakeApi, args: dict, capsys) -> None:
    api.nodes["c1-worker1"]["spec"]["unschedulable"] = True
    drained = run_module(k8s_node.main, {**args, "state": "drained", "delete_emptydir_data": True}, capsys)
    assert drained["cordon"] == "other" and drained["node"]["cordoned_by"] is None
    # In a process of its own, as on a host: once the controller's side of
    # Ansible is imported (other tests here do), a module's warnings go to
    # the display instead of into its result.
    result = modkit.run_module("k8s_node", {**args, "state": "undrained"})
    assert result["changed"] is False and result["cordon"] == "other"
    # ansible-core 2.19 wraps warnings in event objects; the text is what matters.
    assert "node c1-worker1 stays cordoned: it carries no pirack.io/cordoned-by" in json.dumps(result["warnings"])
    assert api.nodes["c1-worker1"]["spec"]["unschedulable"] is True
    assert api.calls("PATCH") == []


def test_a_drain_that_fails_after_the_cordon_reports_the_change(api: FakeApi, args: dict, capsys) -> None:
    api.evictions["redis-5c8b-fghij"] = [429]
    result = run_module(k8s_node.main, {**args, "state": "drained", "delete_emptydir_data": True,
                                        "drain_timeout": 1, "drain_retry_delay": 1}, capsys)
    assert result["failed"] is True
    assert result["changed"] is True
    assert result["msg"].endswith("node c1-worker1 is left cordoned (marked pirack.io/cordoned-by=pirack.cluster; "
                                  "state=undrained on a later run lifts it)")
    assert result["node"]["unschedulable"] is True
    assert result["drain"]["evicted"] == ["dockercoins/hasher-66c4-klmno", "dockercoins/worker-7d9f-abcde"]


def test_a_retry_delay_of_zero_is_refused_before_any_eviction(api: FakeApi, args: dict, capsys) -> None:
    api.evictions["redis-5c8b-fghij"] = [429]
    result = run_module(k8s_node.main, {**args, "state": "drained", "delete_emptydir_data": True,
                                        "drain_timeout": 3, "drain_retry_delay": 0}, capsys)
    assert result["failed"] is True
    assert result["msg"] == "drain_retry_delay must be a whole number of seconds from 1 to 300, got 0"
    assert api.requests == []


def test_a_budget_is_asked_about_once_a_second_at_most(api: FakeApi, args: dict, capsys) -> None:
    api.evictions["redis-5c8b-fghij"] = [429]
    run_module(k8s_node.main, {**args, "state": "drained", "delete_emptydir_data": True,
                               "drain_timeout": 3, "drain_retry_delay": 1}, capsys)
    posts = [r for r in api.calls("POST") if "redis-5c8b-fghij" in r[1]]
    assert 3 <= len(posts) <= 5


@pytest.mark.parametrize(("extra", "message"), [
    ({"name": "C1_Worker1"}, "name must be a node name (lowercase letters, digits, '-' and '.', at most 253 "
                             "characters), got 'C1_Worker1'"),
    ({"labels": {"pirack.io/slot": "two words"}}, "labels.pirack.io/slot must be at most 63 letters"),
    ({"taints": [{"key": "-bad", "effect": "NoSchedule"}]}, "taints[0].key '-bad' needs a name"),
    ({"request_timeout": 0}, "request_timeout must be a whole number of seconds from 1 to 3600, got 0"),
    ({"request_timeout": -5}, "request_timeout must be a whole number of seconds from 1 to 3600, got -5"),
    ({"grace_period": -1}, "grace_period must be a whole number of seconds from 0 to 86400, got -1"),
    ({"drain_timeout": 10 ** 400}, "drain_timeout must be a whole number of seconds from 0 to 86400"),
    ({"drain_timeout": "1e400"}, "drain_timeout must be a whole number of seconds from 0 to 86400"),
    ({"request_timeout": "inf"}, "request_timeout: must be a finite int, got inf"),
    ({"state": "undrained", "schedulable": True}, "schedulable cannot be combined with state=undrained"),
    ({"state": "drained", "schedulable": True}, "schedulable=true contradicts state=drained"),
])
def test_bad_options_fail_in_one_line_naming_the_option(
        api: FakeApi, args: dict, capsys, extra: dict, message: str) -> None:
    result = run_module(k8s_node.main, {**args, **extra}, capsys)
    assert result["failed"] is True
    assert message in result["msg"]
    assert "\n" not in result["msg"]
    assert api.requests == []
