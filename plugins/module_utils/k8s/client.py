# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes API client creation shared by the node modules.

The modules run on the controller against the kubeconfig the k3s_server role
fetched. One place decides how that file is found (option, then
``K8S_AUTH_KUBECONFIG``, then the client's own default), how a context is
picked and how "cannot reach the API" is reported, so every module fails with
the same readable line instead of a urllib3 traceback.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import traceback
from typing import Any, Optional

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.pirack.cluster.plugins.module_utils.errors import K8sClientError, one_line

try:
    import urllib3
    import yaml
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException

    HAS_K8S = True
    K8S_IMPORT_ERROR: Optional[str] = None
    # What a call can raise: an answer the API server refused, or no answer at
    # all (connection refused, timeout) from urllib3 underneath the client.
    API_ERRORS: tuple = (ApiException, urllib3.exceptions.HTTPError)
    # What reading a kubeconfig can raise besides the client's own
    # ConfigException: the client indexes into the parsed YAML without checks.
    KUBECONFIG_ERRORS: tuple = (ConfigException, OSError, TypeError, ValueError, AttributeError,
                                KeyError, IndexError, yaml.YAMLError)
except ImportError:  # pragma: no cover - exercised on controllers without the client
    HAS_K8S = False
    K8S_IMPORT_ERROR = traceback.format_exc()
    k8s_client = None  # type: ignore[assignment]

    class ApiException(Exception):  # type: ignore[no-redef]
        """Stand-in so ``except ApiException`` still parses without the client."""

        status = 0

    class ConfigException(Exception):  # type: ignore[no-redef]
        """Stand-in so ``except ConfigException`` still parses without the client."""

    API_ERRORS = (ApiException,)
    KUBECONFIG_ERRORS = (ConfigException, OSError, TypeError, ValueError)


K8S_REQUIREMENT = "kubernetes (the Kubernetes Python client, on the controller)"

# Options every Kubernetes-facing module takes; documented by the
# pirack.cluster.k8s_auth doc fragment.
K8S_AUTH_ARGS: dict[str, dict[str, Any]] = {
    "kubeconfig": {"type": "path", "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG"])},
    "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    "request_timeout": {"type": "int", "default": 30},
}

# A per-request timeout beyond an hour only delays the failure it guards against.
MAX_REQUEST_TIMEOUT = 3600


