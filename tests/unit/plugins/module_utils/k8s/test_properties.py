"""Property tests: random values at the Kubernetes validation and planning
functions never escape as anything but their own error, and a plan applied
to the node it was made from leaves nothing more to do."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils import errors
from ansible_collections.pirack.cluster.plugins.module_utils.k8s import client, service
from fake_api import FakeApi, load
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Anything JSON or YAML could hold.
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)

# Values that look right more often than chance would make them, so the
# checks past the first are reached too.
label_chars = st.sampled_from("abcxyz019-_./ AZ")
plausible_keys = st.text(label_chars, min_size=0, max_size=12) | st.sampled_from(
    ["pirack.io/cluster", "pirack.io/pi-model", "dedicated", "node.kubernetes.io/maintenance", "a/b/c", ""])
plausible_values = (st.none() | st.integers(-5, 5) | st.booleans() | st.floats()
                    | st.text(label_chars, max_size=70) | json_values)
labels_option = st.none() | json_values | st.dictionaries(plausible_keys, plausible_values, max_size=5)
taint = st.fixed_dictionaries({}, optional={
    "key": plausible_keys | json_values,
    "value": st.none() | st.text(label_chars, max_size=10) | json_values,
    "effect": st.sampled_from(service.TAINT_EFFECTS) | json_values,
    "state": st.sampled_from(["present", "absent"]) | json_values,
})
taints_option = st.none() | json_values | st.lists(taint | json_values, max_size=4)
cordon_option = st.sampled_from(service.CORDON_REQUESTS + (None,)) | json_values


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """The strategy's values, or any JSON value in their place."""
    return strategy | json_values


nodes = maybe(st.fixed_dictionaries({}, optional={
    "metadata": maybe(st.fixed_dictionaries({}, optional={
        "name": maybe(st.text(max_size=10)),
        "labels": maybe(st.dictionaries(st.text(max_size=10), json_values, max_size=4)),
        "annotations": maybe(st.dictionaries(
            st.sampled_from([service.CORDON_MARK, "x"]),
            maybe(st.sampled_from([service.CORDON_OWNER, "someone"])), max_size=2)),
    })),
    "spec": maybe(st.fixed_dictionaries({}, optional={
        "unschedulable": json_values,
        "taints": maybe(st.lists(maybe(taint), max_size=3)),
    })),
    "status": maybe(st.fixed_dictionaries({}, optional={
        "conditions": maybe(st.lists(maybe(st.fixed_dictionaries({}, optional={
            "type": maybe(st.just("Ready")), "status": maybe(st.sampled_from(["True", "False"]))})), max_size=3)),
        "nodeInfo": json_values, "capacity": json_values, "addresses": json_values,
    })),
}))

pods = maybe(st.fixed_dictionaries({}, optional={
    "metadata": maybe(st.fixed_dictionaries({}, optional={
        "name": maybe(st.text(max_size=8)), "namespace": maybe(st.text(max_size=8)),
        "uid": maybe(st.text(max_size=8)),
        "ownerReferences": maybe(st.lists(maybe(st.fixed_dictionaries(
            {"kind": maybe(st.sampled_from(["DaemonSet", "ReplicaSet"]))})), max_size=2)),
        "annotations": maybe(st.dictionaries(st.sampled_from([service.MIRROR_ANNOTATION, "x"]), json_values)),
    })),
    "spec": maybe(st.fixed_dictionaries({}, optional={"volumes": maybe(st.lists(json_values, max_size=3))})),
    "status": maybe(st.fixed_dictionaries({}, optional={"phase": maybe(st.sampled_from(["Running", "Failed"]))})),
}))


@SETTINGS
@given(node=nodes, labels=labels_option, taints=taints_option, cordon=cordon_option)
def test_planning_raises_only_node_errors(node: Any, labels: Any, taints: Any, cordon: Any) -> None:
    try:
        before, after = service.desired_node_state(node, labels, taints, cordon)
        patch = service.node_patch(before, after)
    except errors.NodeError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(patch, dict)
    assert (patch == {}) == (before == after)


@SETTINGS
@given(before=json_values, after=json_values)
def test_node_patch_of_anything_else_is_a_node_error(before: Any, after: Any) -> None:
    with pytest.raises(errors.NodeError):
        service.node_patch(before, after)


# Valid options only, from the label alphabet the API accepts.
good_names = st.from_regex(r"\A[a-z0-9]([a-z0-9._-]{0,8}[a-z0-9])?\Z")
good_keys = st.builds(lambda prefix, name: f"{prefix}/{name}" if prefix else name,
                      st.sampled_from(["", "pirack.io", "node.kubernetes.io"]), good_names)
good_labels = st.dictionaries(good_keys, st.none() | good_names | st.integers(0, 99) | st.booleans(), max_size=4)
good_taints = st.lists(st.fixed_dictionaries({
    "key": good_keys, "value": st.none() | good_names, "effect": st.sampled_from(service.TAINT_EFFECTS),
    "state": st.sampled_from(["present", "absent"])}), max_size=3)


@SETTINGS
@given(index=st.integers(0, 2), labels=good_labels, taints=good_taints,
       cordon=st.sampled_from(service.CORDON_REQUESTS + (None,)), unschedulable=st.booleans(),
       mark=st.sampled_from([None, service.CORDON_OWNER, "someone"]))
