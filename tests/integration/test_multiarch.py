"""Images for a rack of several architectures, against Debian's registry
(distribution 2.8, as the rack runs it) and this machine's engine.

- image_index over TLS with a login: per-architecture images put through the
  registry's own upload API (no engine), the index published, read back
  through the /v2/ API by this test's own HTTP calls, re-run unchanged, and an
  image of the wrong architecture refused.
- The build path: a tiny image for linux/arm/v7 built by this machine's
  engine under emulation (qemu-user-static, binfmt_misc) beside the same for
  linux/amd64, both pushed, one index over them, and each platform pulled back
  by the index's digest. The one emulated foreign-architecture build `make
  test` holds; the coin-miner's full emulated builds are `make multiarch`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from modkit import ROOT
from registrykit import DOCKER_LIST, V2, Registry, platforms


def index_args(registry: Registry, repository: str, manifests: list[dict], **extra) -> dict:
    args = {"registry": registry.address, "ca_path": registry.ca_path, "username": registry.username,
            "password": registry.password, "scheme": registry.url.split(":")[0],
            "images": [{"repository": repository, "tag": "latest", "manifests": manifests}]}
    return {key: value for key, value in dict(args, **extra).items() if value is not None}


RACK = [("latest-amd64", {"os": "linux", "architecture": "amd64"}, "linux/amd64"),
        ("latest-arm64", {"os": "linux", "architecture": "arm64", "variant": "v8"}, "linux/arm64/v8"),
        ("latest-armhf", {"os": "linux", "architecture": "arm", "variant": "v7"}, "linux/arm/v7")]


def test_an_index_over_three_architectures_read_back_through_the_registry(module_runner,
                                                                          tls_registry: Registry) -> None:
    v2 = V2(tls_registry)
    pushed = {tag: v2.push_image("coinminer/rng", tag, platform) for tag, platform, _ in RACK}
    manifests = [{"ref": tag, "platform": wanted} for tag, _platform, wanted in RACK]
    args = index_args(tls_registry, "coinminer/rng", manifests)

    would = module_runner("image_index", args, check_mode=True)
    assert would["changed"] and not would.get("failed"), would
    with pytest.raises(urllib.error.HTTPError):
        v2.index("coinminer/rng", "latest")  # check mode put nothing

    first = module_runner("image_index", args, diff=True)
    assert first["changed"] and not first.get("failed"), first
    media_type, index, digest = v2.index("coinminer/rng", "latest")
    assert media_type == DOCKER_LIST and digest == first["images"][0]["digest"] == would["images"][0]["digest"]
    assert sorted(platforms(index)) == ["linux/amd64", "linux/arm/v7", "linux/arm64/v8"]
    assert {m["digest"] for m in index["manifests"]} == set(pushed.values())
    _type, by_digest, _digest = v2.index("coinminer/rng", digest)  # what a board pulls by the pin
    assert by_digest == index

    assert module_runner("image_index", args)["changed"] is False

    # The armhf image rebuilt: the index moves to it.
    rebuilt = v2.push_image("coinminer/rng", "latest-armhf", {"os": "linux", "architecture": "arm"})
    second = module_runner("image_index", args)
    assert second["changed"] and second["images"][0]["manifests"]["linux/arm/v7"] == rebuilt


def test_an_image_of_the_wrong_architecture_is_refused_and_nothing_put(module_runner, tls_registry: Registry) -> None:
    v2 = V2(tls_registry)
    v2.push_image("coinminer/hasher", "latest-amd64", {"os": "linux", "architecture": "amd64"})
    # What a copy of the controller's amd64 base image makes on an ARM builder.
    v2.push_image("coinminer/hasher", "latest-armhf", {"os": "linux", "architecture": "amd64"})
    args = index_args(tls_registry, "coinminer/hasher", [{"ref": "latest-amd64", "platform": "linux/amd64"},
                                                         {"ref": "latest-armhf", "platform": "linux/arm/v7"}])
    answer = module_runner("image_index", args)
    assert answer["failed"] and answer["msg"] == (
        "coinminer/hasher:latest-armhf is an image for linux/amd64, not for linux/arm/v7"), answer
    with pytest.raises(urllib.error.HTTPError):
        v2.index("coinminer/hasher", "latest")


def test_a_wrong_login_and_an_untrusted_certificate_are_one_line(module_runner, tls_registry: Registry) -> None:
    manifests = [{"ref": "latest-amd64"}]
    refused = module_runner("image_index", index_args(tls_registry, "coinminer/rng", manifests, password="wrong"))
    assert refused["failed"] and refused["msg"].endswith(": 401, the login was refused"), refused
    untrusted = dict(index_args(tls_registry, "coinminer/rng", manifests))
    del untrusted["ca_path"]
    answer = module_runner("image_index", untrusted)
    assert answer["failed"] and "TLS certificate is not trusted" in answer["msg"] and "\n" not in answer["msg"]


# --- the build path, with one emulated foreign-architecture image ------------

BINFMT = Path("/proc/sys/fs/binfmt_misc/qemu-arm")


def debian_busybox(arch: str, dest: Path) -> Path:
    """Debian's static busybox for ``arch``, fetched with apt's own tools into
    a private state folder (the machine's dpkg architectures are untouched)."""
    state = dest / f"apt-{arch}"
    (state / "lists" / "partial").mkdir(parents=True)
    (state / "cache" / "archives" / "partial").mkdir(parents=True)
    options = ["-q", "-o", f"APT::Architecture={arch}", "-o", f"APT::Architectures::={arch}",
               "-o", f"Dir::State::Lists={state / 'lists'}", "-o", f"Dir::Cache={state / 'cache'}",
               "-o", "Dir::State::Status=/dev/null", "-o", "Debug::NoLocking=1"]
    for step in (["update"], ["download", f"busybox-static:{arch}"]):
        done = subprocess.run(["apt-get", *options, *step], cwd=state, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"apt-get {step[0]} of busybox-static:{arch} failed (no Debian mirror?): "
                        f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    deb = next(state.glob("busybox-static_*.deb"))
    unpacked = dest / f"deb-{arch}"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    return unpacked / "bin" / "busybox"


@pytest.fixture(name="made")
def fixture_made(client) -> Iterator[list[str]]:
    """Images a test made; all removed afterwards."""
    made: list[str] = []
    yield made
    for reference in reversed(made):
        with contextlib.suppress(Exception):
            client.api.remove_image(reference, force=True)


@pytest.mark.usefixtures("engine")
def test_an_emulated_armhf_build_beside_amd64_serves_both_by_one_digest(module_runner, client, made: list[str],
                                                                        registry: str, tmp_path: Path) -> None:
    if not BINFMT.is_file() or "enabled" not in BINFMT.read_text() or "F" not in BINFMT.read_text().split(
            "flags:")[-1].splitlines()[0]:
        pytest.skip("no qemu-arm in binfmt_misc with the F flag (apt-get install qemu-user-static binfmt-support)")
    if os.uname().machine != "x86_64":
        pytest.skip("written for an amd64 machine (its native build is amd64, its emulated one armhf)")
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is missing (it loads the busybox base images)")
    unique = uuid.uuid4().hex[:8]
    repository = f"pirack-it/multiarch-{unique}"
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n"
        'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox uname -m > /built-on"]\n'
        'CMD ["/bin/busybox", "cat", "/built-on"]\n', encoding="ascii")
    builds = []
    for arch, platform in (("amd64", "linux/amd64"), ("armhf", "linux/arm/v7")):
        rootfs = tmp_path / f"rootfs-{arch}"
        (rootfs / "bin").mkdir(parents=True)
        shutil.copy2(debian_busybox(arch, tmp_path), rootfs / "bin" / "busybox")
        base = f"pirack-it/busybox-{arch}:{unique}"
        made.append(base)
        # A base image made for its platform, as scripts/base-image.sh --arch makes Debian's.
        archive = subprocess.run([sys.executable, str(ROOT / "scripts" / "rootfs-image.py"), str(rootfs), base,
                                  platform, "/bin/busybox", "sh"], capture_output=True, check=True).stdout
        subprocess.run(["docker", "load"], input=archive, capture_output=True, check=True)
        image = f"{registry}/{repository}:latest-{arch}"
        made.append(image)
        builds.append({"image": image, "build_args": {"BASE_IMAGE": base}, "platform": platform})
    build = {"op": "build", "src": str(context), "network": "none", "each": builds}
    built = module_runner("docker_op", build)
    assert built["changed"] and not built.get("failed"), built
    # The layer cache serves the emulated build too: a re-run changes nothing.
    again = module_runner("docker_op", build)
    assert [r["changed"] for r in again["results"]] == [False, False], again
    shown = {b["image"]: module_runner("docker_op", {"op": "images", "image": b["image"]})["images"][0]["platform"]
             for b in builds}
    assert list(shown.values()) == ["linux/amd64", "linux/arm/v7"]

    # An "armhf" build from the amd64 base: Debian's engine builds it, docker_op refuses the result.
    wrong = module_runner("docker_op", {"op": "build", "src": str(context), "network": "none",
                                        "image": f"{registry}/{repository}:wrong", "platform": "linux/arm/v7",
                                        "build_args": {"BASE_IMAGE": builds[0]["build_args"]["BASE_IMAGE"]}})
    made.append(f"{registry}/{repository}:wrong")
    assert wrong.get("failed") and wrong["msg"].endswith(
        "gave an image for linux/amd64, not for linux/arm/v7: its base image (FROM) is for linux/amd64"), wrong

    pushed = module_runner("docker_op", {"op": "push", "each": [{"image": b["image"]} for b in builds]})
    assert not pushed.get("failed"), pushed
    index = module_runner("image_index", {
        "registry": registry, "scheme": "http",
        "images": [{"repository": repository, "tag": "latest",
                    "manifests": [{"ref": "latest-amd64", "platform": "linux/amd64"},
                                  {"ref": "latest-armhf", "platform": "linux/arm/v7"}]}]})
    assert index["changed"] and not index.get("failed"), index
    _type, served, digest = V2(Registry(registry, f"http://{registry}")).index(repository, "latest")
    assert sorted(platforms(served)) == ["linux/amd64", "linux/arm/v7"]
    assert digest == index["images"][0]["digest"]

    # One pin, each platform its own image: what a board of each kind pulls and runs.
    pin = f"{registry}/{repository}@{digest}"
    ran = {}
    for platform in ("linux/amd64", "linux/arm/v7"):
        for reference in builds:
            with contextlib.suppress(Exception):
                client.api.remove_image(reference["image"], force=True)
        with contextlib.suppress(Exception):
            client.api.remove_image(pin, force=True)
        assert not module_runner("docker_op", {"op": "pull", "image": pin, "platform": platform}).get("failed")
        made.append(pin)
        out = client.containers.run(pin, remove=True, network_mode="none")
        ran[platform] = out.decode().strip()
    assert ran == {"linux/amd64": "x86_64", "linux/arm/v7": "armv7l"}, ran
