"""Route-based decomposition: re-plan groups of neighbouring routes, one at a time.

When every vehicle leaves from and returns to the same depot, windows are hard and
each job has at most one pickup site, routes are independent given their jobs: a
group of routes with its jobs and vehicles is a smaller problem of the same kind. The
engine's descents cost about quadratically in the nodes, so a 50-job group is searched
many times per second where a whole 200-job problem gets a handful of descents in ten
seconds. Each group is solved from scratch (iterated local search), and its new routes
are kept only when they are better:

- ``improve_by_parts`` (VRPTW, distance): when the group's routes get shorter;
- ``eliminate_by_parts`` (fewest vehicles first): when the jobs of the smallest route
  and of its neighbours fit on the neighbours' vehicles alone.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from routing.errors import NoSolutionFound
from routing.layout import Layout, build_layout
from routing.model import Job, RoutingProblem, Site
from routing.ortools_backend import EngineRequest, run_engine
from routing.params import SolverParams

logger = logging.getLogger(__name__)

MIN_JOBS = 100
"""Smallest problem worth splitting (Solomon's 100 customers gain from it)."""
GROUP_STOPS = 50
"""Routes join a group, nearest first, until it holds at least this many stops..."""
GROUP_ROUTES = 3
"""...and at least this many routes (on long routes two leave little to exchange)."""
ELIMINATION_GROUP_STOPS = 60
"""The same for a route-elimination group (one route fewer to fit them on)."""
SLICE_S = 1.0
"""Search time per group."""


@dataclass(frozen=True)
class PartsResult:
    """Routes after a decomposition phase and what it did."""

    routes: list[list[int]]
    cost_change: int
    """New plan cost minus the old one (<= 0 when improving)."""
    groups: int
    """Groups re-planned."""
    accepted: int
    """Groups whose new routes were kept."""
    routes_removed: int
    """Non-empty routes before minus after (a group may need fewer vehicles)."""


def independent_routes(problem: RoutingProblem) -> bool:
    """True when routes can be re-planned group by group (see the module)."""
    first = problem.vehicles[0]
    if first.end is None:
        return False
    for vehicle in problem.vehicles:
        if (vehicle.start, vehicle.end) != (first.start, first.end):
            return False
        if vehicle.locked_next is not None or vehicle.fixed_cost:
            return False
    return all(
        len(job.pickups) <= 1
        and job.on_board is None
        and all(site.window is None or site.window.hard for site in _sites(job))
        for job in problem.jobs
    )


def decomposable(problem: RoutingProblem) -> bool:
    """True for a depot-based VRPTW of at least ``MIN_JOBS`` single visits."""
    return (
        len(problem.jobs) >= MIN_JOBS
        and not any(job.pickups for job in problem.jobs)
        and independent_routes(problem)
    )


def improve_by_parts(
    problem: RoutingProblem,
    layout: Layout,
    params: SolverParams,
    sequences: Sequence[Sequence[int]],
    deadline: float,
) -> PartsResult:
    """Re-plan groups of neighbouring routes of ``sequences`` until ``deadline``.

    ``sequences`` are the layout's job nodes per vehicle; the result serves the
    same jobs at a total cost no higher than before.
    """
    routes = [list(s) for s in sequences]
    rng = random.Random(params.seed)
    locations = np.array([n.location for n in layout.nodes], dtype=np.int64)
    matrix = _cost_matrix(problem)
    queue: list[int] = []
    saved = groups = improved = 0
    while deadline - time.monotonic() > SLICE_S * 0.5:
        if not queue:
            queue = [v for v, route in enumerate(routes) if route]
            rng.shuffle(queue)
            if not queue:
                break
        seed_vehicle = queue.pop()
        if not routes[seed_vehicle]:
            continue
        group = _nearest_routes(
            routes, seed_vehicle, locations, matrix, GROUP_STOPS, GROUP_ROUTES
        )
        spare = [v for v, route in enumerate(routes) if not route][:1]
        vehicles = group + spare
        before = sum(_route_cost(problem, v, locations[routes[v]]) for v in group)
        limit_s = min(SLICE_S, deadline - time.monotonic())
        replanned = _replan(problem, layout, params, routes, group, vehicles, limit_s)
        groups += 1
        if replanned is None:
            continue
        after = sum(
            _route_cost(problem, v, locations[route])
            for v, route in zip(vehicles, replanned, strict=True)
        )
        if after < before:
            saved += before - after
            improved += 1
            for v, route in zip(vehicles, replanned, strict=True):
                routes[v] = route
    logger.debug(
        "decomposition: %d groups re-planned, %d improved, cost -%d",
        groups,
        improved,
        saved,
    )
    return PartsResult(routes, -saved, groups, improved, _removed(sequences, routes))


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
    routes = [list(s) for s in sequences]
    locations = np.array([n.location for n in layout.nodes], dtype=np.int64)
    matrix = _cost_matrix(problem)
    tried: set[int] = set()
    change = groups = eliminated = 0
    while deadline - time.monotonic() > SLICE_S * 0.5:
        candidates = [v for v, route in enumerate(routes) if route and v not in tried]
        if not candidates:
            break
        victim = min(candidates, key=lambda v: (len(routes[v]), v))
        tried.add(victim)
        group = _nearest_routes(
            routes, victim, locations, matrix, ELIMINATION_GROUP_STOPS
        )
        others = group[1:]
        if len(others) < 2:
            # Long routes: one neighbour rarely takes a whole route's jobs, and the
            # whole-problem attempts that follow need the time (lr204, lrc203).
            continue
        limit_s = min(SLICE_S, deadline - time.monotonic())
        replanned = _replan(problem, layout, params, routes, group, others, limit_s)
        groups += 1
        if replanned is None:
            continue
        before = sum(_route_cost(problem, v, locations[routes[v]]) for v in group)
        change += (
            sum(
                _route_cost(problem, v, locations[route])
                for v, route in zip(others, replanned, strict=True)
            )
            - before
        )
        for v, route in zip(others, replanned, strict=True):
            routes[v] = route
        routes[victim] = []
        eliminated += 1
        tried = set()
    logger.debug("elimination by groups: %d tried, %d kept", groups, eliminated)
    return PartsResult(routes, change, groups, eliminated, _removed(sequences, routes))


def _replan(
    problem: RoutingProblem,
    layout: Layout,
    params: SolverParams,
    routes: list[list[int]],
    group: list[int],
    vehicles: list[int],
    limit_s: float,
) -> list[list[int]] | None:
    """New routes on ``vehicles`` (layout nodes) for the jobs of ``group``'s
    routes; None if the engine leaves any job out."""
    job_indices = list(
        dict.fromkeys(layout.nodes[n].job for v in group for n in routes[v])
    )
    sub = RoutingProblem(
        problem.durations,
        tuple(problem.vehicles[v] for v in vehicles),
        tuple(problem.jobs[j] for j in job_indices),
        problem.distances,
    )
    sub_layout = build_layout(sub)
    try:
        result = run_engine(sub, sub_layout, params, EngineRequest(limit_s))
    except NoSolutionFound:
        return None
    served = {sub_layout.nodes[n].job for seq in result.sequences for n in seq}
    if len(served) < len(job_indices):
        return None
    back = {
        sub_node: node
        for k, j in enumerate(job_indices)
        for sub_node, node in zip(
            sub_layout.jobs[k].all_nodes(), layout.jobs[j].all_nodes(), strict=True
        )
    }
    return [[back[n] for n in seq] for seq in result.sequences]


def _removed(before: Sequence[Sequence[int]], after: list[list[int]]) -> int:
    return sum(1 for r in before if r) - sum(1 for r in after if r)


def _sites(job: Job) -> tuple[Site, ...]:
    return (*job.pickups, job.delivery)


def _cost_matrix(problem: RoutingProblem) -> np.ndarray:
    if problem.distances is not None:
        return problem.distances
    return problem.durations[problem.vehicles[0].profile]


def _route_cost(problem: RoutingProblem, vehicle: int, stops: np.ndarray) -> int:
    """Arc costs of one route from the depot through ``stops`` and back."""
    if not len(stops):
        return 0
    v = problem.vehicles[vehicle]
    matrix = (
        problem.distances
        if problem.distances is not None
        else problem.durations[v.profile]
    )
    end = v.end if v.end is not None else v.start  # independent_routes: not None
    path: np.ndarray = np.concatenate(([v.start], stops, [end]))
    return int(matrix[path[:-1], path[1:]].sum())


def _nearest_routes(
    routes: list[list[int]],
    seed_vehicle: int,
    locations: np.ndarray,
    matrix: np.ndarray,
    stops: int,
    min_routes: int = 1,
) -> list[int]:
    """``seed_vehicle`` and the routes nearest to it, until the group holds
    ``stops`` stops and ``min_routes`` routes (or every route).

    A route's distance to the seed route is the mean, over the seed's stops, of the
    shortest arc (either way) to one of its stops.
    """
    seed = locations[routes[seed_vehicle]]
    scored = []
    for v, route in enumerate(routes):
        if not route or v == seed_vehicle:
            continue
        other = locations[route]
        arcs = np.minimum(matrix[np.ix_(seed, other)], matrix[np.ix_(other, seed)].T)
        scored.append((float(arcs.min(axis=1).mean()), v))
    scored.sort()
    group, size = [seed_vehicle], len(routes[seed_vehicle])
    for _, v in scored:
        if size >= stops and len(group) >= min_routes:
            break
        group.append(v)
        size += len(routes[v])
    return group
