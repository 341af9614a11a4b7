"""Route-based decomposition: which problems split, and that a split never loses."""

from __future__ import annotations

import multiprocessing
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np

from routing import (
    Metaheuristic,
    RoutingSolution,
    Site,
    SolverParams,
    TimeWindow,
    check,
    solve,
)
from routing.construction import greedy_routes
from routing.instances import Instance
from routing.layout import Layout, build_layout
from routing.ortools_backend import EngineResult
from routing.search.decomposition import (
    GROUP_ROUTES,
    Groups,
    _disjoint_groups,
    _nearest_routes,
    decomposable,
    improve_by_parts,
    improve_plan,
    independent_routes,
)
from routing.search.run import Run, to_solution

from .instance_files import c101, homberger, li_lim, route_cost

_DESCENT = SolverParams(metaheuristic=Metaheuristic.GREEDY_DESCENT)
"""Searches that stop at their local optimum: the same on any host, unless their
time limit is reached first."""


def _greedy_plan(instance: Instance) -> RoutingSolution:
    """The greedy construction as a plan: every job served, hard rules kept."""
    problem = instance.problem
    layout = build_layout(problem)
    routes = greedy_routes(problem, layout)
    cost = sum(
        route_cost(instance, [layout.nodes[n].location for n in route])
        for route in routes
    )
    result = EngineResult.of_routes(problem, layout, routes, cost, "feasible", False)
    return to_solution(Run(problem, _DESCENT, layout, 0.0), result, 0)


def _four_long_routes(layout: Layout) -> list[list[int]]:
    """Four 30-stop routes (R2-like: 50 stops would make a group of two)."""
    nodes = [layout.jobs[j].delivery for j in range(120)]
    return [nodes[k : k + 30] for k in range(0, 120, 30)]


def test_only_depot_based_vrptw_of_enough_jobs_splits() -> None:
    """200-job VRPTW splits; 99 jobs, pickups, soft windows or two depots do not."""
    problem = homberger().problem
    assert decomposable(problem)
    assert not decomposable(replace(problem, jobs=problem.jobs[:99]))
    first = problem.jobs[0]
    with_pickup = replace(first, pickups=(Site(0),))
    assert not decomposable(replace(problem, jobs=(with_pickup, *problem.jobs[1:])))
    window = first.delivery.window
    assert window is not None
    soft = replace(
        first,
        delivery=replace(
            first.delivery, window=TimeWindow(window.start_s, window.end_s, hard=False)
        ),
    )
    assert not decomposable(replace(problem, jobs=(soft, *problem.jobs[1:])))
    other_depot = replace(problem.vehicles[0], start=1, end=1)
    assert not decomposable(
        replace(problem, vehicles=(other_depot, *problem.vehicles[1:]))
    )


def test_re_planning_groups_keeps_every_job_and_shortens_a_greedy_plan(
    group_deadline: Callable[[float], float],
) -> None:
    """From the greedy construction, two seconds of groups: same jobs, less cost.

    Each group is searched to its local optimum (``group_deadline``), so the first
    one shortens the plan on any host.
    """
    instance = homberger()
    problem = instance.problem
    layout = build_layout(problem)
    greedy = greedy_routes(problem, layout)
    parts = improve_by_parts(problem, layout, _DESCENT, greedy, group_deadline(2.0))
    jobs = sorted(n for route in parts.routes for n in route)
    assert jobs == sorted(n for route in greedy for n in route)
    assert len(jobs) == len(problem.jobs)
    assert parts.accepted >= 1
    assert parts.cost_change < 0

    def total(routes: list[list[int]]) -> int:
        return sum(
            route_cost(instance, [layout.nodes[n].location for n in route])
            for route in routes
        )

    assert total(parts.routes) == total(greedy) + parts.cost_change


def test_li_lim_routes_are_independent_but_not_split_for_distance() -> None:
    """Li & Lim: one pickup site per job, one depot: elimination by groups applies."""
    problem = li_lim().problem
    assert independent_routes(problem)
    assert not decomposable(problem)


def test_a_large_vrptw_solve_with_the_split_phase_is_feasible() -> None:
    """The whole path: 200 customers, 3 s, one worker; the checker finds nothing.

    Warm-started from a plan serving every job: how many jobs a cold search finds
    in its 0.6 s depends on the host's speed (a loaded one left 11 out), and no
    phase may lose a job it was given.
    """
    instance = homberger()
    initial = _greedy_plan(instance)
    solution = solve(instance.problem, SolverParams(time_limit_s=3.0), initial)
    assert check(instance.problem, solution) == []
    assert not solution.unassigned
    assert solution.cost == sum(route.distance_m for route in solution.routes)