def k8s_argument_spec(**extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the common connection options plus a module's own options.

    A fresh dict each call, so one module's options never leak into another's.
    """
    spec = {name: dict(opt) for name, opt in K8S_AUTH_ARGS.items()}
    spec.update(extra)
    return spec


def auth_problems(params: dict[str, Any]) -> list[str]:
    """What is wrong with the connection options, one line each; empty when fine.

    The client itself refuses a timeout of 0 or less with a multi-line
    validation traceback, so the module says it first, naming the option.
    """
    timeout = params.get("request_timeout")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= MAX_REQUEST_TIMEOUT:
        return [f"request_timeout must be a whole number of seconds from 1 to {MAX_REQUEST_TIMEOUT}, "
                f"got {timeout!r}"]
    return []


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: urllib3 keeps the cause in ``reason``
    (MaxRetryError -> NewConnectionError), Python in ``__cause__``."""
    chain: list[BaseException] = []
    current: Optional[BaseException] = exc
    while current is not None and len(chain) < 10 and not any(current is seen for seen in chain):
        chain.append(current)
        reason = getattr(current, "reason", None)
        current = reason if isinstance(reason, BaseException) else (current.__cause__ or current.__context__)
    return chain


def is_tls_error(exc: BaseException) -> bool:
    """Whether a failed request broke on TLS (an untrusted certificate, a
    server speaking plain HTTP): waiting longer never fixes that."""
    return any(isinstance(link, ssl.SSLError) for link in _causes(exc))


def network_error_text(exc: BaseException) -> str:
    """Why a request got no answer at all, in the words a user searches for:
    TLS, connection refused, the name does not resolve, no answer in time."""
    chain = _causes(exc)
    for link in chain:
        if isinstance(link, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted: {one_line(link.verify_message or link.reason)}"
        if isinstance(link, ssl.SSLError):
            return f"TLS handshake failed: {one_line(link.reason or link)}"
    for link in chain:
        if isinstance(link, ConnectionRefusedError):
            return "connection refused (is k3s running there, and is the port right?)"
        if isinstance(link, socket.gaierror):
            return f"the server name does not resolve ({one_line(link.strerror or link)})"
        if isinstance(link, TimeoutError) or type(link).__name__ in ("ConnectTimeoutError", "ReadTimeoutError"):
            return "no answer in time (timed out)"
    for link in reversed(chain):
        if isinstance(link, OSError) and link.strerror:
            return one_line(link.strerror)
    return one_line(chain[-1])


def api_error_text(exc: BaseException) -> str:
    """One line out of an API error: the Status message the API server
    wrote, which names the real reason, rather than the headers dump that
    ``str(exc)`` gives; for no answer at all, the network reason."""
    if not isinstance(exc, ApiException):
        return network_error_text(exc)
    body = getattr(exc, "body", None)
    if body:
        try:
            message = json.loads(body).get("message")
            if message:
                return one_line(f"{getattr(exc, 'status', '')} {message}")
        except (ValueError, AttributeError, TypeError):
            pass
    reason = getattr(exc, "reason", None) or str(exc)
    status = getattr(exc, "status", None)
    return one_line(f"{status or ''} {reason}")


def json_answer(raw: Any, content_type: Optional[str] = None) -> dict[str, Any]:
    """The JSON object an API answer holds; ``ValueError`` with a one-line
    reason when it holds something else (a proxy's HTML page, a truncated
    body, a bare list), so callers never index into garbage."""
    content_type = one_line(content_type or "no content type")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"answered bytes that are not UTF-8 text ({content_type})") from exc
    try:
        data = json.loads(raw) if raw else {}
    except (ValueError, TypeError, RecursionError) as exc:
        sample = one_line(str(raw)[:60])
        raise ValueError(f"answered something that is not JSON ({content_type}: {sample!r})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"answered JSON that is not an API object (a {type(data).__name__})")
    return data


def default_kubeconfig() -> str:
    """Where the Kubernetes client looks when no kubeconfig is named."""
    return os.environ.get("KUBECONFIG") or "~/.kube/config"


def kubeconfig_problem(data: Any) -> Optional[str]:
    """Why parsed kubeconfig YAML cannot be used, or None.

    Only the shape the client indexes into without checking: a mapping whose
    clusters, contexts and users are lists of named mappings. Everything else
    (missing server, unknown context) the client reports well itself.
    """
    if not isinstance(data, dict):
        return f"it is not a kubeconfig (a YAML mapping with clusters, contexts and users), but a " \
               f"{type(data).__name__}"
    for section, inner in (("clusters", "cluster"), ("contexts", "context"), ("users", "user")):
        entries = data.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            return f"{section} must be a list, got a {type(entries).__name__}"
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                return f"{section}[{index}] must be a mapping with a name"
            if entry.get(inner) is not None and not isinstance(entry.get(inner), dict):
                return f"{section}[{index}].{inner} must be a mapping"
    return None


def _yaml_error_text(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or exc
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"it is not valid YAML ({where}{one_line(problem)})"


def _check_kubeconfig_file(path: str) -> None:
    """Read and parse a named kubeconfig to say clearly what is wrong with it
    before the client, which would raise a traceback, gets it."""
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise K8sClientError(f"cannot load kubeconfig {path}: it is not UTF-8 text") from exc
    except (OSError, ValueError) as exc:
        reason = one_line(getattr(exc, "strerror", None) or exc)
        raise K8sClientError(f"cannot load kubeconfig {path}: {reason}") from exc
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as exc:
        raise K8sClientError(f"cannot load kubeconfig {path}: {_yaml_error_text(exc)}") from exc
    problem = kubeconfig_problem(data)
    if problem:
        raise K8sClientError(f"cannot load kubeconfig {path}: {problem}")


def connect(kubeconfig: Optional[str], context: Optional[str]) -> Any:
    """Return a ``CoreV1Api`` built from a kubeconfig file.

    The file is loaded into a private ``Configuration`` (not the process-wide
    default), so two modules in one controller process never share settings.
    """
    if not HAS_K8S:
        raise K8sClientError(missing_required_lib(K8S_REQUIREMENT))
    if kubeconfig:
        _check_kubeconfig_file(kubeconfig)
    configuration = k8s_client.Configuration()
    # Retry refused connections (an API server restarting), but not a request
    # that got no answer in time: urllib3 would send it three more times, so
    # request_timeout=30 would wait two minutes.
    configuration.retries = urllib3.util.Retry(total=3, connect=3, read=0, redirect=3, status=0)
    try:
        api_client = k8s_config.new_client_from_config(config_file=kubeconfig, context=context,
                                                       client_configuration=configuration)
    except KUBECONFIG_ERRORS as exc:
        where = kubeconfig or f"the default kubeconfig ({default_kubeconfig()})"
        raise K8sClientError(f"cannot load kubeconfig {where}: {one_line(exc)}") from exc
    return k8s_client.CoreV1Api(api_client)


def server_text(core: Any, kubeconfig: Optional[str]) -> str:
    """"the API server <url> (kubeconfig <path>)": what a "cannot reach"
    message must name so the user knows which file and which address to check."""
    host = getattr(getattr(getattr(core, "api_client", None), "configuration", None), "host", None)
    return f"the API server {host or '(unknown)'} (kubeconfig {kubeconfig or default_kubeconfig()})"


def core_api_from_module(module: Any) -> Any:
    """Connect with a module's auth options or fail the module.

    Modules call this once, so each reports a missing client, a bad
    request_timeout or a broken kubeconfig with the same wording.
    """
    if not HAS_K8S:
        module.fail_json(msg=missing_required_lib(K8S_REQUIREMENT), exception=K8S_IMPORT_ERROR)
    problems = auth_problems(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        return connect(module.params["kubeconfig"], module.params["context"])
    except K8sClientError as exc:
        module.fail_json(msg=str(exc))
