"""The engine's reasons worded for a dispatcher (``dispatch.planning.reasons``)."""

from __future__ import annotations

from datetime import UTC, datetime

from dispatch.planning.reasons import explain
from routing import Unassigned, UnassignedReason

#: 14:59:10 in Malta (UTC+1 in December).
ORIGIN = datetime(2026, 12, 7, 13, 59, 10, tzinfo=UTC)


def test_a_missed_window_reads_in_clock_times_of_the_business_zone() -> None:
    """170 s and 1827 s after the origin become 15:02 and 15:29 in Malta, not
    raw solver seconds; the instants are kept beside the words."""
    raw = Unassigned(
        "o-1",
        UnassignedReason.WINDOW_IMPOSSIBLE,
        "delivery window closes at 170 s, earliest arrival 1827 s",
        limit_s=170,
        needed_s=1827,
    )
    order = explain(raw, ORIGIN, "Europe/Malta")
    assert order.reason == "window_impossible"
    assert order.detail == (
        "the delivery window closes at 15:02; the earliest a rider can arrive is 15:29"
    )
    assert order.deadline_at == datetime(2026, 12, 7, 14, 2, tzinfo=UTC)
    assert order.earliest_at == datetime(2026, 12, 7, 14, 29, 37, tzinfo=UTC)
    assert "170" not in order.detail
    assert "1827" not in order.detail


def test_the_zone_is_the_one_given() -> None:
    """The same instants read an hour earlier in UTC."""
    raw = Unassigned("o-1", UnassignedReason.WINDOW_IMPOSSIBLE, "", 170, 1827)
    assert "closes at 14:02" in explain(raw, ORIGIN, "UTC").detail


def test_a_deadline_on_another_day_names_the_day() -> None:
    """A finish after midnight says which day (the deadline, today, does not)."""
    raw = Unassigned("o-2", UnassignedReason.SHIFT, "", 9 * 3600, 9 * 3600 + 1500)
    detail = explain(raw, ORIGIN, "Europe/Malta").detail
    assert detail == (
        "the rider's shift ends at 23:59; the delivery would finish "
        "at 00:24 on Tue 8 Dec at the earliest"
    )


def test_a_pickup_that_closes_too_soon() -> None:
    raw = Unassigned("o-3", UnassignedReason.NO_REACHABLE_PICKUP, "", 60, 600)
    assert explain(raw, ORIGIN, "Europe/Malta").detail == (
        "the pharmacy closes at 15:00; the earliest a rider can get there is 15:09"
    )


def test_a_hold_time_reads_in_minutes() -> None:
    raw = Unassigned("o-4", UnassignedReason.HOLD_TIME, "", 45 * 60, 52 * 60)
    order = explain(raw, ORIGIN, "Europe/Malta")
    assert order.detail == (
        "the goods would be out of the pharmacy for 52 min; their limit is 45 min"
    )
    assert order.deadline_at is None


def test_reasons_without_numbers_keep_the_engine_words() -> None:
    raw = Unassigned("o-5", UnassignedReason.SKILLS, "no vehicle has the skills [cold]")
    order = explain(raw, ORIGIN, "Europe/Malta")
    assert order.detail == "no vehicle has the skills [cold]"
    assert order.deadline_at is None
    assert order.earliest_at is None
