"""The poll loop: deadline on a monotonic clock, last state kept for messages."""

from __future__ import annotations

from ansible_collections.pirack.cluster.plugins.module_utils.wait import wait_for


class FakeClock:
    """A clock that only moves when the loop sleeps, so no test waits."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_returns_as_soon_as_the_check_passes() -> None:
    clock = FakeClock()
    answers = iter([(False, "a"), (False, "b"), (True, "c")])
    done, state, elapsed = wait_for(lambda: next(answers), 60, 5, clock, clock.sleep)
    assert (done, state, elapsed) == (True, "c", 10.0)
    assert clock.sleeps == [5, 5]


def test_timeout_keeps_the_last_state_and_probes_at_the_deadline() -> None:
    clock = FakeClock()
    calls: list[float] = []

    def check() -> tuple[bool, float]:
        calls.append(clock.now)
        return False, clock.now

    done, state, elapsed = wait_for(check, 12, 5, clock, clock.sleep)
    assert not done
    assert elapsed == 12
    # 100, 105, 110, then the last sleep is shortened to hit the deadline.
    assert calls == [100, 105, 110, 112]
    assert state == 112


def test_zero_timeout_is_a_single_probe() -> None:
    clock = FakeClock()
    done, _, _ = wait_for(lambda: (False, None), 0, 5, clock, clock.sleep)
    assert not done
    assert clock.sleeps == []
