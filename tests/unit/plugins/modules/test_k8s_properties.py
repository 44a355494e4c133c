"""Property tests: random values for every option of the k8s modules, run
against the local API server, end in exit_json or a one-line fail_json,
never a traceback, and a refused call sends nothing that changes the node."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

from ansible_collections.pirack.cluster.plugins.modules import k8s_node, k8s_node_info, k8s_nodes_ready
from fake_api import FakeApi, run_module
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def mostly(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Valid-looking values three times in four, so most examples get past
    the first check and reach the API; any JSON value otherwise."""
    return st.one_of(valid, valid, valid, json_values)


names = mostly(st.sampled_from(["c1-worker1", "c1-worker2", "c1-master", "c9-nope", "C1_bad", ""]))
seconds = mostly(st.integers(0, 3)) | st.integers() | st.sampled_from([-1, 86400, 86401, 10 ** 400])
labels = mostly(st.dictionaries(st.sampled_from(["pirack.io/slot", "a b", "x/", "dedicated"]),
                                st.none() | st.integers(0, 9) | st.text("ab-", max_size=8) | json_values,
                                max_size=3))
taints = mostly(st.lists(mostly(st.fixed_dictionaries({"key": mostly(st.sampled_from(["dedicated", "-bad"]))},
                                                      optional={
    "value": st.none() | st.text("ab", max_size=8) | json_values,
    "effect": mostly(st.sampled_from(["NoSchedule", "NoExecute", "NoWay"])),
    "state": mostly(st.sampled_from(["present", "absent", "gone"])),
})), max_size=3))
bools = mostly(st.booleans())


def options(**spec: st.SearchStrategy) -> st.SearchStrategy:
    """Any subset of the options, each a random value."""
    return st.fixed_dictionaries({}, optional=spec)


auth = {"context": mostly(st.sampled_from(["pirack-cluster1", "other"])),
        "request_timeout": mostly(st.integers(1, 5)) | seconds}


def check(main: Callable[[], None], args: dict[str, Any], api: FakeApi) -> dict[str, Any]:
    """Run the module; assert it answered the way Ansible shows a user."""
    result = run_module(main, args)
    # --hypothesis-show-statistics shows how many examples got past the checks.
    event("refused" if result.get("failed") else "ran")
    if result.get("failed"):
        assert isinstance(result["msg"], str) and result["msg"]
        assert "\n" not in result["msg"], result["msg"]
        assert "Traceback" not in result["msg"]
    return result


def fresh(directory: str) -> tuple[FakeApi, dict[str, Any]]:
    api = FakeApi().__enter__()
    return api, {"kubeconfig": str(api.kubeconfig(Path(directory)))}


@SETTINGS
@given(extra=options(name=names, state=mostly(st.sampled_from(["present", "drained", "undrained", "absent", "x"])),
                     labels=labels, taints=taints, schedulable=bools,
                     drain_timeout=seconds, drain_retry_delay=mostly(st.integers(1, 2)) | seconds,
                     grace_period=seconds, ignore_daemonsets=bools, delete_emptydir_data=bools,
                     force=bools, _ansible_check_mode=st.booleans(), **auth))
def test_k8s_node_answers_every_option_in_one_line(extra: dict) -> None:
    with tempfile.TemporaryDirectory() as directory:
        api, args = fresh(directory)
        try:
            args.setdefault("name", "c1-worker1")
            result = check(k8s_node.main, {**args, **extra}, api)
            if result.get("failed") and not result.get("changed"):
                assert api.calls("PATCH") == [] and api.calls("DELETE") == []
        finally:
            api.__exit__()


@SETTINGS
@given(extra=options(name=mostly(st.lists(names, max_size=3)),
                     label_selector=mostly(st.sampled_from(["pirack.io/pi-model=pi4", "", "=?"])),
                     **auth))
def test_k8s_node_info_answers_every_option_in_one_line(extra: dict) -> None:
    with tempfile.TemporaryDirectory() as directory:
        api, args = fresh(directory)
        try:
            result = check(k8s_node_info.main, {**args, **extra}, api)
            assert result.get("failed") or result["changed"] is False
        finally:
            api.__exit__()


# Names that are Ready in the fake API, or that can never be a node name
# whatever Ansible converts them to: a run that gets past the checks never
# waits (a timeout of 5.0 or "300" is a valid int to Ansible).
ready_or_impossible = st.sampled_from(["c1-worker1", "c1-master", "C1_bad", "", "a b", "-x"]) \
    | st.lists(scalars, min_size=1, max_size=2) | st.dictionaries(st.text(max_size=4), scalars, min_size=1, max_size=2)


@SETTINGS
@given(extra=options(name=mostly(st.lists(ready_or_impossible, max_size=3)), timeout=seconds,
                     sleep=mostly(st.integers(1, 2)) | seconds, **auth))
def test_k8s_nodes_ready_answers_every_option_in_one_line(extra: dict) -> None:
    if not isinstance(extra.get("name", []), list):
        extra["name"] = ["c1-worker1"]  # a scalar name becomes a list of one: it must be a Ready node
    with tempfile.TemporaryDirectory() as directory:
        api, args = fresh(directory)
        try:
            check(k8s_nodes_ready.main, {"name": ["c1-worker1"], **args, **extra}, api)
        finally:
            api.__exit__()


good_names = st.from_regex(r"\A[a-z0-9]([a-z0-9._-]{0,6}[a-z0-9])?\Z")
good_keys = st.builds(lambda prefix, name: f"{prefix}/{name}" if prefix else name,
                      st.sampled_from(["", "pirack.io"]), good_names)
state_and_schedulable = st.sampled_from([
    {"state": "present"}, {"state": "present", "schedulable": True}, {"state": "present", "schedulable": False},
    {"state": "drained"}, {"state": "drained", "schedulable": False}, {"state": "undrained"}, {"state": "absent"}])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choice=state_and_schedulable, unschedulable=st.booleans(),
       mark=st.sampled_from([None, "pirack.cluster", "someone"]),
       labels=st.none() | st.dictionaries(good_keys, st.none() | good_names | st.integers(0, 9), max_size=3),
       taints=st.none() | st.lists(st.fixed_dictionaries({
           "key": good_keys, "effect": st.sampled_from(["NoSchedule", "NoExecute"]),
           "value": st.none() | good_names, "state": st.sampled_from(["present", "absent"])}), max_size=2))
def test_k8s_node_valid_options_apply_then_change_nothing(choice: dict, unschedulable: bool, mark: Any,
                                                          labels: Any, taints: Any) -> None:
    """Any valid request succeeds against the API and a second run reports no
    change and sends no write: idempotence over the whole module."""
    with tempfile.TemporaryDirectory() as directory:
        api, args = fresh(directory)
        try:
            node = api.nodes["c1-worker1"]
            node["spec"]["unschedulable"] = unschedulable
            if mark:
                node["metadata"]["annotations"] = {"pirack.io/cordoned-by": mark}
            args.update(name="c1-worker1", labels=labels, taints=taints, force=True, delete_emptydir_data=True,
                        drain_retry_delay=1, **choice)
            first = check(k8s_node.main, args, api)
            assert "failed" not in first, first["msg"]
            writes = len(api.calls("PATCH") + api.calls("DELETE") + api.calls("POST"))
            second = check(k8s_node.main, args, api)
            assert second["changed"] is False, second
            assert len(api.calls("PATCH") + api.calls("DELETE") + api.calls("POST")) == writes
        finally:
            api.__exit__()
