"""The collection installed the way the README says, outside the checkout:
`make controller` into a new virtualenv (requirements.txt only) and a new
collections path, with the dependencies galaxy.yml declares. Galaxy is not
reachable from CI, so they come from the copies the `ansible` package of the
test toolchain bundles (GALAXY_OFFLINE_FROM); on a user's machine `make
controller` takes them from Galaxy.

Shared by tests/integration/test_install.py and test_reuse.py, which make
one such controller per pytest run (the `controller` fixture in
tests/integration/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
DEPENDENCIES = sorted(GALAXY.get("dependencies") or {})


def bundled_collections() -> Path:
    """ansible_collections/ of the `ansible` package installed with the tests."""
    for entry in sys.path:
        candidate = Path(entry) / "ansible_collections"
        if (candidate / "community" / "general" / "MANIFEST.json").is_file():
            return candidate
    pytest.skip("the `ansible` package (requirements-test.txt) is not installed: no offline copy of the dependencies")


def run(*command: str | Path, cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def make_controller(home: Path) -> dict[str, Path]:
    """`make controller` into ``home``/venv and ``home``/collections."""
    bundled = bundled_collections()
    venv, collections = home / "venv", home / "collections"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    made = run("make", "controller", f"CONTROLLER_VENV={venv}", f"COLLECTIONS_DIR={collections}",
               f"GALAXY_OFFLINE_FROM={bundled}", cwd=ROOT, env=env)
    assert made.returncode == 0, made.stdout + made.stderr
    return {"home": home, "venv": venv, "collections": collections,
            "installed": collections / "ansible_collections" / "pirack" / "cluster"}


def ansible_env(home: Path, collections: Path) -> dict[str, str]:
    """Only ``collections`` holds collections: not the checkout, not ~/.ansible,
    not the ansible_collections of any Python package on sys.path."""
    config = home / "ansible.cfg"
    if not config.exists():
        config.write_text(f"[defaults]\ncollections_path = {collections}\ncollections_scan_sys_path = False\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(collections),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(home / "tmp"), ANSIBLE_HOME=str(home / ".ansible"))
    return env
