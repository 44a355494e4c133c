# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's errors, and how an error message shows what went wrong.

Every error a module reports reaches the user as one line: the classes here
carry a message already written that way, and the three text helpers are
how a value, a library's message or an exception chain become that line.
Kept apart from the code that raises them, so a module can catch the error
of another layer without importing that layer's client library.
"""

from __future__ import annotations

from typing import Any, Optional


def one_line(text: Any) -> str:
    """``text`` with its whitespace collapsed, so a library's message stays on one line."""
    return " ".join(str(text).split())


def exception_text(exc: BaseException) -> str:
    """The innermost useful reason of an exception chain, on one line.

    requests wraps the real cause ("No such file or directory", "Connection
    refused") several levels deep; the outer text alone rarely says which.
    """
    text = one_line(exc)
    root = exc
    while root.__cause__ is not None or root.__context__ is not None:
        root = root.__cause__ or root.__context__  # type: ignore[assignment]
    if root is not exc:
        reason = one_line(root)
        if reason and reason not in text:
            text = f"{text} ({reason})"
    return text or type(exc).__name__


def show(value: Any) -> str:
    """A user's value as an error shows it: short, on one line, never raising.

    repr escapes newlines; Python refuses to print integers of more than
    4300 digits, and a message must never fail to be written.
    """
    try:
        text = repr(value)
    except ValueError:
        return "an integer too long to print"
    return text if len(text) <= 80 else text[:77] + "..."


class AppError(Exception):
    """The one error of the app engine: a bad spec or option, or an
    orchestrator that could not be brought to the spec.

    ``errors`` holds one line per problem. A spec's problems are all
    collected before raising, so a person fixing a spec sees every mistake
    at once instead of one per run.
    """

    def __init__(self, message: str, errors: Optional[list[str]] = None) -> None:
        self.errors = errors or [message]
        super().__init__(message)


class OperationError(Exception):
    """A Docker operation could not do what was asked; ``details`` go into the result."""

    def __init__(self, msg: str, **details: Any) -> None:
        super().__init__(msg)
        self.details = details


class DockerConnectError(Exception):
    """No engine answered at the configured address."""


class K8sClientError(Exception):
    """The Kubernetes API could not be reached or configured."""


class SwarmError(Exception):
    """The engine is not where a swarm module can do what was asked."""


class NodeError(Exception):
    """A Kubernetes node operation failed; the message says which node and why.

    ``retryable`` is true when waiting may help (no connection yet, a 5xx
    while the API server starts), false when it cannot (TLS, 401, 404).
    """

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class DrainError(NodeError):
    """A drain stopped part-way; ``evicted`` lists the pods already evicted,
    because those evictions happened and the result must say so."""

    def __init__(self, message: str, evicted: Optional[list[str]] = None) -> None:
        super().__init__(message)
        self.evicted = list(evicted or [])


class ImageIndexError(ValueError):
    """A platform, an image of an index or the index itself is not what it
    must be (module_utils/image_index.py)."""


class RegistryError(Exception):
    """A registry refused or did not answer a /v2/ call."""

    def __init__(self, msg: str, status: Optional[int] = None) -> None:
        super().__init__(msg)
        self.status = status
