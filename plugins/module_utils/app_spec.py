# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app spec: one small YAML format for the coin-miner and apps like it.

A spec is written by a person and rendered to two orchestrators (Docker Swarm
and Kubernetes), so everything about it that can be wrong is caught here,
once, with messages that name the service, the field and what was expected.
The result is a *normalized model*: plain dicts with every field present and
every quantity in one canonical form. The renderers (app_swarm, app_k8s) read
live objects back into the same shape, so "is it already deployed?" is a
plain equality test and the diff a user sees is in the words of the spec.

Nothing here does I/O; docs/app-spec.md is the reference for the format.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.pi_model import MODELS

MODES = ("replicated", "global")
PROTOCOLS = ("tcp", "udp")
DEFAULT_VOLUME_SIZE = "1Gi"
# Placement by the facts the collection's roles label nodes with; each
# renderer maps these names to its orchestrator's node labels. Any other
# placement key must be a full node label name and is used as written.
PLACEMENT_KEYS = ("role", "model", "cluster")
ROLES = ("master", "worker")

# Service and app names become DNS names (swarm aliases, Kubernetes Service
# names), so they follow RFC 1123 labels and start with a letter.
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Node label keys and values as both Swarm and Kubernetes accept them.
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_UNITS = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
# Largest unit first, binary before decimal, so 64Mi stays "64Mi".
_FORMAT_UNITS = ("Ti", "Gi", "Mi", "Ki", "T", "G", "M", "k")

APP_FIELDS = ("name", "services")
SERVICE_FIELDS = ("image", "mode", "replicas", "ports", "env", "command", "args",
                  "resources", "placement", "volumes")
PORT_FIELDS = ("port", "published", "protocol")
RESOURCE_FIELDS = ("limits", "requests")
QUANTITY_FIELDS = ("cpus", "memory")
VOLUME_FIELDS = ("name", "path", "size")


class AppSpecError(ValueError):
    """A spec is invalid; ``errors`` holds one line per problem found.

    All problems are collected before raising, so a person fixing a spec sees
    every mistake at once instead of one per run.
    """

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("invalid app spec: " + "; ".join(errors))


def _describe(value: Any) -> str:
    """How a wrong value is shown in an error: its repr and YAML type."""
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string",
             list: "list", dict: "mapping", type(None): "null"}
    return f"{value!r} ({kinds.get(type(value), type(value).__name__)})"


class _Checker:
    """Collects errors while walking a spec; each check returns a clean value."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, where: str, expected: str, value: Any = None, got: bool = True) -> None:
        self.errors.append(f"{where}: expected {expected}" + (f", got {_describe(value)}" if got else ""))

    def mapping(self, where: str, value: Any, fields: Optional[tuple[str, ...]]) -> dict:
        """A mapping, and (when ``fields`` is given) only known keys in it."""
        if not isinstance(value, dict):
            self.fail(where, "a mapping", value)
            return {}
        if fields is not None:
            for key in value:
                if key not in fields:
                    self.errors.append(f"{where}.{key}: unknown field; expected one of: {', '.join(fields)}")
        return value

    def items(self, where: str, value: Any, what: str) -> list:
        """A list (absent means empty), or an error naming what it should list."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(where, f"a list of {what}", value)
            return []
        return value

    def integer(self, where: str, value: Any, low: int, high: Optional[int] = None) -> Optional[int]:
        """An integer in range; digit strings pass because Ansible templates yield them."""
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (
                high is not None and value > high):
            span = f"between {low} and {high}" if high is not None else f">= {low}"
            self.fail(where, f"an integer {span}", value)
            return None
        return value

    def string(self, where: str, value: Any, pattern: Optional[re.Pattern] = None,
               expected: str = "a non-empty string") -> Optional[str]:
        if not isinstance(value, str) or not value or (pattern is not None and not pattern.match(value)):
            self.fail(where, expected, value)
            return None
        return value

    def string_list(self, where: str, value: Any) -> Optional[list[str]]:
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(where, "a list of strings", value)
            return None
        # An empty list means "the image's default", as an absent field does;
        # neither orchestrator reports the two apart.
        return list(value) or None

    def choice(self, where: str, value: Any, choices: tuple[str, ...]) -> Optional[str]:
        if value not in choices:
            self.fail(where, "one of " + ", ".join(choices), value)
            return None
        return value


