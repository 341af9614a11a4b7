"""``solve()``: the routing façade (PyVRP ``solve`` shape).

One run lays the problem out, searches with OR-Tools (warm-started from a previous
plan when given), optionally eliminates routes one at a time (fewest vehicles first),
and explains every dropped job. ``num_workers > 1`` runs diversified searches in
separate processes (different seeds and first-solution heuristics); the best wins.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

from routing.construction import earliest_starts, greedy_routes
from routing.diagnosis import diagnose
from routing.errors import NoSolutionFound
from routing.extract import build_routes
from routing.layout import Layout, build_layout
from routing.model import RoutingProblem, RoutingSolution, Unassigned
from routing.ortools_backend import EngineRequest, EngineResult, run_engine
from routing.params import FirstSolution, SolverParams
from routing.penalties import base_drop_penalty, drop_penalty, lateness_cost_per_s
from routing.warm_start import initial_routes

logger = logging.getLogger(__name__)

_DIVERSE_FIRST = (
    FirstSolution.PARALLEL_CHEAPEST_INSERTION,
    FirstSolution.SAVINGS,
    FirstSolution.LOCAL_CHEAPEST_INSERTION,
    FirstSolution.PATH_CHEAPEST_ARC,
)
_MAIN_SHARE = 0.5
"""Share of the time spent on the main search before eliminating routes."""
_ELIMINATION_SLICE = 0.12
_GREEDY_ABOVE_NODES = 500
_MIN_SEARCH_S = 0.5
"""Above this many nodes the first plan comes from ``construction`` (much faster)."""
"""Share of the time given to each attempt at removing one route."""


def solve(
    problem: RoutingProblem,
    params: SolverParams | None = None,
    initial: RoutingSolution | None = None,
) -> RoutingSolution:
    """Plan routes for ``problem`` within ``params.time_limit_s`` seconds."""
    params = params or SolverParams()
    started = time.monotonic()
    if params.num_workers == 1:
        solution = _solve_one(problem, params, initial, started)
    else:
        configs = [_worker_params(params, i) for i in range(params.num_workers)]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(len(configs), mp_context=context) as pool:
            futures = [
                pool.submit(_solve_one, problem, p, initial, started) for p in configs
            ]
            results = [f.result() for f in futures]
        solution = min(results, key=lambda s: _rank(s, params))
    return replace(solution, solve_time_s=time.monotonic() - started)


def _worker_params(params: SolverParams, worker: int) -> SolverParams:
    if worker == 0:
        return replace(params, num_workers=1)
    first = _DIVERSE_FIRST[worker % len(_DIVERSE_FIRST)]
    return replace(
        params, num_workers=1, seed=params.seed + worker, first_solution=first
    )


def _rank(solution: RoutingSolution, params: SolverParams) -> tuple[int, int, int]:
    vehicles = solution.vehicles_used if params.minimise_vehicles else 0
    return (len(solution.unassigned), vehicles, solution.cost)


@dataclass
class _Run:
    """Mutable state of one single-process run."""

    problem: RoutingProblem
    params: SolverParams
    layout: Layout
    deadline: float

    def remaining_s(self) -> float:
        return self.deadline - time.monotonic()

    def engine(self, request: EngineRequest) -> EngineResult:
        return run_engine(self.problem, self.layout, self.params, request)


def _solve_one(
    problem: RoutingProblem,
    params: SolverParams,
    initial: RoutingSolution | None,
    started: float | None,
) -> RoutingSolution:
    started = started if started is not None else time.monotonic()
    layout = build_layout(problem, seed=params.seed)
    run = _Run(problem, params, layout, started + params.time_limit_s)
    warm = initial_routes(problem, layout, initial) if initial is not None else None
    fallback: EngineResult | None = None
    if len(layout.nodes) > _GREEDY_ABOVE_NODES:
        warm = greedy_routes(problem, layout, seed=warm)
        fallback = _greedy_result(problem, layout, warm, params)
        if run.remaining_s() < _build_estimate_s(problem, layout) + _MIN_SEARCH_S:
            logger.info("no time to build the engine model; returning the greedy plan")
            return _to_solution(run, fallback, 0)
    share = _MAIN_SHARE if params.minimise_vehicles and not params.plain else 1.0
    budget = max(0.05, run.remaining_s() * share)
    try:
        result = run.engine(EngineRequest(time_limit_s=budget, initial=warm))
    except NoSolutionFound:
        if fallback is None:
            raise
        result = fallback
    if fallback is not None and _served(fallback) > _served(result):
        result = fallback
    eliminated = 0
    if params.minimise_vehicles and not params.plain:
        result, eliminated = _eliminate_routes(run, result)
    return _to_solution(run, result, eliminated)


def _build_estimate_s(problem: RoutingProblem, layout: Layout) -> float:
    """Seconds to hand the matrices to OR-Tools (measured: ~0.2 us per entry)."""
    matrices = len({v.profile for v in problem.vehicles}) + 1
    return 2.5e-7 * len(layout.nodes) ** 2 * matrices


def _greedy_result(
    problem: RoutingProblem,
    layout: Layout,
    routes: list[list[int]],
    params: SolverParams,
) -> EngineResult:
    starts, ends = earliest_starts(problem, layout, routes)
    return EngineResult(
        sequences=tuple(tuple(r) for r in routes),
        start_s=starts,
        route_start_s=tuple(v.start_s for v in problem.vehicles),
        route_end_s=ends,
        objective=_plan_cost(problem, layout, routes, starts, params),
        status="degraded",
        warm_started=False,
    )


def _plan_cost(
    problem: RoutingProblem,
    layout: Layout,
    routes: list[list[int]],
    starts: dict[int, int],
    params: SolverParams,
) -> int:
    """The engine's objective for a plan built outside it (arcs, fixed, lateness)."""
    base = base_drop_penalty(problem, params)
    total = 0
    for vehicle, nodes in zip(problem.vehicles, routes, strict=True):
        if not nodes:
            continue
        total += vehicle.fixed_cost
        here = vehicle.start
        for node in nodes:
            info = layout.nodes[node]
            site = info.site
            if site is None:
                continue
            total += problem.cost_of_arc(vehicle, here, site.location)
            if site.window is not None and not site.window.hard:
                late = max(0, starts[node] - site.window.end_s)
                total += late * lateness_cost_per_s(
                    problem.jobs[info.job], SolverParams()
                )
            here = site.location
        if vehicle.end is not None:
            total += problem.cost_of_arc(vehicle, here, vehicle.end)
    served = {layout.nodes[n].job for r in routes for n in r}
    for j, job in enumerate(problem.jobs):
        if j not in served:
            total += drop_penalty(job, base, params)
    return total


