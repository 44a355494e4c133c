# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long each play of a run took: site.yml's stages, printed at the end."""

from __future__ import annotations

DOCUMENTATION = r"""
name: stages
type: aggregate
short_description: Print how long each play (each stage of site.yml) took
description:
  - At the end of a run, prints one line per play with its wall-clock
    duration, in the order the plays ran, and the total.
  - When E(PIRACK_STAGES_FILE) names a file, the same lines are appended to
    it as C(<playbook> <play name><TAB><seconds>); C(make rack) collects them
    there with the durations of its own stages and prints them all at its end.
author:
  - pirack.cluster contributors (@pirack)
requirements:
  - Enabled by name, for instance
    C(ANSIBLE_CALLBACKS_ENABLED=pirack.cluster.stages) (C(make rack) does).
"""

import os  # noqa: E402 (ansible-test wants the documentation before the imports)
import time  # noqa: E402

from ansible.plugins.callback import CallbackBase  # noqa: E402


class CallbackModule(CallbackBase):
    """Times each play from its start to the next play's start (or the end)."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "pirack.cluster.stages"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.stages: list[tuple[str, float]] = []
        self.current: tuple[str, float] | None = None
        self.playbook = "playbook"

    def v2_playbook_on_start(self, playbook) -> None:
        self.playbook = os.path.basename(getattr(playbook, "_file_name", "") or "playbook")

    def _close(self) -> None:
        if self.current is not None:
            name, started = self.current
            self.stages.append((name, time.monotonic() - started))
            self.current = None

    def v2_playbook_on_play_start(self, play) -> None:
        self._close()
        self.current = (play.get_name().strip() or "(unnamed play)", time.monotonic())

    def v2_playbook_on_stats(self, stats) -> None:
        self._close()
        if not self.stages:
            return
        width = max(len(name) for name, _ in self.stages)
        self._display.banner("STAGES")
        for name, seconds in self.stages:
            self._display.display(f"{name:<{width}}  {seconds:7.1f} s")
        self._display.display(f"{'total':<{width}}  {sum(s for _, s in self.stages):7.1f} s")
        path = os.environ.get("PIRACK_STAGES_FILE")
        if path:
            with open(path, "a", encoding="utf-8") as out:
                out.writelines(f"{self.playbook} {name}\t{seconds:.1f}\n" for name, seconds in self.stages)
