"""The pirack.cluster.stages callback, in a real ansible-playbook run: one
line per play with its duration at the end, and the same lines in the file
PIRACK_STAGES_FILE names (make rack prints them with its own stages)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]

PLAY = """
- name: A stage that waits
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Wait a second
      ansible.builtin.pause:
        seconds: 1
- name: A quick stage
  hosts: localhost
  gather_facts: false
  tasks: []
"""


def test_each_play_is_timed_and_written_to_the_stages_file(tmp_path: Path) -> None:
    (tmp_path / "stages.yml").write_text(PLAY)
    stages = tmp_path / "stages.txt"
    stages.write_text("engine\t3.0\n")  # make rack's own stages come first
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_CALLBACKS_ENABLED": "pirack.cluster.stages", "PIRACK_STAGES_FILE": str(stages)}
    done = subprocess.run(["ansible-playbook", "stages.yml"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    table = done.stdout.split("STAGES", 1)[1]
    waited = float(re.search(r"A stage that waits\s+([\d.]+) s", table).group(1))
    quick = float(re.search(r"A quick stage\s+([\d.]+) s", table).group(1))
    assert waited >= 1.0 and quick < waited
    assert re.search(r"total\s+[\d.]+ s", table)
    lines = [line.split("\t") for line in stages.read_text().splitlines()]
    assert [name for name, _ in lines] == ["engine", "stages.yml A stage that waits", "stages.yml A quick stage"]
    assert float(lines[1][1]) >= 1.0
