# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app engine's Kubernetes (k3s) driver: render, read back, act, wait.

Each service becomes a Deployment (mode replicated) or a DaemonSet (mode
global), a ClusterIP Service named like the service when it has ports (that
is the DNS name the other services use), and one PersistentVolumeClaim per
volume. Published ports become ``hostPort``s: like Swarm's host-mode ports,
they answer on the node that runs the pod.

Objects are plain dicts in the API's JSON form. Rendering and reading back
are pure, so the unit tests compare them field by field; ``K8sApp`` does the
I/O through the typed client, asking for raw JSON so dicts go in and out.
Client creation is the k8s/ one the node modules use, and so is the poll
loop (module_utils/wait.py).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any, Mapping, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.app.driver import Driver
from ansible_collections.pirack.cluster.plugins.module_utils.app.model import (
    DEFAULT_PARALLELISM,
    SECRETS_DIR,
    SECRETS_VOLUME,
    App,
    Port,  # a containerPort, with the Service that names it
    Quantity,
    Resources,
    Service,
    Update,  # a Deployment's rollingUpdate, a DaemonSet's updateStrategy
    Volume,  # a PersistentVolumeClaim
)
from ansible_collections.pirack.cluster.plugins.module_utils.app.plan import Action, Deployed
from ansible_collections.pirack.cluster.plugins.module_utils.app.readiness import (
    k8s_boards_down,
    k8s_rollout,
    k8s_status,
    pod_problems,
)
from ansible_collections.pirack.cluster.plugins.module_utils.app.values import canonical_size
from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError
from ansible_collections.pirack.cluster.plugins.module_utils.k8s.client import (
    API_ERRORS,
    ApiException,
    api_error_text,
    k8s_client,
)
from ansible_collections.pirack.cluster.plugins.module_utils.node_labels import placement_key, placement_label

MANAGER = "pirack.cluster"
LABEL_NAME = "app.kubernetes.io/name"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
# On the pod template: which value of each secret the pods were started
# with, so a new value rolls them (a mounted Secret changes under a running
# process, which read it at start).
SECRETS_ANNOTATION = "pirack.io/secrets"
# kind -> (API group object, suffix of the client's *_namespaced_<suffix> methods)
_METHODS = {"Deployment": ("apps", "deployment"), "DaemonSet": ("apps", "daemon_set"),
            "Service": ("core", "service"), "PersistentVolumeClaim": ("core", "persistent_volume_claim"),
            "Pod": ("core", "pod"), "NetworkPolicy": ("networking", "network_policy"),
            "Secret": ("core", "secret")}
# Every pod runs as the k3s CIS hardening guide and Pod Security's
# "restricted" level ask: not as root (the images name a numeric user), no
# privilege escalation, no capabilities (k3s lets pods bind ports below 1024
# without one), the runtime's default seccomp profile, and no
# service-account token, which none of the app's services uses.
POD_SECURITY = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
NOT_HARDENED = "pods without the security settings"
# Which slot of a service's live objects each listed kind fills.
_SLOTS = {"Deployment": "workload", "DaemonSet": "workload", "Service": "service", "NetworkPolicy": "policy"}


def labels(app: str, name: str) -> dict[str, str]:
    return {LABEL_NAME: name, LABEL_PART_OF: app, LABEL_MANAGED_BY: MANAGER}


def selector(app: str, name: str) -> dict[str, str]:
    """Pod selector of a service; immutable once created, so it never grows."""
    return {LABEL_NAME: name, LABEL_PART_OF: app}


def _expressions(placement: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"key": placement_label(key), "operator": "In", "values": [value]} for key, value in placement.items()]


def rolls(service: Service) -> bool:
    """Whether a service's new pods can start before its old ones stop.
    A volume is a ReadWriteOnce claim: the old pod must let go of it
    before the new one can mount it, and so must a host port; such
    Deployments are recreated, and the spec's parallelism has no say."""
    return not service.volumes and not service.publishes()


