"""The pre-flight inventory check: each mistake an owner makes is named, with
its host and its fix, and all of them come back from one call."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.pirack.cluster.plugins.filter.inventory import FilterModule, inventory_problems, node_address
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[4]


def rack(clusters: int = 2, workers: int = 2, orchestrator: str = "k3s") -> tuple[dict, dict]:
    """A sound inventory as Ansible hands it to a play: groups and host vars."""
    groups: dict[str, list[str]] = {"all": [], "ungrouped": [], "masters": [], "workers": []}
    hostvars: dict[str, dict] = {}
    for c in range(1, clusters + 1):
        groups[f"cluster{c}"] = []
        for n in range(workers + 1):
            host = f"c{c}-master" if n == 0 else f"c{c}-worker{n}"
            groups["all"].append(host)
            groups["masters" if n == 0 else "workers"].append(host)
            groups[f"cluster{c}"].append(host)
            hostvars[host] = {"pirack_cluster": f"cluster{c}", "pirack_orchestrator": orchestrator,
                              "pirack_node_address": f"10.0.{c}.{10 + n}"}
    return groups, hostvars


def test_registered() -> None:
    assert FilterModule().filters() == {"inventory_problems": inventory_problems, "node_address": node_address}


@pytest.mark.parametrize(("board", "prefer", "address"), [
    ({"inventory_hostname": "pi1", "k3s_node_address": "10.9.0.1", "pirack_node_address": "10.0.0.1",
      "ansible_host": "192.168.1.1"}, "k3s_node_address", "10.9.0.1"),
    ({"inventory_hostname": "pi1", "pirack_node_address": "10.0.0.1", "ansible_host": "192.168.1.1"},
     "k3s_node_address", "10.0.0.1"),
    ({"inventory_hostname": "pi1", "ansible_host": "192.168.1.1"}, None, "192.168.1.1"),
    # An empty setting is an unset one, not an address.
    ({"inventory_hostname": "pi1", "monitoring_address": "", "pirack_node_address": ""}, "monitoring_address", "pi1"),
    ({"inventory_hostname": "pi1"}, None, "pi1"),
])
def test_node_address_follows_one_rule(board: dict, prefer: str, address: str) -> None:
    assert node_address(board, prefer) == address


def test_node_address_wants_a_boards_hostvars() -> None:
    with pytest.raises(AnsibleFilterError, match="hostvars"):
        node_address(["pi1"])  # type: ignore[arg-type]
    with pytest.raises(AnsibleFilterError, match="inventory_hostname"):
        node_address({"ansible_port": 22})


@pytest.mark.parametrize("orchestrator", ["swarm", "k3s"])
def test_a_sound_rack_has_no_problem(orchestrator: str) -> None:
    assert inventory_problems(*rack(3, 5, orchestrator)) == []


def test_the_reference_inventory_is_sound() -> None:
    """inventories/pi-rack, read as Ansible would (group_vars applied)."""
    base = ROOT / "inventories" / "pi-rack"
    tree = yaml.safe_load((base / "hosts.yml").read_text())["all"]["children"]
    common = yaml.safe_load((base / "group_vars" / "all.yml").read_text())
    groups: dict[str, list[str]] = {"all": []}
    hostvars: dict[str, dict] = {}
    for group, body in tree.items():
        groups[group] = list(body["hosts"])
        extra = {}
        if (base / "group_vars" / f"{group}.yml").exists():
            extra = yaml.safe_load((base / "group_vars" / f"{group}.yml").read_text())
        for host, own in body["hosts"].items():
            if host not in hostvars:
                groups["all"].append(host)
                hostvars[host] = {"pirack_orchestrator": common["pirack_orchestrator"]}
            hostvars[host].update({k: v for k, v in {**extra, **(own or {})}.items()
                                   if k.startswith("pirack_")})
    assert inventory_problems(groups, hostvars) == []


def test_a_host_in_no_role_group() -> None:
    groups, hostvars = rack()
    groups["workers"].remove("c1-worker2")
    assert inventory_problems(groups, hostvars) == [
        "c1-worker2: in no role group; put it under masters or workers"]


def test_a_misspelled_role_group_names_the_group_and_the_host() -> None:
    groups, hostvars = rack()
    groups["workers"].remove("c2-worker1")
    groups["wrokers"] = ["c2-worker1"]
    assert inventory_problems(groups, hostvars) == [
        "group wrokers (c2-worker1): not a group the collection knows; did you mean workers?"
        " Rename it in the inventory",
        "c2-worker1: in no role group; put it under masters or workers",
    ]


def test_a_misspelled_cluster_group() -> None:
    groups, hostvars = rack()
    groups["clsuter2"] = groups.pop("cluster2")
    problems = inventory_problems(groups, hostvars)
    assert problems[0].startswith("group clsuter2 (c2-master, c2-worker1, c2-worker2): not a group"
                                  " the collection knows; did you mean cluster2?")
    assert "c2-master: in no cluster group; put it in one clusterN group" in problems


def test_groups_of_the_owner_that_look_like_nothing_of_ours_are_fine() -> None:
    groups, hostvars = rack()
    groups["pi4s"] = ["c1-master", "c2-master"]
    groups["pirack_orchestrator_k3s"] = list(groups["all"])
    assert inventory_problems(groups, hostvars) == []


def test_a_board_in_both_role_groups_and_two_clusters() -> None:
    groups, hostvars = rack()
    groups["masters"].append("c1-worker1")
    groups["cluster2"].append("c1-worker1")
    problems = inventory_problems(groups, hostvars)
    assert "c1-worker1: in both masters and workers; keep it in one of them" in problems
    assert "c1-worker1: in cluster1 and cluster2; a board belongs to one cluster, keep one" in problems


def test_a_cluster_with_no_master() -> None:
    groups, hostvars = rack()
    groups["masters"].remove("c2-master")
    groups["workers"].append("c2-master")
    assert inventory_problems(groups, hostvars) == [
        "cluster2: no master among c2-master, c2-worker1, c2-worker2; put one of them under masters"]


@pytest.mark.parametrize("count, sound", [(2, False), (3, True), (4, False)])
def test_masters_per_cluster(count: int, sound: bool) -> None:
    """One, or an odd number for a quorum: two masters tolerate no failure."""
    groups, hostvars = rack(workers=4)
    for n in range(1, count):
        groups["workers"].remove(f"c1-worker{n}")
        groups["masters"].append(f"c1-worker{n}")
    problems = inventory_problems(groups, hostvars)
    if sound:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problems[0].startswith(f"cluster1: {count} masters (c1-master, c1-worker1")
        assert problems[0].endswith("move the rest to workers")


def test_two_boards_with_one_address() -> None:
    groups, hostvars = rack()
    hostvars["c2-worker2"]["pirack_node_address"] = "10.0.1.11"
    assert inventory_problems(groups, hostvars) == [
        "c1-worker1, c2-worker2: share pirack_node_address 10.0.1.11; give each board its own address"]


def test_mixed_orchestrators_inside_a_cluster() -> None:
    groups, hostvars = rack()
    hostvars["c1-worker2"]["pirack_orchestrator"] = "swarm"
    assert inventory_problems(groups, hostvars) == [
        "cluster1: mixes orchestrators (k3s on c1-master, c1-worker1; swarm on c1-worker2); one cluster"
        " runs one, set pirack_orchestrator once in group_vars/cluster1.yml"]


def test_clusters_may_differ_from_each_other() -> None:
    groups, hostvars = rack()
    for host in groups["cluster2"]:
        hostvars[host]["pirack_orchestrator"] = "swarm"
    assert inventory_problems(groups, hostvars) == []


def test_the_message_names_the_wrong_value_not_swarm() -> None:
    """The old check always ended "(got swarm)" whatever was wrong."""
    groups, hostvars = rack()
    hostvars["c1-worker1"]["pirack_orchestrator"] = "k8s"
    problems = inventory_problems(groups, hostvars)
    assert "c1-worker1: pirack_orchestrator is 'k8s'; set it to swarm or k3s" in problems
    assert not any("swarm)" in p for p in problems)


def test_an_unset_orchestrator_is_the_plays_to_settle() -> None:
    """playbooks/preflight.yml is the one place an unset pirack_orchestrator
    gets its meaning; the filter only judges values it is given."""
    groups, hostvars = rack(clusters=1, orchestrator="swarm")
    for host in groups["all"]:
        del hostvars[host]["pirack_orchestrator"]
    assert inventory_problems(groups, hostvars) == []


def test_missing_or_mismatched_variables() -> None:
    groups, hostvars = rack()
    del hostvars["c1-worker1"]["pirack_cluster"]
    hostvars["c1-worker2"]["pirack_cluster"] = "cluster2"
    del hostvars["c2-worker1"]["pirack_node_address"]
    assert inventory_problems(groups, hostvars) == [
        "c1-worker1: pirack_cluster is not set; set it in group_vars/cluster1.yml",
        "c1-worker2: pirack_cluster is cluster2 but the board is in group cluster1;"
        " set pirack_cluster: cluster1 in group_vars/cluster1.yml",
        "c2-worker1: pirack_node_address is not set; set the address the other boards reach it at",
    ]


def test_every_mistake_at_once() -> None:
    """One pass: each mistake of a badly edited inventory comes back together."""
    groups, hostvars = rack(clusters=3)
    groups["workers"].remove("c1-worker1")
    groups["wrokers"] = ["c1-worker1"]
    groups["masters"].append("c2-worker1")
    groups["workers"].remove("c2-worker1")
    groups["masters"].remove("c3-master")
    groups["workers"].append("c3-master")
    hostvars["c3-worker1"]["pirack_node_address"] = hostvars["c1-master"]["pirack_node_address"]
    hostvars["c1-worker2"]["pirack_orchestrator"] = "swarm"
    problems = inventory_problems(groups, hostvars)
    assert [p.split(":")[0] for p in problems] == [
        "group wrokers (c1-worker1)", "c1-worker1", "cluster1", "cluster2", "cluster3",
        "c1-master, c3-worker1"]


def test_not_an_inventory() -> None:
    with pytest.raises(AnsibleFilterError, match="inventory_problems"):
        inventory_problems(["all"], {})  # type: ignore[arg-type]


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)


@given(groups=st.dictionaries(names, st.lists(names, max_size=5), max_size=6),
       hostvars=st.dictionaries(names, st.dictionaries(
           st.sampled_from(["pirack_cluster", "pirack_orchestrator", "pirack_node_address"]),
           st.one_of(st.none(), names, st.integers())), max_size=6))
def test_any_inventory_gives_a_list_of_lines(groups: dict, hostvars: dict) -> None:
    """Whatever the inventory holds, the check answers with lines, never an exception."""
    groups = copy.deepcopy(groups)
    groups["all"] = sorted({h for members in groups.values() for h in members})
    problems = inventory_problems(groups, hostvars)
    assert all(isinstance(p, str) and "\n" not in p for p in problems)
