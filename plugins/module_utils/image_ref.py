# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one parser of image references in the collection.

A reference is ``[registry/]repository[:tag][@digest]``. The first path
component is a registry only when it looks like a host (it has a dot or a
port, or is ``localhost``): Docker's own rule, so ``pirack/coinminer-rng``
is a repository and ``10.99.0.10:5000/pirack/coinminer-rng`` names a
registry. A colon after the last slash is a tag; one before it is a port.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional

# Docker's reference grammar (distribution/reference), part by part, so a
# reference the engine would refuse ("invalid reference format") is refused
# before anything is sent to it.
REGISTRY = re.compile(r"(localhost|\[[0-9A-Fa-f:]+\]|[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
                      r"(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*)(:[0-9]{1,5})?")
REPOSITORY = re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST = re.compile(r"[a-z0-9]+([+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}")


class ImageRef(NamedTuple):
    """The parts of an image reference; absent parts are ``None``."""

    registry: Optional[str]
    repository: str
    tag: Optional[str]
    digest: Optional[str]

    @property
    def name(self) -> str:
        """Registry and repository, without tag or digest: what ``docker push`` names."""
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_image(reference: str) -> ImageRef:
    """Split a reference into its parts; raises ``ValueError`` when it has no repository."""
    if not isinstance(reference, str) or not reference.strip():
        raise ValueError(f"an image reference must be a non-empty string, got {reference!r}")
    rest, _, digest = reference.partition("@")
    registry = None
    first, sep, after = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, after
    repository, sep, tag = rest.rpartition(":")
    if not sep or "/" in tag:
        repository, tag = rest, ""
    if not repository:
        raise ValueError(f"image reference {reference!r} names no repository")
    return ImageRef(registry, repository, tag or None, digest or None)


def with_tag(reference: str, tag: Optional[str] = None, registry: Optional[str] = None) -> str:
    """``reference`` with its tag replaced (when ``tag`` is given) and ``registry``
    put in front when it names none. A reference pinned by digest keeps its tag
    and digest as they are: the digest already says which image it is (that is
    how the coinminer role rolls a rebuilt ``:latest``)."""
    ref = parse_image(reference)
    ref = ref._replace(registry=ref.registry or registry)
    if ref.digest:
        return str(ref)
    return str(ref._replace(tag=tag or ref.tag))


def is_valid_reference(reference: str) -> bool:
    """Whether the engine accepts ``reference``: every part by Docker's grammar,
    and nothing dropped by the split (``web:`` has an empty tag)."""
    try:
        ref = parse_image(reference)
    except ValueError:
        return False
    parts = ((REGISTRY, ref.registry), (REPOSITORY, ref.repository), (TAG, ref.tag), (DIGEST, ref.digest))
    return str(ref) == reference and all(part is None or pattern.fullmatch(part) for pattern, part in parts)


def is_valid_registry(host: str) -> bool:
    """Whether ``host`` names a registry (``host[:port]``) as a reference's first part would."""
    return bool(REGISTRY.fullmatch(host)) and ("." in host or ":" in host or host == "localhost")
