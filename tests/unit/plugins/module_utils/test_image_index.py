"""module_utils/image_index.py: platforms, the build plan, the index's
assembly, and publishing it over a registry's recorded answers."""

from __future__ import annotations

import json
from typing import Optional

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.errors import ImageIndexError, RegistryError
from ansible_collections.pirack.cluster.plugins.module_utils.image_index import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Board,
    Platform,
    RegistryClient,
    assemble_index,
    debian_platform,
    digest_of,
    index_entry,
    index_platforms,
    parse_platform,
    plan_builders,
    publish_index,
)


def config(arch: str, variant: Optional[str] = None) -> dict:
    out = {"os": "linux", "architecture": arch, "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers"}}
    if variant:
        out["variant"] = variant
    return out


def manifest(config_body: bytes, media_type: str = DOCKER_MANIFEST) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": media_type,
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                  "digest": digest_of(config_body), "size": len(config_body)},
                       "layers": []}).encode()


# --- platforms ---------------------------------------------------------------

@pytest.mark.parametrize(("arch", "text"), [("amd64", "linux/amd64"), ("arm64", "linux/arm64/v8"),
                                            ("armhf", "linux/arm/v7")])
def test_the_architectures_of_a_pi_rack_have_their_docker_platforms(arch: str, text: str) -> None:
    assert str(debian_platform(arch)) == text


def test_an_architecture_no_image_is_made_for_is_one_line() -> None:
    with pytest.raises(ImageIndexError, match=r"^'mips64el' is not a Debian architecture .*armhf") as err:
        debian_platform("mips64el")
    assert "\n" not in str(err.value)


def test_a_platform_without_its_default_variant_is_the_same_platform() -> None:
    assert parse_platform("linux/arm") == parse_platform("linux/arm/v7") == Platform("linux", "arm", "v7")
    assert parse_platform("linux/arm64") == Platform("linux", "arm64", "v8")
    assert parse_platform("linux/arm/v6") != parse_platform("linux/arm")


@pytest.mark.parametrize("text", ["linux", "linux/", "/amd64", "a/b/c/d", "", None])
def test_a_malformed_platform_is_refused(text) -> None:
    with pytest.raises(ImageIndexError, match="is not a platform"):
        parse_platform(text)


# --- the build plan ------------------------------------------------------------

RACK = [Board("master", True, "arm64"), Board("w1", False, "armhf"), Board("w2", False, "armhf")]


def test_a_64_bit_master_builds_its_own_and_a_32_bit_worker_builds_armhf() -> None:
    assert plan_builders(["arm64", "armhf"], RACK) == ({"arm64": "master", "armhf": "w1"}, [])


def test_a_board_of_the_architecture_is_preferred_to_emulation_on_the_master() -> None:
    boards = [Board("master", True, "amd64", ("armhf", "arm64")), Board("w1", False, "armhf")]
    assert plan_builders(["amd64", "armhf", "arm64"], boards) == (
        {"amd64": "master", "armhf": "w1", "arm64": "master"}, [])


def test_a_master_of_the_architecture_is_preferred_to_a_worker() -> None:
    boards = [Board("w1", False, "arm64"), Board("m2", True, "arm64")]
    assert plan_builders(["arm64"], boards)[0] == {"arm64": "m2"}


def test_an_architecture_nobody_builds_is_one_line_naming_the_masters() -> None:
    builders, problems = plan_builders(["amd64", "arm64"], [Board("m1", True, "amd64"), Board("m2", True, "amd64")])
    assert builders == {"amd64": "m1"}
    assert problems == ["arm64 (linux/arm64/v8): no board is arm64 and no master runs it (masters: m1, m2); "
                        "install qemu-user-static on a master, or leave arm64 out"]


def test_a_worker_never_builds_another_architecture() -> None:
    # Only a master pushes; a worker building for another architecture would be carried for nothing.
    boards = [Board("m1", True, "amd64"), Board("w1", False, "amd64", ("arm64",))]
    assert plan_builders(["arm64"], boards)[0] == {}


def test_a_board_of_an_unknown_architecture_is_named() -> None:
    _builders, problems = plan_builders(["mips64el"], [Board("m1", True, "amd64"), Board("w9", False, "mips64el")])
    assert len(problems) == 1 and problems[0].startswith("mips64el: ") and problems[0].endswith("boards: w9")


