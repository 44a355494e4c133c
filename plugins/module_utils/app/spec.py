# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app spec: one small YAML format for the coin-miner and apps like it.

A spec is written by a person and rendered to two orchestrators (Docker Swarm
and Kubernetes), so everything about it that can be wrong is caught here,
once, with messages that name the service, the field and what was expected.
``normalize`` turns a spec (with the module's overrides, image options and
secret values) into the typed model of app/model.py, which also holds each
service field's own rule; this file checks what concerns the whole app:
its name, its services as a set, the network, secrets and image options.

Nothing here does I/O; docs/app-spec.md is the reference for the format.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from typing import Any, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.app.model import (
    App,
    Network,
    Service,
    parse_service,
)
from ansible_collections.pirack.cluster.plugins.module_utils.app.values import DNS_LABEL, Checker, at, spec_error
from ansible_collections.pirack.cluster.plugins.module_utils.errors import show
from ansible_collections.pirack.cluster.plugins.module_utils.image_ref import TAG, is_valid_registry, with_tag

APP_FIELDS = tuple(f.name for f in dataclasses.fields(App))
NETWORK_FIELDS = tuple(f.name for f in dataclasses.fields(Network))


def secret_digest(name: str, value: str) -> str:
    """Which value of a secret a service uses, without the value: compared
    and shown in its place, and part of the Swarm secret's name (secrets
    cannot change there, so a new value is a new secret)."""
    return hashlib.sha256(f"{name}\0{value}".encode()).hexdigest()[:12]


def _with_digests(check: Checker, name: str, service: Service, values: dict) -> Service:
    """The service with each secret's digest from the module's ``secrets``
    option, or every name it lacks reported."""
    for secret in service.secrets:
        if secret not in values:
            check.errors.append(f"services.{name}.secrets: {secret!r} has no value; expected it among the "
                                f"module's secrets option")
    return dataclasses.replace(service, secrets={n: secret_digest(n, values[n]) for n in service.secrets
                                                 if isinstance(values.get(n), str)})


def _secret_values(check: Checker, values: Any) -> dict:
    values = check.mapping("secrets", values if values is not None else {}, None)
    for key, value in values.items():
        if not isinstance(value, str) or not value:
            check.errors.append(f"{at('secrets', key)}: expected the secret's value as a non-empty string")
    return values


def _network(check: Checker, value: Any) -> Network:
    raw = check.mapping("network", value if value is not None else {}, NETWORK_FIELDS)
    encrypted = raw.get("encrypted", False)
    if not isinstance(encrypted, bool):
        check.fail("network.encrypted", "true or false", encrypted)
    return Network(encrypted=encrypted is True)


def apply_overrides(spec: Any, overrides: Optional[dict]) -> Any:
    """Merge per-service overrides (``{worker: {replicas: 8}}``) into a raw spec.

    Overrides are merged before validation so an override is checked like
    the spec itself and its errors name the same fields. Mappings merge key
    by key; any other value replaces the spec's.
    """
    if not overrides:
        return spec
    check = Checker()
    check.mapping("overrides", overrides, None)
    services = spec.get("services") if isinstance(spec, dict) else None
    if not isinstance(services, dict):
        check.errors.append("overrides: the spec has no services mapping to override")
    if check.errors:
        raise spec_error(check.errors)
    merged = copy.deepcopy(spec)
    for name, change in overrides.items():
        if name not in services:
            known = sorted(s if isinstance(s, str) and DNS_LABEL.fullmatch(s) else show(s) for s in services)
            check.errors.append(f"{at('overrides', name)}: no such service; expected one of: {', '.join(known)}")
        elif not isinstance(change, dict):
            check.fail(at("overrides", name), "a mapping of service fields", change)
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


def _options(check: Checker, image_tag: Any, registry: Any) -> None:
    """The module options that rewrite images, checked like the spec."""
    if image_tag is not None and not (isinstance(image_tag, str) and TAG.fullmatch(image_tag)):
        check.fail("image_tag", "an image tag of letters, digits, '_', '.' and '-' (at most 128)", image_tag)
    if registry is not None and not (isinstance(registry, str) and is_valid_registry(registry)):
        check.fail("registry", "a registry host[:port] such as 10.0.0.10:5000 or registry.local", registry)


def normalize(spec: Any, overrides: Optional[dict] = None, image_tag: Optional[str] = None,
              registry: Optional[str] = None, secrets: Optional[dict] = None) -> App:
    """Validate a raw spec (plus overrides) and return the app model.

    ``image_tag`` and ``registry`` rewrite every image: they are how one spec
    serves both "pull from the rack's registry" and "roll to a new build".
    ``secrets`` holds the values of the secrets services name; the model
    keeps only their digests. Raises AppError listing every problem.
    """
    spec = apply_overrides(spec, overrides)
    check = Checker()
    # An empty option is an unset one, as templates write it.
    image_tag, registry = image_tag or None, registry or None
    _options(check, image_tag, registry)
    raw = check.mapping("spec", spec, APP_FIELDS)
    name = check.string("name", raw.get("name"), DNS_LABEL,
                        "an app name of lowercase letters, digits and '-', starting with a letter (required)")
    services: dict[str, Service] = {}
    raw_services = raw.get("services")
    if not isinstance(raw_services, dict) or not raw_services:
        check.fail("services", "a mapping of service name to service (at least one)", raw_services)
        raw_services = {}
    for svc_name, svc in raw_services.items():
        if not isinstance(svc_name, str) or not DNS_LABEL.fullmatch(svc_name):
            check.fail("services", "service names of lowercase letters, digits and '-' "
                       "(they become DNS names)", svc_name)
            continue
        services[svc_name] = parse_service(check, f"services.{svc_name}", svc)
    for svc_name, service in services.items():
        for other in service.allow_from or ():
            if other not in services:
                check.errors.append(f"services.{svc_name}.allow_from: {show(other)} is not a service of the app; "
                                    f"expected one of: {', '.join(sorted(services))}")
    network = _network(check, raw.get("network"))
    values = _secret_values(check, secrets)
    services = {n: _with_digests(check, n, s, values) for n, s in services.items()}
    if check.errors:
        raise spec_error(check.errors)
    return App(name, network, {n: dataclasses.replace(s, image=with_tag(s.image, image_tag, registry))
                               for n, s in services.items()})


def app_name(name: Any) -> App:
    """The model of an app known only by its name: what removing it needs."""
    check = Checker()
    check.string("name", name, DNS_LABEL,
                 "an app name of lowercase letters, digits and '-', starting with a letter (required)")
    if check.errors:
        raise spec_error(check.errors)
    return App(name)
