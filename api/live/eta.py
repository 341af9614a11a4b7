"""Recompute a rider's ETAs from where they are now (pure).

Legs come from a routing :class:`~routing.matrix.MatrixProvider`, so ETAs use
the same travel model as the planner. A rider inside a stop's fence is *at* it:
that stop's ETA is its recorded arrival. Waiting for a window to open counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from routing.matrix import MatrixProvider


@dataclass(frozen=True, slots=True)
class StopAhead:
    """A stop still to visit, in route order."""

    stop_id: str
    lat: float
    lon: float
    service_s: int = 0
    earliest_start_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StopEta:
    """When the rider is expected at a stop."""

    stop_id: str
    eta_at: datetime


def recompute_etas(
    *,
    lat: float,
    lon: float,
    now: datetime,
    stops: Sequence[StopAhead],
    provider: MatrixProvider,
    profile: str,
    arrived_at: datetime | None = None,
) -> list[StopEta]:
    """ETAs of ``stops`` for a rider at (``lat``, ``lon``) at ``now``.

    ``arrived_at`` set means the rider is at the first stop since then.
    """
    if not stops:
        return []
    points = [(lat, lon)] + [(s.lat, s.lon) for s in stops]
    durations = provider.matrices(points, [profile]).durations[profile]
    etas: list[StopEta] = []
    clock = now
    for index, stop in enumerate(stops):
        if index == 0 and arrived_at is not None:
            arrival = arrived_at
        else:
            arrival = clock + timedelta(seconds=int(durations[index, index + 1]))
        etas.append(StopEta(stop.stop_id, arrival))
        start = arrival
        if stop.earliest_start_at is not None and stop.earliest_start_at > start:
            start = stop.earliest_start_at
        clock = max(start + timedelta(seconds=stop.service_s), now)
    return etas


def changed_materially(
    previous: Mapping[str, datetime], current: Sequence[StopEta], threshold_s: int
) -> bool:
    """Whether any ETA moved by ``threshold_s`` or more, or the stop set changed."""
    if set(previous) != {e.stop_id for e in current}:
        return True
    return any(
        abs((e.eta_at - previous[e.stop_id]).total_seconds()) >= threshold_s
        for e in current
    )
