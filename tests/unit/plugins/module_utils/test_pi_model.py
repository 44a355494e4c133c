"""Board recognition from real /proc/device-tree/model strings."""

import pytest
from ansible_collections.pirack.cluster.plugins.module_utils.pi_model import (
    MODELS,
    parse_device_tree_model,
    simulated_resources,
)


@pytest.mark.parametrize(
    ("raw", "key", "revision"),
    [
        (b"Raspberry Pi 3 Model B Plus Rev 1.3\x00", "pi3bplus", "1.3"),
        (b"Raspberry Pi 3 Model B Rev 1.2\x00", "pi3b", "1.2"),
        (b"Raspberry Pi 4 Model B Rev 1.4\x00", "pi4", "1.4"),
        (b"Raspberry Pi 5 Model B Rev 1.0\x00", "pi5", "1.0"),
        (b"Raspberry Pi Compute Module 4 Rev 1.1\x00", "cm4", "1.1"),
        ("Raspberry Pi 400 Rev 1.0", "pi400", "1.0"),
    ],
)
def test_known_boards(raw, key, revision):
    parsed = parse_device_tree_model(raw)
    assert parsed["key"] == key
    assert parsed["revision"] == revision
    assert "\x00" not in parsed["name"]


def test_unknown_pi_is_reported_not_hidden():
    parsed = parse_device_tree_model(b"Raspberry Pi 9 Model Z Rev 2.0\x00")
    assert parsed == {"key": None, "name": "Raspberry Pi 9 Model Z Rev 2.0",
                      "revision": "2.0", "cores": None}


@pytest.mark.parametrize("raw", [None, "", b"QEMU Virtual Machine\x00", "Pine64 RockPro64"])
def test_not_a_pi(raw):
    assert parse_device_tree_model(raw) is None


def test_simulated_defaults_follow_the_board():
    assert simulated_resources("pi3bplus") == {"memory_mb": 1024, "cores": 4}
    assert simulated_resources("pi4", 8192)["memory_mb"] == 8192


def test_simulated_refuses_impossible_boards():
    with pytest.raises(ValueError, match="unknown Pi model 'pi7'; choose one of: cm4, pi2b"):
        simulated_resources("pi7")
    with pytest.raises(ValueError, match="has 1024 MiB of memory, not 2048"):
        simulated_resources("pi3bplus", 2048)


def test_table_defaults_are_sizes_the_board_had():
    for model in MODELS.values():
        assert model.memory_mb[0] in model.memory_mb and model.cores > 0
