"""Large problems: a greedy first plan when the engine cannot be built in time."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from routing import (
    Job,
    RoutingProblem,
    Site,
    SolverParams,
    TimeWindow,
    Vehicle,
    check,
    solve,
)


def _city(orders: int = 200, riders: int = 20, pharmacies: int = 20) -> RoutingProblem:
    rng = np.random.default_rng(7)
    points = rng.uniform(0, 10_000, (pharmacies + orders + riders, 2))
    metres = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    distances = metres.astype(np.int64)
    jobs = tuple(
        Job(
            f"o{i}",
            Site(
                pharmacies + i,
                service_s=120,
                window=TimeWindow(0, 4 * 3600, hard=i % 2 == 0),
            ),
            pickups=tuple(
                Site(int(p), service_s=60)
                for p in rng.choice(pharmacies, 2, replace=False)
            ),
            demand=(1,),
            max_transit_s=3600 if i % 3 == 0 else None,
        )
        for i in range(orders)
    )
    vehicles = tuple(
        Vehicle(f"r{k}", pharmacies + orders + k, None, capacity=(4,), end_s=6 * 3600)
        for k in range(riders)
    )
    return RoutingProblem({"default": distances // 5}, vehicles, jobs, distances)


def test_short_limit_on_a_large_problem_returns_a_feasible_greedy_plan() -> None:
    """840 nodes, 0.3 s: no time to build the engine; the greedy plan is checked."""
    problem = _city()
    solution = solve(problem, SolverParams(time_limit_s=0.3))
    assert check(problem, solution) == []
    assert not solution.unassigned
    assert solution.cost > 0


def test_large_replan_serves_new_orders_and_beats_or_ties_a_cold_start() -> None:
    """Warm re-plan with new orders, stopped at its first plan: all served, checked,
    and no worse than the cold re-plan stopped the same way."""
    problem = _city()
    first = solve(problem, SolverParams(time_limit_s=0.3))
    extra = (
        Job("late-order", Site(25), pickups=(Site(3),), demand=(1,)),
        Job(
            "urgent",
            Site(40, window=TimeWindow(0, 2400, hard=False)),
            pickups=(Site(5),),
            priority=1,
        ),
    )
    changed = RoutingProblem(
        problem.durations, problem.vehicles, (*problem.jobs, *extra), problem.distances
    )
    params = SolverParams(time_limit_s=0.3, solution_limit=1)
    warm, cold = solve(changed, params, first), solve(changed, params)
    assert check(changed, warm) == []
    assert not warm.unassigned
    assert warm.cost <= cold.cost


def test_large_first_plan_keeps_a_locked_next_stop() -> None:
    """Without time for the engine, the constructed plan still starts with the lock."""
    problem = _city()
    extra = Job("locked", Site(30), pickups=(Site(2),), demand=(1,))
    vehicles = (
        replace(problem.vehicles[0], locked_next=("locked", "pickup")),
        *problem.vehicles[1:],
    )
    locked = RoutingProblem(
        problem.durations, vehicles, (*problem.jobs, extra), problem.distances
    )
    solution = solve(locked, SolverParams(time_limit_s=0.3))
    assert check(locked, solution) == []
    route = solution.route_of(vehicles[0].id)
    assert route is not None
    assert (route.visits[0].job_id, route.visits[0].kind) == ("locked", "pickup")