def parse_size(value: Any) -> int:
    """Bytes in a size written as Kubernetes writes it (64Mi, 1Gi, 500M) or as bytes.

    Kubernetes units are the only ones accepted: Docker's "64m" means MiB
    while Kubernetes' "64m" means milli-bytes, and guessing would be worse
    than refusing.
    """
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int) and value > 0:
        return value
    match = _QUANTITY.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(value)
    size = float(match.group(1)) * _UNITS[match.group(2)]
    if size <= 0 or size != int(size):
        raise ValueError(value)
    return int(size)


def format_size(size: int) -> str:
    """The shortest exact way to write ``size`` bytes; the canonical form."""
    for unit in _FORMAT_UNITS:
        if size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return str(size)


def parse_cpus(value: Any) -> float:
    """CPUs as a number of cores (0.5) from 0.5, "0.5", "500m" or 2.

    The canonical form is cores rounded to millicores, the finest unit both
    orchestrators keep.
    """
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, str):
        text = value.strip()
        milli = text.endswith("m")
        try:
            number = float(text[:-1] if milli else text)
        except ValueError:
            raise ValueError(value) from None
        value = number / 1000 if milli else number
    if not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(value)
    millis = round(value * 1000)
    if millis <= 0:
        raise ValueError(value)
    return millis / 1000


def _quantities(check: _Checker, where: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"cpus": None, "memory": None}
    if value is None:
        return out
    raw = check.mapping(where, value, QUANTITY_FIELDS)
    if raw.get("cpus") is not None:
        try:
            out["cpus"] = parse_cpus(raw["cpus"])
        except ValueError:
            check.fail(f"{where}.cpus", "a positive number of CPUs such as 0.5, 2 or \"500m\"", raw["cpus"])
    if raw.get("memory") is not None:
        try:
            out["memory"] = format_size(parse_size(raw["memory"]))
        except ValueError:
            check.fail(f"{where}.memory", "a size such as 64Mi, 1Gi or 500M (Kubernetes units)",
                       raw["memory"])
    return out


def _ports(check: _Checker, where: str, value: Any) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = []
    seen: set[tuple[int, str]] = set()
    for i, item in enumerate(check.items(where, value, "ports")):
        at = f"{where}[{i}]"
        raw = check.mapping(at, item, PORT_FIELDS)
        if "port" not in raw and isinstance(item, dict):
            check.fail(f"{at}.port", "the port the container listens on (required)", got=False)
        port = check.integer(f"{at}.port", raw["port"], 1, 65535) if "port" in raw else None
        published = raw.get("published")
        if published is not None:
            published = check.integer(f"{at}.published", published, 1, 65535)
        protocol = check.choice(f"{at}.protocol", raw.get("protocol", "tcp"), PROTOCOLS)
        if port is None or protocol is None:
            continue
        if (port, protocol) in seen:
            check.errors.append(f"{at}.port: {port}/{protocol} is listed twice; expected each port once")
        seen.add((port, protocol))
        ports.append({"port": port, "published": published, "protocol": protocol})
    return sorted(ports, key=lambda p: (p["port"], p["protocol"]))


