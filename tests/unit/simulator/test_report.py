"""KPIs are computed correctly from a hand-made run log and written as files."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from simulator.report import compare, compute_kpis, format_table, write_report
from simulator.runlog import (
    DetectedExcursion,
    InjectedExcursion,
    OrderOutcome,
    OrderStatus,
    RiderLeg,
    RiderShift,
    RunLog,
)
from simulator.scenario_fields import Fields, parse_cold_chain
from simulator.thermal import ExcursionTruth


def at(hour: int, minute: int = 0) -> datetime:
    """A UTC time on the test day."""
    return datetime(2026, 6, 15, hour, minute, tzinfo=UTC)


def _order(ref: str, created: datetime, due: datetime, **kw: object) -> OrderOutcome:
    return OrderOutcome(ref, created, due, cold_chain=False, urgent=False, **kw)  # type: ignore[arg-type]


def make_log(policy: str = "engine", leg_factor: float = 1.0) -> RunLog:
    """Six orders, three legs, two shifts, three failures, three alerts."""
    delivered = OrderStatus.DELIVERED
    orders = [
        _order(
            "o1",
            at(8),
            at(10),
            status=delivered,
            assigned_at=at(8, 10),
            delivered_at=at(8, 30),
        ),
        _order(
            "o2",
            at(8),
            at(9),
            status=delivered,
            assigned_at=at(8, 30),
            delivered_at=at(10, 30),
        ),
        _order("o3", at(8), at(10), status=OrderStatus.FAILED_NOT_HOME),
        replace(_order("o4", at(8), at(10), status=OrderStatus.HELD), cold_chain=True),
        _order("o5", at(8), at(10), status=OrderStatus.UNASSIGNED),
        replace(
            _order("o6", at(9), at(11), status=delivered, delivered_at=at(9, 45)),
            cold_chain=True,
            exposed=True,
            otp_failures=2,
        ),
    ]
    legs = [
        RiderLeg("a", at(8), at(8, 10), 5000 * leg_factor),
        RiderLeg("a", at(9), at(9, 20), 7000 * leg_factor),
        RiderLeg("b", at(9), at(9, 15), 3000 * leg_factor),
    ]
    return RunLog(
        policy=policy,
        scenario="hand-made",
        started_at=at(8),
        ended_at=at(12),
        orders=orders,
        shifts=[RiderShift("a", at(8), at(12)), RiderShift("b", at(7), at(10))],
        legs=legs,
        injected=[
            InjectedExcursion("A", at(9), "seal", at(9, 2), at(9, 5)),
            InjectedExcursion("B", at(10), "seal", at(10, 5), None),  # back in time
            InjectedExcursion("C", at(10, 30), "lid_left_open", at(10, 40), at(11)),
        ],
        detected=[
            DetectedExcursion("A", at(9, 8)),
            DetectedExcursion("A", at(9, 30)),
            DetectedExcursion("D", at(11)),
        ],
    )


def test_kpis_from_a_hand_made_log() -> None:
    """Every KPI matches the value worked out by hand."""
    kpis = compute_kpis(make_log())
    assert kpis.orders == 6
    assert kpis.delivered == 3
    # servable: 6 minus not-home and held = 4; on time: o1 and o6
    assert kpis.on_time_pct == pytest.approx(50.0)
    assert kpis.order_to_door_p50_min == pytest.approx(45.0)
    assert kpis.order_to_door_p95_min == pytest.approx(139.5)
    # assigned: o1 after 10 min, o2 after 30 (the others never reached a route)
    assert kpis.assignment_p50_min == pytest.approx(20.0)
    assert kpis.assignment_p95_min == pytest.approx(29.0)
    assert kpis.travel_km_per_order == pytest.approx(5.0)
    assert kpis.travel_min_per_order == pytest.approx(15.0)
    # shifts clipped to the run: 4 h + 2 h
    assert kpis.orders_per_rider_hour == pytest.approx(0.5)
    assert (kpis.unassigned, kpis.held, kpis.failed_not_home) == (1, 1, 1)
    assert kpis.excursions_injected == 2
    assert kpis.excursions_detected == 1
    assert kpis.false_alarms == 1
    assert kpis.detection_delay_p50_s == pytest.approx(180.0)
    assert kpis.cold_chain_delivered_after_excursion == 1
    assert kpis.otp_failures == 2


def test_natural_excursions_are_detections_not_false_alarms() -> None:
    """An alert on a box whose true temperature tripped the rule without an
    injected failure counts as a natural detection; one on a box that never
    left its range is a false alarm."""
    log = make_log()
    log.natural.append(
        InjectedExcursion("D", at(10, 40), "natural", at(10, 40), at(10, 55))
    )
    kpis = compute_kpis(log)
    assert (kpis.natural_excursions, kpis.natural_detected) == (1, 1)
    assert kpis.false_alarms == 0
    assert (kpis.excursions_injected, kpis.excursions_detected) == (2, 1)
    assert RunLog.from_json(log.to_json()) == log


def test_empty_run_has_undefined_rates() -> None:
    """With nothing delivered, rates are None rather than a division error."""
    log = RunLog("engine", "empty", at(8), at(9))
    kpis = compute_kpis(log)
    assert kpis.on_time_pct is None
    assert kpis.travel_km_per_order is None
    assert kpis.detection_delay_max_s is None


def test_ratios_between_policies() -> None:
    """Comparing two runs divides candidate by baseline KPI by KPI."""
    ours = compute_kpis(make_log("engine"))
    greedy = compute_kpis(make_log("greedy", leg_factor=2.0))
    ratios = compare(ours, greedy)
    assert ratios["travel_km_per_order"] == pytest.approx(0.5)
    assert ratios["on_time_pct"] == pytest.approx(1.0)
    assert ratios["unassigned"] == pytest.approx(1.0)
    assert "policy" not in ratios


def test_report_files(tmp_path: Path) -> None:
    """JSON, table and PNG are written; the JSON holds both policies and ratios."""
    paths = write_report(
        tmp_path / "out", [make_log("engine"), make_log("greedy", leg_factor=2.0)]
    )
    body = orjson.loads(paths["json"].read_bytes())
    assert set(body["policies"]) == {"engine", "greedy"}
    assert body["ratios"]["engine/greedy"]["travel_km_per_order"] == pytest.approx(0.5)
    table = paths["txt"].read_text(encoding="utf-8")
    assert "travel_km_per_order" in table
    assert "engine/greedy" in table
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["png"].stat().st_size > 10_000


def test_single_policy_table() -> None:
    """One policy: a two-column table without ratios."""
    table = format_table([compute_kpis(make_log())])
    header = table.splitlines()[0].split()
    assert header == ["kpi", "engine"]


def test_run_log_round_trips_through_json() -> None:
    """A saved run log reads back equal, datetimes and statuses included."""
    log = make_log()
    again = RunLog.from_json(log.to_json())
    assert again == log
    assert again.orders[0].status is OrderStatus.DELIVERED
    assert again.orders[0].delivered_at == at(8, 30)
    assert again.started_at - at(8) == timedelta(0)


def test_detection_delay_under_the_engines_rule() -> None:
    """With the ground truth on the engine's rule (15 min out of 2-8 °C), an
    alarm one reading after the rule trips is a 30 s delay, not -15 min; an
    alert before the box left its range is no detection of this failure."""
    rule = parse_cold_chain(Fields({}, "cold_chain", ""))
    truth = ExcursionTruth(rule)
    temps = [5.0] * 10 + [9.0] * 60  # readings every 30 s; out from 08:05
    for i, temp in enumerate(temps):
        truth.observe(at(8) + timedelta(seconds=30 * i), temp)
    ((tripped, _),) = truth.excursions
    assert tripped == at(8, 20)
    log = RunLog(
        "engine",
        "rule",
        at(8),
        at(9),
        injected=[InjectedExcursion("A", at(8, 4), "seal", at(8, 5), tripped)],
        detected=[
            DetectedExcursion("A", at(8, 1)),
            DetectedExcursion("A", tripped + timedelta(seconds=30)),
        ],
    )
    kpis = compute_kpis(log)
    assert (kpis.excursions_injected, kpis.excursions_detected) == (1, 1)
    assert kpis.detection_delay_p50_s == pytest.approx(30.0)
    assert kpis.false_alarms == 0
