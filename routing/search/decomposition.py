"""Route-based decomposition: re-plan groups of neighbouring routes on their own.

When every vehicle leaves from and returns to the same depot, windows are hard and
each job has at most one pickup site, routes are independent given their jobs: a
group of routes with its jobs and vehicles is a smaller problem of the same kind. The
engine's descents cost about quadratically in the nodes, so a 50-job group is searched
many times per second where a whole 200-job problem gets a handful of descents in ten
seconds. Each group is solved from scratch (iterated local search), and its new routes
are kept only when they are shorter (with a process pool, several groups at once):
``improve_by_parts`` over node sequences, ``improve_plan`` as the last phase of a
run. ``by_parts`` says which runs end so, ``whole_share`` how long the whole problem
is searched first. The groups (``Groups``, ``solve_group``) also serve the sectors'
first plan and the elimination of routes by groups (``routing.search.elimination``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Collection, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from routing.errors import NoSolutionFound
from routing.insertion import Planner
from routing.layout import Layout, build_layout
from routing.model import Job, RoutingProblem, Site
from routing.ortools_backend import EngineRequest, EngineResult, run_engine
from routing.params import SolverParams
from routing.search.run import READ_BACK_S_PER_NODE, Run, served, versus_start

logger = logging.getLogger(__name__)

MIN_JOBS = 100
"""Smallest problem worth splitting (Solomon's 100 customers gain from it)."""
GROUP_STOPS = 50
"""Routes join a group, nearest first, until it holds at least this many stops..."""
GROUP_ROUTES = 3
"""...and at least this many routes (on long routes two leave little to exchange)."""
SLICE_S = 1.0
"""Search time per group."""
_PARTS_MAIN_SHARE = ((150, 0.5), (2**31, 0.2))
"""Share of the time spent on the whole problem before re-planning groups of routes
(decomposable problems only), by number of jobs. Measured (benchmarks/README.md):
Solomon (100 customers) 0.5 better than 0.2; Homberger (200) 0.2 better than 0.1,
0.3 and 0.5."""
_PARTS_MIN_S = 3.0
"""Least time limit for which the decomposition phase runs (groups get 1 s each)."""

GroupPlan = list[list[tuple[int, int]]]
"""A group's new routes, one per vehicle: (job, stop) pairs, ``job`` indexing the
group problem's jobs and ``stop`` the job's layout nodes (``JobNodes.all_nodes``)."""


@dataclass(frozen=True)
class PartsResult:
    """Routes after a decomposition phase and what it did."""

    routes: list[list[int]]
    cost_change: int
    """New plan cost minus the old one (<= 0 when improving)."""
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


def by_parts(problem: RoutingProblem, params: SolverParams) -> bool:
    """Whether the distance search ends by re-planning groups of routes."""
    return (
        not params.plain
        and not params.minimise_vehicles
        and params.time_limit_s >= _PARTS_MIN_S
        and decomposable(problem)
    )


def whole_share(problem: RoutingProblem) -> float:
    """Share of the time spent on the whole problem before groups (``by_parts``)."""
    return next(x for n, x in _PARTS_MAIN_SHARE if len(problem.jobs) < n)


def improve_plan(
    run: Run, result: EngineResult, pool: Executor | None = None, width: int = 1
) -> EngineResult:
    """Re-plan groups of neighbouring routes for the rest of the time (``width``
    groups at a time with a ``pool``: ``improve_by_parts``).

    Groups only re-plan jobs already served: if the whole-problem search left any
    job out (a short limit, a loaded machine), it goes on instead, warm-started.
    """
    reserve_s = READ_BACK_S_PER_NODE * len(run.layout.nodes)
    if served(result) < len(run.problem.jobs):  # one node per job: see decomposable
        request = EngineRequest(
            time_limit_s=max(0.05, run.remaining_s() - reserve_s),
            initial=[list(s) for s in result.sequences],
        )
        try:
            return versus_start(result, run.engine(request))
        except NoSolutionFound:
            return result
    parts = improve_by_parts(
        run.problem,
        run.layout,
        run.params,
        result.sequences,
        run.deadline - reserve_s,
        pool,
        width,
    )
    if not parts.accepted:
        return result
    return with_routes(run, result, parts)


def with_routes(run: Run, result: EngineResult, parts: PartsResult) -> EngineResult:
    """``result`` with the routes a decomposition phase left (``parts``)."""
    objective = result.objective + parts.cost_change
    return EngineResult.of_routes(
        run.problem,
        run.layout,
        parts.routes,
        objective,
        "feasible",
        result.warm_started,
    )


def improve_by_parts(
    problem: RoutingProblem,
    layout: Layout,
    params: SolverParams,
    sequences: Sequence[Sequence[int]],
    deadline: float,
    pool: Executor | None = None,
    width: int = 1,
) -> PartsResult:
    """Re-plan groups of neighbouring routes of ``sequences`` until ``deadline``.

    ``sequences`` are the layout's job nodes per vehicle; the result serves the
    same jobs at a total cost no higher than before. With a ``pool``, ``width``
    groups are solved at a time, one here and the others in the pool
    (``_disjoint_groups``).
    """
    parts = Groups(problem, layout, params, sequences)
    rng = random.Random(params.seed)
    queue: list[int] = []
    change = groups = improved = 0
    while deadline - time.monotonic() > SLICE_S * 0.5:
        batch = _disjoint_groups(parts, queue, rng, width if pool else 1)
        if not batch:
            break
        limit_s = min(SLICE_S, deadline - time.monotonic())
        tasks = [parts.task(group, vehicles) for group, vehicles in batch]
        plans = _solve_batch([sub for sub, _ in tasks], params, limit_s, groups, pool)
        groups += len(batch)
        proposals = []
        for (group, vehicles), (_, jobs), plan in zip(batch, tasks, plans, strict=True):
            proposal = parts.evaluate(group, vehicles, jobs, plan)
            if proposal is not None and proposal[0] < 0:
                proposals.append((proposal[0], group, proposal[1]))
        applied: set[int] = set()
        for cost_change, group, new in sorted(proposals, key=lambda p: p[0]):
            if applied.isdisjoint(group):  # a group searched twice is kept once
                parts.apply(group, new)
                applied.update(group)
                change += cost_change
                improved += 1
    logger.debug(
        "decomposition: %d groups re-planned, %d improved, cost %d",
        groups,
        improved,
        change,
    )
    return parts.result(change, improved)


def _solve_batch(
    subs: list[RoutingProblem],
    params: SolverParams,
    limit_s: float,
    first_seed: int,
    pool: Executor | None,
) -> list[GroupPlan | None]:
    """Solve the first group here and the others in ``pool``, at the same time
    (without a pool, one after the other)."""
    if pool is None:
        return [
            solve_group(sub, params, limit_s, first_seed + k)
            for k, sub in enumerate(subs)
        ]
    remote = [
        pool.submit(solve_group, sub, params, limit_s, first_seed + k)
        for k, sub in enumerate(subs[1:], start=1)
    ]
    plans = [solve_group(subs[0], params, limit_s, first_seed)]
    return plans + [future.result() for future in remote]


def _disjoint_groups(
    parts: Groups, queue: list[int], rng: random.Random, width: int
) -> list[tuple[list[int], list[int]]]:
    """``width`` groups, each with one empty vehicle to spare: disjoint ones while
    the routes left make a full group, then copies of the first (searched from
    another layout seed, so the workers' attempts differ).

    Seeds come from ``queue``, every non-empty route once per round in random order.
    """
    routes = parts.routes
    batch: list[tuple[list[int], list[int]]] = []
    taken: set[int] = set()
    spares = [v for v, route in enumerate(routes) if not route]
    refilled = False
    while len(batch) < width:
        if not queue:
            if refilled:
                break
            queue.extend(v for v, route in enumerate(routes) if route)
            rng.shuffle(queue)
            refilled = True
            if not queue:
                break
        seed_vehicle = queue.pop()
        if not routes[seed_vehicle] or seed_vehicle in taken:
            continue
        group = parts.nearest(seed_vehicle, GROUP_STOPS, GROUP_ROUTES, taken)
        stops = sum(len(routes[v]) for v in group)
        if batch and (stops < GROUP_STOPS or len(group) < GROUP_ROUTES):
            # Too few routes are left for another full group (long routes): the
            # other workers search the first group along other paths instead.
            queue.append(seed_vehicle)
            break
        taken.update(group)
        batch.append((group, group + spares[len(batch) : len(batch) + 1]))
    while batch and len(batch) < width:
        batch.append(batch[0])
    return batch


class Groups:
    """A plan being re-planned group by group (routes are layout job nodes)."""

    def __init__(
        self,
        problem: RoutingProblem,
        layout: Layout,
        params: SolverParams,
        sequences: Sequence[Sequence[int]],
    ) -> None:
        self.problem, self.layout, self.params = problem, layout, params
        self.planner = Planner(problem, layout, params)
        self.used_before = sum(1 for s in sequences if s)
        self.routes = [list(s) for s in sequences]
        self.locations = np.array([n.location for n in layout.nodes], dtype=np.int64)
        self.matrix = self.planner.arrays[problem.vehicles[0].profile]

    def nearest(
        self,
        seed_vehicle: int,
        stops: int,
        min_routes: int = 1,
        exclude: Collection[int] = (),
    ) -> list[int]:
        """See ``_nearest_routes``."""
        return _nearest_routes(
            self.routes,
            seed_vehicle,
            self.locations,
            self.matrix,
            stops,
            min_routes,
            exclude,
        )

    def task(
        self, group: list[int], vehicles: list[int]
    ) -> tuple[RoutingProblem, list[int]]:
        """The problem of re-planning ``group``'s jobs on ``vehicles``, and the
        indices of its jobs in the whole problem."""
        problem, layout = self.problem, self.layout
        jobs = list(
            dict.fromkeys(layout.nodes[n].job for v in group for n in self.routes[v])
        )
        return sub_problem(problem, vehicles, jobs), jobs

    def evaluate(
        self,
        group: list[int],
        vehicles: list[int],
        jobs: list[int],
        plan: GroupPlan | None,
    ) -> tuple[int, dict[int, list[int]]] | None:
        """``plan`` as new routes on ``vehicles`` with the cost change; None if
        there is no plan or a new route fails the schedule check."""
        if plan is None:
            return None
        new = plan_routes(self.layout, vehicles, jobs, plan)
        before = self._cost({v: self.routes[v] for v in group})
        after = self._cost(new)
        if before is None or after is None:
            return None
        return after - before, new

    def apply(self, group: list[int], new: dict[int, list[int]]) -> None:
        """Replace ``group``'s routes by ``new`` (a group vehicle not in it empties)."""
        for v in group:
            self.routes[v] = []
        for v, route in new.items():
            self.routes[v] = route

    def result(self, change: int, accepted: int) -> PartsResult:
        used = sum(1 for r in self.routes if r)
        return PartsResult(self.routes, change, accepted, self.used_before - used)

    def _cost(self, routes: dict[int, list[int]]) -> int | None:
        total = 0
        for v, route in routes.items():
            cost = self.planner.route_cost(v, route)
            if cost is None:
                return None
            total += cost
        return total


def sub_problem(
    problem: RoutingProblem, vehicles: Sequence[int], jobs: Sequence[int]
) -> RoutingProblem:
    """``problem``'s ``jobs`` on its ``vehicles`` alone (indices), same matrices."""
    return RoutingProblem(
        problem.durations,
        tuple(problem.vehicles[v] for v in vehicles),
        tuple(problem.jobs[j] for j in jobs),
        problem.distances,
    )


def plan_routes(
    layout: Layout, vehicles: Sequence[int], jobs: Sequence[int], plan: GroupPlan
) -> dict[int, list[int]]:
    """A sub-problem's ``plan`` as ``layout`` nodes per vehicle: its k-th route on
    ``vehicles[k]``, its job k being the whole problem's ``jobs[k]``."""
    return {
        v: [layout.jobs[jobs[k]].all_nodes()[stop] for k, stop in route]
        for v, route in zip(vehicles, plan, strict=True)
    }


def solve_group(
    sub: RoutingProblem, params: SolverParams, limit_s: float, layout_seed: int
) -> GroupPlan | None:
    """Solve a group's problem from scratch; None unless every job is served.

    Runs in pool processes too: the plan names jobs, not layout nodes. A
    ``layout_seed`` other than 0 shuffles the job order, so a group tried again
    is searched along another path.
    """
    layout = build_layout(sub, seed=layout_seed)
    try:
        result = run_engine(sub, layout, params, EngineRequest(limit_s))
    except NoSolutionFound:
        return None
    plan = [
        [
            (layout.nodes[n].job, layout.jobs[layout.nodes[n].job].all_nodes().index(n))
            for n in sequence
        ]
        for sequence in result.sequences
    ]
    if len({job for route in plan for job, _ in route}) < len(sub.jobs):
        return None
    return plan


def solve_group_by(
    sub: RoutingProblem, params: SolverParams, deadline: float, layout_seed: int
) -> GroupPlan | None:
    """``solve_group`` until ``deadline`` (``time.monotonic()``, one clock for
    every process of the machine), the limit taken where it runs: a pool process
    that starts late still stops on time."""
    limit_s = max(0.05, deadline - time.monotonic())
    return solve_group(sub, params, limit_s, layout_seed)


def _sites(job: Job) -> tuple[Site, ...]:
    return (*job.pickups, job.delivery)


def _nearest_routes(
    routes: list[list[int]],
    seed_vehicle: int,
    locations: np.ndarray,
    matrix: np.ndarray,
    stops: int,
    min_routes: int = 1,
    exclude: Collection[int] = (),
) -> list[int]:
    """``seed_vehicle`` and the routes nearest to it, until the group holds
    ``stops`` stops and ``min_routes`` routes (or every route not in ``exclude``).

    A route's distance to the seed route is the mean, over the seed's stops, of the
    shortest arc (either way) to one of its stops.
    """
    seed = locations[routes[seed_vehicle]]
    scored = []
    for v, route in enumerate(routes):
        if not route or v == seed_vehicle or v in exclude:
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
