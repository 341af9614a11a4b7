"""An excursion's span and its USP MKT window (pure, from samples)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telemetry.excursions import (
    MKT_WINDOW_COLD_S,
    MKT_WINDOW_ROOM_S,
    Sample,
    assess_excursion,
    mkt_window_s,
)

T0 = datetime(2026, 11, 21, tzinfo=UTC)


def _series(profile: list[tuple[float, float]], step_min: int = 5) -> list[Sample]:
    """(hours, °C) pieces as samples every ``step_min`` minutes."""
    out: list[Sample] = []
    at = T0
    for hours, temp in profile:
        for _ in range(int(hours * 60 / step_min)):
            out.append(Sample(at, len(out), temp))
            at += timedelta(minutes=step_min)
    return out


def test_window_length_follows_the_band() -> None:
    """24 h for cold bands (top at most 8 °C), 30 days above."""
    assert mkt_window_s(8.0) == MKT_WINDOW_COLD_S == 86_400
    assert mkt_window_s(-15.0) == MKT_WINDOW_COLD_S
    assert mkt_window_s(25.0) == MKT_WINDOW_ROOM_S == 30 * 86_400


def test_delayed_vehicle_worked_example() -> None:
    """The guide's 18 h at 5 °C + 6 h at 14 °C: window MKT 8.29 °C (over the
    8 °C limit although the mean is 7.25 °C); the span is the 6 hot hours."""
    samples = _series([(18, 5.0), (6, 14.0)])
    started = T0 + timedelta(hours=18)
    until = samples[-1].recorded_at
    got = assess_excursion(
        samples,
        low_c=2.0,
        high_c=8.0,
        profile_code="refrigerated",
        started_at=started,
        until=until,
    )
    assert got.window_end == until
    assert got.window_start == until - timedelta(hours=24)
    assert got.window.readings == len(samples)
    assert got.window.mkt_c == pytest.approx(8.29, abs=0.01)
    assert got.span.readings == 72
    assert got.span.minutes_out_of_range == pytest.approx(360.0)
    assert got.span.mkt_c == pytest.approx(14.0)
    assert got.span.max_c == 14.0


def test_the_window_ends_at_the_excursion_and_drops_older_samples() -> None:
    """Samples before the window and after ``until`` are left out."""
    samples = _series([(30, 5.0), (1, 12.0), (5, 30.0)])
    started = T0 + timedelta(hours=30)
    until = started + timedelta(minutes=55)
    got = assess_excursion(
        samples,
        low_c=2.0,
        high_c=8.0,
        profile_code="refrigerated",
        started_at=started,
        until=until,
    )
    assert got.window.first_at == until - timedelta(hours=24)
    assert got.window.last_at == until
    assert got.span.readings == 12
    assert got.window.max_c == 12.0
    assert got.window.mkt_c == pytest.approx(5.44, abs=0.01)  # 23 h 5 °C + 1 h 12 °C


def test_no_samples_gives_empty_records() -> None:
    """A silent box: no readings, no MKT."""
    got = assess_excursion(
        [],
        low_c=2.0,
        high_c=8.0,
        profile_code="refrigerated",
        started_at=T0,
        until=T0 + timedelta(hours=1),
    )
    assert (got.span.readings, got.span.mkt_c) == (0, None)
    assert got.window.minutes_out_of_range == 0.0
