"""The routing engine's reasons for leaving an order out, as a person reads them.

Routing compares numbers in seconds since the problem's origin (a window closes
at 170 s, the earliest arrival is 1827 s). Here they become instants and the
sentence a dispatcher reads, with clock times in the business time zone (the
order's pharmacy's): "the delivery window closes at 14:02; the earliest a rider
can arrive is 14:30". The instants are kept beside the sentence so that a client
may word them itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dispatch.planning.plan import UnservableOrder
from routing import Unassigned, UnassignedReason

__all__ = ["explain", "wall_clock"]

_DEADLINES = {
    UnassignedReason.WINDOW_IMPOSSIBLE: (
        "the delivery window closes at {limit}; "
        "the earliest a rider can arrive is {needed}"
    ),
    UnassignedReason.NO_REACHABLE_PICKUP: (
        "the pharmacy closes at {limit}; the earliest a rider can get there is {needed}"
    ),
    UnassignedReason.SHIFT: (
        "the rider's shift ends at {limit}; "
        "the delivery would finish at {needed} at the earliest"
    ),
}


def wall_clock(at: datetime, zone: ZoneInfo, *, after: datetime | None = None) -> str:
    """``14:02`` in ``zone``; with the weekday and date when ``at`` falls on
    another local day than ``after`` (``14:02 on Tue 8 Dec``)."""
    local = at.astimezone(zone)
    text = local.strftime("%H:%M")
    if after is not None and after.astimezone(zone).date() != local.date():
        text += f" on {local:%a} {local.day} {local:%b}"
    return text


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return (
        f"{minutes} min"
        if minutes < 60
        else f"{minutes // 60} h {minutes % 60:02d} min"
    )


def explain(unassigned: Unassigned, origin: datetime, zone: str) -> UnservableOrder:
    """``unassigned`` (routing's, in problem seconds) as an unservable order with
    a detail in words and clock times in ``zone``, and the instants it compares."""
    limit, needed = unassigned.limit_s, unassigned.needed_s
    reason = unassigned.reason
    if limit is None or needed is None:
        return UnservableOrder(unassigned.job_id, reason.value, unassigned.detail)
    if reason is UnassignedReason.HOLD_TIME:
        detail = (
            f"the goods would be out of the pharmacy for {_minutes(needed)}; "
            f"their limit is {_minutes(limit)}"
        )
        return UnservableOrder(unassigned.job_id, reason.value, detail)
    template = _DEADLINES.get(reason)
    if template is None:
        return UnservableOrder(unassigned.job_id, reason.value, unassigned.detail)
    tz = ZoneInfo(zone)
    deadline_at = origin + timedelta(seconds=limit)
    earliest_at = origin + timedelta(seconds=needed)
    detail = template.format(
        limit=wall_clock(deadline_at, tz, after=origin),
        needed=wall_clock(earliest_at, tz, after=deadline_at),
    )
    return UnservableOrder(
        unassigned.job_id,
        reason.value,
        detail,
        deadline_at=deadline_at,
        earliest_at=earliest_at,
    )
