# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node labels the collection gives every node: one key per fact, one table.

The roles label nodes through the ``node_labels`` filter (plugins/filter),
the app drivers place services by the same keys, so a fact's label is
written here and nowhere else. One scheme on both orchestrators: a Swarm
placement constraint accepts only letters, digits, '-', '_' and '.' in a
label key (swarmkit's constraint parser), so the keys carry no '/' prefix,
and Kubernetes takes them as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Mapping, Optional, Union

# The facts a node is labelled with, by name: its place in the cluster
# (master or worker), its board model key, its cluster and its position in
# the rack. The first three are also the app spec's placement keys.
NODE_LABELS = {"role": "pirack.role", "model": "pirack.model", "cluster": "pirack.cluster",
               "position": "pirack.rack-position"}
PLACEMENT_FACTS = ("role", "model", "cluster")
ROLES = ("master", "worker")
# Labels under this prefix are the collection's: one no longer wanted is removed.
OWNED_PREFIX = "pirack."
# The k3s roles' keys before the one scheme, by the fact they carried; a node
# that still has them loses them on its next run (the k3s role passes them as
# null to k8s_node), and node_facts still reads them until then.
RETIRED = {"pirack.io/pi-model": "model", "pirack.io/cluster": "cluster", "pirack.io/rack-position": "position"}
_FACT_OF_LABEL = {NODE_LABELS[fact]: fact for fact in PLACEMENT_FACTS}


def placement_label(key: str) -> str:
    """The node label a placement key stands for; a full label name stands for itself."""
    return NODE_LABELS[key] if key in PLACEMENT_FACTS else key


def placement_key(label: str) -> str:
    """The placement key a node label reads back as (``placement_label``'s inverse)."""
    return _FACT_OF_LABEL.get(label, label)


def node_labels(facts: Mapping[str, Any], retire: bool = False) -> dict[str, Optional[str]]:
    """The labels of a node with these facts; a fact that is None or empty is not labelled.

    ``retire`` adds the retired keys with the value None, which k8s_node
    reads as "remove": that is how a running rack moves to this scheme.
    Raises ValueError naming a fact this table does not know.
    """
    unknown = sorted(set(facts) - set(NODE_LABELS))
    if unknown:
        raise ValueError(f"{unknown[0]}: not a node fact; expected one of {', '.join(NODE_LABELS)}")
    labels: dict[str, Optional[str]] = {NODE_LABELS[fact]: str(value) for fact, value in facts.items()
                                        if value is not None and str(value) != ""}
    if retire:
        labels.update(dict.fromkeys(RETIRED))
    return labels


def node_facts(labels: Union[Mapping[str, Any], Iterable[str]]) -> dict[str, str]:
    """The facts a node's labels carry (``node_labels``' inverse), from a label
    mapping or from k3s' ``node-label`` list of ``key=value``; a retired key
    counts where the current one is missing, so a node not moved to this
    scheme yet reads the same."""
    if not isinstance(labels, Mapping):
        labels = dict(str(item).partition("=")[::2] for item in labels)
    facts = {fact: str(labels[old]) for old, fact in RETIRED.items() if old in labels}
    facts.update({fact: str(labels[key]) for fact, key in NODE_LABELS.items() if key in labels})
    return facts
