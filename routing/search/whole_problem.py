"""The whole-problem search: one engine run over every job of the problem.

The engine builds its own first solution, except for a warm start, a large problem
or a dispatch-shaped one (soft windows, a choice of pickup sites), where it starts
from the better of the completed previous plan and a greedy construction
(``routing.construction``) and its plan is kept only if it is no worse. On a large
problem with no time left to build the engine model, that first plan is the result.
"""

from __future__ import annotations

import logging

from routing.construction import greedy_routes
from routing.errors import NoSolutionFound
from routing.insertion import Planner
from routing.layout import Layout
from routing.model import RoutingProblem, RoutingSolution
from routing.ortools_backend import EngineRequest, EngineResult
from routing.search.run import READ_BACK_S_PER_NODE, Run, versus_start
from routing.warm_start import initial_routes

logger = logging.getLogger(__name__)

_GREEDY_ABOVE_NODES = 500
"""Above this many nodes the first plan comes from ``construction`` (much faster)."""
_MIN_SEARCH_S = 0.3
"""Least search time worth building the engine model for."""


def search_whole(
    run: Run, initial: RoutingSolution | None, share: float
) -> tuple[EngineResult, bool]:
    """Search the whole problem for ``share`` of the time left (from the previous
    plan or a construction where that starts better); False if there was no time
    to build the engine model and the plan is the construction alone."""
    problem, params, layout = run.problem, run.params, run.layout
    large = len(layout.nodes) > _GREEDY_ABOVE_NODES
    start: EngineResult | None = None
    own = initial is not None or large or _dispatch_shaped(problem)
    if own and not params.plain:
        start = _first_plan(run, initial)
        if large and run.remaining_s() < _build_estimate_s(problem, layout) + (
            _MIN_SEARCH_S
        ):
            logger.info("no time to build the engine model; returning the first plan")
            return start, False
    reserve_s = READ_BACK_S_PER_NODE * len(layout.nodes)
    budget = max(0.05, run.remaining_s() * share - reserve_s)
    initial_routes_ = [list(s) for s in start.sequences] if start else None
    try:
        result = run.engine(EngineRequest(time_limit_s=budget, initial=initial_routes_))
    except NoSolutionFound:
        if start is None:
            raise
        result = start
    if start is not None:
        result = versus_start(start, result)
    return result, True


def _dispatch_shaped(problem: RoutingProblem) -> bool:
    """Soft windows or a choice of pickup sites: OR-Tools' own constructions
    ignore lateness and site choice, so ``construction`` starts better."""
    return any(
        len(job.candidate_pickups) > 1
        or (job.delivery.window is not None and not job.delivery.window.hard)
        for job in problem.jobs
    )


def _first_plan(run: Run, initial: RoutingSolution | None) -> EngineResult:
    """The better of the completed previous plan and a cold greedy construction.

    The previous plan is mapped onto the new nodes, routes the early schedule
    rejects are repaired (in both plans), and every job the previous plan lacks is
    inserted at its cheapest feasible position. ``status`` is "degraded" (no search
    has run yet).
    """
    problem, layout = run.problem, run.layout
    planner = Planner(problem, layout, run.params)
    locks = [list(planner.locked.get(v, ())) for v in range(len(problem.vehicles))]
    # The construction keeps every on-board delivery, even one no route can make
    # in time; such routes are repaired like the previous plan's, so that no
    # plan breaking a hard rule can win on jobs served (``versus_start``).
    cold = planner.repair(greedy_routes(problem, layout, seed=locks))
    cold_cost = planner.plan_cost(cold)
    best, best_cost, warm = cold, cold_cost, False
    if initial is not None:
        mapped = planner.repair(initial_routes(problem, layout, initial))
        served = {layout.nodes[n].job for r in mapped for n in r}
        missing = [
            j
            for j in range(len(problem.jobs))
            if j not in served and planner.allowed(j)
        ]
        planner.insert(mapped, missing)
        mapped_cost = planner.plan_cost(mapped)
        if mapped_cost is not None and (cold_cost is None or mapped_cost <= cold_cost):
            best, best_cost, warm = mapped, mapped_cost, True
        logger.debug("warm plan %s vs cold construction %s", mapped_cost, cold_cost)
    objective = best_cost if best_cost is not None else 2**62
    return EngineResult.of_routes(problem, layout, best, objective, "degraded", warm)


def _build_estimate_s(problem: RoutingProblem, layout: Layout) -> float:
    """Seconds to build the engine model (measured: ~0.03 us per matrix entry)."""
    matrices = len({v.profile for v in problem.vehicles}) + 1
    return 3e-8 * len(layout.nodes) ** 2 * matrices
