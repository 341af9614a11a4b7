"""Business clocks: real time, or a warped time shared with a simulator.

Every "now" that means business time (order windows, shifts, transitions, OTP
expiry, plans) comes from a :class:`dispatch.ports.Clock`. Wall time stays for
timeouts, debounce windows and solver budgets.

:class:`WarpClock` computes ``origin_at + (time.time() - wall_origin_s) * speed``:
anchored to the wall clock (not a monotonic counter), so separate processes
given the same three numbers (a simulator and the server it drives) agree on
"now" without talking to each other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dispatch.settings import ClockSettings

__all__ = ["SystemClock", "WarpClock", "clock_from_settings"]


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


@dataclass(frozen=True)
class WarpClock:
    """Business time running ``speed`` times faster than the wall clock."""

    origin_at: datetime
    wall_origin_s: float
    speed: float = 1.0
    wall: Callable[[], float] = field(default=time.time, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.origin_at.tzinfo is None:
            raise ValueError("origin_at must be timezone-aware")
        if not self.speed > 0:
            raise ValueError(f"speed must be > 0, got {self.speed}")

    def now(self) -> datetime:
        """``origin_at`` plus the warped wall time elapsed since ``wall_origin_s``."""
        elapsed_s = (self.wall() - self.wall_origin_s) * self.speed
        return (self.origin_at + timedelta(seconds=elapsed_s)).astimezone(UTC)


def clock_from_settings(
    settings: ClockSettings, *, wall: Callable[[], float] = time.time
) -> SystemClock | WarpClock:
    """Real time when nothing is configured; else a :class:`WarpClock`.

    A speed alone warps from "now"; an origin alone runs at real speed from it;
    an unset wall origin means "from the moment this clock is built".
    """
    if settings.origin_at is None and settings.speed == 1.0:
        return SystemClock()
    wall_origin_s = settings.wall_origin_s
    if wall_origin_s is None:
        wall_origin_s = wall()
    origin_at = settings.origin_at or datetime.fromtimestamp(wall_origin_s, UTC)
    return WarpClock(origin_at, wall_origin_s, settings.speed, wall=wall)
