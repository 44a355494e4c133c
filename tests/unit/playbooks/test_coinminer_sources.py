"""roles/coinminer's source copy (tasks/sources.yml), run as a user runs it:
ansible-playbook against this machine (connection local, no engine). One
archive, unpacked only when it changed: a re-run reports changed=0, --check
changes nothing, a removed source file leaves the build context."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
       "ANSIBLE_NOCOLOR": "1"}
ARCHIVER = ROOT / "roles" / "coinminer" / "files" / "source_archive.py"

PLAY = """
- name: Copy the coin-miner sources
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: The role's source tasks
      ansible.builtin.import_role:
        name: pirack.cluster.coinminer
        tasks_from: sources
"""


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    if os.geteuid() != 0:
        pytest.skip("the source tasks set root ownership: run as root (as CI does)")
    src = tmp_path / "coinminer"
    shutil.copytree(ROOT / "coinminer", src, ignore=shutil.ignore_patterns("__pycache__"))
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    return {"src": src, "play": play, "build": tmp_path / "master" / "src",
            "cache": tmp_path / "cache"}


def converge(layout: dict[str, Path], *extra: str) -> dict[str, int]:
    result = subprocess.run(
        ["ansible-playbook", str(layout["play"]), "-i", "localhost,",
         "-e", f"coinminer_source_dir={layout['src']}",
         "-e", f"coinminer_build_dir={layout['build']}",
         "-e", f"coinminer_controller_cache_dir={layout['cache']}",
         "-e", "ansible_python_interpreter={{ ansible_playbook_python }}", *extra],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)", result.stdout)
    assert recap, result.stdout
    return {"ok": int(recap.group(1)), "changed": int(recap.group(2))}


def test_one_archive_unpacked_on_change_only(layout) -> None:
    assert converge(layout)["changed"] > 0
    assert (layout["build"] / "Dockerfile").read_bytes() == (layout["src"] / "Dockerfile").read_bytes()
    assert (layout["build"] / "webui" / "static" / "index.html").is_file()
    assert not (layout["build"] / "common" / "tests").exists()  # tests stay home
    assert converge(layout)["changed"] == 0
    assert converge(layout, "--check", "--diff")["changed"] == 0
    # A changed and a removed file: reported by --check, done by a run.
    (layout["src"] / "rng" / "app.py").write_text("# changed\n")
    (layout["src"] / "hasher" / "__init__.py").unlink()
    before = (layout["build"] / "rng" / "app.py").read_text()
    assert converge(layout, "--check")["changed"] > 0
    assert (layout["build"] / "rng" / "app.py").read_text() == before
    assert converge(layout)["changed"] > 0
    assert (layout["build"] / "rng" / "app.py").read_text() == "# changed\n"
    assert not (layout["build"] / "hasher" / "__init__.py").exists()  # no stale file


def test_the_archive_depends_only_on_the_contents(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "coinminer", src, ignore=shutil.ignore_patterns("__pycache__"))
    first, second = tmp_path / "a" / "x.tar", tmp_path / "b" / "x.tar"
    subprocess.run(["python3", str(ARCHIVER), str(src), str(first)], check=True,
                   capture_output=True)
    os.utime(src / "rng" / "app.py", (0, 0))  # a touched file is not a change
    subprocess.run(["python3", str(ARCHIVER), str(src), str(second)], check=True,
                   capture_output=True)
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as tar:
        names = tar.getnames()
        assert names == sorted(names)
        assert {m.uid for m in tar.getmembers()} == {0}
        assert "Dockerfile" in names and "redis/start.sh" in names
        assert not [n for n in names if "/tests" in n or n.endswith((".pyc", ".md", "build.sh"))]
