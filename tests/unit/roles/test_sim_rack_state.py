"""Where the sim_rack role keeps a rack's SSH key and inventory: in the
user's data folder, never inside the collection, which may be an installed,
shared copy (issue 16 item 4)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DEFAULTS = ROOT / "roles" / "sim_rack" / "defaults" / "main.yml"


def rendered(env: dict[str, str], *extra: str) -> dict[str, str]:
    """sim_rack_state_dir and sim_rack_inventory as Ansible renders the role defaults."""
    proc = subprocess.run(
        ["ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", "ansible.builtin.debug", "-a",
         "msg={{ {'state': sim_rack_state_dir, 'inventory': sim_rack_inventory} | to_json }}",
         "-e", f"@{DEFAULTS}", *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(yaml.safe_load(proc.stdout.split("=>", 1)[1])["msg"])


@pytest.fixture(name="env")
def fixture_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XDG_DATA_HOME"}
    return dict(env, HOME=str(tmp_path), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")


def test_key_and_inventory_go_to_the_users_data_folder(env: dict[str, str], tmp_path: Path) -> None:
    paths = rendered(env)
    assert paths == {"state": f"{tmp_path}/.local/share/pirack/pirack",
                     "inventory": f"{tmp_path}/.local/share/pirack/pirack/hosts.yml"}


def test_xdg_data_home_and_the_rack_name_are_followed(env: dict[str, str], tmp_path: Path) -> None:
    paths = rendered(dict(env, XDG_DATA_HOME=str(tmp_path / "data")), "-e", "sim_rack_name=lab")
    assert paths["state"] == f"{tmp_path}/data/pirack/lab"
    assert not paths["inventory"].startswith(str(ROOT))