def rolling_update(parallelism: int, surge: bool) -> dict[str, Any]:
    """The spec's update parallelism as a workload's ``rollingUpdate``. 0 is all at once.

    With ``surge`` that many new pods start before old ones stop (Swarm's
    start-first, so the service never runs short): every rolling Deployment,
    and a DaemonSet whose pods hold no host port and no volume. A DaemonSet
    that must stop first replaces that many nodes' pods at once; its update
    waits for each node that went down with an old pod on it, while the
    surge path goes past such nodes (kubernetes#117204).
    """
    count: Any = parallelism or "100%"
    if surge:
        return {"maxSurge": count, "maxUnavailable": 0}
    return {"maxUnavailable": count}


def read_parallelism(kind: str, strategy: dict[str, Any], surge: bool = True) -> Optional[int]:
    """The parallelism ``rolling_update`` rendered into ``strategy``; None when
    the live block is not one of ours (it then differs from every model, and
    the next apply puts the spec's in place)."""
    if strategy.get("type") == "Recreate" and kind == "Deployment":
        return DEFAULT_PARALLELISM
    rolling = strategy.get("rollingUpdate") or {}
    count = rolling.get("maxSurge" if surge else "maxUnavailable")
    parallelism = 0 if count == "100%" else count
    if isinstance(parallelism, int) and not isinstance(parallelism, bool) and parallelism >= 0:
        ours = rolling_update(parallelism, surge)
        # The API server adds maxSurge 0 to a DaemonSet's block.
        seen = {key: value for key, value in rolling.items() if key in ours or value not in (0, "0%")}
        if seen == ours:
            return parallelism
    return None


def desired_view(service: Service) -> Service:
    """What ``read_service`` returns once ``service`` is deployed: a
    recreated Deployment keeps no parallelism."""
    if service.mode == "global" or rolls(service):
        return service
    return dataclasses.replace(service, update=Update())


def _resource_block(quantity: Quantity) -> dict[str, str]:
    block = {}
    if quantity.millicores is not None:
        block["cpu"] = f"{quantity.millicores}m"
    if quantity.memory is not None:
        block["memory"] = quantity.memory
    return block


def render_workload(app: str, namespace: str, name: str, service: Service) -> dict[str, Any]:
    """The Deployment or DaemonSet of one service of the model."""
    container: dict[str, Any] = {
        "name": name,
        "image": service.image,
        "env": [{"name": k, "value": v} for k, v in service.env.items()],
        "ports": [dict({"containerPort": p.port, "protocol": p.protocol.upper()},
                       **({"hostPort": p.published} if p.published is not None else {}))
                  for p in service.ports],
        "resources": {ours: block for ours, block in (("limits", _resource_block(service.resources.limits)),
                                                      ("requests", _resource_block(service.resources.requests)))
                      if block},
        "volumeMounts": [{"name": v.name, "mountPath": v.path} for v in service.volumes],
        "securityContext": CONTAINER_SECURITY,
    }
    if service.command:
        container["command"] = list(service.command)
    if service.args:
        container["args"] = list(service.args)
    pod: dict[str, Any] = {
        "containers": [container],
        "volumes": [{"name": v.name, "persistentVolumeClaim": {"claimName": v.name}} for v in service.volumes],
        "automountServiceAccountToken": False,
        "securityContext": POD_SECURITY,
    }
    if service.placement:
        pod["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": _expressions(service.placement)}]}}}
    template: dict[str, Any] = {"metadata": {"labels": labels(app, name)}, "spec": pod}
    if service.secrets:
        # One file per secret in /run/secrets, as on Swarm; never an env var.
        pod["volumes"].append({"name": SECRETS_VOLUME, "projected": {"defaultMode": 0o444, "sources": [
            {"secret": {"name": n, "items": [{"key": n, "path": n}]}} for n in service.secrets]}})
        container["volumeMounts"].append({"name": SECRETS_VOLUME, "mountPath": SECRETS_DIR, "readOnly": True})
        template["metadata"]["annotations"] = {
            SECRETS_ANNOTATION: ",".join(f"{n}={d}" for n, d in service.secrets.items())}
    spec: dict[str, Any] = {"selector": {"matchLabels": selector(app, name)}, "template": template}
    parallelism = service.update.parallelism
    if service.mode == "global":
        kind = "DaemonSet"
        spec["updateStrategy"] = {"type": "RollingUpdate",
                                  "rollingUpdate": rolling_update(parallelism, rolls(service))}
    else:
        kind = "Deployment"
        spec["replicas"] = service.replicas
        if rolls(service):
            spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": rolling_update(parallelism, True)}
        else:
            spec["strategy"] = {"type": "Recreate"}
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "labels": labels(app, name)},
            "spec": spec}


