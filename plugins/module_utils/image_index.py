# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images for a rack of several CPU architectures.

A rack of 64-bit and 32-bit boards needs each image once per architecture,
and one name that serves them all: an image index (Docker's manifest list,
the OCI image index) whose entries are the per-architecture images, each
with its platform. A board pulling the index's digest gets its own entry.

Three parts, the first two pure:
- platforms: the OCI platform of a Debian architecture (what a board's
  ``dpkg --print-architecture`` says), parsing and comparing them;
- the build plan (``plan_builders``): which board builds each architecture,
  and a one-line refusal for an architecture nobody can build;
- the index itself (``index_entry``, ``assemble_index``), from the registry's
  answers for the per-architecture manifests, and ``RegistryClient``, the
  thin layer that asks the registry (its ``/v2/`` HTTP API) and puts the index.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import ssl
import urllib.error
import urllib.request
from typing import Any, Callable, NamedTuple, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.errors import ImageIndexError, RegistryError

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE_MANIFESTS = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEXES = (DOCKER_LIST, OCI_INDEX)


class Platform(NamedTuple):
    """An OCI platform, written ``os/architecture[/variant]`` as ``docker --platform`` takes it."""

    os: str
    architecture: str
    variant: Optional[str] = None

    def __str__(self) -> str:
        return "/".join(part for part in self if part)

    def as_dict(self) -> dict[str, str]:
        """The platform object of an index entry (no ``variant`` key when it has none)."""
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out


# Debian's architecture names and the platform of their userland. armhf is
# ARMv7 with hardware floating point: what a Pi 2, 3, 4 or Zero 2 runs on a
# 32-bit OS (a Pi 1 or Zero, ARMv6, cannot run Debian's armhf).
DEBIAN_PLATFORMS: dict[str, Platform] = {
    "amd64": Platform("linux", "amd64"),
    "arm64": Platform("linux", "arm64", "v8"),
    "armhf": Platform("linux", "arm", "v7"),
    "armel": Platform("linux", "arm", "v5"),
    "i386": Platform("linux", "386"),
}

# A platform without a variant means this one (as containerd and Docker read it).
DEFAULT_VARIANTS = {"arm64": "v8", "arm": "v7"}


def normalize(platform: Platform) -> Platform:
    """The platform with its architecture's default variant filled in."""
    return platform._replace(variant=platform.variant or DEFAULT_VARIANTS.get(platform.architecture))


