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
import traceback
from typing import Any, Optional

from ansible.module_utils.basic import env_fallback, missing_required_lib

try:
    import urllib3
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException

    HAS_K8S = True
    K8S_IMPORT_ERROR: Optional[str] = None
    # What a call can raise: an answer the API server refused, or no answer at
    # all (connection refused, timeout) from urllib3 underneath the client.
    API_ERRORS: tuple = (ApiException, urllib3.exceptions.HTTPError)
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


K8S_REQUIREMENT = "kubernetes (the Kubernetes Python client, on the controller)"

# Options every Kubernetes-facing module takes; documented by the
# pirack.cluster.k8s_auth doc fragment.
K8S_AUTH_ARGS: dict[str, dict[str, Any]] = {
    "kubeconfig": {"type": "path", "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG"])},
    "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    "request_timeout": {"type": "int", "default": 30},
}


class K8sClientError(Exception):
    """The API could not be reached or configured; the message is one line."""


def k8s_argument_spec(**extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the common connection options plus a module's own options.

    A fresh dict each call, so one module's options never leak into another's.
    """
    spec = {name: dict(opt) for name, opt in K8S_AUTH_ARGS.items()}
    spec.update(extra)
    return spec


def api_error_text(exc: BaseException) -> str:
    """One line out of an API error: the Status message the API server
    wrote, which names the real reason, rather than the headers dump that
    ``str(exc)`` gives; for no answer at all, the innermost network reason."""
    if not isinstance(exc, ApiException):
        reason = getattr(exc, "reason", None) or exc
        return " ".join(str(reason).split())
    body = getattr(exc, "body", None)
    if body:
        try:
            message = json.loads(body).get("message")
            if message:
                return f"{getattr(exc, 'status', '')} {message}".strip()
        except (ValueError, AttributeError):
            pass
    reason = getattr(exc, "reason", None) or str(exc)
    status = getattr(exc, "status", None)
    return " ".join(f"{status or ''} {reason}".split())


def connect(kubeconfig: Optional[str], context: Optional[str]) -> Any:
    """Return a ``CoreV1Api`` built from a kubeconfig file.

    The file is loaded into a private ``Configuration`` (not the process-wide
    default), so two modules in one controller process never share settings.
    """
    if not HAS_K8S:
        raise K8sClientError(missing_required_lib(K8S_REQUIREMENT))
    try:
        api_client = k8s_config.new_client_from_config(config_file=kubeconfig, context=context)
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        where = kubeconfig or "the default kubeconfig (~/.kube/config)"
        raise K8sClientError(f"cannot load kubeconfig {where}: {exc}") from exc
    return k8s_client.CoreV1Api(api_client)


def core_api_from_module(module: Any) -> Any:
    """Connect with a module's auth options or fail the module.

    Modules call this once, so each reports a missing client or a broken
    kubeconfig with the same wording.
    """
    if not HAS_K8S:
        module.fail_json(msg=missing_required_lib(K8S_REQUIREMENT), exception=K8S_IMPORT_ERROR)
    try:
        return connect(module.params["kubeconfig"], module.params["context"])
    except K8sClientError as exc:
        module.fail_json(msg=str(exc))