def render_service(app: str, namespace: str, name: str, service: Service) -> Optional[dict[str, Any]]:
    """The ClusterIP Service that gives the service its DNS name; None without ports."""
    if not service.ports:
        return None
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "labels": labels(app, name)},
            "spec": {"type": "ClusterIP", "selector": selector(app, name),
                     "ports": [{"name": f"{p.protocol}-{p.port}", "port": p.port,
                                "targetPort": p.port, "protocol": p.protocol.upper()}
                               for p in service.ports]}}


def render_claims(app: str, namespace: str, name: str, service: Service) -> list[dict[str, Any]]:
    """One PersistentVolumeClaim per volume, on the cluster's default storage class."""
    return [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": v.name, "namespace": namespace, "labels": labels(app, name)},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": v.size}}}}
            for v in service.volumes]


def render_secret(app: str, namespace: str, name: str, value: str) -> dict[str, Any]:
    """The Secret holding one secret's value, under a key of its own name (the file's name)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {LABEL_PART_OF: app, LABEL_MANAGED_BY: MANAGER}},
            "data": {name: base64.b64encode(value.encode()).decode()}}


def render_policy(app: str, namespace: str, name: str, service: Service) -> Optional[dict[str, Any]]:
    """The NetworkPolicy that opens the service's ports to ``allow_from``'s services.

    The app's default-deny policy (``render_default_deny``) shuts every pod
    of the app; each service's own policy lets in only the pods of the named
    services of this app, or anyone when ``allow_from`` is None (the web UI:
    its published port). An empty ``allow_from`` admits no one; a service
    without ports that admits everyone needs no policy (None).
    """
    if service.allow_from is None and not service.ports:
        return None
    rules = []
    if service.allow_from is None or service.allow_from:
        rule: dict[str, Any] = {}
        if service.allow_from:
            rule["from"] = [{"podSelector": {"matchLabels": selector(app, other)}} for other in service.allow_from]
        if service.ports:
            rule["ports"] = [{"port": p.port, "protocol": p.protocol.upper()} for p in service.ports]
        rules.append(rule)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "labels": labels(app, name)},
            "spec": {"podSelector": {"matchLabels": selector(app, name)}, "policyTypes": ["Ingress"],
                     "ingress": rules}}


def default_deny_name(app: str) -> str:
    return f"{app}-default-deny"


def render_default_deny(app: str, namespace: str) -> dict[str, Any]:
    """The policy that shuts every pod of the app to every other pod and to
    the LAN, so only what each service's own policy opens gets in."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": default_deny_name(app), "namespace": namespace,
                         "labels": {LABEL_PART_OF: app, LABEL_MANAGED_BY: MANAGER}},
            "spec": {"podSelector": {"matchLabels": {LABEL_PART_OF: app}}, "policyTypes": ["Ingress"],
                     "ingress": []}}


def hardened(workload: dict[str, Any]) -> bool:
    """Whether a live workload's pods carry the security settings render_workload gives them."""
    pod = ((workload.get("spec") or {}).get("template") or {}).get("spec") or {}
    return (pod.get("automountServiceAccountToken") is False
            and pod.get("securityContext") == POD_SECURITY
            and all(c.get("securityContext") == CONTAINER_SECURITY for c in pod.get("containers") or [{}]))


def render(model: App, namespace: str) -> list[dict[str, Any]]:
    """Every object of the app: its default-deny policy, then the claims
    (pods wait for them), then each service's objects."""
    app = model.name
    objects: list[dict[str, Any]] = [render_default_deny(app, namespace)]
    for name, service in model.services.items():
        objects.extend(render_claims(app, namespace, name, service))
    for name, service in model.services.items():
        objects.append(render_workload(app, namespace, name, service))
        svc = render_service(app, namespace, name, service)
        objects.extend(obj for obj in (svc, render_policy(app, namespace, name, service)) if obj is not None)
    return objects


