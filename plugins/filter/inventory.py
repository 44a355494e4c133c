# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filter: every mistake in a rack inventory, found in one pass.

A rack inventory has a shape the roles rely on (role groups, one cluster group
per board, one control plane per cluster, distinct addresses). When it is
wrong, the plays fail far from the cause, or worse, half a cluster joins the
wrong control plane. Reporting every problem at once, each naming the host and
the fix, lets an owner correct the file in one edit instead of one run per
mistake. The function is pure so each mistake is unit-tested without a play.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from ansible.errors import AnsibleFilterError

ROLE_GROUPS = ("masters", "workers")
ORCHESTRATORS = ("swarm", "k3s")
CLUSTER_GROUP = re.compile(r"^cluster[0-9]+$")
# Groups Ansible makes itself, and the ones the collection's plays add at run
# time (group_by on the orchestrator): never a user's typo.
BUILTIN_GROUP = re.compile(r"^(all|ungrouped|pirack_orchestrator_.*|sim_rack_new)$")
# The host variables the check reads; the play passes exactly these.
CHECKED_VARS = ("pirack_cluster", "pirack_orchestrator", "pirack_node_address")


def _names(hosts: Sequence[str]) -> str:
    return ", ".join(sorted(hosts))


def _typo_of(group: str) -> Optional[str]:
    """The role or cluster group a user's group name looks like a typo of."""
    if CLUSTER_GROUP.match(group):
        return None
    known = list(ROLE_GROUPS)
    digits = re.sub(r"[^0-9]", "", group)
    if digits:
        known.append(f"cluster{digits}")
    match = difflib.get_close_matches(group.lower(), known, n=1, cutoff=0.75)
    return match[0] if match else None


def _host_problems(host: str, groups_of_host: list[str], hostvars: Mapping[str, Any]) -> list[str]:
    """What is wrong with one board taken alone."""
    problems = []
    roles = [g for g in ROLE_GROUPS if g in groups_of_host]
    clusters = sorted(g for g in groups_of_host if CLUSTER_GROUP.match(g))
    if not roles:
        problems.append(f"{host}: in no role group; put it under masters or workers")
    elif len(roles) > 1:
        problems.append(f"{host}: in both masters and workers; keep it in one of them")
    if not clusters:
        problems.append(f"{host}: in no cluster group; put it in one clusterN group")
    elif len(clusters) > 1:
        problems.append(f"{host}: in {' and '.join(clusters)}; a board belongs to one cluster, keep one")
    cluster = hostvars.get("pirack_cluster")
    if cluster is None:
        where = f"group_vars/{clusters[0]}.yml" if len(clusters) == 1 else "group_vars/clusterN.yml"
        problems.append(f"{host}: pirack_cluster is not set; set it in {where}")
    elif len(clusters) == 1 and cluster != clusters[0]:
        problems.append(f"{host}: pirack_cluster is {cluster} but the board is in group {clusters[0]};"
                        f" set pirack_cluster: {clusters[0]} in group_vars/{clusters[0]}.yml")
    orchestrator = hostvars.get("pirack_orchestrator")
    if orchestrator is not None and orchestrator not in ORCHESTRATORS:
        problems.append(f"{host}: pirack_orchestrator is {orchestrator!r}; set it to swarm or k3s")
    if hostvars.get("pirack_node_address") in (None, ""):
        problems.append(f"{host}: pirack_node_address is not set; set the address the other boards reach it at")
    return problems