def test_jobs_left_out_by_the_whole_search_are_searched_for_not_split() -> None:
    """A plan missing jobs goes back to the whole-problem search, which serves them.

    (Groups only re-plan served jobs, so splitting would leave them out for good.)
    On C101 (100 customers, decomposable too) the search by greedy descent stops
    at its local optimum, a few tenths of a second here, long before the deadline.
    """
    problem = c101().problem
    layout = build_layout(problem)
    greedy = greedy_routes(problem, layout)
    left_out = [route.pop() for route in greedy if route][:3]
    start = EngineResult(
        sequences=tuple(tuple(route) for route in greedy),
        start_s={},
        route_start_s=(),
        route_end_s=(),
        objective=2**40,
        status="degraded",
        warm_started=False,
    )
    run = Run(problem, _DESCENT, layout, time.monotonic() + 60.0)
    result = improve_plan(run, start)
    served = {n for sequence in result.sequences for n in sequence}
    assert set(left_out) <= served


def test_a_group_of_long_routes_still_holds_three_routes() -> None:
    """Four 30-stop routes: 50 stops would be two routes; a group takes three."""
    problem = homberger().problem
    layout = build_layout(problem)
    routes = _four_long_routes(layout)
    locations = np.array([n.location for n in layout.nodes], dtype=np.int64)
    matrix = problem.durations["default"]
    assert len(_nearest_routes(routes, 0, locations, matrix, 50)) == 2
    group = _nearest_routes(routes, 0, locations, matrix, 50, GROUP_ROUTES)
    assert len(group) == 3
    assert group[0] == 0


def test_groups_solved_together_share_no_route_nor_spare_vehicle() -> None:
    """Two groups at a time (two cores): disjoint routes, one empty vehicle each."""
    problem = homberger().problem
    layout = build_layout(problem)
    parts = Groups(problem, layout, SolverParams(), greedy_routes(problem, layout))
    queue: list[int] = []
    rng = random.Random(0)
    for _ in range(10):
        batch = _disjoint_groups(parts, queue, rng, 2)
        assert len(batch) == 2
        (first, first_vehicles), (second, second_vehicles) = batch
        assert not set(first) & set(second)
        assert not set(first_vehicles) & set(second_vehicles)
        for group, vehicles in batch:
            (spare,) = set(vehicles) - set(group)
            assert not parts.routes[spare]
            assert all(parts.routes[v] for v in group)


def test_long_routes_too_few_for_two_groups_search_one_group_twice() -> None:
    """Four 30-stop routes: a second full group cannot be formed, so the second
    worker searches the first group too (and only one result can be kept)."""
    problem = homberger().problem
    layout = build_layout(problem)
    routes = _four_long_routes(layout)
    routes += [[] for _ in range(len(problem.vehicles) - len(routes))]
    parts = Groups(problem, layout, SolverParams(), routes)
    batch = _disjoint_groups(parts, [], random.Random(0), 2)
    assert len(batch) == 2
    assert batch[0] == batch[1]
    assert len(batch[0][0]) == GROUP_ROUTES


def test_groups_re_planned_in_a_pool_keep_every_job_and_shorten_the_plan(
    group_deadline: Callable[[float], float],
) -> None:
    """Two groups at a time, one in a spawned process: same jobs, exact cost
    (both groups of the first pair, searched to their local optimum, shorten it)."""
    instance = homberger()
    problem = instance.problem
    layout = build_layout(problem)
    greedy = greedy_routes(problem, layout)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        parts = improve_by_parts(
            problem, layout, _DESCENT, greedy, group_deadline(3.0), pool, 2
        )
    assert sorted(n for r in parts.routes for n in r) == sorted(
        n for r in greedy for n in r
    )
    assert parts.accepted >= 2
    costs = [
        route_cost(instance, [layout.nodes[n].location for n in route])
        for routes in (parts.routes, greedy)
        for route in routes
    ]
    assert sum(costs[: len(parts.routes)]) == sum(costs[len(parts.routes) :]) + (
        parts.cost_change
    )


def test_two_workers_on_a_large_vrptw_give_a_feasible_plan() -> None:
    """Whole-problem search on both workers, then groups two at a time (from a
    previous plan: a cold start is planned by sectors, tested apart, and a
    cold search may not find every job in time on a slow host)."""
    instance = homberger()
    initial = _greedy_plan(instance)
    params = SolverParams(time_limit_s=4.0, num_workers=2)
    solution = solve(instance.problem, params, initial)
    assert check(instance.problem, solution) == []
    assert not solution.unassigned
    assert solution.cost == sum(route.distance_m for route in solution.routes)
