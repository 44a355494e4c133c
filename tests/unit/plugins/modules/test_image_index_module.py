"""image_index run the way Ansible runs it, without a registry: every bad
option is one line naming it, before anything is asked; no registry
answering is one line too. (tests/integration/test_image_index.py runs it
against Debian's registry.)"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CLOSED = "127.0.0.1:9"


def args(**over) -> dict:
    base = {"registry": CLOSED, "scheme": "http", "timeout": 2,
            "images": [{"repository": "coinminer/rng", "tag": "latest",
                        "manifests": [{"ref": "latest-amd64", "platform": "linux/amd64"},
                                      {"ref": "latest-armhf", "platform": "linux/arm/v7"}]}]}
    return dict(base, **over)


def one_image(**over) -> list[dict]:
    image = dict(args()["images"][0], **over)
    return [image]


@pytest.mark.parametrize(("over", "msg"), [
    ({"registry": "http://r:5000"}, "registry: 'http://r:5000' is not host[:port]"),
    ({"timeout": 0}, "timeout: must be from 1 to 3600, got 0"),
    ({"images": []}, "images: give at least one"),
    ({"images": one_image(repository="Coinminer/RNG")},
     "images[0].repository: 'Coinminer/RNG' is not a repository name"),
    ({"images": one_image(tag="-x")}, "images[0].tag: '-x' is not a tag"),
    ({"images": one_image(manifests=[])}, "images[0].manifests: give at least one image"),
    ({"images": one_image(manifests=[{"ref": "sha256:abc"}])},
     "images[0].manifests[0].ref: 'sha256:abc' is neither a tag nor a sha256 digest"),
    ({"images": one_image(manifests=[{"ref": "latest"}])},
     "images[0].manifests[0].ref: latest is the index's own tag"),
    ({"images": one_image(manifests=[{"ref": "a", "platform": "arm/v7"}])},
     "images[0].manifests[0].platform: 'arm/v7' is not a platform (os/architecture[/variant], e.g. linux/arm/v7)"),
    ({"registry": "10.99.0.10:5000"}, "scheme: http only for a registry on the loopback address, not 10.99.0.10:5000"),
])
def test_a_bad_option_is_one_line_naming_it(module_runner, over: dict, msg: str) -> None:
    answer = module_runner("image_index", args(**over))
    assert answer.get("failed") and answer["msg"] == msg, answer


def test_no_registry_answering_is_one_line(module_runner) -> None:
    answer = module_runner("image_index", args())
    assert answer["failed"] and "\n" not in answer["msg"], answer
    assert answer["msg"].startswith(f"GET http://{CLOSED}/v2/coinminer/rng/manifests/latest-amd64: ")
    assert "refused" in answer["msg"].lower()


def test_a_https_registry_whose_ca_is_missing_is_named(module_runner, tmp_path: Path) -> None:
    answer = module_runner("image_index", args(scheme="https", ca_path=str(tmp_path / "ca.crt")))
    assert answer["failed"] and answer["msg"] == (
        f"ca_path: cannot read a CA certificate from {tmp_path / 'ca.crt'} (No such file or directory)"), answer


def test_the_password_never_shows(module_runner, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {CLOSED: {"auth": base64.b64encode(b"pirack:s3cr3t-pw").decode()}}}))
    for extra in ({"docker_config": str(config)}, {"username": "pirack", "password": "s3cr3t-pw"}):
        answer = module_runner("image_index", args(**extra))
        assert answer["failed"] and "s3cr3t-pw" not in json.dumps(answer), answer


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(images=st.lists(st.fixed_dictionaries(
    {"repository": st.text(max_size=12), "tag": st.text(max_size=12),
     "manifests": st.lists(st.fixed_dictionaries({"ref": st.text(max_size=12)},
                                                 optional={"platform": st.text(max_size=14)}), max_size=3)}),
    max_size=2))
def test_any_images_value_is_an_answer_or_one_line(module_runner, images: list) -> None:
    answer = module_runner("image_index", args(images=images, timeout=1))
    assert answer.get("failed"), answer  # no registry answers here: never a success
    assert answer["msg"] and "\n" not in answer["msg"] and "Traceback" not in json.dumps(answer), answer