# --- the index -------------------------------------------------------------------

def entry_for(arch: str, variant: Optional[str] = None, media_type: str = DOCKER_MANIFEST,
              wanted: Optional[Platform] = None) -> dict:
    body = manifest(json.dumps(config(arch, variant)).encode(), media_type)
    return index_entry(f"coinminer/rng:latest-{arch}", media_type, body, config(arch, variant), wanted)


def test_an_entry_takes_its_platform_from_the_image_config() -> None:
    entry = entry_for("arm", "v7")
    assert entry["platform"] == {"architecture": "arm", "os": "linux", "variant": "v7"}
    assert entry["mediaType"] == DOCKER_MANIFEST and entry["digest"].startswith("sha256:") and entry["size"] > 0


def test_an_arm_config_without_variant_is_armv7() -> None:
    assert entry_for("arm")["platform"]["variant"] == "v7"


def test_an_image_of_another_architecture_than_wanted_is_refused() -> None:
    # The base image the controller copied was amd64: the "armhf" build is amd64 too.
    with pytest.raises(ImageIndexError, match=r"latest-amd64 is an image for linux/amd64, not for linux/arm/v7$"):
        entry_for("amd64", wanted=parse_platform("linux/arm/v7"))


def test_an_index_cannot_be_an_entry_of_an_index() -> None:
    with pytest.raises(ImageIndexError, match="is itself an index"):
        index_entry("coinminer/rng:latest", DOCKER_LIST, b"{}", config("amd64"))


def test_a_manifest_list_of_docker_manifests_in_platform_order() -> None:
    entries = [entry_for("arm", "v7"), entry_for("amd64"), entry_for("arm64", "v8")]
    media_type, body = assemble_index(entries)
    assert media_type == DOCKER_LIST
    assert index_platforms(body) == ["linux/amd64", "linux/arm/v7", "linux/arm64/v8"]
    document = json.loads(body)
    assert document["schemaVersion"] == 2 and document["mediaType"] == DOCKER_LIST
    assert {m["digest"] for m in document["manifests"]} == {e["digest"] for e in entries}


def test_the_same_images_give_the_same_index_in_any_order() -> None:
    entries = [entry_for("arm", "v7"), entry_for("amd64")]
    assert assemble_index(entries) == assemble_index(list(reversed(entries)))


def test_oci_manifests_make_an_oci_index() -> None:
    assert assemble_index([entry_for("amd64", media_type=OCI_MANIFEST)])[0] == OCI_INDEX


def test_two_images_for_one_platform_are_refused() -> None:
    with pytest.raises(ImageIndexError, match=r"^two images for linux/arm/v7: "):
        assemble_index([entry_for("arm", "v7"), entry_for("arm")])


def test_an_empty_index_is_refused() -> None:
    with pytest.raises(ImageIndexError, match="at least one image"):
        assemble_index([])


# --- publishing, over a registry's recorded answers --------------------------

class RecordedRegistry:
    """A registry's answers, kept in dicts: what distribution 2.8 answers for
    these calls (404 with a JSON error for an unknown manifest or blob)."""

    def __init__(self) -> None:
        self.manifests: dict[tuple[str, str], tuple[str, bytes]] = {}
        self.blobs: dict[str, bytes] = {}
        self.calls: list[tuple[str, str]] = []
        self.auth: Optional[str] = None

    def push(self, repository: str, tag: str, arch: str, variant: Optional[str] = None) -> str:
        config_body = json.dumps(config(arch, variant)).encode()
        self.blobs[digest_of(config_body)] = config_body
        body = manifest(config_body)
        self.manifests[(repository, tag)] = self.manifests[(repository, digest_of(body))] = (DOCKER_MANIFEST, body)
        return digest_of(body)

    def __call__(self, method: str, url: str, headers: dict, body: Optional[bytes]) -> tuple[int, dict, bytes]:
        self.calls.append((method, url))
        self.auth = headers.get("Authorization")
        path = url.split("/v2/", 1)[1]
        repository, kind, ref = path.rsplit("/", 2)
        unknown = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}).encode()
        if kind == "blobs":
            return (200, {}, self.blobs[ref]) if ref in self.blobs else (404, {}, b"")
        if method == "PUT":
            self.manifests[(repository, ref)] = self.manifests[(repository, digest_of(body))] = (
                headers["Content-Type"], body)
            return 201, {"docker-content-digest": digest_of(body)}, b""
        if (repository, ref) not in self.manifests:
            return 404, {"content-type": "application/json"}, unknown
        media_type, stored = self.manifests[(repository, ref)]
        return 200, {"content-type": media_type, "docker-content-digest": digest_of(stored)}, stored


