"""``solve()``: the routing façade (PyVRP ``solve`` shape); it only wires.

One run lays the problem out and searches the whole of it with OR-Tools, warm-started
from a previous plan when given (``search.whole_problem``); on a large depot-based
VRPTW it then re-plans groups of neighbouring routes (``search.decomposition``), or,
fewest vehicles first, eliminates routes one at a time (``search.elimination``);
every dropped job comes back with its reason. ``num_workers > 1`` runs diversified
searches in separate processes, the best plan winning (``search.portfolio``), except
that on a decomposable problem the workers then re-plan the best plan's groups
together (from 150 jobs the first plan is instead one angular sector per worker:
``search.sectors``). Locks no vehicle can keep are released first (``preflight``).
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import replace

from routing.layout import build_layout
from routing.model import RoutingProblem, RoutingSolution
from routing.params import SolverParams
from routing.preflight import release_impossible_locks, warn_over_capacity
from routing.search.decomposition import by_parts, improve_plan, whole_share
from routing.search.elimination import MAIN_SHARE, eliminate_routes
from routing.search.portfolio import best_of, best_whole, worker_params
from routing.search.run import Run, to_solution
from routing.search.sectors import by_sectors, first_plan_by_sectors
from routing.search.whole_problem import search_whole


def solve(
    problem: RoutingProblem,
    params: SolverParams | None = None,
    initial: RoutingSolution | None = None,
) -> RoutingSolution:
    """Plan routes for ``problem`` within ``params.time_limit_s`` seconds."""
    params = params or SolverParams()
    started = time.monotonic()
    warn_over_capacity(problem)
    problem, released = release_impossible_locks(problem)
    if params.num_workers == 1:
        solution = _solve_one(problem, params, initial, started)
    else:
        configs = [worker_params(params, i) for i in range(params.num_workers)]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(len(configs) - 1, mp_context=context) as pool:
            if by_parts(problem, params):
                solution = _solve_together(problem, configs, initial, started, pool)
            else:
                solution = best_of(
                    _solve_one, problem, params, configs, initial, started, pool
                )
    return replace(
        solution, released_locks=released, solve_time_s=time.monotonic() - started
    )


def _solve_one(
    problem: RoutingProblem,
    params: SolverParams,
    initial: RoutingSolution | None,
    started: float,
) -> RoutingSolution:
    """One worker: the whole problem, then groups of routes or fewer vehicles."""
    run = Run(
        problem,
        params,
        build_layout(problem, seed=params.seed),
        started + params.time_limit_s,
    )
    share = MAIN_SHARE if params.minimise_vehicles and not params.plain else 1.0
    parts = by_parts(problem, params)
    if parts:
        share = whole_share(problem)
    result, searched = search_whole(run, initial, share)
    if not searched:
        return to_solution(run, result, 0)
    if parts:
        result = improve_plan(run, result)
    eliminated = 0
    if params.minimise_vehicles and not params.plain:
        result, eliminated = eliminate_routes(run, result)
    return to_solution(run, result, eliminated)


def _solve_together(
    problem: RoutingProblem,
    configs: list[SolverParams],
    initial: RoutingSolution | None,
    started: float,
    pool: Executor,
) -> RoutingSolution:
    """Several workers on one decomposable problem.

    Each worker searches the whole problem (its own seed and first solution), or
    from ``search.sectors.SECTORS_FROM_JOBS`` jobs plans one angular sector of
    them, for the first share of the time; the best plan (or the sectors' routes
    together) is then re-planned by groups of routes, one group per worker at a
    time. Group search is where the time pays (benchmarks/README.md: two cores on
    disjoint groups beat the best of two independent runs).
    """
    params = configs[0]
    whole_until = started + params.time_limit_s * whole_share(problem)
    layout = build_layout(problem, seed=params.seed)
    run = Run(problem, params, layout, started + params.time_limit_s)
    if initial is None and by_sectors(problem, len(configs)):
        result, searched = first_plan_by_sectors(run, len(configs), whole_until, pool)
    else:
        result, searched = best_whole(run, configs, initial, whole_until, pool)
    if searched:
        result = improve_plan(run, result, pool, len(configs))
    return to_solution(run, result, 0)
