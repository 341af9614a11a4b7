"""Business clocks: real time by default, warped time shared with a simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from dispatch.clock import SystemClock, WarpClock, clock_from_settings
from dispatch.settings import ClockSettings

ORIGIN = datetime(2026, 6, 15, 7, 0, tzinfo=UTC)


class Wall:
    """A settable wall clock (Unix seconds)."""

    def __init__(self, at_s: float) -> None:
        self.at_s = at_s

    def __call__(self) -> float:
        return self.at_s


def test_warp_clock_runs_speed_times_faster_from_its_origin() -> None:
    """now = origin_at + (wall - wall_origin_s) * speed, also before the origin."""
    wall = Wall(1000.0)
    clock = WarpClock(ORIGIN, 1000.0, 30.0, wall=wall)
    assert clock.now() == ORIGIN
    wall.at_s = 1010.0
    assert clock.now() == ORIGIN + timedelta(minutes=5)
    wall.at_s = 998.0
    assert clock.now() == ORIGIN - timedelta(minutes=1)


def test_same_three_numbers_give_the_same_time_as_the_simulator() -> None:
    """The simulator's WarpClock and dispatch's agree on every instant."""
    from simulator.clock import WarpClock as SimClock

    wall = Wall(5000.0)
    ours = WarpClock(ORIGIN, 4321.5, 30.0, wall=wall)
    theirs = SimClock(ORIGIN, 30.0, wall_start_s=4321.5, wall=wall)
    assert ours.now() == theirs.now()


def test_unset_settings_mean_real_time() -> None:
    """No clock variables: the system clock."""
    assert isinstance(clock_from_settings(ClockSettings()), SystemClock)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """RXDISPATCH_CLOCK_* select a warp clock with exactly those numbers."""
    monkeypatch.setenv("RXDISPATCH_CLOCK_ORIGIN_AT", ORIGIN.isoformat())
    monkeypatch.setenv("RXDISPATCH_CLOCK_WALL_ORIGIN_S", "1000")
    monkeypatch.setenv("RXDISPATCH_CLOCK_SPEED", "30")
    clock = clock_from_settings(ClockSettings(), wall=Wall(1002.0))
    assert isinstance(clock, WarpClock)
    assert clock.now() == ORIGIN + timedelta(minutes=1)


def test_speed_alone_warps_from_the_moment_the_clock_is_built() -> None:
    """Only a speed: origin = wall time at build, running faster from there."""
    wall = Wall(1_700_000_000.0)
    clock = clock_from_settings(ClockSettings(speed=10), wall=wall)
    start = clock.now()
    assert start == datetime.fromtimestamp(1_700_000_000.0, UTC)
    wall.at_s += 6
    assert clock.now() - start == timedelta(minutes=1)


@pytest.mark.parametrize(
    "bad",
    [
        {"speed": 0},
        {"speed": -2},
        {"origin_at": datetime(2026, 6, 15, 7, 0)},  # naive
    ],
)
def test_bad_clock_settings_are_refused(bad: dict[str, object]) -> None:
    """Zero/negative speed or a naive origin: a validation error at start-up."""
    with pytest.raises(ValidationError):
        ClockSettings(**bad)  # type: ignore[arg-type]


def test_warp_clock_refuses_naive_origin_and_bad_speed() -> None:
    """Built directly, the same rules hold."""
    with pytest.raises(ValueError, match="timezone"):
        WarpClock(datetime(2026, 1, 1), 0.0)
    with pytest.raises(ValueError, match="speed"):
        WarpClock(ORIGIN, 0.0, 0.0)


def test_simulator_server_env_puts_the_server_on_its_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The variables the simulator hands a server it starts rebuild its clock."""
    from simulator.clock import WarpClock as SimClock

    wall = Wall(1_800_000_000.0)
    sim = SimClock(ORIGIN, 30.0, wall_start_s=1_799_999_990.25, wall=wall)
    for name, value in sim.server_env().items():
        monkeypatch.setenv(name, value)
    server = clock_from_settings(ClockSettings(), wall=wall)
    assert server.now() == sim.now() == ORIGIN + timedelta(seconds=9.75 * 30)
