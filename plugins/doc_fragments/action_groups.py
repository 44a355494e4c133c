# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module_defaults groups of meta/runtime.yml, as each module's action_group attribute."""


class ModuleDocFragment:
    """Use as pirack.cluster.action_groups.docker, .k8s or .docker_and_k8s."""

    DOCKER = r"""
attributes:
  action_group:
    description:
      - "Part of the C(docker) group: one C(module_defaults) entry,
        C(group/pirack.cluster.docker: {docker_host: ...}), sets O(docker_host) and O(timeout)
        for every module of the group."
    support: full
    membership:
      - pirack.cluster.docker
"""

    K8S = r"""
attributes:
  action_group:
    description:
      - "Part of the C(k8s) group: one C(module_defaults) entry,
        C(group/pirack.cluster.k8s: {kubeconfig: ...}), sets O(kubeconfig), O(context) and
        O(request_timeout) for every module of the group."
    support: full
    membership:
      - pirack.cluster.k8s
"""

    DOCKER_AND_K8S = r"""
attributes:
  action_group:
    description:
      - "Part of both groups: C(group/pirack.cluster.docker) in C(module_defaults) sets
        O(docker_host) and O(timeout), C(group/pirack.cluster.k8s) sets O(kubeconfig),
        O(context) and O(request_timeout), for every module of the group."
    support: full
    membership:
      - pirack.cluster.docker
      - pirack.cluster.k8s
"""
