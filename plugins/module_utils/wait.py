# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one poll loop: the app drivers and the Kubernetes modules wait with it.

It reads a monotonic clock, so a controller whose wall clock is stepped by
NTP mid-wait (common right after a Pi rack boots) neither waits forever nor
gives up early. The clock and the sleep are parameters so the loop is tested
with a fake clock instead of real seconds.
"""

from __future__ import annotations

import time
from typing import Callable, Tuple, TypeVar

T = TypeVar("T")


def wait_for(
    check: Callable[[], Tuple[bool, T]],
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Tuple[bool, T, float]:
    """Call ``check`` every ``interval`` seconds until it reports done or ``timeout`` seconds pass.

    ``check`` returns ``(done, state)``; the last state comes back either way,
    because on a timeout it is what the failure message must describe.
    Returns ``(done, state, elapsed_seconds)``. ``check`` always runs at least
    once, and once more at the deadline, so a zero timeout is a single probe.
    """
    start = clock()
    deadline = start + timeout
    while True:
        done, state = check()
        now = clock()
        if done or now >= deadline:
            return done, state, now - start
        sleep(max(0.0, min(interval, deadline - now)))
