#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Publish one image index (manifest list) per image in a registry."""

from __future__ import annotations

DOCUMENTATION = r"""
module: image_index
short_description: Publish an image index (manifest list) over per-architecture images in a registry
version_added: 0.1.0
author:
  - pirack.cluster contributors (@pirack)
description:
  - Puts, under one tag, an image index whose entries are images already in the
    same repository of the registry, one per platform, so that one name (and one
    digest) serves boards of every architecture; each board pulls the entry for
    its own platform.
  - Each entry's platform is read from the image's own config in the registry.
    When the task names a platform for it, the two must agree, and an image built
    from another architecture's base image is refused with one line instead of
    failing on the boards with "exec format error".
  - The index is a Docker manifest list when every image is a Docker manifest
    (what a Docker engine pushes), an OCI image index otherwise. The same images
    always give the same index, so a re-run changes nothing.
  - Talks to the registry's C(/v2/) HTTP API directly (HTTPS with the rack's CA,
    HTTP basic login), never through a proxy. Runs where the registry's login is,
    normally the master that pushed the images.
  - Every option is checked before the registry is asked anything; a bad one
    fails with one line naming it.
attributes:
  check_mode:
    description: Reads the images and the tag, reports whether the index would be put.
    support: full
  diff_mode:
    description: Returns the tag's digest before and after.
    support: full
  idempotent:
    description: The same images give the same index; a second run puts nothing.
    support: full
options:
  registry:
    description: The registry, C(host:port) as in image names (V(10.99.0.10:5000)).
    type: str
    required: true
  scheme:
    description:
      - V(https) for a rack registry. V(http) only for a registry on the loopback
        address, as tests run one.
    type: str
    choices: [https, http]
    default: https
  ca_path:
    description:
      - CA certificate that signed the registry's certificate.
      - Default C(/etc/docker/certs.d/<registry>/ca.crt), the CA the board's Docker
        engine trusts, when that file exists; otherwise the system's CAs.
    type: path
  username:
    description:
      - The registry login. When not given, the login C(docker login) stored for
        O(registry) in O(docker_config) is used, if there is one.
    type: str
  password:
    description: Password of O(username).
    type: str
  docker_config:
    description: The Docker client configuration whose login for O(registry) is used when O(username) is not given.
    type: path
    default: ~/.docker/config.json
  timeout:
    description: Seconds to wait for each answer of the registry (1 to 3600).
    type: int
    default: 30
  images:
    description: The indexes to publish, one per image.
    type: list
    elements: dict
    required: true
    suboptions:
      repository:
        description: Repository in the registry, such as V(coinminer/rng).
        type: str
        required: true
      tag:
        description: The tag the index is put under, such as V(latest).
        type: str
        required: true
      manifests:
        description: The per-architecture images of that repository, already pushed.
        type: list
        elements: dict
        required: true
        suboptions:
          ref:
            description: A tag (V(latest-armhf)) or digest (V(sha256:...)) in the same repository.
            type: str
            required: true
          platform:
            description:
              - The platform the image must be for, C(os/architecture[/variant])
                (V(linux/arm/v7)); refused when its config says another. Not set,
                the config's platform is taken as it is.
            type: str
seealso:
  - module: pirack.cluster.docker_op
    description: Builds the per-architecture images (its O(pirack.cluster.docker_op#module:platform)) and pushes them.
"""

EXAMPLES = r"""
- name: One name for the amd64, arm64 and armhf builds of each image
  pirack.cluster.image_index:
    # The master's own listener for pushing; the boards pull from its LAN one.
    registry: 127.0.0.1:5001
    images:
      - repository: coinminer/rng
        tag: latest
        manifests:
          - {ref: latest-amd64, platform: linux/amd64}
          - {ref: latest-arm64, platform: linux/arm64/v8}
          - {ref: latest-armhf, platform: linux/arm/v7}
  register: index

- name: Run the service by the index's digest (every board pulls its own entry)
  ansible.builtin.debug:
    msg: "10.99.0.10:5000/coinminer/rng@{{ index.images[0].digest }}"
  when: index is succeeded
"""

RETURN = r"""
images:
  description: One answer per entry of O(images), in order.
  returned: success
  type: list
  elements: dict
  contains:
    repository:
      description: The repository.
      type: str
    tag:
      description: The tag the index is under.
      type: str
    digest:
      description: The index's digest; pin a service to C(<registry>/<repository>@<digest>).
      type: str
    media_type:
      description: The index's media type (a Docker manifest list or an OCI image index).
      type: str
    platforms:
      description: The platforms the index serves, in its order.
      type: list
      elements: str
    manifests:
      description: The digest of each platform's image.
      type: dict
    changed:
      description: Whether this index was (or in check mode would be) put.
      type: bool
  sample:
    - repository: coinminer/rng
      tag: latest
      digest: sha256:5b0f4c...
      media_type: application/vnd.docker.distribution.manifest.list.v2+json
      platforms: [linux/amd64, linux/arm/v7, linux/arm64/v8]
      manifests: {linux/amd64: "sha256:1a2b...", linux/arm/v7: "sha256:3c4d...", linux/arm64/v8: "sha256:5e6f..."}
      changed: true
"""

import base64  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
from typing import Any, Optional  # noqa: E402

