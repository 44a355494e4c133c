# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one table of Raspberry Pi boards the collection knows.

Used for two things that must agree: recognising a real board from
``/proc/device-tree/model`` and giving a simulated board the same memory and
CPU count. Keeping both in one table means a new board is added once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class PiModel:
    """A Raspberry Pi board as the rest of the collection needs to see it."""

    key: str
    # Prefix of the device-tree model string, before " Rev x.y".
    name: str
    cores: int
    # Memory sizes the board was sold with, in MiB; the first is the default
    # for a simulated board.
    memory_mb: tuple[int, ...]
    # Architectures its 64-bit and 32-bit Raspberry Pi OS images use.
    arches: tuple[str, ...]


MODELS: dict[str, PiModel] = {
    m.key: m
    for m in (
        PiModel("pi5", "Raspberry Pi 5 Model B", 4, (4096, 1024, 2048, 8192, 16384), ("arm64",)),
        PiModel("pi4", "Raspberry Pi 4 Model B", 4, (4096, 1024, 2048, 8192), ("arm64", "armhf")),
        PiModel("pi400", "Raspberry Pi 400", 4, (4096,), ("arm64", "armhf")),
        PiModel("cm4", "Raspberry Pi Compute Module 4", 4, (4096, 1024, 2048, 8192), ("arm64", "armhf")),
        PiModel("pi3bplus", "Raspberry Pi 3 Model B Plus", 4, (1024,), ("arm64", "armhf")),
        PiModel("pi3b", "Raspberry Pi 3 Model B", 4, (1024,), ("arm64", "armhf")),
        PiModel("pi3aplus", "Raspberry Pi 3 Model A Plus", 4, (512,), ("arm64", "armhf")),
        PiModel("pizero2w", "Raspberry Pi Zero 2 W", 4, (512,), ("arm64", "armhf")),
        PiModel("pi2b", "Raspberry Pi 2 Model B", 4, (1024,), ("armhf",)),
    )
}

# Longest names first, so "3 Model B Plus" wins over "3 Model B".
_BY_NAME = sorted(MODELS.values(), key=lambda m: len(m.name), reverse=True)


def parse_device_tree_model(raw: Optional[str | bytes]) -> Optional[dict]:
    """Recognise a board from the contents of ``/proc/device-tree/model``.

    The kernel writes the string NUL-terminated; boards we do not know still
    come back (``key`` None) so a newer Pi is reported rather than hidden.
    Returns None when the text is not a Raspberry Pi at all.
    """
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = text.replace("\x00", "").strip()
    if not text.startswith("Raspberry Pi"):
        return None
    revision = None
    name = text
    if " Rev " in text:
        name, _, revision = text.rpartition(" Rev ")
    for model in _BY_NAME:
        if name == model.name:
            return {"key": model.key, "name": text, "revision": revision,
                    "cores": model.cores}
    return {"key": None, "name": text, "revision": revision, "cores": None}


def simulated_resources(key: str, memory_mb: Optional[int] = None) -> dict:
    """Memory and CPU count a simulated board of model ``key`` gets.

    Raises ValueError with a message naming the valid choices, because these
    values come straight from inventory variables a person typed.
    """
    if key not in MODELS:
        raise ValueError(
            f"unknown Pi model {key!r}; choose one of: {', '.join(sorted(MODELS))}")
    model = MODELS[key]
    if memory_mb is None:
        memory_mb = model.memory_mb[0]
    elif memory_mb not in model.memory_mb:
        sizes = ", ".join(str(m) for m in sorted(model.memory_mb))
        raise ValueError(
            f"a {model.name} has {sizes} MiB of memory, not {memory_mb}")
    return {"memory_mb": memory_mb, "cores": model.cores}
