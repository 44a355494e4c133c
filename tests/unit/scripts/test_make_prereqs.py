"""`make` names a missing controller prerequisite in one line before doing
anything: a Python older than the pinned ansible-core needs, or none at all.
Run as a user runs it (GNU make on this machine, a stand-in interpreter)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


def stand_in(tmp_path: Path, version: str) -> Path:
    """An interpreter that answers the Makefile's two questions as Python ``version`` would."""
    major, minor = (int(x) for x in version.split("."))
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\ncase \"$2\" in *%d*) echo {version};; *) echo {(major, minor) >= (3, 11)};; esac\n")
    python.chmod(0o755)
    return python


@pytest.mark.parametrize("goal", ["venv", "rack", "test"])
def test_an_old_python_is_named_in_one_line(tmp_path: Path, goal: str) -> None:
    done = make(f"PYTHON={stand_in(tmp_path, '3.9')}", goal)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "is Python 3.9: ansible-core 2.19 needs 3.11 or newer" in lines[0]
    assert not (tmp_path / ".venv").exists()


def test_a_missing_python_is_named(tmp_path: Path) -> None:
    done = make(f"PYTHON={tmp_path / 'python3.11'}", "venv")
    assert done.returncode != 0
    assert f"{tmp_path / 'python3.11'} not found: Python 3.11 or newer is needed" in done.stderr


def test_a_new_enough_python_passes_and_help_needs_none(tmp_path: Path) -> None:
    assert make(f"PYTHON={stand_in(tmp_path, '3.12')}", "-n", "help").returncode == 0
    assert make(f"PYTHON={tmp_path / 'nothing'}", "help").returncode == 0
