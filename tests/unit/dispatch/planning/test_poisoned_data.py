"""One order's or pharmacy's bad data is set aside; the rest is planned (issue 20).

A pharmacy whose time zone does not load (stored before zones were checked, or a
zone this host's tz database dropped) used to raise out of ``build_problem`` and
stop every plan of the city.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import time

import numpy as np
import pytest

from dispatch.domain import OpeningInterval, Pharmacy, PharmacyId, Sku
from dispatch.orders.order import OrderLine, OrderStatus
from dispatch.planning.plan import UnservableOrder
from dispatch.planning.problem import (
    PHARMACY_UNUSABLE,
    PLANNING_FAILED,
    build_problem,
    to_plan,
)
from routing import Job, RoutingProblem, Site, SolverParams, Vehicle, check, solve
from routing.matrix import HaversineProvider
from tests.unit.dispatch.planning.test_problem import NOW, PA, PB, order, snapshot

ALL_WEEK = tuple(OpeningInterval(d, time(0), time(23, 59)) for d in range(7))


def _poisoned(pharmacy: Pharmacy, zone: str = "Mars/Olympus") -> Pharmacy:
    """``pharmacy`` with opening hours in a zone that does not load (the domain
    type refuses it, so it can only come from old rows or a changed tz database)."""
    bad = replace(pharmacy, opening_hours=ALL_WEEK)
    object.__setattr__(bad, "timezone", zone)
    return bad


def _with_pharmacies(snap, *pharmacies: Pharmacy):
    return replace(snap, pharmacies={p.id: p for p in pharmacies})


def test_a_pharmacy_whose_zone_does_not_load_is_set_aside_not_fatal() -> None:
    only_pa = order("o-pa", candidates=("pa",))
    either = order("o-both", candidates=("pa", "pb"))
    elsewhere = replace(order("o-pb", candidates=("pb",)), pharmacy_id=PharmacyId("pb"))
    snap = _with_pharmacies(snapshot([only_pa, either, elsewhere]), _poisoned(PA), PB)

    t = build_problem(snap, HaversineProvider())

    jobs = {j.id: [p.ref for p in j.pickups] for j in t.problem.jobs}
    assert jobs == {"o-both": ["pb"], "o-pb": ["pb"]}
    [aside] = t.set_aside
    assert (aside.order_id, aside.reason) == ("o-pa", PHARMACY_UNUSABLE)
    assert "pa" in aside.detail
    assert "ZoneInfoNotFoundError" in aside.detail
    assert "Mars" not in aside.detail  # the error's type and place, not its text
    assert set(t.unusable_pharmacies) == {"pa"}
    plan = to_plan(
        t, solve(t.problem, SolverParams(time_limit_s=1)), version=0, created_at=NOW
    )
    assert {u.order_id: u.reason for u in plan.unassigned} == {
        "o-pa": PHARMACY_UNUSABLE
    }
    assert set(plan.assignments()) == {"o-both", "o-pb"}


def test_a_row_the_snapshot_could_not_read_is_never_offered() -> None:
    snap = replace(
        _with_pharmacies(snapshot([order("o1", candidates=("pa",))]), PB),
        invalid_pharmacies={"pa": "timezone is not a known IANA time zone"},
    )
    t = build_problem(snap, HaversineProvider())
    assert t.problem.jobs == ()
    [aside] = t.set_aside
    assert aside.reason == PHARMACY_UNUSABLE
    assert "timezone" in aside.detail


def test_an_order_whose_own_data_breaks_is_set_aside() -> None:
    unknown_sku = replace(order("o-bad"), lines=(OrderLine(Sku("GONE"), 1),))
    t = build_problem(snapshot([unknown_sku, order("o-ok")]), HaversineProvider())
    assert [j.id for j in t.problem.jobs] == ["o-ok"]
    [aside] = t.set_aside
    assert (aside.order_id, aside.reason) == ("o-bad", PLANNING_FAILED)
    assert aside.detail.startswith("the planner could not use this order's data")
    assert "KeyError" in aside.detail


def test_a_job_the_routing_model_refuses_is_bisected_out() -> None:
    """Bisection finds the jobs a problem cannot be built with, whatever they are."""
    from dispatch.planning.problem import _isolating

    durations = {"car": np.zeros((6, 6), dtype=np.int64)}
    vehicles = (Vehicle("v", 0, profile="car"),)
    jobs = [Job(f"j{i}", Site(i)) for i in range(1, 6)]
    jobs.insert(3, Job("far", Site(99)))  # a location outside the matrix
    skipped: list[UnservableOrder] = []

    def make(subset):
        return RoutingProblem(
            durations=durations, vehicles=vehicles, jobs=tuple(subset)
        )

    problem = _isolating(make, jobs, skipped)
    assert [j.id for j in problem.jobs] == ["j1", "j2", "j3", "j4", "j5"]
    assert [(s.order_id, s.reason) for s in skipped] == [("far", PLANNING_FAILED)]
    assert "InvalidProblem" in skipped[0].detail
    assert check(problem, solve(problem, SolverParams(time_limit_s=1))) == []


def test_a_rider_whose_data_breaks_is_left_out_with_their_orders_aside() -> None:
    from tests.unit.dispatch.planning.test_problem import rider

    broken = rider("r2")
    object.__setattr__(broken, "cold_box_slots", -1)  # Vehicle refuses it
    aboard = order("o-aboard", status=OrderStatus.PICKED_UP, rider_id="r2", picked=NOW)
    snap = snapshot([aboard, order("o1")], riders=(rider("r1"), broken))
    t = build_problem(snap, HaversineProvider())
    assert [v.id for v in t.problem.vehicles] == ["r1"]
    assert set(t.unusable_riders) == {"r2"}
    assert [j.id for j in t.problem.jobs] == ["o1"]
    assert [s.order_id for s in t.skipped] == ["o-aboard"]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../../etc/passwd"])
def test_any_zone_that_does_not_load_is_contained(zone: str) -> None:
    snap = _with_pharmacies(
        snapshot([order("o1", candidates=("pa",))]), _poisoned(PA, zone), PB
    )
    t = build_problem(snap, HaversineProvider())
    assert [u.reason for u in t.set_aside] == [PHARMACY_UNUSABLE]


def test_a_deactivated_pharmacy_is_offered_only_to_orders_already_there() -> None:
    """No new order is sourced at a deactivated pharmacy: joint sourcing drops it
    as a candidate, but an order whose stock is reserved there keeps it."""
    closed = replace(PB, active=False)
    reserved_at_pb = replace(
        order("o-pb", candidates=("pa", "pb")), pharmacy_id=PharmacyId("pb")
    )
    snap = _with_pharmacies(snapshot([order("o-new"), reserved_at_pb]), PA, closed)
    t = build_problem(snap, HaversineProvider())
    jobs = {j.id: [p.ref for p in j.pickups] for j in t.problem.jobs}
    assert jobs == {"o-new": ["pa"], "o-pb": ["pb", "pa"]}