@pytest.fixture(name="registry")
def fixture_registry() -> RecordedRegistry:
    registry = RecordedRegistry()
    registry.push("coinminer/rng", "latest-amd64", "amd64")
    registry.push("coinminer/rng", "latest-armhf", "arm", "v7")
    registry.push("coinminer/rng", "latest-arm64", "arm64", "v8")
    return registry


CHILDREN = [("latest-amd64", parse_platform("linux/amd64")), ("latest-armhf", parse_platform("linux/arm/v7")),
            ("latest-arm64", parse_platform("linux/arm64"))]


def test_publish_puts_the_index_then_finds_it_there(registry: RecordedRegistry) -> None:
    client = RegistryClient("https://10.99.0.10:5000", registry, "pirack", "secret")
    first = publish_index(client, "coinminer/rng", "latest", CHILDREN, check_mode=False)
    assert first["changed"] and first["diff"]["before"] == {"digest": None}
    assert first["platforms"] == ["linux/amd64", "linux/arm/v7", "linux/arm64/v8"]
    media_type, body = registry.manifests[("coinminer/rng", "latest")]
    assert media_type == DOCKER_LIST and digest_of(body) == first["digest"]
    assert registry.auth and registry.auth.startswith("Basic ")
    calls = len(registry.calls)
    again = publish_index(client, "coinminer/rng", "latest", CHILDREN, check_mode=False)
    assert again["changed"] is False and again["digest"] == first["digest"]
    assert [method for method, _url in registry.calls[calls:]] == ["GET"] * 7  # 3 manifests, 3 configs, the tag


def test_check_mode_reads_but_puts_nothing(registry: RecordedRegistry) -> None:
    client = RegistryClient("https://r:5000", registry)
    would = publish_index(client, "coinminer/rng", "latest", CHILDREN, check_mode=True)
    assert would["changed"] and ("coinminer/rng", "latest") not in registry.manifests
    assert all(method == "GET" for method, _url in registry.calls)


def test_a_rebuilt_architecture_gives_a_new_index(registry: RecordedRegistry) -> None:
    client = RegistryClient("https://r:5000", registry)
    first = publish_index(client, "coinminer/rng", "latest", CHILDREN, check_mode=False)
    registry.blobs["sha256:x"] = b""  # unrelated blob: nothing else changes
    new = registry.push("coinminer/rng", "latest-armhf", "arm", None)
    second = publish_index(client, "coinminer/rng", "latest", CHILDREN, check_mode=False)
    assert second["changed"] and second["digest"] != first["digest"]
    assert second["manifests"]["linux/arm/v7"] == new


def test_an_image_not_pushed_yet_is_named(registry: RecordedRegistry) -> None:
    client = RegistryClient("https://r:5000", registry)
    with pytest.raises(ImageIndexError, match=r"^coinminer/hasher:latest-amd64 is not in the registry"):
        publish_index(client, "coinminer/hasher", "latest", CHILDREN[:1], check_mode=False)


def test_a_refused_login_is_one_line() -> None:
    def refuse(method: str, url: str, headers: dict, body: Optional[bytes]) -> tuple[int, dict, bytes]:
        return 401, {}, b'{"errors":[{"code":"UNAUTHORIZED"}]}'

    with pytest.raises(RegistryError, match=r"^GET https://r:5000/v2/coinminer/rng/manifests/latest-amd64: 401, "
                                            r"the login was refused$"):
        publish_index(RegistryClient("https://r:5000", refuse, "pirack", "wrong"), "coinminer/rng", "latest",
                      CHILDREN[:1], check_mode=False)


def test_a_registry_error_names_its_code() -> None:
    def full(method: str, url: str, headers: dict, body: Optional[bytes]) -> tuple[int, dict, bytes]:
        return 500, {}, b'{"errors":[{"code":"UNKNOWN","message":"no space left on device"}]}'

    with pytest.raises(RegistryError, match=r": 500 UNKNOWN: no space left on device$"):
        RegistryClient("https://r:5000", full).put_manifest("coinminer/rng", "latest", DOCKER_LIST, b"{}")
