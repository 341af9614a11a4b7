"""The independent checker: accepts published BKS routes, catches broken plans."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from routing import (
    Job,
    ReleasedLock,
    Route,
    RoutingProblem,
    RoutingSolution,
    Site,
    TimeWindow,
    Unassigned,
    UnassignedReason,
    Vehicle,
    Visit,
    check,
)
from routing.instances import Instance, parse_li_lim
from routing.model import VisitKind
from routing.solution_files import read_routes, schedule_routes

from .builders import line_problem, service

DATA = Path(__file__).parents[2] / "data" / "routing"
BKS = {"lc101": (10, 828.9369), "lr104": (9, 1013.3893), "lrc206": (3, 1159.0332)}


def _instance(name: str) -> Instance:
    return parse_li_lim((DATA / f"{name}.txt").read_text(), name)


def _bks(name: str) -> RoutingSolution:
    return schedule_routes(
        _instance(name), read_routes((DATA / f"{name}.sol.txt").read_text())
    )


@pytest.mark.parametrize("name", sorted(BKS))
def test_published_li_lim_solutions_pass(name: str) -> None:
    """SINTEF best-known routes are feasible, with the published vehicles and cost."""
    instance, solution = _instance(name), _bks(name)
    assert check(instance.problem, solution) == []
    vehicles, distance = BKS[name]
    assert solution.vehicles_used == vehicles
    assert instance.true_cost(solution) == pytest.approx(distance, abs=1e-3)


def _codes(problem: RoutingProblem, solution: RoutingSolution) -> set[str]:
    return {v.code for v in check(problem, solution)}


def test_reversed_route_breaks_pickup_order() -> None:
    """Delivering before picking up is caught."""
    solution = _bks("lc101")
    first = solution.routes[0]
    reversed_route = schedule_routes(
        _instance("lc101"), [[v.location for v in reversed(first.visits)]]
    ).routes[0]
    broken = replace(solution, routes=(reversed_route, *solution.routes[1:]))
    assert "pickup_order" in _codes(_instance("lc101").problem, broken)


def test_missing_route_breaks_served_once() -> None:
    """Jobs neither routed nor reported unassigned are caught."""
    solution = _bks("lr104")
    broken = replace(solution, routes=solution.routes[1:])
    assert "served_once" in _codes(_instance("lr104").problem, broken)


def test_job_both_routed_and_unassigned_is_caught() -> None:
    """Serving a job and also reporting it unassigned is a double count."""
    solution = _bks("lc101")
    job_id = solution.routes[0].visits[0].job_id
    extra = Unassigned(job_id, UnassignedReason.CAPACITY, "")
    assert "served_once" in _codes(
        _instance("lc101").problem, replace(solution, unassigned=(extra,))
    )


def test_faked_arrival_time_is_caught() -> None:
    """A visit time that does not follow the matrix is caught."""
    solution = _bks("lrc206")
    route = solution.routes[0]
    visit = replace(route.visits[1], arrival_s=route.visits[1].arrival_s - 50)
    broken_route = replace(route, visits=(route.visits[0], visit, *route.visits[2:]))
    broken = replace(solution, routes=(broken_route, *solution.routes[1:]))
    assert "travel_time" in _codes(_instance("lrc206").problem, broken)


def _route(
    vehicle: Vehicle, problem: RoutingProblem, stops: list[tuple[str, VisitKind, int]]
) -> Route:
    """A route with earliest times, computed here (independently of the engine)."""
    jobs = {job.id: job for job in problem.jobs}
    here, now, visits = vehicle.start, vehicle.start_s, []
    for job_id, kind, location in stops:
        job = jobs[job_id]
        sites = [*job.pickups, job.delivery]
        site = next(s for s in sites if s.location == location)
        arrival = now + problem.travel_s(vehicle, here, location)
        start = max(arrival, site.window.start_s if site.window else 0)
        late = (
            max(0, start - site.window.end_s)
            if site.window and not site.window.hard
            else 0
        )
        visits.append(
            Visit(
                job_id,
                kind,
                location,
                site.ref,
                arrival,
                start,
                start + site.service_s,
                late,
            )
        )
        here, now = location, start + site.service_s
    return Route(
        vehicle.id, tuple(visits), now - vehicle.start_s, 0, vehicle.start_s, now
    )


def _one_route(
    problem: RoutingProblem, stops: list[tuple[str, VisitKind, int]], vehicle: int = 0
) -> RoutingSolution:
    return RoutingSolution(routes=(_route(problem.vehicles[vehicle], problem, stops),))


def test_capacity_overload_is_caught() -> None:
    """Two parcels in a one-slot box."""
    problem = line_problem(
        [Vehicle("v", 0, None, capacity=(1,))],
        [service("a", 1, demand=(1,)), service("b", 2, demand=(1,))],
    )
    solution = _one_route(problem, [("a", "service", 1), ("b", "service", 2)])
    assert _codes(problem, solution) == {"capacity"}


def test_a_vehicle_above_capacity_may_unload_but_not_load() -> None:
    """Three units on board a two-unit box are a fact, not a plan fault: the
    deliveries that bring the load down pass; a pickup while it is still above
    capacity is caught, one after the load came back within it passes."""
    problem = line_problem(
        [Vehicle("v", 0, None, capacity=(2,))],
        [
            Job("held", Site(1), on_board="v", demand=(2,)),
            Job("also", Site(2), on_board="v", demand=(1,)),
            Job("new", Site(4), pickups=(Site(3),), demand=(1,)),
        ],
    )
    unload_first = _one_route(
        problem,
        [("held", "delivery", 1), ("new", "pickup", 3), ("new", "delivery", 4)],
    )
    assert _codes(problem, unload_first) == {"served_once"}  # "also" left out
    load_first = _one_route(
        problem,
        [("new", "pickup", 3), ("held", "delivery", 1), ("new", "delivery", 4)],
    )
    assert _codes(problem, load_first) == {"capacity", "served_once"}


def test_hard_window_miss_is_caught() -> None:
    """Serving after a hard window closes is caught."""
    problem = line_problem([Vehicle("v", 0, None)], [service("a", 5, (0, 20))])
    assert _codes(problem, _one_route(problem, [("a", "service", 5)])) == {"window"}


def test_hold_time_overrun_is_caught() -> None:
    """A parcel held longer than its cold-box limit is caught."""
    job = Job("a", Site(9), pickups=(Site(1),), max_transit_s=30)
    problem = line_problem([Vehicle("v", 0, None)], [job])
    solution = _one_route(problem, [("a", "pickup", 1), ("a", "delivery", 9)])
    assert _codes(problem, solution) == {"hold_time"}


def test_missing_skill_is_caught() -> None:
    """A cold-chain job on a vehicle without a cold box is caught."""
    problem = line_problem(
        [Vehicle("v", 0, None)], [service("a", 1, skills=frozenset({"cold"}))]
    )
    assert _codes(problem, _one_route(problem, [("a", "service", 1)])) == {"skills"}


def test_on_board_job_on_another_vehicle_is_caught() -> None:
    """An on-board parcel cannot jump to another rider."""
    problem = line_problem(
        [Vehicle("a", 0, None), Vehicle("b", 0, None)], [service("x", 1, on_board="a")]
    )
    assert _codes(problem, _one_route(problem, [("x", "delivery", 1)], vehicle=1)) == {
        "on_board"
    }


def test_locked_next_not_first_is_caught() -> None:
    """The locked stop must be the first visit."""
    problem = line_problem(
        [Vehicle("v", 0, None, locked_next=("b", "delivery"))],
        [service("a", 1), service("b", 2, on_board="v")],
    )
    solution = _one_route(problem, [("a", "service", 1), ("b", "delivery", 2)])
    assert _codes(problem, solution) == {"locked_next"}


def test_a_lock_is_released_only_by_saying_so() -> None:
    """A locked job the plan reports unassigned, or a lock the plan declares
    released, frees the vehicle's first stop; a locked job simply left out is
    still caught."""
    problem = line_problem(
        [Vehicle("v", 0, None, locked_next=("b", "pickup"))],
        [service("a", 1), Job("b", Site(3), pickups=(Site(2),))],
    )
    left_out = _one_route(problem, [("a", "service", 1)])
    released = replace(
        left_out,
        unassigned=(Unassigned("b", UnassignedReason.HOLD_TIME, "held too long"),),
    )
    assert "locked_next" in _codes(problem, left_out)
    assert _codes(problem, released) == set()
    declared = replace(released, released_locks=(ReleasedLock("v", "b", "why"),))
    assert _codes(problem, replace(declared, unassigned=())) == {"served_once"}
    other = replace(declared, released_locks=(ReleasedLock("w", "b", "why"),))
    assert "locked_next" in _codes(problem, replace(other, unassigned=()))


def test_shift_end_overrun_is_caught() -> None:
    """Returning after the shift ends is caught."""
    problem = line_problem([Vehicle("v", 0, 0, end_s=50)], [service("a", 4)])
    assert _codes(problem, _one_route(problem, [("a", "service", 4)])) == {"shift_end"}


def test_pickup_at_a_site_that_is_not_a_candidate_is_caught() -> None:
    """The pickup must be at one of the job's candidate pharmacies."""
    job = Job("a", Site(5), pickups=(Site(1), Site(2)))
    problem = line_problem([Vehicle("v", 0, None)], [job])
    solution = _one_route(problem, [("a", "pickup", 1), ("a", "delivery", 5)])
    route = solution.routes[0]
    moved = replace(route.visits[0], location=3)
    broken = replace(
        solution, routes=(replace(route, visits=(moved, route.visits[1])),)
    )
    assert "wrong_site" in _codes(problem, broken)


