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


MASTER = "10.99.6.10:2377"
NEW_MASTER = "10.99.6.11:2377"


def member(state: str, managers: list, address: str = "10.99.6.12", is_manager: bool = False,
           error: str = "") -> dict:
    return {"state": state, "node_id": "n1" if state != "inactive" else "", "node_address": address,
            "managers": managers, "is_manager": is_manager, "error": error, "default_addr_pool": []}


@pytest.mark.parametrize(("membership", "expected", "first", "action"), [
    # Nothing to undo: out of any swarm, or in the right one.
    (member("inactive", []), MASTER, False, "keep"),
    (member("active", [MASTER]), MASTER, False, "keep"),
    (member("active", [MASTER], "10.99.6.10", is_manager=True), MASTER, True, "keep"),
    # The master was replaced: a worker still in the old swarm, active or
    # pending towards a manager that is gone, leaves and joins the new one.
    (member("active", [MASTER]), NEW_MASTER, False, "leave"),
    (member("pending", [MASTER]), NEW_MASTER, False, "leave"),
    (member("error", [MASTER], error="manager unreachable"), NEW_MASTER, False, "leave"),
    # The promoted worker held no raft log of the old swarm: it leaves it and starts the new one.
    (member("active", [MASTER], "10.99.6.11"), NEW_MASTER, True, "leave"),
    (member("pending", [MASTER], "10.99.6.11"), NEW_MASTER, True, "leave"),
    # Still pending towards the right manager once it had time to settle:
    # stuck, left and joined again (its cluster's swarm is on the manager).
    (member("pending", [MASTER]), MASTER, False, "leave"),
    # The first manager keeps the cluster's raft log: never left by itself
    # (here the inventory gave the master a new address).
    (member("active", [MASTER], "10.99.6.10", is_manager=True), "10.99.6.20:2377", True, "refuse"),
    (member("error", [MASTER], "10.99.6.10", error="raft: no leader"), MASTER, True, "refuse"),
    # An autolocked swarm needs its key, which the inventory does not have.
    (member("locked", [MASTER]), MASTER, False, "refuse"),
])
def test_membership_action(membership: dict, expected: str, first: bool, action: str) -> None:
    answer = swarm_nodes.membership_action(membership, expected, first)
    assert answer["action"] == action, answer
    assert bool(answer["reason"]) == (action != "keep")


def test_the_reason_says_what_the_board_was_in_and_where_it_goes() -> None:
    left = swarm_nodes.membership_action(member("pending", [MASTER]), NEW_MASTER, False)
    assert left == {"action": "leave", "reason": f"left its swarm to join the swarm of {NEW_MASTER}: its swarm "
                                                 f"state was pending, with manager(s) {MASTER}"}
    # The first manager, still pending, keeps its raft log.
    first = member("pending", [MASTER], "10.99.6.10")
    assert swarm_nodes.membership_action(first, MASTER, True)["action"] == "refuse"


def test_the_inventory_can_rebuild_the_first_managers_swarm() -> None:
    stuck = member("error", [MASTER], "10.99.6.10", error="raft: no leader")
    refused = swarm_nodes.membership_action(stuck, MASTER, True)
    assert "swarm_rebuild" in refused["reason"] and "raft: no leader" in refused["reason"]
    rebuilt = swarm_nodes.membership_action(stuck, MASTER, True, rebuild=True)
    assert rebuilt["action"] == "leave" and "start a new swarm" in rebuilt["reason"]
    # A swarm that is fine is kept, rebuild or not.
    fine = member("active", [MASTER], "10.99.6.10", is_manager=True)
    assert swarm_nodes.membership_action(fine, MASTER, True, rebuild=True)["action"] == "keep"


@settings(max_examples=200, deadline=None)
@given(state=st.sampled_from(["inactive", "pending", "active", "error", "locked", "weird"]),
       managers=st.lists(st.sampled_from([MASTER, NEW_MASTER, "10.99.6.12:2377"]), unique=True, max_size=3),
       address=st.sampled_from(["", "10.99.6.10", "10.99.6.11", "10.99.6.12"]),
       is_manager=st.booleans(), first=st.booleans(), rebuild=st.booleans())
def test_the_first_manager_never_leaves_its_raft_log_unless_rebuilt(state, managers, address, is_manager, first,
                                                                    rebuild) -> None:
    membership = member(state, managers, address, is_manager)
    answer = swarm_nodes.membership_action(membership, MASTER, first, rebuild)
    assert answer["action"] in ("keep", "leave", "refuse")
    holds = is_manager or any(m.rpartition(":")[0] == address for m in managers if address)
    if answer["action"] == "leave" and first:
        assert rebuild or not holds
    if state == "inactive" or (state == "active" and MASTER in managers):
        assert answer["action"] == "keep"
    if state in ("pending", "error") and not first:
        assert answer["action"] == "leave"


def test_a_worker_whose_master_is_gone_for_good_leaves_for_the_new_one() -> None:
    """Recorded: faults-c1-worker1's engine restarted after its master was
    killed; it stays pending, asking 10.99.8.10 (issue 27, fault i)."""
    pending = swarm_nodes.shape_membership(recorded("info-worker-pending.json"))
    assert (pending["state"], pending["managers"], pending["error"]) == ("pending", ["10.99.8.10:2377"], "")
    # worker1 promoted: it held no raft log, so it leaves and starts the new swarm.
    promoted = swarm_nodes.membership_action(pending, "10.99.8.11:2377", True)
    assert promoted == {"action": "leave", "reason": "left its swarm to start a new swarm: its swarm state was "
                                                     "pending, with manager(s) 10.99.8.10:2377"}
    # Another worker in its place joins the new master.
    assert swarm_nodes.membership_action(pending, "10.99.8.12:2377", False)["action"] == "leave"
