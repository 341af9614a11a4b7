"""Vehicle elimination (fewest vehicles first): empty routes one at a time.

After the main search (``MAIN_SHARE`` of the time), the smallest route is emptied
and its jobs searched for on the other vehicles; the attempt is kept when no job
drops, and the next smallest route is tried. Where routes are independent
(``routing.search.decomposition.independent_routes``), routes are first emptied
group by group (``eliminate_by_parts``: a route and its neighbours re-planned on
the neighbours' vehicles alone), then on the whole problem for the rest of the
time; a last search polishes the plan on the vehicles left.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from routing.layout import Layout
from routing.model import RoutingProblem
from routing.ortools_backend import EngineRequest, EngineResult
from routing.params import SolverParams
from routing.search.decomposition import (
    SLICE_S,
    Groups,
    PartsResult,
    independent_routes,
    solve_group,
    with_routes,
)
from routing.search.run import Run, served

logger = logging.getLogger(__name__)

MAIN_SHARE = 0.5
"""Share of the time spent on the main search before eliminating routes."""
GROUP_STOPS = 60
"""Routes join an elimination group, nearest first, until it holds this many stops
(decomposition's groups hold 50: here they have one route fewer to fit them on)."""
_ATTEMPT_SHARE = 0.12
"""Share of the time given to each attempt at removing one route."""
_BY_PARTS_SHARE = 0.7
"""Share of the elimination phase spent on groups of routes (where routes are
independent) before whole-problem attempts and the final polish."""


def eliminate_routes(run: Run, best: EngineResult) -> tuple[EngineResult, int]:
    """Try emptying the smallest routes one by one; keep a try if nothing drops.

    Where routes are independent, groups of neighbouring routes are tried first
    (``eliminate_by_parts``), then the whole problem for the rest of the time.
    """
    eliminated = 0
    if independent_routes(run.problem):
        deadline = time.monotonic() + run.remaining_s() * _BY_PARTS_SHARE
        parts = eliminate_by_parts(
            run.problem, run.layout, run.params, best.sequences, deadline
        )
        if parts.accepted:
            best, eliminated = with_routes(run, best, parts), parts.routes_removed
    tried: set[int] = set()
    slice_s = max(0.2, run.params.time_limit_s * _ATTEMPT_SHARE)
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
        if served(attempt) >= served(best):
            best, eliminated, tried = attempt, eliminated + 1, set()
            logger.debug("route of vehicle %d eliminated", victim)
    if run.remaining_s() > 0.1:
        polish = EngineRequest(
            time_limit_s=run.remaining_s(),
            initial=[list(s) for s in best.sequences],
            unused_vehicles=frozenset(v for v, s in enumerate(best.sequences) if not s),
        )
        attempt = run.engine(polish)
        if served(attempt) >= served(best) and attempt.objective <= best.objective:
            best = attempt
    return best, eliminated


def eliminate_by_parts(
    problem: RoutingProblem,
    layout: Layout,
    params: SolverParams,
    sequences: Sequence[Sequence[int]],
    deadline: float,
) -> PartsResult:
    """Empty routes, smallest first, by re-planning each with its neighbours on
    their vehicles alone; a route whose group cannot do without it is kept.

    Every job of ``sequences`` stays served; the cost may rise (vehicles come first).
    A route with fewer than two neighbours in its group is left to the
    whole-problem attempts.
    """
    parts = Groups(problem, layout, params, sequences)
    routes = parts.routes
    tried: set[int] = set()
    change = groups = eliminated = 0
    while deadline - time.monotonic() > SLICE_S * 0.5:
        candidates = [v for v, route in enumerate(routes) if route and v not in tried]
        if not candidates:
            break
        victim = min(candidates, key=lambda v: (len(routes[v]), v))
        tried.add(victim)
        group = parts.nearest(victim, GROUP_STOPS)
        if len(group) < 3:
            # Long routes: one neighbour rarely takes a whole route's jobs, and the
            # whole-problem attempts that follow need the time (lr204, lrc203).
            continue
        groups += 1
        sub, jobs = parts.task(group, group[1:])
        limit_s = min(SLICE_S, deadline - time.monotonic())
        plan = solve_group(sub, params, limit_s, 0)
        proposal = parts.evaluate(group, group[1:], jobs, plan)
        if proposal is not None:
            parts.apply(group, proposal[1])
            change += proposal[0]
            eliminated += 1
            tried = set()
    logger.debug("elimination by groups: %d tried, %d kept", groups, eliminated)
    return parts.result(change, eliminated)
