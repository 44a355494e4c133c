# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app model: what an app and each of its services are, once, as types.

Every part of the app engine speaks in these types. app/spec.py builds an
``App`` from a person's YAML; each driver renders a ``Service`` to its
orchestrator and reads live objects back into a ``Service``; app/plan.py
compares the two with ``==``. A field of a service is declared here and
nowhere else: its type, its "not set" value (what a driver reads back when
the orchestrator has nothing for it) and the rule that checks it in a spec
(``rule`` in the field's metadata). docs/architecture.md follows a new
field from here to both drivers.

The types are frozen; their collections are tuples and sorted dicts made
canonical on construction, so two services that mean the same compare
equal however they were built.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.app.values import (
    DNS_LABEL,
    MAX_CPUS,
    MAX_REPLICAS,
    Checker,
    at,
    canonical_size,
    parse_cpus,
    parse_size,
    scalar,
)
from ansible_collections.pirack.cluster.plugins.module_utils.image_ref import is_valid_reference
from ansible_collections.pirack.cluster.plugins.module_utils.node_labels import PLACEMENT_FACTS, ROLES
from ansible_collections.pirack.cluster.plugins.module_utils.pi_model import MODELS

MODES = ("replicated", "global")
PROTOCOLS = ("tcp", "udp")
DEFAULT_VOLUME_SIZE = "1Gi"
# Tasks (pods) a rolling update replaces at once; 0 is all at once.
DEFAULT_PARALLELISM = 1
# Placement by the facts the collection's roles label nodes with
# (module_utils/node_labels.py); any other placement key must be a full node
# label name and is used as written.
PLACEMENT_KEYS = PLACEMENT_FACTS
# Where a service finds its secrets, one file per secret, on both orchestrators.
SECRETS_DIR = "/run/secrets"
# The pod volume that carries them on Kubernetes; no spec volume may take its name.
SECRETS_VOLUME = "pirack-secrets"

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ABSOLUTE_PATH = re.compile(r"/[^\x00-\x1f\x7f]*")
# Node label keys and values as both Swarm and Kubernetes accept them.
_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


def _set(obj: Any, name: str, value: Any) -> None:
    """Assign during ``__post_init__`` of a frozen dataclass."""
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class Port:
    """A port the container listens on; ``published`` is the port it answers on at its node."""

    port: int
    published: Optional[int] = None
    protocol: str = "tcp"


@dataclass(frozen=True)
class Quantity:
    """CPUs in cores (millicore steps) and memory in canonical size form; None: not set."""

    cpus: Optional[float] = None
    memory: Optional[str] = None

    @classmethod
    def read(cls, cpus: Any, memory: Any) -> Quantity:
        """A quantity as an orchestrator keeps it, in canonical form: cores (0.25)
        or millicores ("250m"); bytes or a size ("64Mi"). Absent or 0 is not set."""
        return cls(parse_cpus(cpus) if cpus else None, canonical_size(memory) if memory else None)

    @property
    def millicores(self) -> Optional[int]:
        return None if self.cpus is None else round(self.cpus * 1000)

    @property
    def bytes(self) -> Optional[int]:
        return None if self.memory is None else parse_size(self.memory)


@dataclass(frozen=True)
class Resources:
    limits: Quantity = field(default_factory=Quantity)
    requests: Quantity = field(default_factory=Quantity)


@dataclass(frozen=True)
class Volume:
    """A disk of the service's own at ``path``; ``size`` None where the orchestrator keeps none."""

    name: str
    path: str
    size: Optional[str] = None


@dataclass(frozen=True)
class Update:
    """How a rolling update proceeds: ``parallelism`` tasks at a time, 0 all at
    once; None when a driver finds a rollout setting that is not one of ours
    (it differs from every model, so the next apply puts the spec's in place)."""

    parallelism: Optional[int] = DEFAULT_PARALLELISM


# ------------------------------------------------------------ field rules
#
# One per Service field: ``rule(check, where, raw)`` reads the field from the
# service's raw mapping, reports problems through ``check`` and returns the
# canonical value (anything, once a problem is reported: the spec fails).


def _image(check: Checker, where: str, raw: dict) -> Optional[str]:
    expected = "an image reference such as pirack/coinminer-rng:1.0 (required)"
    image = check.string(f"{where}.image", raw.get("image"), expected=expected)
    if image is not None and not is_valid_reference(image):
        check.fail(f"{where}.image", expected, image)
        return None
    return image


def _mode(check: Checker, where: str, raw: dict) -> Optional[str]:
    return check.choice(f"{where}.mode", raw.get("mode", "replicated"), MODES)


def _replicas(check: Checker, where: str, raw: dict) -> Optional[int]:
    if raw.get("mode") == "global":
        if raw.get("replicas") is not None:
            check.errors.append(f"{where}.replicas: not allowed with mode global "
                                f"(one task per matching node); expected no replicas field")
        return None
    return check.integer(f"{where}.replicas", raw.get("replicas", 1), 0, MAX_REPLICAS)


def _ports(check: Checker, where: str, raw: dict) -> tuple[Port, ...]:
    ports: list[Port] = []
    seen: set[tuple[int, str]] = set()
    for i, item in enumerate(check.items(f"{where}.ports", raw.get("ports"), "ports")):
        here = f"{where}.ports[{i}]"
        entry = check.mapping(here, item, tuple(f.name for f in dataclasses.fields(Port)))
        if "port" not in entry and isinstance(item, dict):
            check.fail(f"{here}.port", "the port the container listens on (required)", got=False)
        port = check.integer(f"{here}.port", entry["port"], 1, 65535) if "port" in entry else None
        published = entry.get("published")
        if published is not None:
            published = check.integer(f"{here}.published", published, 1, 65535)
        protocol = check.choice(f"{here}.protocol", entry.get("protocol", "tcp"), PROTOCOLS)
        if port is None or protocol is None:
            continue
        if (port, protocol) in seen:
            check.errors.append(f"{here}.port: {port}/{protocol} is listed twice; expected each port once")
        seen.add((port, protocol))
        ports.append(Port(port, published, protocol))
    return tuple(ports)


def _env(check: Checker, where: str, raw: dict) -> dict[str, str]:
    env: dict[str, str] = {}
    if raw.get("env") is None:
        return env
    for key, val in check.mapping(f"{where}.env", raw["env"], None).items():
        if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
            check.fail(f"{where}.env", "variable names of letters, digits and _", key)
            continue
        text = scalar(val)
        if text is None:
            check.fail(f"{where}.env.{key}", "a string or number (quote values such as \"yes\" or \"true\")", val)
            continue
        env[key] = text
    return env


def _command(check: Checker, where: str, raw: dict) -> Optional[tuple[str, ...]]:
    return check.string_list(f"{where}.command", raw.get("command"))


def _args(check: Checker, where: str, raw: dict) -> Optional[tuple[str, ...]]:
    return check.string_list(f"{where}.args", raw.get("args"))


def _quantity(check: Checker, where: str, value: Any) -> Quantity:
    if value is None:
        return Quantity()
    raw = check.mapping(where, value, tuple(f.name for f in dataclasses.fields(Quantity)))
    cpus = memory = None
    if raw.get("cpus") is not None:
        try:
            cpus = parse_cpus(raw["cpus"])
        except ValueError:
            check.fail(f"{where}.cpus", f"a positive number of CPUs (at most {MAX_CPUS}) such as 0.5, 2 "
                       f"or \"500m\"", raw["cpus"])
    if raw.get("memory") is not None:
        try:
            memory = canonical_size(raw["memory"])
        except ValueError:
            check.fail(f"{where}.memory", "a size such as 64Mi, 1Gi or 500M (Kubernetes units)", raw["memory"])
    return Quantity(cpus, memory)


def _resources(check: Checker, where: str, raw: dict) -> Resources:
    here = f"{where}.resources"
    value = check.mapping(here, raw.get("resources") or {}, tuple(f.name for f in dataclasses.fields(Resources)))
    return Resources(_quantity(check, f"{here}.limits", value.get("limits")),
                     _quantity(check, f"{here}.requests", value.get("requests")))


def _placement(check: Checker, where: str, raw: dict) -> dict[str, str]:
    placement: dict[str, str] = {}
    here = f"{where}.placement"
    if raw.get("placement") is None:
        return placement
    for key, val in check.mapping(here, raw["placement"], None).items():
        if key not in PLACEMENT_KEYS and not (isinstance(key, str) and _LABEL_KEY.fullmatch(key)
                                              and ("." in key or "/" in key)):
            check.errors.append(f"{at(here, key)}: unknown placement; expected one of "
                                f"{', '.join(PLACEMENT_KEYS)} or a full node label name "
                                f"such as example.com/disk")
            continue
        text = scalar(val) if not isinstance(val, float) else None
        if text is None or not _LABEL_VALUE.fullmatch(text):
            check.fail(f"{here}.{key}", "a node label value (letters, digits, '-', '_', '.')", val)
            continue
        if key == "role" and text not in ROLES:
            check.fail(f"{here}.role", "one of " + ", ".join(ROLES), val)
            continue
        if key == "model" and text not in MODELS:
            check.fail(f"{here}.model", "a board key: " + ", ".join(sorted(MODELS)), val)
            continue
        placement[key] = text
    return placement


def _volumes(check: Checker, where: str, raw: dict) -> tuple[Volume, ...]:
    volumes: list[Volume] = []
    names: set[str] = set()
    for i, item in enumerate(check.items(f"{where}.volumes", raw.get("volumes"), "volumes")):
        here = f"{where}.volumes[{i}]"
        entry = check.mapping(here, item, tuple(f.name for f in dataclasses.fields(Volume)))
        if not isinstance(item, dict):
            continue
        name = check.string(f"{here}.name", entry.get("name"), DNS_LABEL,
                            "a volume name of lowercase letters, digits and '-'")
        path = check.string(f"{here}.path", entry.get("path"), _ABSOLUTE_PATH, "an absolute path inside the container")
        size = None
        try:
            size = canonical_size(entry.get("size", DEFAULT_VOLUME_SIZE))
        except ValueError:
            check.fail(f"{here}.size", "a size such as 1Gi or 500Mi (Kubernetes units)", entry.get("size"))
        if name in names or name == SECRETS_VOLUME:
            check.errors.append(f"{here}.name: {name!r} is used twice or reserved; expected unique volume names")
        if name and path and size:
            names.add(name)
            volumes.append(Volume(name, path, size))
    return tuple(volumes)


def _allow_from(check: Checker, where: str, raw: dict) -> Optional[tuple[str, ...]]:
    """Which services of the app may connect: None is everyone, () no one.
    That they are services of the app is checked with the whole app (spec.py)."""
    value = raw.get("allow_from")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        check.fail(f"{where}.allow_from", "a list of service names of the app", value)
        return None
    return tuple(value)


def _secrets(check: Checker, where: str, raw: dict) -> dict[str, str]:
    """The secret names, each with an empty digest: spec.py fills in the digest
    of the value the module's ``secrets`` option gives."""
    names = check.items(f"{where}.secrets", raw.get("secrets"), "secret names")
    if not all(isinstance(n, str) and DNS_LABEL.fullmatch(n) for n in names):
        check.fail(f"{where}.secrets", "a list of secret names of lowercase letters, digits and '-'", raw["secrets"])
        return {}
    return dict.fromkeys(names, "")


def _update(check: Checker, where: str, raw: dict) -> Update:
    here = f"{where}.update"
    value = check.mapping(here, raw.get("update") if raw.get("update") is not None else {},
                          tuple(f.name for f in dataclasses.fields(Update)))
    return Update(check.integer(f"{here}.parallelism", value.get("parallelism", DEFAULT_PARALLELISM),
                                0, MAX_REPLICAS))


def _rule(check: Callable[[Checker, str, dict], Any]) -> dict[str, Any]:
    return {"rule": check}


@dataclass(frozen=True)
class Service:
    """One service of an app, normalized; the defaults are "not set".

    ``replicas`` is None for mode global (one task per matching node);
    ``allow_from`` None lets every service of the app in, () none;
    ``secrets`` maps a secret's name to the digest of its value (spec.py's
    ``secret_digest``): which value a service uses, never the value;
    ``update`` how a rolling update replaces tasks.
    """

    image: Optional[str] = field(default=None, metadata=_rule(_image))
    mode: str = field(default="replicated", metadata=_rule(_mode))
    replicas: Optional[int] = field(default=None, metadata=_rule(_replicas))
    ports: tuple[Port, ...] = field(default=(), metadata=_rule(_ports))
    env: Mapping[str, str] = field(default_factory=dict, metadata=_rule(_env))
    command: Optional[tuple[str, ...]] = field(default=None, metadata=_rule(_command))
    args: Optional[tuple[str, ...]] = field(default=None, metadata=_rule(_args))
    resources: Resources = field(default_factory=Resources, metadata=_rule(_resources))
    placement: Mapping[str, str] = field(default_factory=dict, metadata=_rule(_placement))
    volumes: tuple[Volume, ...] = field(default=(), metadata=_rule(_volumes))
    allow_from: Optional[tuple[str, ...]] = field(default=None, metadata=_rule(_allow_from))
    secrets: Mapping[str, str] = field(default_factory=dict, metadata=_rule(_secrets))
    update: Update = field(default_factory=Update, metadata=_rule(_update))

    def __post_init__(self) -> None:
        _set(self, "ports", tuple(sorted(self.ports, key=lambda p: (p.port, p.protocol))))
        _set(self, "env", dict(sorted(self.env.items())))
        _set(self, "placement", dict(sorted(self.placement.items())))
        _set(self, "secrets", dict(sorted(self.secrets.items())))
        _set(self, "volumes", tuple(self.volumes))
        for name in ("command", "args"):
            _set(self, name, tuple(getattr(self, name)) if getattr(self, name) else None)
        if self.allow_from is not None:
            _set(self, "allow_from", tuple(sorted(set(self.allow_from))))

    def publishes(self) -> bool:
        """Whether a port answers on the node running a task: that port is
        bound there, so an update must stop the old task first."""
        return any(p.published is not None for p in self.ports)

    def as_dict(self) -> dict[str, Any]:
        """The service in the spec's own words, as results and diffs show it."""
        return _plain(self)


SERVICE_FIELDS = tuple(f.name for f in dataclasses.fields(Service))


def parse_service(check: Checker, where: str, value: Any) -> Service:
    """A service of a spec, every field by its rule; problems go to ``check``."""
    raw = check.mapping(where, value, SERVICE_FIELDS)
    service = Service(**{f.name: f.metadata["rule"](check, where, raw) for f in dataclasses.fields(Service)})
    # A volume is one disk on one node (a Kubernetes ReadWriteOnce claim, a
    # local Swarm volume): two tasks writing it would corrupt it.
    if service.volumes and (service.mode == "global" or (service.replicas or 0) > 1):
        check.errors.append(f"{where}.volumes: a service with volumes runs at most one task; "
                            f"expected mode replicated with replicas 0 or 1")
    return service


@dataclass(frozen=True)
class Network:
    """The app's own network; ``encrypted`` turns on IPsec between nodes (Swarm overlay)."""

    encrypted: bool = False


@dataclass(frozen=True)
class App:
    """An app: its name (a DNS label), its network and its services by name."""

    name: str
    network: Network = field(default_factory=Network)
    services: Mapping[str, Service] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _set(self, "services", dict(sorted(self.services.items())))

    def as_dict(self) -> dict[str, Any]:
        """The app in the spec's own words: the module's ``app`` result."""
        return _plain(self)


def _plain(value: Any) -> Any:
    """A model value as plain dicts and lists (what JSON and a YAML spec hold)."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value
