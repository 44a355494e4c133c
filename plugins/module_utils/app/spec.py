# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app spec: one small YAML format for the coin-miner and apps like it.

A spec is written by a person and rendered to two orchestrators (Docker Swarm
and Kubernetes), so everything about it that can be wrong is caught here,
once, with messages that name the service, the field and what was expected.
The result is a *normalized model*: plain dicts with every field present and
every quantity in one canonical form. Each driver (app/swarm.py, app/k8s.py)
reads live objects back into the same shape, so "is it already deployed?" is
a plain equality test (app/plan.py) and the diff a user sees is in the words
of the spec.

Nothing here does I/O; docs/app-spec.md is the reference for the format.
"""

from __future__ import annotations

import copy
import hashlib
import re
from fractions import Fraction
from typing import Any, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError, show
from ansible_collections.pirack.cluster.plugins.module_utils.image_ref import parse_image, with_tag
from ansible_collections.pirack.cluster.plugins.module_utils.pi_model import MODELS

MODES = ("replicated", "global")
PROTOCOLS = ("tcp", "udp")
DEFAULT_VOLUME_SIZE = "1Gi"
# Placement by the facts the collection's roles label nodes with; each
# driver maps these names to its orchestrator's node labels. Any other
# placement key must be a full node label name and is used as written.
PLACEMENT_KEYS = ("role", "model", "cluster")
ROLES = ("master", "worker")
# Where a service finds its secrets, one file per secret, on both orchestrators.
SECRETS_DIR = "/run/secrets"
# The pod volume that carries them on Kubernetes; no spec volume may take its name.
SECRETS_VOLUME = "pirack-secrets"
# Upper bounds are the orchestrators' own: Kubernetes keeps replicas in an
# int32 and both keep bytes and nano-CPUs in an int64. A value past them is
# refused here, before anything is created, instead of by the API mid-apply.
MAX_REPLICAS = 2**31 - 1
MAX_BYTES = 2**63 - 1
MAX_CPUS = 10**6

# Service and app names become DNS names (swarm aliases, Kubernetes Service
# names), so they follow RFC 1123 labels and start with a letter. Patterns
# are used with fullmatch: "$" would let a trailing newline through.
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Node label keys and values as both Swarm and Kubernetes accept them.
_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_QUANTITY = re.compile(r"([0-9]{1,30}(?:\.[0-9]{1,30})?)(Ki|Mi|Gi|Ti|k|M|G|T)?")
_UNITS = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
# Largest unit first, binary before decimal, so 64Mi stays "64Mi".
_FORMAT_UNITS = ("Ti", "Gi", "Mi", "Ki", "T", "G", "M", "k")
# Docker's reference grammar (distribution/reference), part by part, so an
# image the engine would refuse ("invalid reference format") fails here.
_REGISTRY = re.compile(r"(localhost|\[[0-9A-Fa-f:]+\]|[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*)(:[0-9]{1,5})?")
_REPOSITORY = re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+([+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}")

APP_FIELDS = ("name", "network", "services")
NETWORK_FIELDS = ("encrypted",)
SERVICE_FIELDS = ("image", "mode", "replicas", "ports", "env", "command", "args",
                  "resources", "placement", "volumes", "allow_from", "secrets", "update")
PORT_FIELDS = ("port", "published", "protocol")
RESOURCE_FIELDS = ("limits", "requests")
QUANTITY_FIELDS = ("cpus", "memory")
VOLUME_FIELDS = ("name", "path", "size")
UPDATE_FIELDS = ("parallelism",)
# Tasks (pods) a rolling update replaces at once; 0 is all at once.
DEFAULT_PARALLELISM = 1


def spec_error(errors: list[str]) -> AppError:
    """The error for an invalid spec, every problem in its message."""
    return AppError("invalid app spec: " + "; ".join(errors), errors)


def _describe(value: Any) -> str:
    """How a wrong value is shown in an error: its repr and YAML type."""
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string",
             list: "list", dict: "mapping", type(None): "null"}
    return f"{show(value)} ({kinds.get(type(value), type(value).__name__)})"


def _at(where: str, key: Any) -> str:
    """Where a key of a user's mapping is: ``where.key``, or ``where[<repr>]``
    for a key that is not a plain printable string."""
    plain = isinstance(key, str) and key.isprintable() and key and " " not in key and len(key) <= 80
    return f"{where}.{key}" if plain else f"{where}[{show(key)}]"


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
                    self.errors.append(f"{_at(where, key)}: unknown field; expected one of: {', '.join(fields)}")
        return value

    def items(self, where: str, value: Any, what: str) -> list:
        """A list (absent means empty), or an error naming what it should list."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(where, f"a list of {what}", value)
            return []
        return value

    def integer(self, where: str, value: Any, low: int, high: int) -> Optional[int]:
        """An integer in range; digit strings pass because Ansible templates yield them."""
        if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 20:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            too_big = isinstance(value, int) and value > high
            span = f"between {low} and {high}" if high <= 65535 else f"<= {high}" if too_big else f">= {low}"
            self.fail(where, f"an integer {span}", value)
            return None
        return value

    def string(self, where: str, value: Any, pattern: Optional[re.Pattern] = None,
               expected: str = "a non-empty string") -> Optional[str]:
        if not isinstance(value, str) or not value or (pattern is not None and not pattern.fullmatch(value)):
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
        if not isinstance(value, str) or value not in choices:
            self.fail(where, "one of " + ", ".join(choices), value)
            return None
        return value


