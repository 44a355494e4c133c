"""The image_builders and image_platform filters: the build plan of a rack
of 64-bit and 32-bit boards, and its one-line refusals."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.pirack.cluster.plugins.filter.images import image_builders, image_platform

MASTER = {"name": "c1-master", "master": True, "architecture": "arm64", "runs": []}


def worker(name: str, arch: str) -> dict:
    return {"name": name, "master": False, "architecture": arch, "runs": []}


def test_a_pi4_master_and_32_bit_workers() -> None:
    plan = image_builders([MASTER, worker("w1", "armhf"), worker("w2", "armhf"), worker("w3", "arm64")])
    assert plan == {"architectures": ["arm64", "armhf"], "builders": {"arm64": "c1-master", "armhf": "w1"},
                    "problems": []}


def test_an_extra_architecture_without_emulation_is_refused() -> None:
    plan = image_builders([MASTER, worker("w1", "arm64")], ["amd64"])
    assert plan["architectures"] == ["arm64", "amd64"] and list(plan["builders"]) == ["arm64"]
    assert plan["problems"] == ["amd64 (linux/amd64): no board is amd64 and no master runs it "
                                "(masters: c1-master); install qemu-user-static on a master, or leave amd64 out"]


def test_an_extra_architecture_the_master_runs() -> None:
    plan = image_builders([dict(MASTER, architecture="amd64", runs=["arm64", "armhf"])], ["arm64"])
    assert plan["builders"] == {"amd64": "c1-master", "arm64": "c1-master"} and not plan["problems"]


@pytest.mark.parametrize(("boards", "message"), [
    ("c1-master", "the input must be a list of boards"),
    ([{"master": True}], "the input must be a list of boards"),
    ([{"name": "m"}], "board m has no architecture"),
])
def test_a_malformed_board_list_is_one_line(boards, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        image_builders(boards)


def test_platforms_of_the_pi_architectures() -> None:
    platforms = [image_platform(arch) for arch in ("armhf", "arm64", "amd64")]
    assert platforms == ["linux/arm/v7", "linux/arm64/v8", "linux/amd64"]
    with pytest.raises(AnsibleFilterError, match="^image_platform: 'sparc' is not a Debian architecture"):
        image_platform("sparc")
