#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply an app spec to Docker Swarm or to Kubernetes (k3s)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app
short_description: Deploy, update, scale or remove an app described by an app spec, on Swarm or k3s
version_added: 0.1.0
seealso:
  - module: pirack.cluster.app_info
description:
  - Reads an app spec, validates it, and makes the orchestrator run exactly that
    app. The spec is the small YAML format described in C(docs/app-spec.md), with
    services that have an image, replicas or global mode, ports, env, CPU and
    memory limits, placement by node role, model or label, and volumes.
  - On Docker Swarm (O(orchestrator=swarm)) every service becomes a Swarm service
    named C(<app>_<service>) on the overlay network C(<app>_default), reachable by
    the other services under its bare name, with DNS round robin (C(dnsrr)) and
    host-mode published ports. The module runs on a swarm manager and drives its
    engine through the Docker SDK.
  - On Kubernetes (O(orchestrator=k8s) or V(k3s)) every service becomes a Deployment
    (or a DaemonSet for mode C(global)), a ClusterIP Service named like the service
    when it has ports, and a PersistentVolumeClaim per volume, in O(namespace). The
    module runs on the controller with the kubeconfig the k3s_server role fetched.
  - Both paths compare the live objects with the spec in the spec's own terms and
    only act on a difference. An update sends the whole new definition (a new image
    tag rolls the service; nothing is patched in place); a change between
    replicated and global recreates the service.
  - Services of the app that are no longer in the spec are removed.
extends_documentation_fragment:
  - pirack.cluster.action_groups.docker_and_k8s
  - pirack.cluster.docker
  - pirack.cluster.k8s_auth
attributes:
  check_mode:
    support: full
    description: Reads the live state and reports the actions and the diff it would apply; writes nothing.
  diff_mode:
    support: full
    description: Before and after are the changed services in the normalized spec form.
  idempotent:
    support: full
    description: Applying the same spec again finds nothing to change and reports no change.
options:
  spec:
    description:
      - The app spec, as a mapping, or the path of a YAML or JSON file holding it.
      - A path is read on the host the module runs on (the swarm manager for
        O(orchestrator=swarm)); to use a file of the controller, pass
        C("{{ lookup('ansible.builtin.file', 'apps/coinminer.yml') | from_yaml }}").
      - Required for O(state=present). With O(state=absent) only the spec's C(name)
        is read, so the task that deployed an app can remove it unchanged.
      - Mutually exclusive with O(name).
    type: raw
  name:
    description:
      - The app's name (the C(name) of its spec), to remove an app without its
        spec (O(state=absent)).
      - Mutually exclusive with O(spec).
    type: str
  orchestrator:
    description:
      - Which orchestrator runs the app. V(k3s) is another name for V(k8s), so the
        inventory's C(pirack_orchestrator) can be passed as it is.
    type: str
    required: true
    choices: [swarm, k8s, k3s]
  state:
    description:
      - V(present) runs the app as the spec says; V(absent) removes its services,
        its secrets and on Swarm its network. Absent needs only the app's name
        (O(name), or the C(name) of O(spec)); O(overrides), O(secrets),
        O(image_tag) and O(registry) are not used then.
      - Volumes and PersistentVolumeClaims are kept on removal; they hold the data.
    type: str
    choices: [present, absent]
    default: present
  overrides:
    description:
      - Per-service changes merged into the spec before it is validated, keyed by
        service name. Setting C(replicas) of C(worker) to 8 scales the miners;
        setting C(mode) of C(rng) to C(replicated) with C(replicas) 1 runs a single
        rng. Mappings merge key by key; other values replace. See the examples.
      - Naming a service the spec does not have is an error.
    type: dict
    default: {}
  secrets:
    description:
      - Values of the secrets the spec's services name in their C(secrets) field,
        by secret name. A service finds each as the file C(/run/secrets/<name>),
        from a Docker secret on Swarm or a Secret mounted read-only on Kubernetes; never
        an environment variable, so C(docker inspect) and C(kubectl describe)
        do not show it.
      - Only a digest of each value is compared and returned; a new value rolls
        the services that use it. Secrets no service uses any more are removed,
        and all of the app's are removed with O(state=absent).
    type: dict
    default: {}
  image_tag:
    description:
      - Tag that replaces the tag of every image of the spec; how a new build is
        rolled out.
    type: str
  registry:
    description:
      - Registry (C(host[:port])) put in front of every image that names none, such as
        the rack-local registry on the master.
    type: str
  namespace:
    description:
      - Kubernetes namespace of the app's objects (a DNS label); it must exist. Ignored on Swarm.
    type: str
    default: default
  wait:
    description:
      - Wait until every created or updated service runs its new definition on all
        the tasks or pods it should (on Swarm, also until the network can be removed
        when O(state=absent)).
      - A board the orchestrator reports down (Swarm node C(down), Kubernetes node
        C(NotReady)) is not waited for; see RV(boards_down).
      - A failed rollout fails the module with the reason the orchestrator gives
        (image not found, no node matches the placement, ...).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait before failing when O(wait=true); from 0 to 86400.
    type: int
    default: 300
