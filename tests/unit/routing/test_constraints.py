"""One tiny case per constraint; each would fail if the constraint were missing."""

from __future__ import annotations

from routing import (
    Job,
    RoutingProblem,
    RoutingSolution,
    Site,
    SolverParams,
    TimeWindow,
    UnassignedReason,
    Vehicle,
    check,
    solve,
)
from routing.model import LockKind

from .builders import line_problem, order, service, solve_quick, visits_of


def test_hard_windows_force_the_far_job_first() -> None:
    """Without windows the near job would come first; its window forbids it."""
    problem = line_problem(
        [Vehicle("v", 0, 0)],
        [service("near", 1, (150, 400)), service("far", 5, (0, 60))],
    )
    solution = solve_quick(problem)
    assert order(solution, "v") == [("far", "service"), ("near", "service")]
    assert visits_of(solution, "v")[1].start_s >= 150


def test_capacity_splits_jobs_over_two_vehicles() -> None:
    """One vehicle could carry both (cheaper); capacity 1 forces two routes."""
    problem = line_problem(
        [Vehicle("a", 0, 0, capacity=(1,)), Vehicle("b", 0, 0, capacity=(1,))],
        [service("x", 5, demand=(1,)), service("y", 5, demand=(1,))],
    )
    solution = solve_quick(problem)
    assert solution.vehicles_used == 2


def test_candidate_pickup_cheapest_is_chosen() -> None:
    """Two pharmacies hold the stock; the one on the way is used."""
    job = Job(
        "rx",
        Site(3),
        pickups=(Site(9, ref="far-pharmacy"), Site(2, ref="near-pharmacy")),
    )
    solution = solve_quick(line_problem([Vehicle("v", 0, 0)], [job]))
    assert [(v.kind, v.site_ref) for v in visits_of(solution, "v")] == [
        ("pickup", "near-pharmacy"),
        ("delivery", ""),
    ]


def test_candidate_pickup_reachable_is_chosen_over_closed_one() -> None:
    """The near pharmacy closes before the rider can reach it: the far one is used."""
    job = Job(
        "rx",
        Site(3),
        pickups=(Site(2, window=TimeWindow(0, 5), ref="closed"), Site(6, ref="open")),
    )
    solution = solve_quick(line_problem([Vehicle("v", 0, 0)], [job]))
    assert visits_of(solution, "v")[0].site_ref == "open"
    assert not solution.unassigned


def test_on_board_job_stays_on_its_vehicle() -> None:
    """Vehicle ``near`` starts at the patient, but the parcel is on ``far``."""
    job = Job("rx", Site(5), pickups=(Site(4),), on_board="far")
    problem = line_problem([Vehicle("near", 5, 5), Vehicle("far", 10, 10)], [job])
    solution = solve_quick(problem)
    assert order(solution, "far") == [("rx", "delivery")]
    assert order(solution, "near") == []


def test_locked_next_stop_comes_first() -> None:
    """The near job would be first; the lock puts the far one first."""
    problem = line_problem(
        [Vehicle("v", 0, 0, locked_next=("far", "delivery"))],
        [service("near", 1), service("far", 8, on_board="v")],
    )
    solution = solve_quick(problem)
    assert order(solution, "v")[0] == ("far", "delivery")


def _checked_reasons(
    problem: RoutingProblem, solution: RoutingSolution
) -> list[tuple[str, UnassignedReason]]:
    """The unassigned jobs of ``solution`` and why; the plan must pass the checker."""
    assert check(problem, solution) == []
    return [(u.job_id, u.reason) for u in solution.unassigned]


def test_a_locked_job_that_cannot_be_served_is_released_with_its_reason() -> None:
    """The rider is driving to a pickup whose item would be held 40 s over its
    limit even if taken straight to the patient: rather than a plan that breaks
    the cold chain, the job comes back unassigned and the rider serves the rest."""
    problem = line_problem(
        [Vehicle("v", 0, 0, locked_next=("cold", "pickup"))],
        [
            Job("cold", Site(9), pickups=(Site(1),), max_transit_s=40),
            service("other", 3),
        ],
    )
    solution = solve_quick(problem)
    assert _checked_reasons(problem, solution) == [("cold", UnassignedReason.HOLD_TIME)]
    assert order(solution, "v") == [("other", "service")]
    assert [(r.vehicle_id, r.job_id) for r in solution.released_locks] == [
        ("v", "cold")
    ]
    # the reason in the engine's terms, with its two numbers, for callers to word
    [released] = solution.released_locks
    assert released.why is not None
    assert released.why.reason is UnassignedReason.HOLD_TIME
    assert released.why.limit_s == 40
    assert released.why.needed_s is not None
    assert released.why.needed_s > 40