def _placement(affinity: dict[str, Any]) -> dict[str, str]:
    terms = (((affinity.get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
              or {}).get("nodeSelectorTerms") or [{}])
    return {placement_key(expr.get("key")): (expr.get("values") or [""])[0]
            for expr in terms[0].get("matchExpressions") or [] if expr.get("operator") == "In"}


def _protocol(port: dict[str, Any]) -> str:
    """A port's protocol in the spec's spelling; the API defaults it to TCP."""
    return (port.get("protocol") or "TCP").lower()


def _allowed(policy: Optional[dict[str, Any]], has_ports: bool) -> Optional[tuple[str, ...]]:
    """The services a NetworkPolicy lets in, in the spec's terms (None:
    anyone). Without a policy of its own, the app's default-deny shuts a
    service's ports to everyone; a service without ports has none to shut."""
    if policy is None:
        return () if has_ports else None
    rules = (policy.get("spec") or {}).get("ingress") or []
    if any("from" not in rule for rule in rules):
        return None
    return tuple({((peer.get("podSelector") or {}).get("matchLabels") or {}).get(LABEL_NAME)
                  for rule in (policy.get("spec") or {}).get("ingress") or []
                  for peer in rule.get("from") or []} - {None})


def _read_quantity(block: dict[str, Any]) -> Quantity:
    return Quantity.read(block.get("cpu"), block.get("memory"))


def read_service(workload: dict[str, Any], service: Optional[dict[str, Any]],
                 claims: Mapping[str, dict[str, Any]], policy: Optional[dict[str, Any]] = None) -> Service:
    """Live objects of one service as a service of the model, for comparison.

    A port counts only when the Service exposes it too: a port without its
    Service gives no DNS name, so it is not deployed as the spec means it.
    """
    spec = workload.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    container = (pod.get("containers") or [{}])[0]
    exposed = {(p.get("targetPort"), _protocol(p))
               for p in ((service or {}).get("spec") or {}).get("ports") or []
               if p.get("port") == p.get("targetPort")}
    resources = container.get("resources") or {}
    annotation = (((spec.get("template") or {}).get("metadata") or {}).get("annotations") or {}).get(
        SECRETS_ANNOTATION)
    claim_of = {v["name"]: (v.get("persistentVolumeClaim") or {}).get("claimName")
                for v in pod.get("volumes") or []}
    volumes = []
    for mount in container.get("volumeMounts") or []:
        claim_name = claim_of.get(mount["name"])
        if claim_name is None:
            continue
        storage = ((((claims.get(claim_name) or {}).get("spec") or {}).get("resources") or {})
                   .get("requests") or {}).get("storage")
        volumes.append(Volume(claim_name, mount.get("mountPath"), canonical_size(storage) if storage else None))
    global_mode = workload.get("kind") == "DaemonSet"
    service = Service(
        image=container.get("image"),
        mode="global" if global_mode else "replicated",
        replicas=None if global_mode else spec.get("replicas", 1),
        ports=tuple(Port(p["containerPort"], p.get("hostPort"), _protocol(p))
                    for p in container.get("ports") or [] if (p["containerPort"], _protocol(p)) in exposed),
        env={e["name"]: e.get("value", "") for e in container.get("env") or []},
        command=container.get("command") or None,
        args=container.get("args") or None,
        resources=Resources(*(_read_quantity(resources.get(ours) or {}) for ours in ("limits", "requests"))),
        placement=_placement(pod.get("affinity") or {}),
        volumes=tuple(volumes),
        allow_from=_allowed(policy, any((p["containerPort"], _protocol(p)) in exposed
                                        for p in container.get("ports") or [])),
        secrets=dict(item.partition("=")[::2] for item in annotation.split(",")) if annotation else {},
    )
    # A DaemonSet surges only when its pods hold no host port and no volume.
    strategy = spec.get("updateStrategy" if global_mode else "strategy") or {}
    parallelism = read_parallelism("DaemonSet" if global_mode else "Deployment", strategy,
                                   rolls(service) if global_mode else True)
    return dataclasses.replace(service, update=Update(parallelism))


class K8sDriver(Driver):
    """Applies an app to one namespace (``Settings.namespace``) through the Kubernetes client.

    ``client`` is the ``CoreV1Api`` of k8s/client.py; the apps API shares its
    connection. Claims are kept on removal: they hold the app's data.
    """

    errors = API_ERRORS
    poll = 2.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.apis = {"core": self.client, "apps": k8s_client.AppsV1Api(self.client.api_client),
                     "networking": k8s_client.NetworkingV1Api(self.client.api_client)}
        self.namespace = self.settings.namespace

    def error_text(self, exc: BaseException) -> str:
        return f"Kubernetes API: {api_error_text(exc)}"

    def _call(self, verb: str, kind: str, *args: Any, **kwargs: Any) -> Any:
        group, suffix = _METHODS[kind]
        method = getattr(self.apis[group], f"{verb}_namespaced_{suffix}")
        answer = method(*args, _preload_content=False, _request_timeout=self.settings.request_timeout, **kwargs)
        return json.loads(answer.data) if answer.data else {}

    def _nodes(self) -> list[dict[str, Any]]:
        answer = self.client.list_node(_preload_content=False, _request_timeout=self.settings.request_timeout)
        return (json.loads(answer.data) if answer.data else {}).get("items") or []

    def _read(self, kind: str, name: str) -> Optional[dict[str, Any]]:
        try:
            return self._call("read", kind, name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _list(self, kind: str, selector_text: str) -> list[dict[str, Any]]:
        items = self._call("list", kind, self.namespace, label_selector=selector_text).get("items") or []
        for item in items:
            # List items come without kind; read_service and k8s_rollout need it.
            item.setdefault("kind", kind)
        return items

    def read(self, app: str) -> dict[str, Any]:
        """The app's live workload, Service and NetworkPolicy by service name, each with the app's claims."""
        sel = f"{LABEL_PART_OF}={app},{LABEL_MANAGED_BY}={MANAGER}"
        claims = {c["metadata"]["name"]: c for c in self._list("PersistentVolumeClaim", sel)}
        found: dict[str, dict[str, Any]] = {}
        for kind, slot in _SLOTS.items():
            for obj in self._list(kind, sel):
                if kind == "NetworkPolicy" and obj["metadata"]["name"] == default_deny_name(app):
                    continue  # the app's, not a service's (prepare and finish keep it)
                name = obj["metadata"].get("labels", {}).get(LABEL_NAME, obj["metadata"]["name"])
                found.setdefault(name, {"workload": None, "service": None, "policy": None, "claims": claims})[
                    slot] = obj
        return found

    def service_status(self, app: str, name: str, live: dict[str, Any]) -> dict[str, Any]:
        return k8s_status(live["workload"])

    def view(self, app: str, live: dict[str, Any]) -> Deployed:
        """No service when the workload is missing: the service is created again."""
        if live["workload"] is None:
            return Deployed(None)
        service = read_service(live["workload"], live["service"], live["claims"], live["policy"])
        # Pods started before the security settings: sent again once, though the service reads as the model.
        return Deployed(service, None if hardened(live["workload"]) else NOT_HARDENED)

    def desired(self, service: Service) -> Service:
        return desired_view(service)

    def act(self, model: App, action: Action, live: Optional[dict[str, Any]]) -> None:
        app, name = model.name, action.service
        live = live or {}
        old = live.get("workload")
        if action.action in ("remove", "recreate") and old is not None:
            self._call("delete", old["kind"], name, self.namespace, propagation_policy="Background")
        if action.action == "remove":
            for kind, slot in (("Service", "service"), ("NetworkPolicy", "policy")):
                if live.get(slot) is not None:
                    self._call("delete", kind, name, self.namespace)
            return
        service = model.services[name]
        for secret in service.secrets:
            self._put(render_secret(app, self.namespace, secret, self.settings.secrets[secret]),
                      self._read("Secret", secret))
        for claim in render_claims(app, self.namespace, name, service):
            # Read, not taken from ``live``: a claim outlives its service.
            self._put(claim, self._read("PersistentVolumeClaim", claim["metadata"]["name"]))
        self._put(render_workload(app, self.namespace, name, service), old if action.action == "update" else None)
        for kind, slot, obj in (("Service", "service", render_service(app, self.namespace, name, service)),
                                ("NetworkPolicy", "policy", render_policy(app, self.namespace, name, service))):
            if obj is not None:
                self._put(obj, live.get(slot))
            elif live.get(slot) is not None:
                self._call("delete", kind, name, self.namespace)

    def _put(self, obj: dict[str, Any], live: Optional[dict[str, Any]]) -> None:
        """Create ``obj``, or replace the live object with it whole.

        Replace, not patch: what is not in the rendered object is not kept,
        except what the API server owns (resourceVersion, a Service's IP).
        """
        kind, name = obj["kind"], obj["metadata"]["name"]
        if live is None:
            self._call("create", kind, self.namespace, obj)
            return
        if kind == "PersistentVolumeClaim" and (
                live.get("spec", {}).get("resources") == obj["spec"]["resources"]):
            return
        body = json.loads(json.dumps(obj))
        body["metadata"]["resourceVersion"] = live["metadata"].get("resourceVersion")
        if kind == "Service":
            for key in ("clusterIP", "clusterIPs"):
                if key in live.get("spec", {}):
                    body["spec"][key] = live["spec"][key]
        if kind == "PersistentVolumeClaim":
            # Only the size of a claim may change (and only grow); keep the rest.
            body["spec"] = dict(live["spec"], resources=obj["spec"]["resources"])
        self._call("replace", kind, name, self.namespace, body)

    def prepare(self, model: App, state: str, timeout: float) -> bool:
        """Shut the app's pods with its default-deny policy before any of
        them starts (each service's own policy opens what it serves); it
        goes in ``finish`` when the app does."""
        if state != "present":
            return False
        wanted = render_default_deny(model.name, self.namespace)
        live = self._read("NetworkPolicy", wanted["metadata"]["name"])
        if live is not None and live.get("spec") == wanted["spec"]:
            return False
        if not self.settings.check_mode:
            self._put(wanted, live)
        return True

    def finish(self, model: App, state: str, timeout: float) -> None:
        """Delete the app's Secrets no service uses any more (all, when the
        app goes, with its default-deny policy)."""
        if state != "present" and self._read("NetworkPolicy", default_deny_name(model.name)) is not None:
            self._call("delete", "NetworkPolicy", default_deny_name(model.name), self.namespace)
        services = model.services.values() if state == "present" else []
        keep = {name for service in services for name in service.secrets}
        for secret in self._list("Secret", f"{LABEL_PART_OF}={model.name},{LABEL_MANAGED_BY}={MANAGER}"):
            if secret["metadata"]["name"] not in keep:
                self._call("delete", "Secret", secret["metadata"]["name"], self.namespace)

    def rollout(self, model: App, names: list[str], timeout: int) -> dict[str, list[str]]:
        """Poll until each named service's rollout is done; fail naming what
        blocks it. Answer the NotReady boards each DaemonSet belongs on."""
        app = model.name

        def probe() -> tuple[bool, dict[str, Any]]:
            current = self.read(app)
            state = {name: k8s_rollout((current.get(name) or {}).get("workload") or {}) for name in names}
            return all(s["done"] for s in state.values()), state

        done, state, elapsed = self.wait_for(probe, timeout)
        if done:
            daemons = [name for name in names if model.services[name].mode == "global"]
            nodes = self._nodes() if daemons else []
            waiting = {name: k8s_boards_down(nodes, model.services[name].placement) for name in daemons}
            return {name: boards for name, boards in waiting.items() if boards}
        lines = []
        for name, status in state.items():
            if status["done"]:
                continue
            pods = self._list("Pod", f"{LABEL_PART_OF}={app},{LABEL_NAME}={name}")
            text = (f"{name}: {status['available']} of {status['expected']} pods available "
                    f"({status['updated']} updated) after {int(elapsed)}s")
            details = status["conditions"] + pod_problems(pods)
            lines.append(text + ("; " + "; ".join(details) if details else ""))
        raise AppError("rollout not complete: " + " | ".join(lines))