requirements:
  - For O(orchestrator=k8s), the C(kubernetes) Python client on the controller.
notes:
  - The app spec reference is C(docs/app-spec.md) in the collection (installed, under
    C(ansible_collections/pirack/cluster/docs/)).
  - Placement uses the node labels the collection's roles set, the same on Swarm
    and k3s, C(pirack.role), C(pirack.model) and C(pirack.cluster) (see the
    P(pirack.cluster.node_labels#filter) filter).
"""

EXAMPLES = r"""
- name: Run the coin-miner on the swarm of this cluster, with 8 workers
  pirack.cluster.app:
    spec: "{{ lookup('ansible.builtin.file', 'apps/coinminer.yml') | from_yaml }}"
    orchestrator: swarm
    registry: "{{ pirack_node_address }}:5000"
    secrets:
      redis-password: "{{ coinminer_redis_password }}"  # the spec's redis, worker and webui read it
    overrides:
      worker:
        replicas: 8
  delegate_to: "{{ coinminer_master }}"

- name: Roll a new build of every service on k3s
  pirack.cluster.app:
    spec: "{{ lookup('ansible.builtin.file', 'apps/coinminer.yml') | from_yaml }}"
    orchestrator: k3s
    kubeconfig: ~/.kube/pirack-cluster1.yaml  # where the k3s_server role writes cluster1's
    secrets:
      redis-password: "{{ coinminer_redis_password }}"
    image_tag: "2024-05-01"

- name: See what a single rng would change, without changing it
  pirack.cluster.app:
    spec: /srv/apps/coinminer.yml
    orchestrator: swarm
    secrets:
      redis-password: "{{ coinminer_redis_password }}"
    overrides:
      rng: {mode: replicated, replicas: 1}
  check_mode: true
  diff: true

- name: Remove the coin-miner (its redis volume stays); the name is all it needs
  pirack.cluster.app:
    name: coinminer
    orchestrator: swarm
    state: absent

- name: Point every app and docker task of a play at one engine and one cluster
  module_defaults:
    group/pirack.cluster.docker:
      docker_host: unix:///run/docker.sock
    group/pirack.cluster.k8s:
      kubeconfig: ~/.kube/pirack-cluster1.yaml
  block:
    - name: Read the coin-miner on k3s with the group's kubeconfig
      pirack.cluster.app_info:
        name: coinminer
        orchestrator: k3s
"""

RETURN = r"""
app:
  description: The app as deployed, in the normalized spec form (after overrides, tag and registry).
  returned: success
  type: dict
  sample:
    name: coinminer
    services:
      worker:
        image: 10.0.0.10:5000/pirack/coinminer-worker:1.0
        mode: replicated
        replicas: 8
actions:
  description:
    - What was (or in check mode would be) done, one entry per service that changed.
    - C(action) is one of C(create), C(update), C(recreate) (mode changed) or C(remove).
    - C(why), when present, is the state of an update the orchestrator gave up on
      (for example C(paused)); the definition is sent again so the rollout resumes.
  returned: always
  type: list
  elements: dict
  sample:
    - {service: worker, action: update}
boards_down:
  description:
    - Boards the orchestrator reports down (Swarm node C(down), Kubernetes node C(NotReady)) that a
      global service of the rollout belongs on, each with those services; also a warning.
    - Their tasks do not hold the rollout back; they start when the board is back.
  returned: always
  type: dict
  sample:
    rack1-worker3: [rng]
diff:
  description: The changed services before and after, in the normalized spec form.
  returned: when diff mode is on
  type: dict
"""

import re
from typing import Any

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.pirack.cluster.plugins.module_utils.app.connect import closing, driver_for
from ansible_collections.pirack.cluster.plugins.module_utils.app.model import App
from ansible_collections.pirack.cluster.plugins.module_utils.app.plan import Action
from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import app_name, normalize
from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import docker_argument_spec
from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError, show
from ansible_collections.pirack.cluster.plugins.module_utils.k8s.client import k8s_argument_spec
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML comes with Ansible on the controller
    HAS_YAML = False

# A day: longer than any rollout of a rack, and far below where the deadline
# arithmetic of the poll loop would overflow.
MAX_WAIT_TIMEOUT = 86400
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def load_spec(params: dict[str, Any]) -> Any:
    """The raw spec: the mapping given, or the file at the path given."""
    spec = params["spec"]
    if isinstance(spec, dict):
        return spec
    if not isinstance(spec, str):
        raise AppError(f"spec: expected a mapping or a file path, got {type(spec).__name__}")
    # Relative to where the module runs; a leading ~ is not expanded (the
    # roles pass the spec as a mapping read on the controller).
    if not HAS_YAML:
        raise AppError(missing_required_lib("PyYAML (python3-yaml) to read a spec file"))
    try:
        with open(spec, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as exc:
        raise AppError(f"spec: cannot read {spec}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise AppError(f"spec: {spec} is not valid YAML: {' '.join(str(exc).split())}") from exc
    except UnicodeDecodeError as exc:
        raise AppError(f"spec: {spec} is not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    except (ValueError, RecursionError) as exc:
        # An embedded NUL in the path, an integer past Python's digit limit,
        # nesting deeper than the parser's stack.
        raise AppError(f"spec: cannot load {show(spec)}: {' '.join(str(exc).split()) or type(exc).__name__}") from exc


def check_options(params: dict[str, Any]) -> None:
    """The module's own options that the argument spec cannot bound."""
    timeout = params["wait_timeout"]
    if not 0 <= timeout <= MAX_WAIT_TIMEOUT:
        raise AppError(f"wait_timeout: expected seconds between 0 and {MAX_WAIT_TIMEOUT}, got {show(timeout)}")
    if params["orchestrator"] != "swarm" and not _NAMESPACE.fullmatch(params["namespace"]):
        raise AppError(f"namespace: expected a Kubernetes namespace name (lowercase letters, digits and '-'), "
                       f"got {show(params['namespace'])}")


def diff_of(actions: list[Action]) -> dict[str, Any]:
    """Before/after of the services that change, keyed by service name."""
    return {"before": {a.service: a.before.as_dict() for a in actions if a.before is not None},
            "after": {a.service: a.after.as_dict() for a in actions if a.after is not None}}


def app_model(params: dict[str, Any]) -> App:
    """The app the options describe: the whole spec to deploy it, its name alone to remove it."""
    if params["state"] == "absent":
        if params["name"] is not None:
            return app_name(params["name"])
        spec = load_spec(params)
        return app_name(spec.get("name") if isinstance(spec, dict) else None)
    if params["spec"] is None:
        raise AppError("spec: required with state=present (name alone only removes an app)")
    return normalize(load_spec(params), params["overrides"], params["image_tag"], params["registry"],
                     params["secrets"])


def main() -> None:
    """Entry point: validate everything, then connect, plan and act."""
    module = build_module(
        argument_spec=docker_argument_spec(**k8s_argument_spec(
            spec={"type": "raw"},
            name={"type": "str"},
            orchestrator={"type": "str", "required": True, "choices": ["swarm", "k8s", "k3s"]},
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            overrides={"type": "dict", "default": {}},
            secrets={"type": "dict", "default": {}, "no_log": True},
            image_tag={"type": "str"},
            registry={"type": "str"},
            namespace={"type": "str", "default": "default"},
            wait={"type": "bool", "default": True},
            wait_timeout={"type": "int", "default": 300},
        )),
        required_one_of=[("spec", "name")],
        mutually_exclusive=[("spec", "name")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        check_options(params)
        model = app_model(params)
        with closing(driver_for(module, params["secrets"])) as driver:
            result = driver.apply(model, params["state"], params["wait"], params["wait_timeout"])
    except AppError as exc:
        module.fail_json(msg=str(exc), errors=exc.errors, actions=[])
    actions = result["actions"]
    for board, services in result["down"].items():
        module.warn(f"{board} is down: {', '.join(services)} will start there when it is back")
    module.exit_json(
        changed=result["changed"],
        app=model.as_dict(),
        actions=[a.summary() for a in actions],
        boards_down=result["down"],
        diff=diff_of(actions),
    )


if __name__ == "__main__":
    main()