def _env(check: _Checker, where: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    env: dict[str, str] = {}
    for key, val in check.mapping(where, value, None).items():
        if not isinstance(key, str) or not _ENV_NAME.match(key):
            check.fail(f"{where}", "variable names of letters, digits and _", key)
            continue
        if isinstance(val, bool) or not isinstance(val, (str, int, float)):
            # YAML turns an unquoted yes/no/on/off into a boolean; say so.
            check.fail(f"{where}.{key}", "a string or number (quote values such as \"yes\" or \"true\")", val)
            continue
        env[key] = str(val)
    return dict(sorted(env.items()))


def _placement(check: _Checker, where: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    placement: dict[str, str] = {}
    for key, val in check.mapping(where, value, None).items():
        if key not in PLACEMENT_KEYS and not (isinstance(key, str) and _LABEL_KEY.match(key)
                                              and ("." in key or "/" in key)):
            check.errors.append(f"{where}.{key}: unknown placement; expected one of "
                                f"{', '.join(PLACEMENT_KEYS)} or a full node label name "
                                f"such as example.com/disk")
            continue
        if isinstance(val, bool) or not isinstance(val, (str, int)) or not _LABEL_VALUE.match(str(val)):
            check.fail(f"{where}.{key}", "a node label value (letters, digits, '-', '_', '.')", val)
            continue
        if key == "role" and val not in ROLES:
            check.fail(f"{where}.role", "one of " + ", ".join(ROLES), val)
            continue
        if key == "model" and val not in MODELS:
            check.fail(f"{where}.model", "a board key: " + ", ".join(sorted(MODELS)), val)
            continue
        placement[key] = str(val)
    return dict(sorted(placement.items()))


def _volumes(check: _Checker, where: str, value: Any) -> list[dict[str, Any]]:
    volumes: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, item in enumerate(check.items(where, value, "volumes")):
        at = f"{where}[{i}]"
        raw = check.mapping(at, item, VOLUME_FIELDS)
        if not isinstance(item, dict):
            continue
        name = check.string(f"{at}.name", raw.get("name"), _DNS_LABEL,
                            "a volume name of lowercase letters, digits and '-'")
        path = check.string(f"{at}.path", raw.get("path"), re.compile(r"^/"),
                            "an absolute path inside the container")
        size = None
        try:
            size = format_size(parse_size(raw.get("size", DEFAULT_VOLUME_SIZE)))
        except ValueError:
            check.fail(f"{at}.size", "a size such as 1Gi or 500Mi (Kubernetes units)", raw.get("size"))
        if name in names:
            check.errors.append(f"{at}.name: {name!r} is used twice; expected unique volume names")
        if name and path and size:
            names.add(name)
            volumes.append({"name": name, "path": path, "size": size})
    return volumes


def _service(check: _Checker, where: str, value: Any) -> dict[str, Any]:
    raw = check.mapping(where, value, SERVICE_FIELDS)
    image = check.string(f"{where}.image", raw.get("image"),
                         expected="an image reference such as pirack/coinminer-rng:1.0 (required)")
    mode = check.choice(f"{where}.mode", raw.get("mode", "replicated"), MODES)
    replicas: Optional[int] = None
    if mode == "global":
        if raw.get("replicas") is not None:
            check.errors.append(f"{where}.replicas: not allowed with mode global "
                                f"(one task per matching node); expected no replicas field")
    else:
        replicas = check.integer(f"{where}.replicas", raw.get("replicas", 1), 0)
    resources = check.mapping(f"{where}.resources", raw.get("resources") or {}, RESOURCE_FIELDS)
    service = {
        "image": image,
        "mode": mode,
        "replicas": replicas,
        "ports": _ports(check, f"{where}.ports", raw.get("ports")),
        "env": _env(check, f"{where}.env", raw.get("env")),
        "command": check.string_list(f"{where}.command", raw.get("command")),
        "args": check.string_list(f"{where}.args", raw.get("args")),
        "resources": {
            "limits": _quantities(check, f"{where}.resources.limits", resources.get("limits")),
            "requests": _quantities(check, f"{where}.resources.requests", resources.get("requests")),
        },
        "placement": _placement(check, f"{where}.placement", raw.get("placement")),
        "volumes": _volumes(check, f"{where}.volumes", raw.get("volumes")),
    }
    # A volume is one disk on one node (a Kubernetes ReadWriteOnce claim, a
    # local Swarm volume): two tasks writing it would corrupt it.
    if service["volumes"] and (mode == "global" or (replicas or 0) > 1):
        check.errors.append(f"{where}.volumes: a service with volumes runs at most one task; "
                            f"expected mode replicated with replicas 0 or 1")
    return service


def apply_overrides(spec: Any, overrides: Optional[dict]) -> Any:
    """Merge per-service overrides (``{worker: {replicas: 8}}``) into a raw spec.

    Overrides are merged before validation so an override is checked like
    the spec itself and its errors name the same fields. Mappings merge key
    by key; any other value replaces the spec's.
    """
    if not overrides:
        return spec
    check = _Checker()
    check.mapping("overrides", overrides, None)
    services = spec.get("services") if isinstance(spec, dict) else None
    if not isinstance(services, dict):
        check.errors.append("overrides: the spec has no services mapping to override")
    if check.errors:
        raise AppSpecError(check.errors)
    merged = copy.deepcopy(spec)
    for name, change in overrides.items():
        if name not in services:
            check.errors.append(f"overrides.{name}: no such service; expected one of: "
                                f"{', '.join(sorted(services))}")
        elif not isinstance(change, dict):
            check.fail(f"overrides.{name}", "a mapping of service fields", change)
        else:
            merged["services"][name] = _merge(merged["services"][name] or {}, change)
    if check.errors:
        raise AppSpecError(check.errors)
    return merged


def _merge(base: Any, change: Any) -> Any:
    if isinstance(base, dict) and isinstance(change, dict):
        out = dict(base)
        for key, val in change.items():
            out[key] = _merge(base.get(key), val)
        return out
    return copy.deepcopy(change)


def split_image(image: str) -> tuple[Optional[str], str, Optional[str]]:
    """(registry, repository, tag) of an image reference; digests stay in the repository.

    The first path component is a registry only when it looks like a host
    (has a dot or a port, or is localhost) — Docker's own rule.
    """
    registry = None
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, image = first, rest
    if "@" in image:
        return registry, image, None
    repo, sep, tag = image.rpartition(":")
    if not sep:
        return registry, image, None
    return registry, repo, tag


def retag(image: str, tag: Optional[str], registry: Optional[str]) -> str:
    """``image`` with its tag replaced and a registry put in front when it has none."""
    own_registry, repo, own_tag = split_image(image)
    host = own_registry or registry
    out = f"{host}/{repo}" if host else repo
    new_tag = tag or own_tag
    return f"{out}:{new_tag}" if new_tag and "@" not in repo else out


def normalize(spec: Any, overrides: Optional[dict] = None, image_tag: Optional[str] = None,
              registry: Optional[str] = None) -> dict[str, Any]:
    """Validate a raw spec (plus overrides) and return the normalized model.

    ``image_tag`` and ``registry`` rewrite every image: they are how one spec
    serves both "pull from the rack's registry" and "roll to a new build".
    Raises AppSpecError listing every problem.
    """
    spec = apply_overrides(spec, overrides)
    check = _Checker()
    raw = check.mapping("spec", spec, APP_FIELDS)
    name = check.string("name", raw.get("name"), _DNS_LABEL,
                        "an app name of lowercase letters, digits and '-', starting with a letter (required)")
    services: dict[str, Any] = {}
    raw_services = raw.get("services")
    if not isinstance(raw_services, dict) or not raw_services:
        check.fail("services", "a mapping of service name to service (at least one)", raw_services)
        raw_services = {}
    for svc_name, svc in raw_services.items():
        where = f"services.{svc_name}"
        if not isinstance(svc_name, str) or not _DNS_LABEL.match(svc_name):
            check.fail("services", "service names of lowercase letters, digits and '-' "
                       "(they become DNS names)", svc_name)
            continue
        services[svc_name] = _service(check, where, svc)
        image = services[svc_name]["image"]
        if image and (image_tag or registry):
            services[svc_name]["image"] = retag(image, image_tag, registry)
    if check.errors:
        raise AppSpecError(check.errors)
    return {"name": name, "services": dict(sorted(services.items()))}


def comparable(service: dict[str, Any], drop_unpublished_ports: bool = False,
               drop_volume_size: bool = False) -> dict[str, Any]:
    """The part of a normalized service an orchestrator can report back.

    Swarm keeps no record of ports that are not published (dnsrr needs none)
    nor of a volume's size; comparing them would make every run "changed".
    """
    out = copy.deepcopy(service)
    if drop_unpublished_ports:
        out["ports"] = [p for p in out["ports"] if p["published"] is not None]
    if drop_volume_size:
        for vol in out["volumes"]:
            vol["size"] = None
    return out


def empty_service() -> dict[str, Any]:
    """A normalized service with every field at its empty value.

    Readers of live objects start from this, so a field the orchestrator
    left out compares equal to the spec's "not set".
    """
    return {"image": None, "mode": "replicated", "replicas": None, "ports": [], "env": {},
            "command": None, "args": None,
            "resources": {"limits": {"cpus": None, "memory": None},
                          "requests": {"cpus": None, "memory": None}},
            "placement": {}, "volumes": []}


def removal_order(removals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Remove actions with the services that hold volumes last.

    The services that write to a store (the coin-miner's workers and redis)
    stop before the store does, so the store's last flush has everything.
    """
    return sorted(removals, key=lambda act: (bool((act["before"] or {}).get("volumes")), act["service"]))
