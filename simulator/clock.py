"""Simulated time with a time warp, anchored to the wall clock.

``sim_now = sim_start_at + (wall_now - wall_start_s) * speed``. The anchor is the
wall clock (``time.time``), not a process-local monotonic counter, so another
process given the same three numbers (``sim_start_at``, ``wall_start_s``,
``speed``) computes the same simulated time: the system under test must run on
the same warped clock, or it would see the simulator's readings as coming from
the future.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["WarpClock"]


@dataclass(frozen=True)
class WarpClock:
    """Simulated UTC time running ``speed`` times faster than the wall clock."""

    sim_start_at: datetime
    speed: float
    wall_start_s: float = field(default_factory=time.time)
    wall: Callable[[], float] = field(default=time.time, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.sim_start_at.tzinfo is None:
            raise ValueError("sim_start_at must be timezone-aware")
        if not self.speed > 0:
            raise ValueError(f"speed must be > 0, got {self.speed}")

    def now(self) -> datetime:
        """The current simulated time."""
        elapsed_s = (self.wall() - self.wall_start_s) * self.speed
        return self.sim_start_at + timedelta(seconds=elapsed_s)

    def wall_seconds(self, sim_seconds: float) -> float:
        """Wall-clock seconds that ``sim_seconds`` of simulated time take."""
        return sim_seconds / self.speed

    def wall_time_of(self, at: datetime) -> float:
        """The wall-clock instant (``time.time`` scale) when it will be ``at``."""
        return self.wall_start_s + (at - self.sim_start_at).total_seconds() / self.speed

    async def sleep_until(self, at: datetime) -> None:
        """Sleep until the simulated clock reaches ``at`` (at once if it has)."""
        remaining_s = self.wall_time_of(at) - self.wall()
        if remaining_s > 0:
            await asyncio.sleep(remaining_s)

    def server_env(self) -> dict[str, str]:
        """The environment that puts an rxdispatch server on this same clock."""
        return {
            "RXDISPATCH_CLOCK_ORIGIN_AT": self.sim_start_at.isoformat(),
            "RXDISPATCH_CLOCK_WALL_ORIGIN_S": repr(self.wall_start_s),
            "RXDISPATCH_CLOCK_SPEED": repr(self.speed),
        }

    async def sleep(self, sim_seconds: float) -> None:
        """Sleep for ``sim_seconds`` of simulated time."""
        if sim_seconds > 0:
            await asyncio.sleep(self.wall_seconds(sim_seconds))
