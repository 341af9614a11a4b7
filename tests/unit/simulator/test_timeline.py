"""The day over time: series derived from a hand-made run log, and the picture
drawn from them (one line per policy and series, y axes from zero)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from simulator.day_chart import PANELS, day_figure
from simulator.report import write_report
from simulator.runlog import (
    DetectedExcursion,
    InjectedExcursion,
    OrderOutcome,
    OrderStatus,
    RiderLeg,
    RiderShift,
    RunLog,
)
from simulator.timeline import day_series


def at(hour: int, minute: int = 0) -> datetime:
    """A UTC time on the test day."""
    return datetime(2026, 6, 15, hour, minute, tzinfo=UTC)


def _order(
    ref: str,
    created: datetime,
    due: datetime,
    status: OrderStatus,
    *,
    delivered_at: datetime | None = None,
    closed_at: datetime | None = None,
) -> OrderOutcome:
    return OrderOutcome(
        ref,
        created,
        due,
        cold_chain=False,
        urgent=False,
        status=status,
        delivered_at=delivered_at,
        closed_at=closed_at,
    )


def day(policy: str = "optimised") -> RunLog:
    """08:00-09:00: four orders, two riders, one excursion and one alert."""
    delivered = OrderStatus.DELIVERED
    return RunLog(
        policy=policy,
        scenario="hand-made",
        started_at=at(8),
        ended_at=at(9),
        orders=[
            # on time: due 08:30, delivered 08:20
            _order("a", at(8), at(8, 30), delivered, delivered_at=at(8, 20)),
            # 10 min late: due 08:15, delivered 08:25
            _order("b", at(8, 5), at(8, 15), delivered, delivered_at=at(8, 25)),
            # patient not home at 08:40
            _order(
                "c",
                at(8, 10),
                at(8, 50),
                OrderStatus.FAILED_NOT_HOME,
                closed_at=at(8, 40),
            ),
            # still open at the end, overdue from 08:45
            _order("d", at(8, 30), at(8, 45), OrderStatus.OPEN),
        ],
        shifts=[RiderShift("r1", at(8), at(9)), RiderShift("r2", at(8, 30), at(9))],
        legs=[
            RiderLeg("r1", at(8, 10), at(8, 20), 3000.0),
            RiderLeg("r2", at(8, 35), at(8, 45), 3000.0),
            RiderLeg("r1", at(8, 40), at(8, 50), 3000.0),
        ],
        injected=[InjectedExcursion("B1", at(8, 30), "seal", at(8, 32), at(8, 40))],
        detected=[DetectedExcursion("B1", at(8, 42))],
    )


def _at(series: tuple[object, ...], times: tuple[datetime, ...], t: datetime) -> object:
    return series[times.index(t)]


def test_orders_in_flight_and_overdue() -> None:
    """An order is in flight from its creation to its delivery, failure or the
    end of the run; overdue once past its promised time."""
    s = day_series(day())
    assert s.times[0] == at(8)
    assert s.times[-1] == at(9)
    assert len(s.times) == 61  # one per simulated minute, both ends included
    expected = {
        at(8): (1, 0),
        at(8, 12): (3, 0),
        at(8, 16): (3, 1),  # b is past due (08:15)
        at(8, 22): (2, 1),  # a delivered at 08:20
        at(8, 30): (2, 0),  # b delivered at 08:25; d placed
        at(8, 46): (1, 1),  # c failed at 08:40; d past due (08:45)
        at(9): (1, 1),  # d never finished
    }
    for t, (in_flight, overdue) in expected.items():
        assert (
            _at(s.in_flight, s.times, t),
            _at(s.overdue, s.times, t),
        ) == (in_flight, overdue), t


def test_deliveries_so_far_and_lateness_per_window() -> None:
    """Deliveries are cumulative; each 15-min window gives the share of its
    deliveries that came late and their mean minutes late (on time = 0)."""
    s = day_series(day())
    assert _at(s.delivered, s.times, at(8, 19)) == 0
    assert _at(s.delivered, s.times, at(8, 20)) == 1
    assert s.delivered[-1] == 2
    assert s.window_starts == (at(8), at(8, 15), at(8, 30), at(8, 45))
    # 08:15-08:30: a on time, b 10 min late
    assert s.late_pct == (None, 50.0, None, None)
    assert s.minutes_late == (None, 5.0, None, None)


def test_rider_utilisation_is_driving_over_on_shift() -> None:
    """Utilisation: riders driving a leg over riders on shift at that minute."""
    s = day_series(day())
    assert _at(s.on_shift, s.times, at(8, 15)) == 1
    assert _at(s.utilisation_pct, s.times, at(8, 15)) == pytest.approx(100.0)
    assert _at(s.utilisation_pct, s.times, at(8, 25)) == pytest.approx(0.0)
    assert _at(s.on_shift, s.times, at(8, 42)) == 2
    assert _at(s.utilisation_pct, s.times, at(8, 42)) == pytest.approx(100.0)
    assert _at(s.utilisation_pct, s.times, at(8, 47)) == pytest.approx(50.0)


def test_nobody_on_shift_has_no_utilisation() -> None:
    """Before any shift starts the share is undefined, not zero."""
    log = day()
    log.shifts = [RiderShift("r1", at(8, 30), at(9))]
    s = day_series(log)
    assert _at(s.utilisation_pct, s.times, at(8, 10)) is None


def test_excursions_and_alerts_so_far() -> None:
    """True excursions count from when the rule tripped; alerts when raised."""
    s = day_series(day())
    assert _at(s.excursions, s.times, at(8, 39)) == 0
    assert _at(s.excursions, s.times, at(8, 40)) == 1
    assert _at(s.alerts, s.times, at(8, 41)) == 0
    assert _at(s.alerts, s.times, at(8, 42)) == 1


def test_step_and_window_must_be_positive() -> None:
    """A zero step would never end: refused with a clear error."""
    with pytest.raises(ValueError, match="positive"):
        day_series(day(), step=timedelta(0))


def test_the_picture_draws_every_series_per_policy() -> None:
    """Each panel has one line per policy (plus a dashed one where the panel has
    two series), drawn from that policy's series, on a y axis from zero."""
    runs = [day_series(day("optimised")), day_series(day("greedy"))]
    fig = day_figure(runs)
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == [p.title for p in PANELS]
    for ax, panel in zip(axes, PANELS, strict=True):
        assert ax.get_ylim()[0] == 0
        if panel.share:
            assert ax.get_ylim()[1] <= 102
        lines = {line.get_label(): line for line in ax.get_lines()}
        for series in runs:
            assert series.policy in lines
            ys = np.asarray(lines[series.policy].get_ydata(), dtype=float).tolist()
            raw = getattr(series, panel.solid)
            assert ys == [float(v) for v in raw if v is not None]
            if panel.dashed is not None:
                assert f"{series.policy}: {panel.dashed_label}" in lines
    in_flight = next(ax for ax in axes if ax.get_title() == "Orders in flight")
    xs = np.asarray(in_flight.get_lines()[0].get_xdata(), dtype=float).tolist()
    assert xs[0] == pytest.approx(8.0)  # hours of the day, UTC
    assert xs[-1] == pytest.approx(9.0)
    assert in_flight.xaxis.get_major_formatter()(8.5, 0) == "08:30"
    assert in_flight.xaxis.get_major_formatter()(25.25, 0) == "01:15"


def test_report_writes_the_day_picture(tmp_path: Path) -> None:
    """write_report writes the PNG of the day next to the KPI files."""
    paths = write_report(tmp_path, [day("optimised"), day("greedy")], stem="k")
    assert paths["png"] == tmp_path / "k.png"
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["png"].stat().st_size > 10_000


def test_a_run_log_without_closing_times_still_reads() -> None:
    """Logs written before ``closed_at`` existed read back; their failed
    orders count as in flight until the end."""
    log = day()
    raw = log.to_json().replace(b'"closed_at"', b'"ignored_field"')
    again = RunLog.from_json(raw)
    assert again.orders[2].closed_at is None
    s = day_series(again)
    assert s.in_flight[-1] == 2


def test_the_last_instant_is_sampled() -> None:
    """A run ending between two steps still counts what happened at its end."""
    log = day()
    log.ended_at = at(8, 59) + timedelta(seconds=30)
    log.orders[3].status = OrderStatus.DELIVERED
    log.orders[3].delivered_at = at(
        8,
        59,
    ) + timedelta(seconds=10)
    s = day_series(log)
    assert s.times[-2:] == (at(8, 59), log.ended_at)
    assert s.delivered[-2:] == (2, 3)
    assert s.in_flight[-1] == 0