def _served(result: EngineResult) -> int:
    return sum(len(s) for s in result.sequences)


def _eliminate_routes(run: _Run, best: EngineResult) -> tuple[EngineResult, int]:
    """Try emptying the smallest routes one by one; keep a try if nothing drops."""
    eliminated = 0
    tried: set[int] = set()
    slice_s = max(0.2, run.params.time_limit_s * _ELIMINATION_SLICE)
    while run.remaining_s() > 0.1:
        empty = {v for v, s in enumerate(best.sequences) if not s}
        candidates = [v for v, s in enumerate(best.sequences) if s and v not in tried]
        if not candidates:
            break
        victim = min(candidates, key=lambda v: (len(best.sequences[v]), v))
        tried.add(victim)
        routes = [list(s) if v != victim else [] for v, s in enumerate(best.sequences)]
        request = EngineRequest(
            time_limit_s=min(slice_s, run.remaining_s()),
            initial=routes,
            unused_vehicles=frozenset({*empty, victim}),
        )
        attempt = run.engine(request)
        if _served(attempt) >= _served(best):
            best, eliminated, tried = attempt, eliminated + 1, set()
            logger.debug("route of vehicle %d eliminated", victim)
    if run.remaining_s() > 0.1:
        polish = EngineRequest(
            time_limit_s=run.remaining_s(),
            initial=[list(s) for s in best.sequences],
            unused_vehicles=frozenset(v for v, s in enumerate(best.sequences) if not s),
        )
        attempt = run.engine(polish)
        if _served(attempt) >= _served(best) and attempt.objective <= best.objective:
            best = attempt
    return best, eliminated


def _to_solution(run: _Run, result: EngineResult, eliminated: int) -> RoutingSolution:
    problem, layout = run.problem, run.layout
    routes = build_routes(
        problem, layout, result.sequences, result.start_s, result.route_start_s
    )
    served = {layout.nodes[n].job for s in result.sequences for n in s}
    unassigned = []
    for j, job in enumerate(problem.jobs):
        if j not in served:
            reason, detail = diagnose(problem, job)
            unassigned.append(Unassigned(job.id, reason, detail))
    status = result.status
    return RoutingSolution(
        routes=routes,
        unassigned=tuple(unassigned),
        cost=result.objective,
        status=status,  # type: ignore[arg-type]
        stats={
            "warm_started": float(result.warm_started),
            "routes_eliminated": float(eliminated),
        },
    )
