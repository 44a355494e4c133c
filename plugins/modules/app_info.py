#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read how an app's services run on Swarm or k3s: running against desired."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_info
short_description: Running and desired tasks of each service of an app, on Swarm or k3s
version_added: 0.1.0
seealso:
  - module: pirack.cluster.app
description:
  - Reads the services of an app that P(pirack.cluster.app#module) deployed and
    says, for each, how many tasks (Swarm) or available pods (Kubernetes) run its
    current definition, how many are wanted, and what stands in the way when the
    two differ (a paused update, a task the engine rejected, a pod condition).
  - Changes nothing, so it reports C(changed=false) and runs the same in check mode.
  - On Swarm it runs on a manager and reads its engine through the Docker SDK; on
    Kubernetes it runs on the controller with the cluster's kubeconfig.
extends_documentation_fragment:
  - pirack.cluster.action_groups.docker_and_k8s
  - pirack.cluster.docker
  - pirack.cluster.k8s_auth
  - pirack.cluster.read_only
options:
  name:
    description: The app's name (the C(name) of its spec).
    type: str
    required: true
  orchestrator:
    description: Where the app runs. V(k8s) and V(k3s) mean the same.
    type: str
    required: true
    choices: [swarm, k8s, k3s]
  namespace:
    description: Kubernetes namespace of the app's objects. Ignored on Swarm.
    type: str
    default: default
"""

EXAMPLES = r"""
- name: Read the coin-miner's services on the swarm's manager
  pirack.cluster.app_info:
    name: coinminer
    orchestrator: swarm
  become: true
  register: app_status

- name: Read them on a k3s cluster, from the controller
  pirack.cluster.app_info:
    name: coinminer
    orchestrator: k3s
    kubeconfig: ~/.kube/pirack-cluster1.yaml
  delegate_to: localhost
"""

RETURN = r"""
services:
  description: Each service of the app, by spec service name.
  returned: always
  type: dict
  sample:
    worker: {running: 2, desired: 2, problems: []}
    rng: {running: 1, desired: 2, problems: ["rejected: No such image: 10.99.0.10:5000/pirack/coinminer-rng:v2"]}
"""

import re

from ansible_collections.pirack.cluster.plugins.module_utils.app.connect import closing, driver_for
from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import docker_argument_spec
from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError, show
from ansible_collections.pirack.cluster.plugins.module_utils.k8s.client import k8s_argument_spec
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module

# What an app's name may be (docs/app-spec.md), and a Kubernetes namespace.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def main() -> None:
    """Entry point: check the options, connect, read."""
    module = build_module(
        argument_spec=docker_argument_spec(**k8s_argument_spec(
            name={"type": "str", "required": True},
            orchestrator={"type": "str", "required": True, "choices": ["swarm", "k8s", "k3s"]},
            namespace={"type": "str", "default": "default"},
        )),
        supports_check_mode=True,
    )
    params = module.params
    for option in ("name", "namespace"):
        if not _NAME.fullmatch(params[option]):
            module.fail_json(msg=f"{option}: expected lowercase letters, digits and '-' (at most 63), "
                                 f"got {show(params[option])}")
    try:
        with closing(driver_for(module)) as driver:
            services = driver.status(params["name"])
    except AppError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, services=services)


if __name__ == "__main__":
    main()
