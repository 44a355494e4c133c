"""Swarm membership and node specs, from recorded Engine API answers (20.10)."""

from __future__ import annotations

import json
import os

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils import errors, swarm_nodes
from hypothesis import given, settings
from hypothesis import strategies as st

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "swarm")


def recorded(name: str) -> dict:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle)


def test_membership_of_a_worker() -> None:
    assert swarm_nodes.shape_membership(recorded("info-worker.json")) == {
        "state": "active", "node_id": "p3k9f8c2x1q0w7e6r5t4y3u2i", "node_address": "10.99.6.11",
        "managers": ["10.99.6.10:2377"], "is_manager": False, "error": "", "default_addr_pool": []}


def test_membership_of_an_engine_in_no_swarm() -> None:
    info = {"Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                      "Error": "", "RemoteManagers": None}}
    shaped = swarm_nodes.shape_membership(info)
    assert shaped["state"] == "inactive" and shaped["managers"] == [] and shaped["node_id"] == ""
    assert swarm_nodes.shape_membership({})["state"] == "inactive"


def test_membership_of_a_manager_names_its_address_pools() -> None:
    info = {"Swarm": {"LocalNodeState": "active", "ControlAvailable": True,
                      "Cluster": {"ID": "c1", "DefaultAddrPool": ["10.201.0.0/16"], "SubnetSize": 24}}}
    assert swarm_nodes.shape_membership(info)["default_addr_pool"] == ["10.201.0.0/16"]


def test_node_row() -> None:
    assert swarm_nodes.shape_node(recorded("node-worker.json")) == {
        "id": "p3k9f8c2x1q0w7e6r5t4y3u2i", "hostname": "mol-swarm-worker1", "role": "worker",
        "availability": "active", "labels": {"pirack.role": "worker", "pirack.model": "pi3", "pirack.old": "x",
                                             "disk": "ssd"},
        "state": "ready", "address": "10.99.6.11", "leader": False}


@pytest.mark.parametrize(("prefix", "expected"), [
    # The role's rule: pirack.* labels are ours; the hand-set "disk" stays.
    ("pirack.", {"pirack.role": "worker", "pirack.model": "pi4", "disk": "ssd"}),
    (None, {"pirack.role": "worker", "pirack.model": "pi4", "pirack.old": "x", "disk": "ssd"}),
    ("", {"pirack.role": "worker", "pirack.model": "pi4"}),
])
def test_merge_labels(prefix, expected: dict) -> None:
    current = recorded("node-worker.json")["Spec"]["Labels"]
    assert swarm_nodes.merge_labels(current, {"pirack.role": "worker", "pirack.model": "pi4"}, prefix) == expected


def test_desired_spec_changes_only_what_is_asked() -> None:
    spec = recorded("node-worker.json")["Spec"]
    assert swarm_nodes.desired_spec(spec) == spec
    drained = swarm_nodes.desired_spec(spec, availability="drain")
    assert drained == dict(spec, Availability="drain")
    promoted = swarm_nodes.desired_spec(spec, role="manager", labels={"pirack.role": "master"}, owned_prefix="pirack.")
    assert promoted["Role"] == "manager"
    assert promoted["Labels"] == {"pirack.role": "master", "disk": "ssd"}
    assert spec["Labels"]["pirack.old"] == "x", "the recorded spec must not be modified"


def test_desired_spec_with_the_same_values_is_equal_so_nothing_is_sent() -> None:
    spec = recorded("node-worker.json")["Spec"]
    same = swarm_nodes.desired_spec(spec, role="worker", availability="active", labels=dict(spec["Labels"]),
                                    owned_prefix="pirack.")
    assert same == spec


def test_spec_diff_holds_only_what_differs() -> None:
    spec = recorded("node-worker.json")["Spec"]
    assert swarm_nodes.spec_diff(spec, spec) == {"before": {}, "after": {}}
    diff = swarm_nodes.spec_diff(spec, swarm_nodes.desired_spec(spec, availability="drain"))
    assert diff == {"before": {"availability": "active"}, "after": {"availability": "drain"}}
    assert swarm_nodes.spec_diff({"Role": "worker"}, {"Role": "worker", "Labels": {"a": "b"}}) == {
        "before": {"labels": {}}, "after": {"labels": {"a": "b"}}}


def test_join_token_by_role() -> None:
    tokens = {"Worker": "SWMTKN-1-w", "Manager": "SWMTKN-1-m"}
    assert swarm_nodes.join_token(tokens, "manager") == "SWMTKN-1-m"
    assert swarm_nodes.join_token(tokens, "worker") == "SWMTKN-1-w"
    assert swarm_nodes.join_token({}, "worker") is None


@pytest.mark.parametrize(("state", "is_manager", "wanted", "refused"), [
    ("inactive", False, "initialized", None),
    ("active", True, "initialized", None),
    ("active", False, "initialized", "a worker in another swarm"),
    ("active", False, "joined", None),
    ("pending", False, "joined", "swarm state is pending (no route); make it leave first"),
    ("error", False, "initialized", "swarm state is error"),
])
def test_refuse_stuck(state: str, is_manager: bool, wanted: str, refused) -> None:
    membership = {"state": state, "is_manager": is_manager, "managers": ["10.99.6.10:2377"],
                  "error": "no route" if state == "pending" else ""}
    reason = swarm_nodes.refuse_stuck(membership, wanted)
    assert (reason is None) if refused is None else (refused in reason)


def test_require_manager_names_what_the_engine_is() -> None:
    swarm_nodes.require_manager({"state": "active", "is_manager": True})
    with pytest.raises(errors.SwarmError, match="a worker of a swarm, not a swarm manager"):
        swarm_nodes.require_manager(swarm_nodes.shape_membership(recorded("info-worker.json")))
    with pytest.raises(errors.SwarmError, match="inactive, in no swarm"):
        swarm_nodes.require_manager(swarm_nodes.shape_membership({}))


LABELS = st.dictionaries(st.sampled_from(["pirack.role", "pirack.model", "pirack.x", "disk", "zone"]),
                         st.text(max_size=5), max_size=5)


@settings(max_examples=300, deadline=None)
@given(current=LABELS, wanted=LABELS, prefix=st.sampled_from([None, "", "pirack.", "zone"]),
       role=st.sampled_from([None, *swarm_nodes.ROLES]),
       availability=st.sampled_from([None, *swarm_nodes.AVAILABILITIES]))
def test_applying_the_desired_spec_twice_changes_nothing_more(current, wanted, prefix, role, availability) -> None:
    """Idempotence as a property: the spec the module sends is already what
    a second run wants, so the second run sends nothing."""
    spec = {"Labels": current, "Role": "worker", "Availability": "active"}
    once = swarm_nodes.desired_spec(spec, role=role, availability=availability, labels=wanted, owned_prefix=prefix)
    twice = swarm_nodes.desired_spec(once, role=role, availability=availability, labels=wanted, owned_prefix=prefix)
    assert twice == once
    assert all(once["Labels"][key] == value for key, value in wanted.items())
    assert swarm_nodes.spec_diff(once, twice) == {"before": {}, "after": {}}
