"""The pi_model filter is the board table's parser, unchanged."""

from __future__ import annotations

from ansible_collections.pirack.cluster.plugins.filter.pi_model import FilterModule, pi_model


def test_filter_is_registered() -> None:
    assert FilterModule().filters() == {"pi_model": pi_model}


def test_pi_model_filter_uses_the_board_table() -> None:
    assert pi_model("Raspberry Pi 3 Model B Plus Rev 1.3\x00") == {
        "key": "pi3bplus", "name": "Raspberry Pi 3 Model B Plus Rev 1.3", "revision": "1.3", "cores": 4}
    assert pi_model(b"Raspberry Pi 6 Model B Rev 1.0\x00")["key"] is None
    assert pi_model("QEMU Virtual Machine") is None