def test_an_on_board_item_past_reach_of_its_hold_time_is_reported() -> None:
    """Picked up at 0 with 50 s of hold time, for a patient who is in from 100 s:
    no route can make it. The engine's model failed while being built (an
    exception out of ``solve``); the job now comes back unassigned with its reason."""
    late = Site(2, window=TimeWindow(100, 400))
    problem = line_problem(
        [Vehicle("v", 0, 0)],
        [
            Job("cold", late, on_board="v", picked_up_s=0, max_transit_s=50),
            service("other", 3),
        ],
    )
    solution = solve_quick(problem)
    assert _checked_reasons(problem, solution) == [("cold", UnassignedReason.HOLD_TIME)]
    assert order(solution, "v") == [("other", "service")]


def test_an_on_board_delivery_no_route_can_make_in_time_is_reported() -> None:
    """The patient's hard window closes at 50 s, 100 s away: the construction
    kept the delivery (it is on board) and, serving more jobs, its late plan
    beat the search's; the job now comes back unassigned with its reason."""
    soft = Site(3, window=TimeWindow(0, 500, hard=False))  # the construction path
    problem = line_problem(
        [Vehicle("v", 0, 0)],
        [
            service("late", 10, (0, 50), on_board="v"),
            Job("other", soft),
        ],
    )
    solution = solve(problem, SolverParams(time_limit_s=1.0))
    assert _checked_reasons(problem, solution) == [
        ("late", UnassignedReason.WINDOW_IMPOSSIBLE)
    ]


def test_max_transit_changes_the_order() -> None:
    """Delivering B first (on the way) would hold A for 210 s > 100 s."""
    closes = TimeWindow(0, 20)
    a = Job("a", Site(5), pickups=(Site(1, window=closes),), max_transit_s=100)
    b = Job(
        "b", Site(3, window=TimeWindow(200, 400)), pickups=(Site(1, window=closes),)
    )
    solution = solve_quick(line_problem([Vehicle("v", 0, None)], [a, b]))
    visits = {(v.job_id, v.kind): v for v in visits_of(solution, "v")}
    assert visits[("a", "delivery")].start_s - visits[("a", "pickup")].start_s <= 100
    assert not solution.unassigned


def test_hold_time_delays_the_pickup_until_the_window_is_near() -> None:
    """After an early stop the rider reaches the pharmacy at 50 s; the patient is
    home from 500 s, so picking up on arrival would hold the cold job 450 s > 100 s:
    the plan (and its reported times) must wait at the pharmacy instead."""
    cold = Job(
        "cold",
        Site(2, window=TimeWindow(500, 900)),
        pickups=(Site(1),),
        max_transit_s=100,
    )
    early = service("early", 3, (0, 30))
    solution = solve_quick(line_problem([Vehicle("v", 0, None)], [early, cold]))
    visits = {(v.job_id, v.kind): v for v in visits_of(solution, "v")}
    pickup, delivery = visits[("cold", "pickup")], visits[("cold", "delivery")]
    assert not solution.unassigned
    assert delivery.start_s - pickup.start_s <= 100


def test_skills_route_the_job_to_a_qualified_vehicle() -> None:
    """The plain vehicle starts at the patient; only the cold-box one may serve."""
    problem = line_problem(
        [Vehicle("plain", 5, 5), Vehicle("cold", 0, 0, skills=frozenset({"cold_box"}))],
        [service("insulin", 5, skills=frozenset({"cold_box"}))],
    )
    solution = solve_quick(problem)
    assert order(solution, "cold") == [("insulin", "service")]


def test_shift_end_leaves_an_unreachable_job_unassigned() -> None:
    """A 60 s shift cannot cover a 100 s round trip."""
    problem = line_problem([Vehicle("v", 0, 0, end_s=60)], [service("x", 5)])
    solution = solve_quick(problem)
    assert [(u.job_id, u.reason) for u in solution.unassigned] == [
        ("x", UnassignedReason.SHIFT)
    ]


def test_open_route_does_not_pay_the_way_back() -> None:
    """From 4: 4->2->8 is 80 s open; a closed route would cost 120 s."""
    problem = line_problem([Vehicle("v", 4, None)], [service("a", 2), service("b", 8)])
    solution = solve_quick(problem)
    route = solution.route_of("v")
    assert route is not None
    assert route.distance_m == 80
    assert route.end_s == route.visits[-1].departure_s


def test_soft_windows_let_the_urgent_job_be_on_time() -> None:
    """Both cannot be on time; the urgent one is, the other is late, none dropped."""
    soft = TimeWindow(0, 60, hard=False)
    problem = line_problem(
        [Vehicle("v", 0, None)],
        [
            Job("standard", Site(1, window=soft)),
            Job("urgent", Site(2, window=soft), priority=1),
        ],
        positions=[0.0, -5.0, 5.0],
    )
    solution = solve_quick(problem)
    visits = {v.job_id: v for v in visits_of(solution, "v")}
    assert not solution.unassigned
    assert visits["urgent"].late_s == 0
    assert visits["standard"].late_s > 0


