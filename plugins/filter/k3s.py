# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters for the k3s roles and playbooks: how a board's k3s version
relates to the pinned one, and in which batches a rollout visits the boards.

Both decisions used to be written inline in YAML (a ``!=`` on version strings,
a ``serial: 34%`` over the whole inventory), where they were wrong and
untestable; as pure functions they are unit-tested in
tests/unit/plugins/filter/test_k3s.py. Each filter is documented in the
YAML file of its own name next to this one.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Sequence

from ansible.errors import AnsibleFilterError

# v1.36.1+k3s1, v1.36.1-rc2+k3s1: the form of every k3s release tag.
_VERSION = re.compile(r"v(\d+)\.(\d+)\.(\d+)(?:-rc(\d+))?\+k3s(\d+)")


def _version_key(version: str) -> Optional[tuple[int, int, int, int, int, int]]:
    """Order key of the first k3s release tag in ``version``, None if there is none.

    A release candidate sorts before its release, so moving from -rc2 to the
    release is an upgrade and back is a downgrade.
    """
    match = _VERSION.search(version or "")
    if not match:
        return None
    major, minor, patch, rc, k3s = match.groups()
    rc_key = (0, int(rc)) if rc is not None else (1, 0)
    return (int(major), int(minor), int(patch), rc_key[0], rc_key[1], int(k3s))


def k3s_version_change(installed: Optional[str], wanted: str) -> str:
    """What installing ``wanted`` over ``installed`` is: install, same, upgrade, skip or downgrade.

    ``installed`` is what ``k3s --version`` printed on the board (or a bare
    tag); empty or without a tag (no binary yet) means a first install.
    ``skip`` is an upgrade past the next minor release (v1.31 to v1.33), or
    to another major one: Kubernetes' version skew policy has a cluster move
    one minor release at a time, so the roles refuse it like a downgrade.
    """
    wanted_key = _version_key(wanted)
    if wanted_key is None:
        raise AnsibleFilterError(
            f"k3s_version_change: {wanted!r} is not a k3s release (expected a tag like v1.36.1+k3s1)"
        )
    installed_key = _version_key(installed or "")
    if installed_key is None:
        return "install"
    if installed_key == wanted_key:
        return "same"
    if installed_key > wanted_key:
        return "downgrade"
    return "upgrade" if wanted_key[:2] <= (installed_key[0], installed_key[1] + 1) else "skip"


def k3s_rollout_batches(hosts: Sequence[str], clusters: Mapping[str, Any], per_cluster: int = 1) -> list[list[str]]:
    """Batches of ``hosts`` with at most ``per_cluster`` boards of any one cluster each.

    Batch k holds the k-th group of ``per_cluster`` boards of every cluster that
    still has boards left, so the clusters progress side by side. A play over
    the flattened list with ``serial`` set to the batch lengths then never
    takes more than ``per_cluster`` boards of one cluster out of service, and
    Ansible's only rule for ending a serial play early (every host of a batch
    failed) can only fire once every cluster still in the rollout failed.
    Hosts keep their order within a cluster; clusters are taken in the order
    their first host appears. A host missing from ``clusters`` is its own cluster.
    """
    if isinstance(per_cluster, bool) or not isinstance(per_cluster, int) or per_cluster < 1:
        raise AnsibleFilterError(f"k3s_rollout_batches: per_cluster must be a whole number >= 1, not {per_cluster!r}")
    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, Sequence):
        raise AnsibleFilterError("k3s_rollout_batches: expects a list of host names")
    by_cluster: dict[str, list[str]] = {}
    for host in dict.fromkeys(hosts):
        cluster = clusters.get(host)
        key = str(cluster) if cluster not in (None, "") else f"host:{host}"
        by_cluster.setdefault(key, []).append(host)
    batches: list[list[str]] = []
    start = 0
    while True:
        batch = [host for members in by_cluster.values() for host in members[start:start + per_cluster]]
        if not batch:
            return batches
        batches.append(batch)
        start += per_cluster


def k3s_rollout_earlier(batches: Sequence[Sequence[str]], host: str, clusters: Mapping[str, Any]) -> list[str]:
    """The hosts of ``host``'s cluster in the batches before the one holding ``host``.

    A board goes only once these finished: if one of them failed (and may
    still be drained or down), taking this one out too would exceed what the
    cluster may lose at once. Boards of other clusters, and of the same batch,
    are not waited for. A host in no batch waits for nobody.
    """
    cluster = clusters.get(host) or f"host:{host}"
    earlier: list[str] = []
    for batch in batches:
        if host in batch:
            return earlier
        earlier.extend(h for h in batch if (clusters.get(h) or f"host:{h}") == cluster)
    return []


class FilterModule:
    """The k3s filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "k3s_version_change": k3s_version_change,
            "k3s_rollout_batches": k3s_rollout_batches,
            "k3s_rollout_earlier": k3s_rollout_earlier,
        }