def parse_size(value: Any) -> int:
    """Bytes in a size written as Kubernetes writes it (64Mi, 1Gi, 500M) or as bytes.

    Kubernetes units are the only ones accepted: Docker's "64m" means MiB
    while Kubernetes' "64m" means milli-bytes, and guessing would be worse
    than refusing. The arithmetic is exact (fractions, not floats), so a
    size of many digits is either exactly right or refused.
    """
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        size = Fraction(value)
    else:
        match = _QUANTITY.fullmatch(value) if isinstance(value, str) else None
        if not match:
            raise ValueError(value)
        size = Fraction(match.group(1)) * _UNITS[match.group(2)]
    if size.denominator != 1 or not 0 < size <= MAX_BYTES:
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
    if not isinstance(value, (int, float)) or not 0 < value <= MAX_CPUS:
        raise ValueError(value)
    millis = round(value * 1000)
    if millis <= 0:
        raise ValueError(value)
    return millis / 1000


def check_image(image: str) -> None:
    """Raise ValueError unless ``image`` is a reference Docker accepts."""
    ref = parse_image(image)
    parts = ((_REGISTRY, ref.registry), (_REPOSITORY, ref.repository), (_TAG, ref.tag), (_DIGEST, ref.digest))
    # Re-joined parts equal to the whole: nothing was dropped ("web:").
    if str(ref) != image or not all(part is None or pattern.fullmatch(part) for pattern, part in parts):
        raise ValueError(image)


def _quantities(check: _Checker, where: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"cpus": None, "memory": None}
    if value is None:
        return out
    raw = check.mapping(where, value, QUANTITY_FIELDS)
    if raw.get("cpus") is not None:
        try:
            out["cpus"] = parse_cpus(raw["cpus"])
        except ValueError:
            check.fail(f"{where}.cpus", f"a positive number of CPUs (at most {MAX_CPUS}) such as 0.5, 2 "
                       f"or \"500m\"", raw["cpus"])
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