def test_soft_window_lateness_is_allowed_but_must_be_reported() -> None:
    """Late at a soft window is fine when ``late_s`` tells the truth."""
    job = Job("a", Site(5, window=TimeWindow(0, 20, hard=False)))
    problem = line_problem([Vehicle("v", 0, None)], [job])
    solution = _one_route(problem, [("a", "service", 5)])
    assert check(problem, solution) == []
    route = solution.routes[0]
    lying = replace(route, visits=(replace(route.visits[0], late_s=0),))
    assert _codes(problem, replace(solution, routes=(lying,))) == {"lateness"}


def test_two_pharmacies_at_one_location_are_told_apart_by_reference() -> None:
    """Both pharmacies snap to location 2; the plan collects at the second, whose
    counter takes 30 s. Matching by location alone took the first (no service
    time) and flagged a correct departure."""
    job = Job(
        "rx",
        Site(4),
        pickups=(Site(2, ref="quick"), Site(2, service_s=30, ref="slow")),
    )
    problem = line_problem([Vehicle("v", 0, None)], [job])
    fine = _one_route(problem, [("rx", "pickup", 2), ("rx", "delivery", 4)])
    pickup = fine.routes[0].visits[0]
    assert pickup.site_ref == "quick"
    slow = replace(pickup, site_ref="slow", departure_s=pickup.start_s + 30)
    shifted = [
        replace(
            v,
            arrival_s=v.arrival_s + 30,
            start_s=v.start_s + 30,
            departure_s=v.departure_s + 30,
        )
        for v in fine.routes[0].visits[1:]
    ]
    route = replace(fine.routes[0], visits=(slow, *shifted))
    assert _codes(problem, replace(fine, routes=(route,))) == set()
    quick = replace(slow, site_ref="quick")  # the 30 s spent at the quick one
    wrong = replace(route, visits=(quick, *shifted))
    assert _codes(problem, replace(fine, routes=(wrong,))) == {"service_time"}
