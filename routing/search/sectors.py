"""A first plan by angular sectors: one sector of the jobs per worker.

From ``SECTORS_FROM_JOBS`` jobs of a decomposable problem with interchangeable
vehicles (``by_sectors``), each worker plans one sector on its share of the fleet,
from scratch; the routes together are the first plan (``first_plan_by_sectors``).

The matrices carry no coordinates, so the depot and the job locations are laid out
in the plane by classical multidimensional scaling of the symmetrised arc costs:
exact up to rotation and reflection on Euclidean instances, a fair map otherwise.
Jobs are ordered by their angle around the depot and cut into contiguous sectors of
about equal size; each cut sits at the widest angular gap within ``SLACK`` of its
nominal place, so that a cluster of customers is rarely cut in two (``sectors``).
"""

from __future__ import annotations

import itertools
import logging
import math
from concurrent.futures import Executor
from dataclasses import replace

import numpy as np

from routing.errors import NoSolutionFound
from routing.insertion import Planner
from routing.model import RoutingProblem
from routing.ortools_backend import EngineResult
from routing.search.decomposition import plan_routes, solve_group_by, sub_problem
from routing.search.run import Run

logger = logging.getLogger(__name__)

SLACK = 0.1
"""How far (share of a sector's size) a cut may move to find a wider gap."""
SECTORS_FROM_JOBS = 150
"""From this many jobs the workers' first plan of a decomposable problem comes from
angular sectors, one per worker, not from whole-problem searches (measured,
benchmarks/README.md: Homberger 200 gains, mostly on long routes)."""


def by_sectors(problem: RoutingProblem, workers: int) -> bool:
    """Whether the first plan comes from angular sectors, one per worker (large
    problems of interchangeable vehicles, enough of them for every sector)."""
    first = problem.vehicles[0]
    return (
        len(problem.jobs) >= SECTORS_FROM_JOBS
        and len(problem.vehicles) >= 2 * workers
        and all(replace(v, id=first.id) == first for v in problem.vehicles)
    )


def first_plan_by_sectors(
    run: Run, workers: int, until: float, pool: Executor
) -> tuple[EngineResult, bool]:
    """Each worker plans one angular sector of the jobs (``sectors``) on its share
    of the fleet, from scratch, until ``until``; the routes together are the plan
    (routes are independent: ``routing.search.decomposition``).

    The jobs of a sector left without a plan are inserted where they cost least;
    any that fit nowhere are left to ``decomposition.improve_plan``, which then
    searches the whole problem for them instead of re-planning groups.
    """
    problem, layout, params = run.problem, run.layout, run.params
    parts = sectors(problem, workers)
    fleet = len(problem.vehicles) // len(parts)
    tasks = []
    for k, jobs in enumerate(parts):
        vehicles = range(k * fleet, (k + 1) * fleet)
        tasks.append((sub_problem(problem, vehicles, jobs), jobs, vehicles))
    seed = params.seed * len(tasks)  # another run seed, other layouts
    remote = [
        pool.submit(solve_group_by, sub, params, until, seed + k)
        for k, (sub, _, _) in enumerate(tasks[1:], start=1)
    ]
    plans = [solve_group_by(tasks[0][0], params, until, seed)]
    plans += [future.result() for future in remote]
    routes: list[list[int]] = [[] for _ in problem.vehicles]
    for (_, jobs, vehicles), plan in zip(tasks, plans, strict=True):
        if plan is None:
            logger.info("a sector found no plan serving all its jobs")
            continue
        for v, route in plan_routes(layout, vehicles, jobs, plan).items():
            routes[v] = route
    planner = Planner(problem, layout, params)
    served = {layout.nodes[n].job for route in routes for n in route}
    planner.insert(routes, [j for j in range(len(problem.jobs)) if j not in served])
    objective = planner.plan_cost(routes)
    if objective is None:  # cannot happen: each sector's engine kept the rules
        raise NoSolutionFound("sector plans broke a rule when put together")
    result = EngineResult.of_routes(
        problem, layout, routes, objective, "feasible", False
    )
    return result, True


def sectors(problem: RoutingProblem, parts: int) -> list[list[int]]:
    """Job indices in ``parts`` angular sectors around the first vehicle's start.

    Every job is in exactly one sector; each cut lies within ``SLACK`` of a
    sector's nominal size of its nominal place. Fewer than two jobs per part
    gives one sector.
    """
    count = len(problem.jobs)
    if parts < 2 or count < 2 * parts:
        return [list(range(count))]
    angles = _angles(problem)
    order = np.argsort(angles, kind="stable")
    ordered = angles[order]
    # gaps[i]: the angle between the i-th and the next job in angular order
    gaps = np.diff(np.append(ordered, ordered[0] + 2 * math.pi))
    size = count / parts
    slack = max(1, int(size * SLACK))
    best_score, best_cuts = -1.0, [0]
    for first in range(count):
        cuts, score = [first], float(gaps[first - 1])
        for m in range(1, parts):
            nominal = first + round(m * size)
            cut = max(
                range(nominal - slack, nominal + slack + 1),
                key=lambda c: float(gaps[(c - 1) % count]),
            )
            cuts.append(cut)
            score += float(gaps[(cut - 1) % count])
        if score > best_score:
            best_score, best_cuts = score, cuts
    bounds = [*best_cuts, best_cuts[0] + count]
    return [
        sorted(int(order[i % count]) for i in range(a, b))
        for a, b in itertools.pairwise(bounds)
    ]


def _angles(problem: RoutingProblem) -> np.ndarray:
    """Each job's angle (radians) around the depot in the scaled plane."""
    first = problem.vehicles[0]
    matrix = (
        problem.distances
        if problem.distances is not None
        else problem.durations[first.profile]
    )
    places = [first.start, *(job.delivery.location for job in problem.jobs)]
    arcs = np.asarray(matrix, dtype=float)[np.ix_(places, places)]
    squared = ((arcs + arcs.T) / 2) ** 2
    n = len(places)
    centring = np.eye(n) - 1.0 / n
    gram = -0.5 * centring @ squared @ centring
    values, vectors = np.linalg.eigh(gram)  # ascending: the last two span the plane
    plane = vectors[:, -2:] * np.sqrt(np.maximum(values[-2:], 0.0))
    relative = plane[1:] - plane[0]
    angles: np.ndarray = np.arctan2(relative[:, 1], relative[:, 0])
    return angles
