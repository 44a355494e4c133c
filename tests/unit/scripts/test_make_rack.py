"""`make rack` as a user reads it before running it: `make -n rack` only
prints (the recipe is one shell line under .ONESHELL, so a $(MAKE) written
in it would make GNU make run the whole rack), and site.yml gets the stage
callback plus whatever callbacks the caller enabled (profile_tasks).
No engine: nothing of the recipe runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def dry_run(folder: Path) -> str:
    """`make -n rack` with the checkout's Makefile, run from an empty folder."""
    return subprocess.run(
        ["make", "--no-print-directory", "-n", "-f", str(ROOT / "Makefile"), "rack"],
        cwd=folder, capture_output=True, text=True, check=True, timeout=60,
    ).stdout


def test_a_dry_run_prints_the_stages_and_runs_none(tmp_path: Path) -> None:
    out = dry_run(tmp_path)
    assert "scripts/base-image.sh" in out
    assert "ansible-playbook site.yml" in out
    # The recipe's first command makes build/: printed, not run.
    assert "mkdir -p build" in out
    assert list(tmp_path.iterdir()) == []


def callbacks(caller: str | None, folder: Path) -> str:
    """The callbacks site.yml runs with, by evaluating the printed assignment."""
    line = next(part for part in dry_run(folder).splitlines()
                if part.startswith("ANSIBLE_CALLBACKS_ENABLED="))
    assignment = line.split()[0]
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CALLBACKS_ENABLED"}
    if caller is not None:
        env["ANSIBLE_CALLBACKS_ENABLED"] = caller
    return subprocess.run(["bash", "-c", f'{assignment}; echo "$ANSIBLE_CALLBACKS_ENABLED"'],
                          env=env, capture_output=True, text=True, check=True).stdout.strip()


def test_site_yml_runs_the_stage_callback_and_the_callers(tmp_path: Path) -> None:
    assert callbacks(None, tmp_path) == "pirack.cluster.stages"
    assert callbacks("", tmp_path) == "pirack.cluster.stages"
    assert callbacks("ansible.posix.profile_tasks", tmp_path) == \
        "pirack.cluster.stages,ansible.posix.profile_tasks"


def test_the_images_and_the_boards_follow_the_names_given(tmp_path: Path) -> None:
    """PIRACK_BASE_IMAGE names the base image base-image.sh makes; the Pi host
    image is built from it, and the boards start from the PI_IMAGE built."""
    out = subprocess.run(
        ["make", "--no-print-directory", "-n", "-f", str(ROOT / "Makefile"), "rack",
         "PI_IMAGE=pirack/pi-host:other"],
        cwd=tmp_path, capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    build = next(line for line in out.splitlines() if "docker build" in line)
    assert "-t pirack/pi-host:other" in build
    arg = build.split("--build-arg ")[1].split()[0]
    expanded = subprocess.run(["bash", "-c", f"PIRACK_BASE_IMAGE=debian:other; echo {arg}"],
                              capture_output=True, text=True, check=True).stdout.strip()
    assert expanded == "BASE_IMAGE=debian:other"
    assert "-e sim_rack_image=pirack/pi-host:other" in out
