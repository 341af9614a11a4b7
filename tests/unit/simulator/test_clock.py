"""The warped clock runs `speed` times faster than the wall clock it is anchored to."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from simulator.clock import WarpClock

START = datetime(2026, 6, 15, 8, tzinfo=UTC)


class FakeWall:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def test_simulated_time_runs_at_speed() -> None:
    """Ten wall seconds at 30x are five simulated minutes."""
    wall = FakeWall()
    clock = WarpClock(START, 30.0, wall_start_s=wall(), wall=wall)
    assert clock.now() == START
    wall.now_s += 10
    assert clock.now() == START + timedelta(minutes=5)
    assert clock.wall_seconds(600) == pytest.approx(20.0)
    assert clock.wall_time_of(START + timedelta(minutes=1)) == pytest.approx(1002.0)


def test_two_clocks_with_the_same_anchor_agree() -> None:
    """Another process given the same anchor computes the same simulated time."""
    wall = FakeWall()
    a = WarpClock(START, 60.0, wall_start_s=900.0, wall=wall)
    b = WarpClock(START, 60.0, wall_start_s=900.0, wall=wall)
    assert a == b
    assert a.now() == b.now() == START + timedelta(minutes=100)


def test_sleep_until_the_past_returns_at_once() -> None:
    """Sleeping until a simulated time already reached does not wait."""
    wall = FakeWall()
    clock = WarpClock(START, 30.0, wall_start_s=wall(), wall=wall)
    wall.now_s += 100
    asyncio.run(asyncio.wait_for(clock.sleep_until(START), timeout=5))


@pytest.mark.parametrize(
    ("start", "speed"), [(datetime(2026, 6, 15, 8), 30.0), (START, 0.0)]
)
def test_invalid_clocks_are_refused(start: datetime, speed: float) -> None:
    """Naive start times and non-positive speeds are refused."""
    with pytest.raises(ValueError, match=r"aware|speed"):
        WarpClock(start, speed)
