"""scripts/base-image.sh takes its Debian mirror from the machine's own apt
sources, and scripts/progress.sh keeps a long step from looking hung.
No engine: --print-mirror stops before any docker command."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BASE_IMAGE = ROOT / "scripts" / "base-image.sh"
PROGRESS = ROOT / "scripts" / "progress.sh"

DEB822 = """\
Types: deb
URIs: http://mirror.example.net/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example.net/debian
Suites: bookworm

Types: deb
Enabled: no
URIs: http://off.example.net/debian
Suites: bookworm

Types: deb
# a comment between fields
URIs: http://mirror.example.net/debian/ http://second.example.net/debian
Suites: bookworm bookworm-updates
Components: main
"""


def mirror(apt_dir: Path, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "PIRACK_DEBIAN_MIRROR"}
    proc = subprocess.run(["bash", str(BASE_IMAGE), "--print-mirror"], capture_output=True, text=True,
                          env=dict(environ, PIRACK_APT_DIR=str(apt_dir), **env), timeout=30, check=True)
    return proc.stdout.strip()


@pytest.fixture(name="apt_dir")
def fixture_apt_dir(tmp_path: Path) -> Path:
    (tmp_path / "sources.list.d").mkdir()
    return tmp_path


def test_deb822_main_suite_mirror_is_used(apt_dir: Path) -> None:
    (apt_dir / "sources.list.d" / "debian.sources").write_text(DEB822)
    (apt_dir / "sources.list").write_text("deb http://list.example.net/debian bookworm main\n")
    assert mirror(apt_dir) == "http://mirror.example.net/debian"


def test_one_line_sources_with_options(apt_dir: Path) -> None:
    (apt_dir / "sources.list").write_text(
        "# deb http://commented.example.net/debian bookworm main\n"
        "deb http://security.example.net/debian-security bookworm-security main\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/debian.gpg] http://list.example.net/debian bookworm main\n")
    assert mirror(apt_dir) == "http://list.example.net/debian"


def test_override_wins_and_no_sources_falls_back(apt_dir: Path) -> None:
    (apt_dir / "sources.list").write_text("deb http://list.example.net/debian bookworm main\n")
    assert mirror(apt_dir, PIRACK_DEBIAN_MIRROR="http://mine.example.net/debian") == "http://mine.example.net/debian"
    assert mirror(apt_dir / "sources.list.d") == "http://deb.debian.org/debian"


def test_a_long_step_says_what_it_is_doing() -> None:
    proc = subprocess.run(["bash", str(PROGRESS), "counting", "bash", "-c",
                           "for i in 1 2 3 4; do echo line $i; sleep 1; done"],
                          capture_output=True, text=True, env=dict(os.environ, PIRACK_PROGRESS_EVERY="1"),
                          timeout=60, check=True)
    lines = proc.stdout.splitlines()
    assert lines[0] == "counting" and len(lines) >= 3
    assert all(line.startswith("  ... ") and " s: line " in line for line in lines[1:])


def test_a_failed_step_shows_its_last_lines_and_exit_code() -> None:
    proc = subprocess.run(["bash", str(PROGRESS), "failing", "bash", "-c", "echo why it broke; exit 3"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 3 and "why it broke" in proc.stderr
