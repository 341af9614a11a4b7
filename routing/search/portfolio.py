"""A portfolio of diversified workers: several searches at once, the best plan wins.

Worker ``i`` searches with ``seed + i`` and, from the second on, another
first-solution heuristic (``worker_params``). The first worker runs in the calling
process while the others start up in a process pool. ``best_of`` runs a whole solve
on every worker and keeps the best plan (``rank``: jobs served, then vehicles when
they come first, then cost); ``best_whole`` runs whole-problem searches until a
common deadline, the first phase of a decomposable problem, and reads the best plan
onto the caller's layout (``from_solution``: layouts differ by seed).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import replace

from routing.errors import NoSolutionFound
from routing.layout import build_layout
from routing.model import RoutingProblem, RoutingSolution
from routing.ortools_backend import EngineResult
from routing.params import FirstSolution, SolverParams
from routing.search.run import Run, served, to_solution
from routing.search.whole_problem import search_whole
from routing.warm_start import initial_routes

_DIVERSE_FIRST = (
    FirstSolution.PATH_CHEAPEST_ARC,
    FirstSolution.PARALLEL_CHEAPEST_INSERTION,
    FirstSolution.LOCAL_CHEAPEST_INSERTION,
)
"""First solutions of the extra workers (not SAVINGS: on pickup-and-delivery pairs
and on 200-customer VRPTW it returned no route at all, after its time limit)."""

Solve = Callable[
    [RoutingProblem, SolverParams, RoutingSolution | None, float], RoutingSolution
]
"""A worker's whole solve: ``(problem, params, initial, started)`` to a plan, by
``started + params.time_limit_s``; a module-level function (it runs in a pool)."""


def worker_params(params: SolverParams, worker: int) -> SolverParams:
    """The parameters of worker ``worker`` (the first keeps ``params``' own)."""
    if worker == 0:
        return replace(params, num_workers=1)
    first = _DIVERSE_FIRST[worker % len(_DIVERSE_FIRST)]
    return replace(
        params, num_workers=1, seed=params.seed + worker, first_solution=first
    )


def rank(solution: RoutingSolution, params: SolverParams) -> tuple[int, int, int]:
    """Sort key of the workers' plans, best first."""
    vehicles = solution.vehicles_used if params.minimise_vehicles else 0
    return (len(solution.unassigned), vehicles, solution.cost)


def best_of(
    solve: Solve,
    problem: RoutingProblem,
    params: SolverParams,
    configs: list[SolverParams],
    initial: RoutingSolution | None,
    started: float,
    pool: Executor,
) -> RoutingSolution:
    """``solve`` once per worker of ``configs``, all at the same time; the best plan
    by ``rank`` under ``params``.

    A worker that found no plan (one that started late on a busy host gets almost
    no time) does not sink the others' plans; only if none found one is its
    :class:`NoSolutionFound` raised.
    """
    futures = [pool.submit(solve, problem, p, initial, started) for p in configs[1:]]
    results: list[RoutingSolution] = []
    failures: list[NoSolutionFound] = []
    attempts: list[Callable[[], RoutingSolution]] = [
        # the first search runs here while the others start up
        lambda: solve(problem, configs[0], initial, started),
        *(f.result for f in futures),
    ]
    for attempt in attempts:
        try:
            results.append(attempt())
        except NoSolutionFound as exc:
            failures.append(exc)
    if not results:
        raise failures[0]
    return min(results, key=lambda s: rank(s, params))


def best_whole(
    run: Run,
    configs: list[SolverParams],
    initial: RoutingSolution | None,
    until: float,
    pool: Executor,
) -> tuple[EngineResult, bool]:
    """Every worker searches the whole problem until ``until``; the best plan."""
    problem = run.problem
    futures = [
        pool.submit(_whole_problem, problem, p, initial, until) for p in configs[1:]
    ]
    result, searched = search_whole(
        Run(problem, run.params, run.layout, until), initial, 1.0
    )
    for future in futures:
        try:
            other = from_solution(run, future.result())
        except NoSolutionFound:
            continue  # a worker that started late found nothing: keep the others'
        if (served(other), -other.objective) > (served(result), -result.objective):
            result = other
    return result, searched


def _whole_problem(
    problem: RoutingProblem,
    params: SolverParams,
    initial: RoutingSolution | None,
    until: float,
) -> RoutingSolution:
    """A worker's whole-problem search until ``until`` (``best_whole``)."""
    run = Run(problem, params, build_layout(problem, seed=params.seed), until)
    result, _ = search_whole(run, initial, 1.0)
    return to_solution(run, result, 0)


def from_solution(run: Run, solution: RoutingSolution) -> EngineResult:
    """Another worker's plan on this run's layout (layouts differ by seed)."""
    routes = initial_routes(run.problem, run.layout, solution)
    return EngineResult.of_routes(
        run.problem,
        run.layout,
        routes,
        solution.cost,
        solution.status,
        bool(solution.stats.get("warm_started")),
    )