def _cluster_problems(cluster: str, members: list[str], masters: set[str],
                      hostvars: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What is wrong with one cluster group as a whole."""
    problems = []
    its_masters = sorted(h for h in members if h in masters)
    if not its_masters:
        problems.append(f"{cluster}: no master among {_names(members)}; put one of them under masters")
    elif len(its_masters) % 2 == 0:
        # Raft (Swarm managers) and etcd (k3s HA) both need a majority: an even
        # count adds a board that can fail without adding any tolerance.
        problems.append(f"{cluster}: {len(its_masters)} masters ({_names(its_masters)}); keep one under"
                        " masters (or three for a highly available control plane) and move the rest to workers")
    by_orchestrator: dict[str, list[str]] = {}
    for host in members:
        value = hostvars.get(host, {}).get("pirack_orchestrator")
        if value in ORCHESTRATORS:
            by_orchestrator.setdefault(value, []).append(host)
    if len(by_orchestrator) > 1:
        mix = "; ".join(f"{name} on {_names(hosts)}" for name, hosts in sorted(by_orchestrator.items()))
        problems.append(f"{cluster}: mixes orchestrators ({mix}); one cluster runs one,"
                        f" set pirack_orchestrator once in group_vars/{cluster}.yml")
    return problems


def inventory_problems(groups: Mapping[str, Sequence[str]],
                       hostvars: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every problem of the inventory, one line each naming the host or group
    and the fix; an empty list for a sound inventory.

    ``groups`` is Ansible's ``groups`` (group name to host names, ``all``
    included); ``hostvars`` maps each host to the variables in CHECKED_VARS it
    defines (an absent key is an unset variable).
    """
    if not isinstance(groups, Mapping) or not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("inventory_problems: expects groups and a mapping of host variables")
    hosts = list(groups.get("all", []))
    problems: list[str] = []
    for group in sorted(groups):
        if BUILTIN_GROUP.match(group) or group in ROLE_GROUPS:
            continue
        typo = _typo_of(group)
        if typo:
            problems.append(f"group {group} ({_names(groups[group]) or 'empty'}): not a group the collection"
                            f" knows; did you mean {typo}? Rename it in the inventory")
    groups_of: dict[str, list[str]] = {host: [] for host in hosts}
    for group, members in groups.items():
        for host in members:
            groups_of.setdefault(host, []).append(group)
    for host in hosts:
        problems.extend(_host_problems(host, groups_of[host], hostvars.get(host, {})))
    masters = set(groups.get("masters", []))
    for cluster in sorted(g for g in groups if CLUSTER_GROUP.match(g)):
        if groups[cluster]:
            problems.extend(_cluster_problems(cluster, list(groups[cluster]), masters, hostvars))
    by_address: dict[str, list[str]] = {}
    for host in hosts:
        address = hostvars.get(host, {}).get("pirack_node_address")
        if address not in (None, ""):
            by_address.setdefault(str(address), []).append(host)
    for address, owners in sorted(by_address.items()):
        if len(owners) > 1:
            problems.append(f"{_names(owners)}: share pirack_node_address {address};"
                            " give each board its own address")
    return problems


# Where a board's address comes from when its role is not told: the role's
# own variable, then this collection's inventory convention, then Ansible's.
ADDRESS_VARS = ("pirack_node_address", "ansible_host")


def node_address(hostvars: Mapping[str, Any], prefer: Optional[str] = None) -> str:
    """The address the other boards reach one board at, from that board's
    variables: ``prefer`` (a role's own setting, e.g. ``k3s_node_address``)
    when the inventory sets it, else ``pirack_node_address``, else
    ``ansible_host``, else its inventory name.

    Roles read a peer's address through this one rule, so a user's
    inventory that only sets ``ansible_host`` works as well as ours.
    """
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("node_address: expects a board's hostvars (hostvars[name])")
    for name in ((prefer,) if prefer else ()) + ADDRESS_VARS:
        if name in hostvars and hostvars[name] not in (None, ""):
            return str(hostvars[name])
    name = hostvars.get("inventory_hostname")
    if not name:
        raise AnsibleFilterError("node_address: the hostvars given have no inventory_hostname")
    return str(name)


class FilterModule:
    """Inventory checks and the one rule for a board's address."""

    def filters(self) -> dict[str, Any]:
        return {"inventory_problems": inventory_problems, "node_address": node_address}