def _scalar(value: Any) -> Optional[str]:
    """A YAML string or number as text; None for anything else (a boolean
    included: YAML turns an unquoted yes/no/on/off into one)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        return str(value)
    except ValueError:  # an integer past Python's 4300-digit printing limit
        return None


def _env(check: _Checker, where: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    env: dict[str, str] = {}
    for key, val in check.mapping(where, value, None).items():
        if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
            check.fail(f"{where}", "variable names of letters, digits and _", key)
            continue
        text = _scalar(val)
        if text is None:
            check.fail(f"{where}.{key}", "a string or number (quote values such as \"yes\" or \"true\")", val)
            continue
        env[key] = text
    return dict(sorted(env.items()))


def _placement(check: _Checker, where: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    placement: dict[str, str] = {}
    for key, val in check.mapping(where, value, None).items():
        if key not in PLACEMENT_KEYS and not (isinstance(key, str) and _LABEL_KEY.fullmatch(key)
                                              and ("." in key or "/" in key)):
            check.errors.append(f"{_at(where, key)}: unknown placement; expected one of "
                                f"{', '.join(PLACEMENT_KEYS)} or a full node label name "
                                f"such as example.com/disk")
            continue
        text = _scalar(val) if not isinstance(val, float) else None
        if text is None or not _LABEL_VALUE.fullmatch(text):
            check.fail(f"{where}.{key}", "a node label value (letters, digits, '-', '_', '.')", val)
            continue
        if key == "role" and text not in ROLES:
            check.fail(f"{where}.role", "one of " + ", ".join(ROLES), val)
            continue
        if key == "model" and text not in MODELS:
            check.fail(f"{where}.model", "a board key: " + ", ".join(sorted(MODELS)), val)
            continue
        placement[key] = text
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
        path = check.string(f"{at}.path", raw.get("path"), re.compile(r"/[^\x00-\x1f\x7f]*"),
                            "an absolute path inside the container")
        size = None
        try:
            size = format_size(parse_size(raw.get("size", DEFAULT_VOLUME_SIZE)))
        except ValueError:
            check.fail(f"{at}.size", "a size such as 1Gi or 500Mi (Kubernetes units)", raw.get("size"))
        if name in names or name == SECRETS_VOLUME:
            check.errors.append(f"{at}.name: {name!r} is used twice or reserved; expected unique volume names")
        if name and path and size:
            names.add(name)
            volumes.append({"name": name, "path": path, "size": size})
    return volumes


def _allow_from(check: _Checker, where: str, value: Any) -> Optional[list[str]]:
    """Which services of the app may connect: None is everyone, [] no one."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        check.fail(where, "a list of service names of the app", value)
        return None
    return sorted(set(value))


def _secret_names(check: _Checker, where: str, value: Any) -> list[str]:
    names = check.items(where, value, "secret names")
    if not all(isinstance(n, str) and _DNS_LABEL.fullmatch(n) for n in names):
        check.fail(where, "a list of secret names of lowercase letters, digits and '-'", value)
        return []
    return sorted(set(names))


def secret_digest(name: str, value: str) -> str:
    """Which value of a secret a service uses, without the value: compared
    and shown in its place, and part of the Swarm secret's name (secrets
    cannot change there, so a new value is a new secret)."""
    return hashlib.sha256(f"{name}\0{value}".encode()).hexdigest()[:12]


def _secrets(check: _Checker, services: dict[str, Any], values: Any) -> None:
    """Replace each service's secret names with ``{name: digest}`` from the
    module's ``secrets`` option, or report every name it lacks."""
    values = check.mapping("secrets", values if values is not None else {}, None)
    for key, value in values.items():
        if not isinstance(value, str) or not value:
            check.errors.append(f"{_at('secrets', key)}: expected the secret's value as a non-empty string")
    for svc_name, service in services.items():
        for name in service["secrets"]:
            if name not in values:
                check.errors.append(f"services.{svc_name}.secrets: {name!r} has no value; expected it among the "
                                    f"module's secrets option")
        service["secrets"] = {n: secret_digest(n, values[n]) for n in service["secrets"]
                              if isinstance(values.get(n), str)}


def _network(check: _Checker, value: Any) -> dict[str, bool]:
    raw = check.mapping("network", value if value is not None else {}, NETWORK_FIELDS)
    encrypted = raw.get("encrypted", False)
    if not isinstance(encrypted, bool):
        check.fail("network.encrypted", "true or false", encrypted)
    return {"encrypted": encrypted is True}


def _image(check: _Checker, where: str, value: Any) -> Optional[str]:
    expected = "an image reference such as pirack/coinminer-rng:1.0 (required)"
    image = check.string(where, value, expected=expected)
    if image is not None:
        try:
            check_image(image)
        except ValueError:
            check.fail(where, expected, image)
            return None
    return image


def _update(check: _Checker, where: str, value: Any) -> dict[str, Any]:
    """How a rolling update proceeds: ``parallelism`` tasks at a time (0: all at once)."""
    raw = check.mapping(where, value if value is not None else {}, UPDATE_FIELDS)
    parallelism = check.integer(f"{where}.parallelism", raw.get("parallelism", DEFAULT_PARALLELISM),
                                0, MAX_REPLICAS)
    return {"parallelism": parallelism}