# What Go (and so Docker and containerd) calls operating systems and architectures.
OPERATING_SYSTEMS = ("linux", "windows", "freebsd", "darwin")
ARCHITECTURES = ("amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "mips64le", "loong64")


def parse_platform(text: str) -> Platform:
    """``linux/arm/v7`` as a Platform; raises ``ImageIndexError`` on anything else."""
    parts = text.split("/") if isinstance(text, str) else []
    if (len(parts) not in (2, 3) or not all(parts) or parts[0] not in OPERATING_SYSTEMS
            or parts[1] not in ARCHITECTURES):
        raise ImageIndexError(f"{text!r} is not a platform (os/architecture[/variant], e.g. linux/arm/v7)")
    return normalize(Platform(*parts))


def debian_platform(arch: str) -> Platform:
    """The platform of a Debian architecture; raises ``ImageIndexError`` for one no image is made for."""
    try:
        return DEBIAN_PLATFORMS[arch]
    except KeyError:
        known = ", ".join(sorted(DEBIAN_PLATFORMS))
        raise ImageIndexError(f"{arch!r} is not a Debian architecture images are made for ({known})") from None


def config_platform(config: dict) -> Platform:
    """The platform an image's config says it is for (normalized)."""
    return normalize(Platform(str(config.get("os") or ""), str(config.get("architecture") or ""),
                              config.get("variant") or None))


# --- which board builds which architecture ---------------------------------

class Board(NamedTuple):
    """What the plan knows of a board: its name, whether it is a master (it
    can push), its own architecture and the other ones its kernel runs
    (natively, as a 64-bit Pi runs armhf, or under qemu-user-static)."""

    name: str
    master: bool
    architecture: str
    runs: tuple[str, ...] = ()


def plan_builders(needed: list[str], boards: list[Board]) -> tuple[dict[str, str], list[str]]:
    """Choose one builder per architecture in ``needed``, in this order:

    1. a master of that architecture (it builds natively and pushes itself);
    2. another board of that architecture (natively; its images are carried
       to a master, which pushes them: nothing but a master needs to push);
    3. a master that runs it: natively (a 64-bit Pi runs armhf programs) or
       under emulation (qemu-user-static in binfmt_misc, about ten times
       slower): the fallback.

    Boards are taken in the order given. Returns the builders and, for each
    architecture none can build, one line naming the boards concerned.
    """
    builders: dict[str, str] = {}
    problems: list[str] = []
    masters = [board for board in boards if board.master]
    for arch in needed:
        try:
            debian_platform(arch)
        except ImageIndexError as exc:
            named = [board.name for board in boards if board.architecture == arch]
            problems.append(f"{arch}: {exc.args[0]}; boards: {', '.join(named) or 'none'}")
            continue
        candidates = ([board for board in masters if board.architecture == arch]
                      + [board for board in boards if not board.master and board.architecture == arch]
                      + [board for board in masters if arch in board.runs])
        if candidates:
            builders[arch] = candidates[0].name
            continue
        names = ", ".join(board.name for board in masters) or "none"
        problems.append(f"{arch} ({debian_platform(arch)}): no board is {arch} and no master runs it "
                        f"(masters: {names}); install qemu-user-static on a master, or leave {arch} out")
    return builders, problems


# --- the index --------------------------------------------------------------

def digest_of(body: bytes) -> str:
    """The content digest a registry gives ``body``."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def index_entry(reference: str, media_type: str, body: bytes, config: dict,
                wanted: Optional[Platform] = None) -> dict:
    """The index entry for one per-architecture manifest, as the registry served it.

    ``media_type`` is the registry's Content-Type, ``config`` the image
    config blob the manifest names. The platform is the config's; when
    ``wanted`` is given the two must agree, so an image built from the wrong
    architecture's base (an amd64 ``debian:bookworm`` on an ARM builder) is
    refused here instead of failing on the boards with "exec format error".
    """
    try:
        manifest = json.loads(body)
    except ValueError:
        raise ImageIndexError(f"{reference}: the registry's answer is not JSON") from None
    media_type = (media_type or "").split(";")[0].strip() or manifest.get("mediaType") or ""
    if media_type in INDEXES:
        raise ImageIndexError(f"{reference} is itself an index; name the per-architecture images")
    if media_type not in IMAGE_MANIFESTS:
        raise ImageIndexError(f"{reference}: a {media_type or 'manifest without a media type'} cannot go in an index")
    found = config_platform(config)
    if not found.os or not found.architecture:
        raise ImageIndexError(f"{reference}: its config names no os and architecture")
    if wanted is not None and normalize(wanted) != found:
        raise ImageIndexError(f"{reference} is an image for {found}, not for {normalize(wanted)}")
    return {"mediaType": media_type, "digest": digest_of(body), "size": len(body), "platform": found.as_dict()}


def assemble_index(entries: list[dict]) -> tuple[str, bytes]:
    """The index of ``entries`` (from ``index_entry``): its media type and body.

    A Docker manifest list when every entry is a Docker manifest (what a
    Docker engine pushes), an OCI index otherwise. Entries are ordered by
    platform and the JSON is written one way, so the same images always
    give the same bytes and digest: a re-run puts nothing.
    """
    if not entries:
        raise ImageIndexError("an index needs at least one image")
    seen: dict[str, str] = {}
    for entry in entries:
        platform = str(entry_platform(entry))
        if platform in seen:
            raise ImageIndexError(f"two images for {platform}: {seen[platform]} and {entry['digest']}")
        seen[platform] = entry["digest"]
    media_type = DOCKER_LIST if all(entry["mediaType"] == DOCKER_MANIFEST for entry in entries) else OCI_INDEX
    ordered = sorted(entries, key=lambda entry: str(entry_platform(entry)))
    manifests = [{"mediaType": e["mediaType"], "digest": e["digest"], "size": e["size"], "platform": e["platform"]}
                 for e in ordered]
    document = {"schemaVersion": 2, "mediaType": media_type, "manifests": manifests}
    return media_type, json.dumps(document, indent=2, sort_keys=False).encode("utf-8")


def entry_platform(entry: dict) -> Platform:
    """The platform of an index entry."""
    platform = entry.get("platform") or {}
    return Platform(platform.get("os", ""), platform.get("architecture", ""), platform.get("variant"))


def index_platforms(body: bytes) -> list[str]:
    """The platforms an index serves, as ``os/architecture[/variant]``."""
    return [str(entry_platform(entry)) for entry in json.loads(body).get("manifests", [])]


# --- the registry's /v2/ API -------------------------------------------------

# (method, url, headers, body) -> (status, headers, body); replaceable in tests.
Transport = Callable[[str, str, dict, Optional[bytes]], tuple[int, dict, bytes]]


def registry_error_text(status: int, body: bytes) -> str:
    """The first error of a registry's JSON error answer (``code: message``), or the status."""
    try:
        errors = json.loads(body).get("errors") or []
        first = errors[0]
        return f"{status} {first.get('code', '')}: {first.get('message', '')}".strip()
    except (ValueError, AttributeError, IndexError, TypeError):
        return str(status)


def urllib_transport(ca_path: Optional[str], timeout: float) -> Transport:
    """Plain HTTP(S) with the rack CA, never through a proxy (the registry is on the rack's LAN)."""
    try:
        context = ssl.create_default_context(cafile=ca_path)
    except (OSError, ssl.SSLError) as exc:
        raise RegistryError(f"ca_path: cannot read a CA certificate from {ca_path} "
                            f"({getattr(exc, 'strerror', None) or exc})") from None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))

    def send(method: str, url: str, headers: dict, body: Optional[bytes]) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with opener.open(request, timeout=timeout) as answer:
                return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()
        except urllib.error.URLError as exc:
            reason = exc.reason
            text = getattr(reason, "strerror", None) or str(reason)
            if isinstance(reason, ssl.SSLCertVerificationError):
                text = f"its TLS certificate is not trusted ({reason.verify_message}); give ca_path"
            raise RegistryError(f"{method} {url}: {text}") from None
        except (socket.timeout, TimeoutError):
            raise RegistryError(f"{method} {url}: no answer within {timeout:g} s") from None
        except OSError as exc:
            raise RegistryError(f"{method} {url}: {exc.strerror or exc}") from None

    return send