from ansible_collections.pirack.cluster.plugins.module_utils.errors import ImageIndexError, RegistryError  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.image_index import (  # noqa: E402
    RegistryClient,
    parse_platform,
    publish_index,
    urllib_transport,
)
from ansible_collections.pirack.cluster.plugins.module_utils.image_ref import (  # noqa: E402
    DIGEST,
    REPOSITORY,
    TAG,
    is_valid_registry,
)
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402

MANIFEST_SPEC = {"ref": {"type": "str", "required": True}, "platform": {"type": "str"}}
IMAGE_SPEC = {
    "repository": {"type": "str", "required": True},
    "tag": {"type": "str", "required": True},
    "manifests": {"type": "list", "elements": "dict", "required": True, "options": MANIFEST_SPEC},
}
ARGUMENT_SPEC = {
    "registry": {"type": "str", "required": True},
    "scheme": {"type": "str", "choices": ["https", "http"], "default": "https"},
    "ca_path": {"type": "path"},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "docker_config": {"type": "path", "default": "~/.docker/config.json"},
    "timeout": {"type": "int", "default": 30},
    "images": {"type": "list", "elements": "dict", "required": True, "options": IMAGE_SPEC},
}


def check_params(params: dict) -> list[tuple[str, str, list[tuple[str, Any]]]]:
    """The indexes to publish, as (repository, tag, [(ref, platform or None)]);
    raises ``ImageIndexError`` naming the first bad option."""
    if not is_valid_registry(params["registry"]):
        raise ImageIndexError(f"registry: {params['registry']!r} is not host[:port]")
    if not 1 <= params["timeout"] <= 3600:
        raise ImageIndexError(f"timeout: must be from 1 to 3600, got {params['timeout']}")
    if not params["images"]:
        raise ImageIndexError("images: give at least one")
    out = []
    for i, image in enumerate(params["images"]):
        where = f"images[{i}]"
        if not REPOSITORY.fullmatch(image["repository"]):
            raise ImageIndexError(f"{where}.repository: {image['repository']!r} is not a repository name")
        if not TAG.fullmatch(image["tag"]):
            raise ImageIndexError(f"{where}.tag: {image['tag']!r} is not a tag")
        if not image["manifests"]:
            raise ImageIndexError(f"{where}.manifests: give at least one image")
        children = []
        for j, child in enumerate(image["manifests"]):
            ref = child["ref"]
            if not (TAG.fullmatch(ref) or DIGEST.fullmatch(ref)):
                raise ImageIndexError(f"{where}.manifests[{j}].ref: {ref!r} is neither a tag nor a sha256 digest")
            if ref == image["tag"]:
                raise ImageIndexError(f"{where}.manifests[{j}].ref: {ref} is the index's own tag")
            platform = None
            if child.get("platform") is not None:
                try:
                    platform = parse_platform(child["platform"])
                except ImageIndexError as exc:
                    raise ImageIndexError(f"{where}.manifests[{j}].platform: {exc}") from None
            children.append((ref, platform))
        out.append((image["repository"], image["tag"], children))
    return out


def stored_login(path: str, registry: str) -> tuple[Optional[str], Optional[str]]:
    """The login ``docker login`` stored for ``registry`` (auths.<registry>.auth), or none."""
    try:
        with open(path, encoding="utf-8") as handle:
            auth = ((json.load(handle).get("auths") or {}).get(registry) or {}).get("auth")
    except (OSError, ValueError, AttributeError):
        return None, None
    if not auth:
        return None, None
    try:
        username, _, password = base64.b64decode(auth).decode("utf-8").partition(":")
    except ValueError:
        return None, None
    return username, password


def main() -> None:
    """Entry point: check every option, then read, compare and put each index."""
    module = build_module(ARGUMENT_SPEC, supports_check_mode=True, required_together=[["username", "password"]])
    params = module.params
    try:
        indexes = check_params(params)
    except ImageIndexError as exc:
        module.fail_json(msg=str(exc))
    registry = params["registry"]
    if params["scheme"] == "http" and not re.match(r"^(127\.|localhost\b|\[::1\])", registry):
        module.fail_json(msg=f"scheme: http only for a registry on the loopback address, not {registry}")
    ca_path = params["ca_path"]
    if ca_path is None and os.path.isfile(f"/etc/docker/certs.d/{registry}/ca.crt"):
        ca_path = f"/etc/docker/certs.d/{registry}/ca.crt"
    username, password = params["username"], params["password"]
    if username is None:
        username, password = stored_login(params["docker_config"], registry)
    results = []
    try:
        client = RegistryClient(f"{params['scheme']}://{registry}", urllib_transport(ca_path, params["timeout"]),
                                username, password)
        for repository, tag, children in indexes:
            results.append(publish_index(client, repository, tag, children, module.check_mode))
    except (ImageIndexError, RegistryError) as exc:
        module.fail_json(msg=str(exc), images=results)
    diffs = {f"{r['repository']}:{r['tag']}": r.pop("diff") for r in results if "diff" in r}
    answer: dict[str, Any] = {"changed": any(result["changed"] for result in results), "images": results}
    if diffs:
        answer["diff"] = {"before": {name: diff["before"]["digest"] for name, diff in diffs.items()},
                          "after": {name: diff["after"]["digest"] for name, diff in diffs.items()}}
    module.exit_json(**answer)


if __name__ == "__main__":
    main()
