"""Translation between dispatch state and the routing engine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from dispatch.domain import (
    GeoPoint,
    OpeningInterval,
    Pharmacy,
    PharmacyId,
    Product,
    Rider,
    RiderId,
    RiderStatus,
    Sku,
    StorageClass,
    TemperatureProfile,
    VehicleType,
)
from dispatch.orders.order import (
    Order,
    OrderId,
    OrderLine,
    OrderStatus,
    Priority,
    ProofLevel,
)
from dispatch.planning.plan import ReleasedStop
from dispatch.planning.problem import (
    PINS_DROPPED,
    Plan,
    PlannedStop,
    PlanningParams,
    PlanningSnapshot,
    RiderRoute,
    build_problem,
    dropped_pins,
    pickup_window,
    to_plan,
)
from routing import (
    Job,
    ReleasedLock,
    Route,
    RoutingProblem,
    RoutingSolution,
    Site,
    SolverParams,
    Unassigned,
    UnassignedReason,
    Vehicle,
    Visit,
    check,
    solve,
)
from routing.matrix import HaversineProvider
from routing.model import TimeWindow

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
#: The solution limit ends the search (the same plan on any host); the time limit
#: is only a backstop, generous so that a slow host does not cut the search short.
SOLVER = SolverParams(time_limit_s=60.0, solution_limit=50)
PA = Pharmacy(PharmacyId("pa"), "A", GeoPoint(35.8989, 14.5146), "1")
PB = Pharmacy(PharmacyId("pb"), "B", GeoPoint(35.9122, 14.5042), "2")
AMB = Product(Sku("AMB"), "ambient")
COLD = Product(Sku("COLD"), "cold", StorageClass.REFRIGERATED)
CS = Product(Sku("CS"), "controlled", controlled_schedule="CII")
PROFILES = {
    "ambient": TemperatureProfile("ambient", 15, 25, 3600, 7200, None),
    "refrigerated": TemperatureProfile("refrigerated", 2, 8, 900, 3600, 5400),
}


def rider(rid="r1", slots=1, skills=frozenset(), status=RiderStatus.AVAILABLE):
    return Rider(
        RiderId(rid),
        rid,
        VehicleType.SCOOTER,
        slots,
        skills,
        NOW - timedelta(hours=1),
        NOW + timedelta(hours=6),
        GeoPoint(35.90, 14.51),
        NOW,
        status,
        version=3,
    )


def order(
    oid,
    sku=AMB,
    status=OrderStatus.SOURCED,
    rider_id=None,
    picked=None,
    urgent=False,
    candidates=("pa", "pb"),
):
    return Order(
        OrderId(oid),
        "pt",
        GeoPoint(35.905, 14.50),
        (OrderLine(sku.sku, 1),),
        NOW + timedelta(minutes=30),
        NOW + timedelta(hours=2),
        Priority.URGENT if urgent else Priority.STANDARD,
        ProofLevel.OTP,
        f"k-{oid}",
        status,
        NOW - timedelta(hours=1),
        version=7,
        pharmacy_id=PharmacyId("pa"),
        rider_id=rider_id,
        candidate_pharmacy_ids=tuple(PharmacyId(c) for c in candidates),
        picked_up_at=picked,
    )


def snapshot(orders, riders=None, previous=None, policy="joint"):
    riders = riders or (rider(),)
    return PlanningSnapshot(
        NOW,
        tuple(riders),
        tuple(orders),
        {PA.id: PA, PB.id: PB},
        {p.sku: p for p in (AMB, COLD, CS)},
        PROFILES,
        previous,
        policy,
    )


def test_assigned_order_keeps_its_pharmacy_even_in_joint_mode():
    """Only not-yet-assigned orders bring several candidate pickups."""
    t = build_problem(
        snapshot([order("o1", status=OrderStatus.ASSIGNED, rider_id="r1")]),
        HaversineProvider(),
    )
    assert [s.ref for s in t.problem.jobs[0].pickups] == ["pa"]


def test_sourced_order_offers_all_candidate_pharmacies():
    """Joint mode offers every candidate pharmacy as a pickup; nearest keeps one."""
    t = build_problem(snapshot([order("o1")]), HaversineProvider())
    assert [s.ref for s in t.problem.jobs[0].pickups] == ["pa", "pb"]
    t2 = build_problem(snapshot([order("o1")], policy="nearest"), HaversineProvider())
    assert [s.ref for s in t2.problem.jobs[0].pickups] == ["pa"]
    assert t.basis_orders == {"o1": 7}
    assert t.basis_riders == {"r1": 3}


def test_on_board_order_stays_on_its_rider_with_real_pickup_time():
    """A picked-up order is on board; time origin moves back to its pickup."""
    picked = NOW - timedelta(minutes=40)
    t = build_problem(
        snapshot([order("o1", COLD, OrderStatus.PICKED_UP, "r1", picked)]),
        HaversineProvider(),
    )
    job = t.problem.jobs[0]
    assert job.on_board == "r1"
    assert job.picked_up_s == 0
    assert t.origin_at == picked
    assert t.problem.vehicles[0].start_s == 2400
    assert job.max_transit_s == 5400
    assert job.demand == (1, 1)


def test_skills_priority_and_unavailable_riders():
    """Controlled goods need the skill; urgent is priority 1; riders on break: out."""
    snap = snapshot(
        [
            order("o1", CS, urgent=True),
            order("o2", AMB, OrderStatus.PICKED_UP, "r2", NOW),
        ],
        riders=(rider(), rider("r2", status=RiderStatus.ON_BREAK)),
    )
    t = build_problem(snap, HaversineProvider())
    assert [v.id for v in t.problem.vehicles] == ["r1"]
    assert t.problem.jobs[0].skills == frozenset({"controlled"})
    assert t.problem.jobs[0].priority == 1
    assert [(u.order_id, u.reason) for u in t.skipped] == [("o2", "rider_unavailable")]


def test_locked_next_is_the_first_open_stop_of_the_previous_route():
    """The stop a rider is driving to is locked; done stops are skipped."""
    previous = Plan(
        1,
        NOW,
        "feasible",
        0,
        0.0,
        (
            RiderRoute(
                "r1",
                (
                    PlannedStop("o1", "pickup", "pa", NOW),
                    PlannedStop("o2", "pickup", "pa", NOW),
                    PlannedStop("o1", "delivery", None, NOW),
                ),
                0,
                0,
            ),
        ),
        (),
    )
    orders = [
        order("o1", status=OrderStatus.PICKED_UP, rider_id="r1", picked=NOW),
        order("o2", status=OrderStatus.ASSIGNED, rider_id="r1"),
    ]
    t = build_problem(snapshot(orders, previous=previous), HaversineProvider())
    assert t.problem.vehicles[0].locked_next == ("o2", "pickup")
    assert t.initial is not None
    assert [v.job_id for v in t.initial.routes[0].visits] == ["o1", "o2", "o1"]
    unpinned = build_problem(
        snapshot(orders, previous=previous),
        HaversineProvider(),
        PlanningParams(lock_next_stop=False),
    )
    assert unpinned.problem.vehicles[0].locked_next is None
    seed = replace(previous, version=0)  # a seed solution was never driven
    seeded = build_problem(snapshot(orders, previous=seed), HaversineProvider())
    assert seeded.problem.vehicles[0].locked_next is None


def test_pickup_window_follows_opening_hours():
    """Closed pharmacies open later; no opening within two days excludes them."""
    shop = Pharmacy(
        PharmacyId("p"),
        "p",
        GeoPoint(35.9, 14.5),
        "9",
        (OpeningInterval(0, time(12, 0), time(18, 0)),),
    )
    window = pickup_window(shop, NOW, NOW)
    assert isinstance(window, TimeWindow)
    # 12:00 Malta time (UTC+1 in November) is 11:00 UTC: 1 h after NOW
    assert (window.start_s, window.end_s) == (3600, 7 * 3600)
    sunday_only = Pharmacy(
        PharmacyId("s"),
        "s",
        GeoPoint(35.9, 14.5),
        "8",
        (OpeningInterval(4, time(9), time(10)),),
    )
    assert pickup_window(sunday_only, NOW, NOW) is False
    assert pickup_window(PA, NOW, NOW) is None


@pytest.mark.slow
def test_solved_translation_is_feasible_and_reads_back():
    """A solved problem passes the checker and becomes a plan with ETAs."""
    orders = [order(f"o{i}", COLD if i % 2 else AMB) for i in range(4)]
    snap = snapshot(orders, riders=(rider(slots=2), rider("r2", slots=2)))
    t = build_problem(snap, HaversineProvider())
    solution = solve(t.problem, SOLVER)
    assert check(t.problem, solution) == []
    plan = to_plan(t, solution, version=2, created_at=NOW, trigger_reasons=["test"])
    assigned = plan.assignments()
    assert set(assigned) | {u.order_id for u in plan.unassigned} == {
        o.id for o in orders
    }
    for rider_id, pharmacy in assigned.values():
        assert rider_id in {"r1", "r2"}
        assert pharmacy in {"pa", "pb"}
    assert all(s.arrival_at >= NOW for r in plan.routes for s in r.stops)


def test_quarantined_box_gives_its_rider_no_cold_job():
    """A rider whose box is quarantined offers no cold slot (an on-board cold
    order a pharmacist released keeps its own), so a solved plan routes the cold
    order to the fit rider and ambient ones may still go to the quarantined one."""
    orders = [order("cold", COLD), order("amb", AMB)]
    fit = replace(rider("r2", slots=2), position=GeoPoint(35.95, 14.40))
    snap = replace(
        snapshot(orders, riders=(rider("r1", slots=2), fit)),
        cold_unfit_riders=frozenset({"r1"}),
    )
    t = build_problem(snap, HaversineProvider())
    caps = {v.id: v.capacity for v in t.problem.vehicles}
    assert caps["r1"][1] == 0
    assert caps["r2"][1] == 2
    solution = solve(t.problem, SOLVER)
    assert check(t.problem, solution) == []
    plan = to_plan(t, solution, version=2, created_at=NOW, trigger_reasons=["test"])
    assert plan.assignments()["cold"][0] == "r2"
    alone = build_problem(
        replace(snap, riders=(rider("r1", slots=2),)), HaversineProvider()
    )
    only = solve(alone.problem, SOLVER)
    plan = to_plan(alone, only, version=3, created_at=NOW, trigger_reasons=["test"])
    assert set(plan.assignments()) == {"amb"}
    assert [u.order_id for u in plan.unassigned] == ["cold"]
    released = order("aboard", COLD, OrderStatus.PICKED_UP, "r1", NOW)
    aboard = build_problem(
        replace(snap, orders=(released, *orders)), HaversineProvider()
    )
    assert {v.id: v.capacity[1] for v in aboard.problem.vehicles}["r1"] == 1


def test_quarantine_unlocks_a_cold_pickup_the_rider_was_driving_to():
    """The next stop stays pinned unless it loads cold goods into a quarantined box."""
    previous = Plan(
        1,
        NOW,
        "feasible",
        0,
        0.0,
        (RiderRoute("r1", (PlannedStop("c", "pickup", "pa", NOW),), 0, 0),),
        (),
    )
    orders = [order("c", COLD, OrderStatus.ASSIGNED, "r1")]
    pinned = build_problem(snapshot(orders, previous=previous), HaversineProvider())
    assert pinned.problem.vehicles[0].locked_next == ("c", "pickup")
    snap = replace(
        snapshot(orders, previous=previous), cold_unfit_riders=frozenset({"r1"})
    )
    assert (
        build_problem(snap, HaversineProvider()).problem.vehicles[0].locked_next is None
    )


def test_a_box_holding_more_than_its_slots_keeps_every_order_aboard():
    """Two cold orders sit in a one-slot box (packed by hand): both stay on the
    rider's route, and the new cold order goes to the other rider rather than
    into the overfull box."""
    aboard = [order(f"in{i}", COLD, OrderStatus.PICKED_UP, "r1", NOW) for i in (1, 2)]
    snap = snapshot([*aboard, order("new", COLD)], riders=(rider(), rider("r2")))
    t = build_problem(snap, HaversineProvider())
    solution = solve(t.problem, SOLVER)
    assert check(t.problem, solution) == []
    plan = to_plan(t, solution, version=2, created_at=NOW, trigger_reasons=["test"])
    assert not plan.unassigned
    assignments = plan.assignments()
    assert assignments["new"][0] == "r2"
    assert {assignments["in1"][0], assignments["in2"][0]} == {"r1"}


def test_a_next_stop_the_rider_can_no_longer_make_is_released_for_the_dispatcher():
    """A rider driving to a controlled-drug pickup lost the certification: the
    plan drops that stop, says so (rider, order, why), and the certified rider
    collects the order instead."""
    previous = Plan(
        1,
        NOW,
        "feasible",
        0,
        0.0,
        (RiderRoute("r1", (PlannedStop("cs", "pickup", "pa", NOW),), 0, 0),),
        (),
    )
    orders = [order("cs", CS, OrderStatus.ASSIGNED, "r1")]
    certified = rider("r2", skills=frozenset({"controlled"}))
    snap = snapshot(orders, riders=(rider("r1"), certified), previous=previous)
    t = build_problem(snap, HaversineProvider())
    assert t.problem.vehicles[0].locked_next == ("cs", "pickup")
    solution = solve(t.problem, SOLVER)
    assert check(t.problem, solution) == []
    plan = to_plan(t, solution, version=2, created_at=NOW, trigger_reasons=["test"])
    [released] = plan.released_stops
    assert (released.rider_id, released.order_id) == ("r1", "cs")
    assert "lacks skills" in released.detail
    assert plan.assignments()["cs"] == ("r2", "pa")
    assert plan.released_stops == (ReleasedStop("r1", "cs", released.detail),)


def test_dropped_pins_are_the_next_stops_the_unpinned_plan_does_not_keep():
    """Re-planned without pins: a pin still first on its route is not reported; one
    whose route starts elsewhere, or whose vehicle has no (or an empty) route, is,
    once (a lock the solution already released is not repeated), with ids only."""
    import numpy as np

    jobs = tuple(Job(j, Site(1), (Site(2, ref="pa"),)) for j in "abcdef")
    pins = {"kept": "a", "moved": "b", "idle": "c", "empty": "d", "known": "e"}
    problem = RoutingProblem(
        durations={"car": np.zeros((3, 3), dtype=np.int64)},
        vehicles=(
            *(
                Vehicle(v, 0, profile="car", locked_next=(j, "pickup"))
                for v, j in pins.items()
            ),
            Vehicle("free", 0, profile="car"),
        ),
        jobs=jobs,
    )

    def route(vehicle: str, *jobs: str) -> Route:
        visits = tuple(Visit(j, "pickup", 2, "pa", 0, 0, 0) for j in jobs)
        return Route(vehicle, visits, 0, 0)

    known = ReleasedLock("known", "e", "'known' lacks skills")
    solution = RoutingSolution(
        (
            route("kept", "a", "f"),
            route("moved", "f", "b"),
            route("empty"),
            route("known", "f"),
            route("free", "c"),
        ),
        released_locks=(known,),
    )
    assert dropped_pins(problem, solution) == (
        ReleasedLock("moved", "b", PINS_DROPPED),
        ReleasedLock("idle", "c", PINS_DROPPED),
        ReleasedLock("empty", "d", PINS_DROPPED),
    )
    # the same job first but as the other kind of visit is not the pinned stop
    delivered = RoutingSolution(
        (Route("kept", (Visit("a", "delivery", 1, "a", 0, 0, 0),), 0, 0),)
    )
    assert ReleasedLock("kept", "a", PINS_DROPPED) in dropped_pins(problem, delivered)


def test_a_released_stop_reads_in_clock_times_like_an_unassigned_order():
    """A lock the engine released because the rider cannot make the window even
    alone is reported with clock times in the business zone, not solver seconds;
    a caller's own release keeps its words."""
    t = build_problem(snapshot([order("o", AMB)]), HaversineProvider())
    why = Unassigned(
        "o", UnassignedReason.WINDOW_IMPOSSIBLE, "170 s < 1827 s", 170, 1827
    )
    solution = RoutingSolution(
        (),
        released_locks=(
            ReleasedLock("r1", "o", why.detail, why),
            ReleasedLock("r2", "o", PINS_DROPPED),
        ),
    )
    plan = to_plan(t, solution, version=1, created_at=NOW)
    engine, own = plan.released_stops
    assert engine.detail.startswith("the delivery window closes at ")
    assert "earliest a rider can arrive is" in engine.detail
    assert "170" not in engine.detail
    assert "1827" not in engine.detail
    assert own.detail == PINS_DROPPED