def test_vehicle_profiles_use_their_own_travel_times() -> None:
    """The bike is twice as slow: the car (same start) is used for a tight window."""
    problem = line_problem(
        [Vehicle("bike", 0, 0, profile="bike"), Vehicle("car", 0, 0, profile="car")],
        [service("x", 5, (0, 60))],
        profiles={"bike": 20, "car": 10},
    )
    solution = solve_quick(problem)
    assert order(solution, "car") == [("x", "service")]


def test_on_board_load_occupies_capacity() -> None:
    """Full with an on-board parcel, the rider must deliver it before a new pickup."""
    on_board = Job("held", Site(5), on_board="v", demand=(2,))
    new = Job("new", Site(9), pickups=(Site(1),), demand=(1,))
    solution = solve_quick(
        line_problem([Vehicle("v", 0, None, capacity=(2,))], [on_board, new])
    )
    assert order(solution, "v") == [
        ("held", "delivery"),
        ("new", "pickup"),
        ("new", "delivery"),
    ]


def _over_capacity_problem(
    lock: tuple[str, LockKind] | None = None,
) -> RoutingProblem:
    """Rider ``v`` carries 4 units in a box of 2 (loaded by hand); ``w`` is free."""
    return line_problem(
        [
            Vehicle("v", 0, None, capacity=(2,), locked_next=lock),
            Vehicle("w", 6, None, capacity=(2,)),
        ],
        [
            Job("a", Site(2), on_board="v", demand=(2,)),
            Job("b", Site(3), on_board="v", demand=(2,)),
            Job("new", Site(4), pickups=(Site(1),), demand=(1,)),
        ],
    )


def test_a_rider_above_capacity_keeps_its_items_and_takes_nothing_new() -> None:
    """The engine clamped the start load to the capacity: it dropped an item that
    is physically in the box and loaded the rider to 3 of 2 with the new pickup,
    which lies on its way. Now both items are delivered and the new job goes to
    the other rider."""
    problem = _over_capacity_problem()
    solution = solve_quick(problem)
    assert _checked_reasons(problem, solution) == []
    assert order(solution, "v") == [("a", "delivery"), ("b", "delivery")]
    assert order(solution, "w") == [("new", "pickup"), ("new", "delivery")]


def test_a_re_plan_moves_a_new_job_off_a_rider_now_above_capacity() -> None:
    """The previous plan gave the pickup to ``v`` before its box was overfilled."""
    problem = _over_capacity_problem()
    previous = solve_quick(
        line_problem(
            [
                Vehicle("v", 0, None, capacity=(2,)),
                Vehicle("w", 6, None, capacity=(2,)),
            ],
            [Job("new", Site(4), pickups=(Site(1),), demand=(1,))],
        )
    )
    assert order(previous, "v")
    solution = solve(problem, SolverParams(time_limit_s=0.5), initial=previous)
    assert _checked_reasons(problem, solution) == []
    assert order(solution, "w") == [("new", "pickup"), ("new", "delivery")]


def test_a_lock_on_a_new_pickup_is_released_when_the_rider_is_above_capacity() -> None:
    """Released, the pickup goes to the rider who can take it."""
    problem = _over_capacity_problem(lock=("new", "pickup"))
    solution = solve_quick(problem)
    assert _checked_reasons(problem, solution) == []
    assert [(r.vehicle_id, r.job_id) for r in solution.released_locks] == [("v", "new")]
    assert order(solution, "v") == [("a", "delivery"), ("b", "delivery")]
    assert order(solution, "w") == [("new", "pickup"), ("new", "delivery")]


def test_a_new_job_only_riders_above_capacity_could_take_says_capacity() -> None:
    """The one rider carries 3 in a box of 2: the new order is reported, not given."""
    problem = line_problem(
        [Vehicle("v", 0, None, capacity=(2,))],
        [
            Job("a", Site(2), on_board="v", demand=(3,)),
            Job("new", Site(4), pickups=(Site(1),), demand=(1,)),
        ],
    )
    solution = solve_quick(problem)
    assert _checked_reasons(problem, solution) == [("new", UnassignedReason.CAPACITY)]


def test_a_missed_window_carries_the_deadline_and_the_earliest_arrival() -> None:
    """The reason compares two numbers; the job's record keeps both (problem
    seconds), so a caller can word them in its own clock."""
    problem = line_problem([Vehicle("v", 0, 0)], [service("late", 9, (0, 30))])
    [unassigned] = solve_quick(problem).unassigned
    assert unassigned.reason is UnassignedReason.WINDOW_IMPOSSIBLE
    assert unassigned.limit_s == 30
    assert unassigned.needed_s is not None
    assert unassigned.needed_s > 30
    assert f"closes at 30 s, earliest arrival {unassigned.needed_s} s" in (
        unassigned.detail
    )