class RegistryClient:
    """One registry's manifests and blobs, as the index needs them."""

    def __init__(self, base_url: str, transport: Transport,
                 username: Optional[str] = None, password: Optional[str] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.transport = transport
        self.auth = None
        if username is not None:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self.auth = f"Basic {token}"

    def _call(self, method: str, path: str, headers: dict, body: Optional[bytes] = None,
              missing_ok: bool = False) -> tuple[int, dict, bytes]:
        url = f"{self.base_url}/v2/{path}"
        if self.auth:
            headers = dict(headers, Authorization=self.auth)
        status, answer_headers, answer = self.transport(method, url, headers, body)
        if status == 404 and missing_ok:
            return status, answer_headers, answer
        if status == 401:
            how = "the login was refused" if self.auth else "it wants a login (username and password)"
            raise RegistryError(f"{method} {url}: 401, {how}", status)
        if status >= 300:
            raise RegistryError(f"{method} {url}: {registry_error_text(status, answer)}", status)
        return status, answer_headers, answer

    def manifest(self, repository: str, reference: str, accept: tuple[str, ...]) -> Optional[tuple[str, bytes]]:
        """The manifest (its media type and bytes) for a tag or digest, or None when the registry has none."""
        status, headers, body = self._call("GET", f"{repository}/manifests/{reference}",
                                           {"Accept": ", ".join(accept)}, missing_ok=True)
        if status == 404:
            return None
        return headers.get("content-type", ""), body

    def blob_json(self, repository: str, digest: str) -> dict:
        """A small JSON blob (an image config), checked against its digest."""
        _status, _headers, body = self._call("GET", f"{repository}/blobs/{digest}", {})
        if digest_of(body) != digest:
            raise RegistryError(f"GET {self.base_url}/v2/{repository}/blobs/{digest}: the answer is not that blob")
        try:
            return json.loads(body)
        except ValueError:
            raise RegistryError(f"blob {digest} of {repository} is not JSON") from None

    def put_manifest(self, repository: str, tag: str, media_type: str, body: bytes) -> str:
        """Put a manifest (or index) under a tag; the digest the registry answers."""
        _status, headers, _answer = self._call("PUT", f"{repository}/manifests/{tag}",
                                               {"Content-Type": media_type}, body)
        return headers.get("docker-content-digest") or digest_of(body)


def read_entry(client: RegistryClient, repository: str, reference: str,
               wanted: Optional[Platform] = None) -> dict:
    """The index entry of one per-architecture image the registry serves (tag or digest)."""
    answer = client.manifest(repository, reference, IMAGE_MANIFESTS + INDEXES)
    if answer is None:
        raise ImageIndexError(f"{repository}:{reference} is not in the registry (push it first)")
    media_type, body = answer
    try:
        config_digest = json.loads(body)["config"]["digest"]
    except (ValueError, KeyError, TypeError):
        config_digest = None
    config = client.blob_json(repository, config_digest) if config_digest else {}
    return index_entry(f"{repository}:{reference}", media_type, body, config, wanted)


def publish_index(client: RegistryClient, repository: str, tag: str,
                  children: list[tuple[str, Optional[Platform]]], check_mode: bool) -> dict[str, Any]:
    """Put the index of ``children`` (reference, wanted platform) under ``tag`` unless it is there.

    Returns what a module reports: changed, the index's digest and media
    type, its platforms, and the digest the tag had before.
    """
    entries = [read_entry(client, repository, reference, wanted) for reference, wanted in children]
    media_type, body = assemble_index(entries)
    digest = digest_of(body)
    current = client.manifest(repository, tag, INDEXES + IMAGE_MANIFESTS)
    before = digest_of(current[1]) if current is not None else None
    result = {"repository": repository, "tag": tag, "digest": digest, "media_type": media_type,
              "platforms": index_platforms(body),
              "manifests": {str(entry_platform(e)): e["digest"] for e in entries}}
    if before == digest:
        return dict(result, changed=False)
    if not check_mode:
        client.put_manifest(repository, tag, media_type, body)
    return dict(result, changed=True, diff={"before": {"digest": before}, "after": {"digest": digest}})