def _service(check: _Checker, where: str, value: Any) -> dict[str, Any]:
    raw = check.mapping(where, value, SERVICE_FIELDS)
    mode = check.choice(f"{where}.mode", raw.get("mode", "replicated"), MODES)
    replicas: Optional[int] = None
    if mode == "global":
        if raw.get("replicas") is not None:
            check.errors.append(f"{where}.replicas: not allowed with mode global "
                                f"(one task per matching node); expected no replicas field")
    else:
        replicas = check.integer(f"{where}.replicas", raw.get("replicas", 1), 0, MAX_REPLICAS)
    resources = check.mapping(f"{where}.resources", raw.get("resources") or {}, RESOURCE_FIELDS)
    service = {
        "image": _image(check, f"{where}.image", raw.get("image")),
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
        "allow_from": _allow_from(check, f"{where}.allow_from", raw.get("allow_from")),
        "secrets": _secret_names(check, f"{where}.secrets", raw.get("secrets")),
        "update": _update(check, f"{where}.update", raw.get("update")),
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
        raise spec_error(check.errors)
    merged = copy.deepcopy(spec)
    for name, change in overrides.items():
        if name not in services:
            known = sorted(s if isinstance(s, str) and _DNS_LABEL.fullmatch(s) else show(s) for s in services)
            check.errors.append(f"{_at('overrides', name)}: no such service; expected one of: {', '.join(known)}")
        elif not isinstance(change, dict):
            check.fail(_at("overrides", name), "a mapping of service fields", change)
        else:
            merged["services"][name] = _merge(merged["services"][name] or {}, change)
    if check.errors:
        raise spec_error(check.errors)
    return merged


def _merge(base: Any, change: Any) -> Any:
    if isinstance(base, dict) and isinstance(change, dict):
        out = dict(base)
        for key, val in change.items():
            out[key] = _merge(base.get(key), val)
        return out
    return copy.deepcopy(change)


def _options(check: _Checker, image_tag: Any, registry: Any) -> None:
    """The module options that rewrite images, checked like the spec."""
    if image_tag is not None and not (isinstance(image_tag, str) and _TAG.fullmatch(image_tag)):
        check.fail("image_tag", "an image tag of letters, digits, '_', '.' and '-' (at most 128)", image_tag)
    if registry is not None and not (isinstance(registry, str) and _REGISTRY.fullmatch(registry)
                                     and ("." in registry or ":" in registry or registry == "localhost")):
        check.fail("registry", "a registry host[:port] such as 10.0.0.10:5000 or registry.local", registry)


def normalize(spec: Any, overrides: Optional[dict] = None, image_tag: Optional[str] = None,
              registry: Optional[str] = None, secrets: Optional[dict] = None) -> dict[str, Any]:
    """Validate a raw spec (plus overrides) and return the normalized model.

    ``image_tag`` and ``registry`` rewrite every image: they are how one spec
    serves both "pull from the rack's registry" and "roll to a new build".
    ``secrets`` holds the values of the secrets services name; the model
    keeps only their digests. Raises AppError listing every problem.
    """
    spec = apply_overrides(spec, overrides)
    check = _Checker()
    # An empty option is an unset one, as templates write it.
    image_tag, registry = image_tag or None, registry or None
    _options(check, image_tag, registry)
    raw = check.mapping("spec", spec, APP_FIELDS)
    name = check.string("name", raw.get("name"), _DNS_LABEL,
                        "an app name of lowercase letters, digits and '-', starting with a letter (required)")
    services: dict[str, Any] = {}
    raw_services = raw.get("services")
    if not isinstance(raw_services, dict) or not raw_services:
        check.fail("services", "a mapping of service name to service (at least one)", raw_services)
        raw_services = {}
    for svc_name, svc in raw_services.items():
        if not isinstance(svc_name, str) or not _DNS_LABEL.fullmatch(svc_name):
            check.fail("services", "service names of lowercase letters, digits and '-' "
                       "(they become DNS names)", svc_name)
            continue
        services[svc_name] = _service(check, f"services.{svc_name}", svc)
    for svc_name, service in services.items():
        for other in service["allow_from"] or []:
            if other not in services:
                check.errors.append(f"services.{svc_name}.allow_from: {show(other)} is not a service of the app; "
                                    f"expected one of: {', '.join(sorted(services))}")
    network = _network(check, raw.get("network"))
    _secrets(check, services, secrets)
    if check.errors:
        raise spec_error(check.errors)
    for service in services.values():
        service["image"] = with_tag(service["image"], image_tag, registry)
    return {"name": name, "network": network, "services": dict(sorted(services.items()))}
