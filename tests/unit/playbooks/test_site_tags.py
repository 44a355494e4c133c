"""Every play of site.yml carries the tag of its stage, so `--tags` and
`--skip-tags` pick stages of one run; the inventory check and the
architectures check (every board's architecture can be built for, before
any board changes) run under any tag;
the README lists exactly those tags. Read from `ansible-playbook
--list-tasks`, as a user would see them (nothing connects to a board)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
       "ANSIBLE_NOCOLOR": "1"}
STAGES = ["docker", "k3s", "swarm", "registry", "coinminer", "monitoring", "benchmark", "status"]
PREFLIGHT = "Check the inventory before touching any board"
ARCHITECTURES = "Read every board's architecture, and refuse one nobody can build images for"


def list_tasks(*args: str) -> list[tuple[str, set[str]]]:
    """(play name, its tags) for each play --list-tasks shows."""
    done = subprocess.run(["ansible-playbook", "site.yml", "-i", "inventories/pi-rack", "--list-tasks", *args],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    plays = re.findall(r"^\s+play #\d+ \([^)]*\): (.*?)\tTAGS: \[(.*?)\]$", done.stdout, re.M)
    assert plays, done.stdout
    return [(name, {t for t in tags.split(",") if t}) for name, tags in plays]


@pytest.fixture(scope="module", name="plays")
def fixture_plays() -> list[tuple[str, set[str]]]:
    return list_tasks()


def test_every_play_has_one_stage_tag(plays: list[tuple[str, set[str]]]) -> None:
    wrong = [f"{name}: {sorted(tags)}" for name, tags in plays
             if len(tags & set(STAGES)) != 1 and not (name in (PREFLIGHT, ARCHITECTURES) and tags == {"always"})]
    assert not wrong, "\n".join(wrong)
    assert [stage for stage in STAGES if any(stage in tags for _, tags in plays)] == STAGES


def test_the_inventory_check_runs_under_any_tag(plays: list[tuple[str, set[str]]]) -> None:
    assert all("always" in tags for name, tags in plays if name in (PREFLIGHT, ARCHITECTURES))
    assert {PREFLIGHT, ARCHITECTURES} <= {name for name, _ in plays}
    assert plays[0] == (PREFLIGHT, {"always"})


def test_a_tag_picks_its_stage() -> None:
    """--tags monitoring leaves the other stages' plays without a task to run."""
    shown = subprocess.run(["ansible-playbook", "site.yml", "-i", "inventories/pi-rack", "--list-tasks",
                            "--tags", "monitoring"], cwd=ROOT, env=ENV, capture_output=True, text=True,
                           timeout=300, check=False).stdout
    tasks = re.findall(r"^ {6}(\S.*?)\tTAGS: \[(.*?)\]$", shown, re.M)
    assert tasks
    assert all("monitoring" in tags.split(", ") or "always" in tags.split(", ") for _, tags in tasks), tasks
    assert any(name.startswith("pirack.cluster.monitoring") for name, _ in tasks)


def test_the_readme_lists_the_stage_tags() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("| stage | playbook | roles | tag |", 1)
    assert len(section) == 2, "README's stage table has no tag column"
    rows = section[1].split("\n\n", 1)[0]
    assert re.findall(r"\| `([a-z0-9]+)` \|\s*$", rows, re.M) == STAGES