def test_a_plan_applied_leaves_nothing_to_do(index: int, labels: dict, taints: list, cordon: Any,
                                             unschedulable: bool, mark: Any) -> None:
    """Idempotence as an equality: patch the node the way the API server
    would, plan again with the same options, and the second patch is empty."""
    node = load("nodes.json")["items"][index]
    node["spec"]["unschedulable"] = unschedulable
    if mark:
        node["metadata"].setdefault("annotations", {})[service.CORDON_MARK] = mark
    before, after = service.desired_node_state(node, labels, taints, cordon)
    patched = copy.deepcopy(node)
    FakeApi._merge(patched, service.node_patch(before, after))
    again_before, again_after = service.desired_node_state(patched, labels, taints, cordon)
    assert again_before == after
    assert service.node_patch(again_before, again_after) == {} or cordon in ("drain", "undrain")
    # A drain or undrain settles after one more run at most (the mark follows the cordon).
    FakeApi._merge(patched, service.node_patch(again_before, again_after))
    third_before, third_after = service.desired_node_state(patched, labels, taints, cordon)
    assert service.node_patch(third_before, third_after) == {}


@SETTINGS
@given(pod_list=maybe(st.lists(pods, max_size=4)), flags=st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_drain_plan_raises_only_node_errors(pod_list: Any, flags: tuple) -> None:
    try:
        evict, skipped, blockers = service.drain_plan(pod_list, *flags)
    except errors.NodeError as exc:
        assert "\n" not in str(exc)
        return
    assert len(evict) + len(skipped) + len(blockers) == len(pod_list or [])


@SETTINGS
@given(node=nodes)
def test_node_summary_raises_only_node_errors(node: Any) -> None:
    try:
        summary = service.node_summary(node)
    except errors.NodeError:
        return
    assert isinstance(summary["ready"], bool)


@SETTINGS
@given(items=st.lists(nodes, max_size=4), names=st.lists(st.text(max_size=8), max_size=3))
def test_readiness_problems_never_raise(items: list, names: list) -> None:
    problems = service.readiness_problems(items, names)
    assert set(problems) <= set(names)


@SETTINGS
@given(labels=labels_option, taints=taints_option, name=maybe(st.text(max_size=12)),
       params=st.dictionaries(st.sampled_from(["t", "request_timeout"]), json_values | st.integers()))
def test_option_checks_return_lines_and_never_raise(labels: Any, taints: Any, name: Any, params: dict) -> None:
    lines = (service.label_problems(labels) + service.taint_problems(taints) + client.auth_problems(params)
             + [service.node_name_problem(name) or "", service.seconds_problem(params, "t", 0, 9) or ""])
    assert all(isinstance(line, str) and "\n" not in line for line in lines)


@SETTINGS
@given(data=json_values)
def test_kubeconfig_shape_check_never_raises(data: Any) -> None:
    problem = client.kubeconfig_problem(data)
    assert problem is None or isinstance(problem, str)


@SETTINGS
@given(raw=st.binary(max_size=40) | st.text(max_size=40).map(str.encode),
       content_type=st.none() | st.text(max_size=10))
def test_json_answer_gives_an_object_or_a_value_error(raw: bytes, content_type: Any) -> None:
    try:
        assert isinstance(client.json_answer(raw, content_type), dict)
    except ValueError as exc:
        assert "\n" not in str(exc)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kubeconfigs") / "kubeconfig.yaml"


kubeconfig_texts = (
    st.binary(max_size=60)
    | st.text(max_size=60).map(str.encode)
    # YAML of any shape, and kubeconfigs that are nearly right.
    | json_values.map(lambda v: repr(v).encode())
    | st.fixed_dictionaries({}, optional={
        "clusters": maybe(st.lists(maybe(st.fixed_dictionaries(
            {"name": maybe(st.just("a")), "cluster": maybe(st.fixed_dictionaries({}, optional={
                "server": maybe(st.sampled_from(["http://127.0.0.1:9", "nope", ""])),
                "certificate-authority-data": json_values}))})), max_size=2)),
        "contexts": maybe(st.lists(maybe(st.fixed_dictionaries(
            {"name": maybe(st.just("a")), "context": maybe(st.fixed_dictionaries({}, optional={
                "cluster": maybe(st.just("a")), "user": maybe(st.just("a"))}))})), max_size=2)),
        "users": maybe(st.lists(maybe(st.fixed_dictionaries(
            {"name": maybe(st.just("a")), "user": maybe(st.fixed_dictionaries({}, optional={
                "token": json_values, "username": json_values}))})), max_size=2)),
        "current-context": maybe(st.just("a")),
    }).map(lambda v: __import__("json").dumps(v).encode())
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=kubeconfig_texts, context=st.none() | st.sampled_from(["a", "b"]))
def test_any_kubeconfig_loads_or_fails_in_one_line(scratch: Path, content: bytes, context: Any) -> None:
    scratch.write_bytes(content)
    try:
        client.connect(str(scratch), context)
    except errors.K8sClientError as exc:
        assert str(exc).startswith(f"cannot load kubeconfig {scratch}: ")
        assert "\n" not in str(exc)
