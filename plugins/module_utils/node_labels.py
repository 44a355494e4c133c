# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node labels the collection's roles give every node, by the fact they carry.

The app spec places services by these facts (``placement: {role: master}``);
the drivers turn a fact into the label of their orchestrator here and only
here.
"""

from __future__ import annotations

# Swarm node labels the swarm role sets, by placement key.
SWARM_LABELS = {"role": "pirack.role", "model": "pirack.model", "cluster": "pirack.cluster"}
# Kubernetes node labels the k3s roles set, by placement key; the role is
# not a label of ours there: k3s labels its servers with CONTROL_PLANE and
# agents carry no role label at all, so "worker" is "not a control-plane node".
K8S_LABELS = {"model": "pirack.io/pi-model", "cluster": "pirack.io/cluster"}
CONTROL_PLANE = "node-role.kubernetes.io/control-plane"
