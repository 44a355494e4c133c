# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker SDK client creation shared by every module that drives an engine.

One place decides how a module reaches an engine (socket, ``DOCKER_HOST``,
timeout, API version negotiation) and how "no engine answers" is reported, so
the controller's SDK 7.x and the python3-docker 5.0.3 of a Pi behave the same
and a user sees one readable line instead of a urllib3 traceback.
"""

from __future__ import annotations

import traceback
from typing import Any, Callable, Optional

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.pirack.cluster.plugins.module_utils.errors import DockerConnectError, exception_text

try:
    import docker
    from docker.errors import DockerException

    HAS_DOCKER_SDK = True
    DOCKER_SDK_IMPORT_ERROR: Optional[str] = None
except ImportError:  # pragma: no cover - exercised on hosts without the SDK
    HAS_DOCKER_SDK = False
    DOCKER_SDK_IMPORT_ERROR = traceback.format_exc()

    class DockerException(Exception):  # type: ignore[no-redef]
        """Stand-in so ``except DockerException`` still parses without the SDK."""

try:  # requests comes with the SDK; its timeouts and resets are not DockerExceptions.
    from requests.exceptions import RequestException
except ImportError:  # pragma: no cover - exercised on hosts without the SDK
    RequestException = DockerException  # type: ignore[assignment,misc]

# What a call to a connected engine can raise: an API error, or the HTTP layer
# giving up (a read timeout, dockerd restarting). Modules turn both into one line.
ENGINE_ERRORS = (DockerException, RequestException)


DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DEFAULT_TIMEOUT = 60
# Debian's package name is in the message because that is how a Pi gets it.
SDK_REQUIREMENT = "docker (the Docker SDK for Python; python3-docker on Debian/Raspberry Pi OS)"

# Options every Docker-facing module takes; documented by the
# pirack.cluster.docker doc fragment. Merge with ``docker_argument_spec()``.
DOCKER_COMMON_ARGS: dict[str, dict[str, Any]] = {
    "docker_host": {
        "type": "str",
        "default": DEFAULT_DOCKER_HOST,
        "aliases": ["docker_url"],
        "fallback": (env_fallback, ["DOCKER_HOST"]),
    },
    "timeout": {
        "type": "int",
        "default": DEFAULT_TIMEOUT,
        "fallback": (env_fallback, ["DOCKER_TIMEOUT"]),
    },
}


def docker_argument_spec(**extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the common connection options plus a module's own options.

    A fresh dict each call, so one module adding options never leaks them
    into another module's spec.
    """
    spec = {name: dict(opt) for name, opt in DOCKER_COMMON_ARGS.items()}
    spec.update(extra)
    return spec


def connect(docker_host: str = DEFAULT_DOCKER_HOST, timeout: int = DEFAULT_TIMEOUT) -> Any:
    """Return a ``docker.DockerClient`` that has already talked to the engine.

    The API version is negotiated ("auto"): SDK 7.2 defaults to an API newer
    than the 20.10 engine Debian ships, which would refuse every call.
    Negotiating also proves the engine answers, so failures surface here.
    """
    if not HAS_DOCKER_SDK:
        raise DockerConnectError(missing_required_lib(SDK_REQUIREMENT))
    try:
        return docker.DockerClient(base_url=docker_host, version="auto", timeout=timeout)
    except DockerException as exc:
        raise DockerConnectError(
            f"no Docker engine answers at {docker_host} (is dockerd running?): {exception_text(exc)}"
        ) from exc


def client_from_module(module: Any) -> Any:
    """Connect with a module's ``docker_host``/``timeout`` or fail the module.

    Modules call this once at the start, so every one of them reports a
    missing SDK and a dead engine with the same wording.
    """
    if not HAS_DOCKER_SDK:
        module.fail_json(msg=missing_required_lib(SDK_REQUIREMENT), exception=DOCKER_SDK_IMPORT_ERROR)
    try:
        return connect(module.params["docker_host"], module.params["timeout"])
    except DockerConnectError as exc:
        module.fail_json(msg=str(exc))


def exit_with_engine_result(module: Any, work: Callable[[Any], dict[str, Any]], what: str,
                            own_errors: tuple[type[BaseException], ...] = (), own_prefix: bool = True,
                            **extra: Any) -> None:
    """Connect, run ``work(client)``, close, and exit the module with its result.

    The one ending of the modules that change an engine: the module's own
    errors (``own_errors``, whose ``details`` go into the result) fail with
    ``<what>: <message>`` (the bare message when ``own_prefix`` is off: it
    names its option already), the engine's with ``<what> failed: <one
    line>``; ``extra`` goes into a failure's result; the ``diff`` key leaves
    only in diff mode.
    """
    client = client_from_module(module)
    result: dict[str, Any] = {}
    try:
        result = work(client)
    except own_errors as exc:
        module.fail_json(msg=f"{what}: {exc}" if own_prefix else str(exc), **extra, **getattr(exc, "details", {}))
    except ENGINE_ERRORS as exc:
        module.fail_json(msg=f"{what} failed: {exception_text(exc)}", exception=traceback.format_exc(), **extra)
    finally:
        client.close()
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)
