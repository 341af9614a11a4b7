"""The day over time: series of one run, derived from its :class:`RunLog` (pure).

Sampled every ``step`` (default one simulated minute) from the run's start, and
at its end, on the simulated clock:

- ``in_flight``: orders placed and not yet finished (delivered, failed, held or
  refused; an order never finished counts until the end of the run);
  ``overdue``: those of them already past their promised time.
- ``delivered``: deliveries so far (cumulative).
- ``on_shift`` / ``driving``: riders on shift, and of those, riders driving a leg
  between two stops; ``utilisation_pct`` = driving / on shift (None when nobody
  is on shift). Time spent at a stop (hand-offs) is not driving.
- ``excursions`` / ``alerts``: true cold-box excursions so far (injected and
  natural, ground truth) and excursion alerts the system raised so far.

Per window of ``window`` (default 15 simulated minutes), over the deliveries
made in it: ``late_pct``, the share delivered after the promised time, and
``minutes_late``, the mean minutes past the promised time (an on-time delivery
counts 0); None for a window without deliveries.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from simulator.runlog import OrderOutcome, OrderStatus, RunLog

__all__ = ["DaySeries", "day_series"]

STEP = timedelta(minutes=1)
WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class DaySeries:
    """One run's day over time (see the module docstring for definitions)."""

    policy: str
    times: tuple[datetime, ...]
    in_flight: tuple[int, ...]
    overdue: tuple[int, ...]
    delivered: tuple[int, ...]
    on_shift: tuple[int, ...]
    driving: tuple[int, ...]
    utilisation_pct: tuple[float | None, ...]
    excursions: tuple[int, ...]
    alerts: tuple[int, ...]
    window: timedelta
    window_starts: tuple[datetime, ...]
    late_pct: tuple[float | None, ...]
    minutes_late: tuple[float | None, ...]


def _finished_at(order: OrderOutcome) -> datetime | None:
    if order.status is OrderStatus.DELIVERED and order.delivered_at is not None:
        return order.delivered_at
    if order.status is OrderStatus.OPEN:
        return None
    return order.delivered_at or order.closed_at


def _count_at(stamps: Iterable[datetime], times: list[datetime]) -> tuple[int, ...]:
    """How many of ``stamps`` are at or before each of ``times``."""
    ordered = sorted(stamps)
    return tuple(bisect_right(ordered, t) for t in times)


def _within(start: datetime, end: datetime | None, t: datetime) -> bool:
    return start <= t and (end is None or t < end)


def day_series(
    log: RunLog, *, step: timedelta = STEP, window: timedelta = WINDOW
) -> DaySeries:
    """The series of ``log`` sampled every ``step``, lateness per ``window``."""
    if step <= timedelta(0) or window <= timedelta(0):
        raise ValueError("step and window must be positive")
    times: list[datetime] = []
    t = log.started_at
    while t < log.ended_at:
        times.append(t)
        t += step
    times.append(log.ended_at)  # the last instant too, on a step or not
    spans = [(o.created_at, _finished_at(o), o.due_at) for o in log.orders]
    in_flight = tuple(sum(_within(c, f, t) for c, f, _ in spans) for t in times)
    overdue = tuple(
        sum(_within(c, f, t) and t > due for c, f, due in spans) for t in times
    )
    shifts = [
        {s.rider for s in log.shifts if _within(s.start_at, s.end_at, t)} for t in times
    ]
    on_shift = tuple(len(riders) for riders in shifts)
    driving = tuple(
        len(
            {
                leg.rider
                for leg in log.legs
                if _within(leg.start_at, leg.end_at, t) and leg.rider in riders
            }
        )
        for t, riders in zip(times, shifts, strict=True)
    )
    delivered = [
        o
        for o in log.orders
        if o.status is OrderStatus.DELIVERED and o.delivered_at is not None
    ]
    truths = [
        x.true_excursion_at
        for x in [*log.injected, *log.natural]
        if x.true_excursion_at is not None
    ]
    starts: list[datetime] = []
    w = log.started_at
    while w < log.ended_at:
        starts.append(w)
        w += window
    late_pct: list[float | None] = []
    minutes_late: list[float | None] = []
    for begin in starts:
        made = [
            o
            for o in delivered
            if o.delivered_at is not None and begin <= o.delivered_at < begin + window
        ]
        late = [
            max(0.0, (o.delivered_at - o.due_at).total_seconds() / 60)
            for o in made
            if o.delivered_at is not None
        ]
        late_pct.append(100 * sum(m > 0 for m in late) / len(late) if late else None)
        minutes_late.append(sum(late) / len(late) if late else None)
    return DaySeries(
        policy=log.policy,
        times=tuple(times),
        in_flight=in_flight,
        overdue=overdue,
        delivered=_count_at(
            (o.delivered_at for o in delivered if o.delivered_at), times
        ),
        on_shift=on_shift,
        driving=driving,
        utilisation_pct=tuple(
            100 * d / n if n else None for d, n in zip(driving, on_shift, strict=True)
        ),
        excursions=_count_at(truths, times),
        alerts=_count_at((d.alerted_at for d in log.detected), times),
        window=window,
        window_starts=tuple(starts),
        late_pct=tuple(late_pct),
        minutes_late=tuple(minutes_late),
    )
