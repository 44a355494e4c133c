"""k3s filters: version changes (downgrades refused upstream of them) and rollout batches."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.pirack.cluster.plugins.filter.k3s import (
    FilterModule,
    k3s_rollout_batches,
    k3s_rollout_earlier,
    k3s_version_change,
)
from hypothesis import given
from hypothesis import strategies as st

# The reference rack: three clusters of a master and five workers each.
RACK = {f"c{c}-worker{w}": f"cluster{c}" for c in (1, 2, 3) for w in range(1, 6)}


@pytest.mark.parametrize(
    ("installed", "wanted", "change"),
    [
        ("", "v1.36.1+k3s1", "install"),
        (None, "v1.36.1+k3s1", "install"),
        ("k3s version v1.36.1+k3s1 (c4f4a1b2)\ngo version go1.26.2\n", "v1.36.1+k3s1", "same"),
        ("k3s version v1.35.4+k3s1 (a562d090)", "v1.36.1+k3s1", "upgrade"),
        # one minor release at a time (Kubernetes' version skew policy)
        ("k3s version v1.31.4+k3s1 (a562d090)", "v1.36.1+k3s1", "skip"),
        ("v1.34.9+k3s1", "v1.36.0-rc1+k3s1", "skip"),
        ("v1.36.1+k3s1", "v2.0.0+k3s1", "skip"),
        ("v1.35.9+k3s2", "v1.36.0-rc1+k3s1", "upgrade"),
        ("v1.36.1+k3s1", "v1.36.1+k3s2", "upgrade"),
        ("v1.36.1-rc2+k3s1", "v1.36.1+k3s1", "upgrade"),
        ("v1.36.1-rc1+k3s1", "v1.36.1-rc2+k3s1", "upgrade"),
        # the case a string comparison gets wrong: 9 < 10 numerically
        ("v1.36.9+k3s1", "v1.36.10+k3s1", "upgrade"),
        ("v1.36.10+k3s1", "v1.36.9+k3s1", "downgrade"),
        ("k3s version v1.36.1+k3s1 (c4f4a1b2)", "v1.31.4+k3s1", "downgrade"),
        ("v1.36.1+k3s1", "v1.36.1-rc2+k3s1", "downgrade"),
        ("v1.36.1+k3s2", "v1.36.1+k3s1", "downgrade"),
        ("not a k3s binary", "v1.36.1+k3s1", "install"),
    ],
)
def test_version_change(installed: str, wanted: str, change: str) -> None:
    assert k3s_version_change(installed, wanted) == change


@pytest.mark.parametrize("wanted", ["", "latest", "1.36.1", "v1.36", "stable"])
def test_version_change_names_a_wanted_version_that_is_no_release(wanted: str) -> None:
    with pytest.raises(AnsibleFilterError, match="not a k3s release"):
        k3s_version_change("v1.36.1+k3s1", wanted)


versions = st.builds(
    "v{}.{}.{}{}+k3s{}".format,
    st.integers(1, 2), st.integers(0, 40), st.integers(0, 30),
    st.sampled_from(["", "-rc1", "-rc2"]), st.integers(1, 3),
)


@given(versions, versions)
def test_version_change_is_antisymmetric(a: str, b: str) -> None:
    """Swapping the two sides swaps a move forward (upgrade or skip) and downgrade; equal stays same."""
    forward = {"upgrade", "skip"}
    change, back = k3s_version_change(a, b), k3s_version_change(b, a)
    assert (change, back) == ("same", "same") or {change, back} in ({"downgrade", "upgrade"}, {"downgrade", "skip"})
    assert (change in forward) == (back == "downgrade")


@given(versions, versions)
def test_an_upgrade_moves_at_most_one_minor_release(a: str, b: str) -> None:
    """What the roles accept as an upgrade never crosses a minor release of Kubernetes."""
    major, minor = (int(part) for part in a[1:].split(".")[:2])
    wanted_major, wanted_minor = (int(part) for part in b[1:].split(".")[:2])
    if k3s_version_change(a, b) == "upgrade":
        assert wanted_major == major and wanted_minor - minor in (0, 1)


def test_batches_take_one_board_per_cluster_side_by_side() -> None:
    batches = k3s_rollout_batches(list(RACK), RACK)
    assert batches[0] == ["c1-worker1", "c2-worker1", "c3-worker1"]
    assert len(batches) == 5
    assert [len(b) for b in batches] == [3] * 5


def test_the_old_34_percent_batch_was_a_whole_cluster() -> None:
    """What serial: 34% did over the inventory order: cluster 1 entirely in batch one."""
    hosts = list(RACK)
    old_first_batch = hosts[: -(-len(hosts) * 34 // 100)]
    assert {RACK[h] for h in old_first_batch[:5]} == {"cluster1"}
    new_first = k3s_rollout_batches(hosts, RACK)[0]
    assert sorted(RACK[h] for h in new_first) == ["cluster1", "cluster2", "cluster3"]


def test_uneven_clusters_shrink_later_batches() -> None:
    clusters = {"a1": "a", "a2": "a", "a3": "a", "b1": "b", "c1": "c", "c2": "c"}
    assert k3s_rollout_batches(["a1", "a2", "a3", "b1", "c1", "c2"], clusters, 2) == [
        ["a1", "a2", "b1", "c1", "c2"],
        ["a3"],
    ]


def test_hosts_without_a_cluster_are_their_own() -> None:
    assert k3s_rollout_batches(["x", "y", "z"], {"z": ""}) == [["x", "y", "z"]]


def test_no_hosts_no_batches() -> None:
    assert k3s_rollout_batches([], RACK) == []


@pytest.mark.parametrize("bad", [0, -1, True, "1", 1.5])
def test_batches_refuse_a_bad_per_cluster(bad: object) -> None:
    with pytest.raises(AnsibleFilterError, match="per_cluster"):
        k3s_rollout_batches(["a"], {"a": "x"}, bad)  # type: ignore[arg-type]


def test_batches_refuse_a_string_of_hosts() -> None:
    with pytest.raises(AnsibleFilterError, match="list of host names"):
        k3s_rollout_batches("c1-worker1", RACK)  # type: ignore[arg-type]


@given(
    st.lists(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from(["k1", "k2", "k3", "k4"])),
             unique_by=lambda t: t[0]),
    st.integers(1, 4),
)
def test_batches_property(pairs: list[tuple[str, str]], per_cluster: int) -> None:
    """Every host once, order kept within a cluster, never more than per_cluster of one cluster per batch,
    and a cluster is in every batch until its hosts run out (the clusters progress side by side)."""
    hosts = [h for h, _ in pairs]
    clusters = dict(pairs)
    batches = k3s_rollout_batches(hosts, clusters, per_cluster)
    flat = [h for b in batches for h in b]
    assert sorted(flat) == sorted(hosts)
    for cluster in set(clusters.values()):
        assert [h for h in flat if clusters[h] == cluster] == [h for h in hosts if clusters[h] == cluster]
        counts = [sum(clusters[h] == cluster for h in b) for b in batches]
        assert all(c <= per_cluster for c in counts)
        present = [c > 0 for c in counts]
        assert present == sorted(present, reverse=True)
    assert all(batches)


def test_earlier_is_the_own_cluster_in_earlier_batches() -> None:
    clusters = {"s1": "A", "s2": "B", "a1": "A", "a2": "A", "b1": "B", "a3": "A"}
    batches = [["s1", "s2"], ["a1", "a2", "b1"], ["a3"]]
    assert k3s_rollout_earlier(batches, "s1", clusters) == []
    assert k3s_rollout_earlier(batches, "a2", clusters) == ["s1"]  # a1 runs beside it, not before
    assert k3s_rollout_earlier(batches, "b1", clusters) == ["s2"]
    assert k3s_rollout_earlier(batches, "a3", clusters) == ["s1", "a1", "a2"]
    assert k3s_rollout_earlier(batches, "stranger", clusters) == []


@given(
    st.lists(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from(["k1", "k2", "k3"])), unique_by=lambda t: t[0]),
    st.integers(1, 3),
)
def test_earlier_never_names_another_cluster_or_a_later_batch(pairs: list[tuple[str, str]], per_cluster: int) -> None:
    clusters = dict(pairs)
    batches = k3s_rollout_batches([h for h, _ in pairs], clusters, per_cluster)
    index = {h: i for i, b in enumerate(batches) for h in b}
    for host in clusters:
        earlier = k3s_rollout_earlier(batches, host, clusters)
        assert all(clusters[h] == clusters[host] and index[h] < index[host] for h in earlier)
        assert len(earlier) == per_cluster * index[host]


def test_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {"k3s_version_change", "k3s_rollout_batches", "k3s_rollout_earlier"}
