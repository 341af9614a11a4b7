"""``solve()``: the routing façade (PyVRP ``solve`` shape).

One run lays the problem out, searches with OR-Tools (warm-started from a previous
plan when given), on a large depot-based VRPTW re-plans groups of neighbouring routes
(``decomposition``), optionally eliminates routes one at a time (fewest vehicles
first), and explains every dropped job. ``num_workers > 1`` runs diversified searches
in separate processes (different seeds and first-solution heuristics); the best wins,
except that on a decomposable problem the workers then re-plan the best plan's groups
together (from 150 jobs the first plan is instead one angular sector per worker:
``routing.search.sectors``).
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, replace

from routing.construction import greedy_routes
from routing.diagnosis import diagnose, fits_alone
from routing.errors import NoSolutionFound
from routing.extract import build_routes
from routing.insertion import Planner
from routing.layout import Layout, build_layout
from routing.model import ReleasedLock, RoutingProblem, RoutingSolution, Unassigned
from routing.ortools_backend import EngineRequest, EngineResult, run_engine
from routing.params import FirstSolution, SolverParams
from routing.search.decomposition import (
    PartsResult,
    decomposable,
    eliminate_by_parts,
    improve_by_parts,
    independent_routes,
    plan_routes,
    solve_group_by,
    sub_problem,
)
from routing.search.sectors import sectors
from routing.warm_start import initial_routes

logger = logging.getLogger(__name__)

_DIVERSE_FIRST = (
    FirstSolution.PATH_CHEAPEST_ARC,
    FirstSolution.PARALLEL_CHEAPEST_INSERTION,
    FirstSolution.LOCAL_CHEAPEST_INSERTION,
)
"""First solutions of the extra workers (not SAVINGS: on pickup-and-delivery pairs
and on 200-customer VRPTW it returned no route at all, after its time limit)."""
_MAIN_SHARE = 0.5
"""Share of the time spent on the main search before eliminating routes."""
_PARTS_MAIN_SHARE = ((150, 0.5), (2**31, 0.2))
"""Share of the time spent on the whole problem before re-planning groups of routes
(decomposable problems only: ``routing.search.decomposition``), by number of jobs.
Measured (benchmarks/README.md): Solomon (100 customers) 0.5 better than 0.2;
Homberger (200) 0.2 better than 0.1, 0.3 and 0.5."""
_SECTORS_FROM_JOBS = 150
"""From this many jobs the workers' first plan of a decomposable problem comes from
angular sectors, one per worker, not from whole-problem searches (measured,
benchmarks/README.md: Homberger 200 gains, mostly on long routes)."""
_PARTS_MIN_S = 3.0
"""Least time limit for which the decomposition phase runs (groups get 1 s each)."""
_ELIMINATION_SLICE = 0.12
"""Share of the time given to each attempt at removing one route."""
_ELIMINATION_BY_PARTS_SHARE = 0.7
"""Share of the elimination phase spent on groups of routes (where routes are
independent) before whole-problem attempts and the final polish."""
_GREEDY_ABOVE_NODES = 500
"""Above this many nodes the first plan comes from ``construction`` (much faster)."""
_MIN_SEARCH_S = 0.3
"""Least search time worth building the engine model for."""
_READ_BACK_S_PER_NODE = 1.4e-4
"""Time kept after the search to read the plan back and free the model (about
0.27 s at 2,000 nodes: the engine overshoots its limit by ~0.1 s under load and
tearing down a 1,920-node model takes ~0.05 s)."""


def solve(
    problem: RoutingProblem,
    params: SolverParams | None = None,
    initial: RoutingSolution | None = None,
) -> RoutingSolution:
    """Plan routes for ``problem`` within ``params.time_limit_s`` seconds."""
    params = params or SolverParams()
    started = time.monotonic()
    _warn_over_capacity(problem)
    problem, released = _release_impossible_locks(problem)
    if params.num_workers == 1:
        solution = _solve_one(problem, params, initial, started)
    else:
        configs = [_worker_params(params, i) for i in range(params.num_workers)]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(len(configs) - 1, mp_context=context) as pool:
            if _by_parts(problem, params):
                solution = _solve_together(problem, configs, initial, started, pool)
            else:
                futures = [
                    pool.submit(_solve_one, problem, p, initial, started)
                    for p in configs[1:]
                ]
                # The first search runs here while the others start up.
                results = [_solve_one(problem, configs[0], initial, started)]
                results += [f.result() for f in futures]
                solution = min(results, key=lambda s: _rank(s, params))
    return replace(
        solution, released_locks=released, solve_time_s=time.monotonic() - started
    )


def _warn_over_capacity(problem: RoutingProblem) -> None:
    for vehicle in problem.vehicles:
        if not problem.takes_new_jobs(vehicle):
            logger.warning(
                "vehicle %s starts above capacity (carries %s of %s): "
                "only its on-board deliveries are planned",
                vehicle.id,
                list(problem.start_load(vehicle)),
                list(vehicle.capacity),
            )


def _release_impossible_locks(
    problem: RoutingProblem,
) -> tuple[RoutingProblem, tuple[ReleasedLock, ...]]:
    """``problem`` without the locks whose job its vehicle cannot serve even
    alone, and those locks.

    The engine can only fail on such a lock and the construction would break a hard
    rule (a cold item held past its limit); released, the job is planned like any
    other (another vehicle, or unassigned with its reason for a person to decide).
    """
    jobs = {job.id: job for job in problem.jobs}
    vehicles = list(problem.vehicles)
    released: list[ReleasedLock] = []
    for v, vehicle in enumerate(vehicles):
        if vehicle.locked_next is None:
            continue
        job_id, kind = vehicle.locked_next
        job = jobs[job_id]
        pickups = job.candidate_pickups
        pickup = pickups[0] if kind == "pickup" and pickups else None
        fits, why = fits_alone(problem, vehicle, job, pickup)
        if not fits:
            logger.warning(
                "lock of vehicle %s released: job %s cannot be served (%s)",
                vehicle.id,
                job_id,
                why,
            )
            vehicles[v] = replace(vehicle, locked_next=None)
            released.append(ReleasedLock(vehicle.id, job_id, why))
    if released:
        problem = replace(problem, vehicles=tuple(vehicles))
    return problem, tuple(released)


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
    started: float,
) -> RoutingSolution:
    run = _Run(
        problem,
        params,
        build_layout(problem, seed=params.seed),
        started + params.time_limit_s,
    )
    share = _MAIN_SHARE if params.minimise_vehicles and not params.plain else 1.0
    by_parts = _by_parts(problem, params)
    if by_parts:
        share = _whole_share(problem)
    result, searched = _search_whole(run, initial, share)
    if not searched:
        return _to_solution(run, result, 0)
    if by_parts:
        result = _improve_by_parts(run, result)
    eliminated = 0
    if params.minimise_vehicles and not params.plain:
        result, eliminated = _eliminate_routes(run, result)
    return _to_solution(run, result, eliminated)


def _solve_together(
    problem: RoutingProblem,
    configs: list[SolverParams],
    initial: RoutingSolution | None,
    started: float,
    pool: Executor,
) -> RoutingSolution:
    """Several workers on one decomposable problem.

    Each worker searches the whole problem (its own seed and first solution), or
    from ``_SECTORS_FROM_JOBS`` jobs plans one angular sector of them, for the first
    share of the time; the best plan (or the sectors' routes together) is then
    re-planned by groups of routes, one group per worker at a time. Group search
    is where the time pays (benchmarks/README.md: two cores on disjoint groups
    beat the best of two independent runs).
    """
    params = configs[0]
    whole_until = started + params.time_limit_s * _whole_share(problem)
    layout = build_layout(problem, seed=params.seed)
    run = _Run(problem, params, layout, started + params.time_limit_s)
    if initial is None and _by_sectors(problem, len(configs)):
        result, searched = _first_plan_by_sectors(run, len(configs), whole_until, pool)
    else:
        result, searched = _best_whole(run, configs, initial, whole_until, pool)
    if searched:
        result = _improve_by_parts(run, result, pool, len(configs))
    return _to_solution(run, result, 0)


def _best_whole(
    run: _Run,
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
    result, searched = _search_whole(
        _Run(problem, run.params, run.layout, until), initial, 1.0
    )
    for future in futures:
        other = _from_solution(run, future.result())
        if (_served(other), -other.objective) > (_served(result), -result.objective):
            result = other
    return result, searched


def _by_sectors(problem: RoutingProblem, workers: int) -> bool:
    """Whether the first plan comes from angular sectors, one per worker (large
    problems of interchangeable vehicles, enough of them for every sector)."""
    first = problem.vehicles[0]
    return (
        len(problem.jobs) >= _SECTORS_FROM_JOBS
        and len(problem.vehicles) >= 2 * workers
        and all(replace(v, id=first.id) == first for v in problem.vehicles)
    )


def _first_plan_by_sectors(
    run: _Run, workers: int, until: float, pool: Executor
) -> tuple[EngineResult, bool]:
    """Each worker plans one angular sector of the jobs (``routing.search.sectors``) on
    its share of the fleet, from scratch, until ``until``; the routes together
    are the plan (routes are independent: ``routing.search.decomposition``).

    The jobs of a sector left without a plan are inserted where they cost least;
    any that fit nowhere are left to ``_improve_by_parts``, which then searches
    the whole problem for them instead of re-planning groups.
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


def _whole_problem(
    problem: RoutingProblem,
    params: SolverParams,
    initial: RoutingSolution | None,
    until: float,
) -> RoutingSolution:
    """A worker's whole-problem search until ``until`` (``_solve_together``)."""
    run = _Run(problem, params, build_layout(problem, seed=params.seed), until)
    result, _ = _search_whole(run, initial, 1.0)
    return _to_solution(run, result, 0)


def _search_whole(
    run: _Run, initial: RoutingSolution | None, share: float
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
    reserve_s = _READ_BACK_S_PER_NODE * len(layout.nodes)
    budget = max(0.05, run.remaining_s() * share - reserve_s)
    initial_routes_ = [list(s) for s in start.sequences] if start else None
    try:
        result = run.engine(EngineRequest(time_limit_s=budget, initial=initial_routes_))
    except NoSolutionFound:
        if start is None:
            raise
        result = start
    if start is not None:
        result = _versus_start(start, result)
    return result, True


def _by_parts(problem: RoutingProblem, params: SolverParams) -> bool:
    """Whether the distance search ends by re-planning groups of routes."""
    return (
        not params.plain
        and not params.minimise_vehicles
        and params.time_limit_s >= _PARTS_MIN_S
        and decomposable(problem)
    )


def _whole_share(problem: RoutingProblem) -> float:
    return next(x for n, x in _PARTS_MAIN_SHARE if len(problem.jobs) < n)


def _from_solution(run: _Run, solution: RoutingSolution) -> EngineResult:
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


def _dispatch_shaped(problem: RoutingProblem) -> bool:
    """Soft windows or a choice of pickup sites: OR-Tools' own constructions
    ignore lateness and site choice, so ``construction`` starts better."""
    return any(
        len(job.candidate_pickups) > 1
        or (job.delivery.window is not None and not job.delivery.window.hard)
        for job in problem.jobs
    )


def _first_plan(run: _Run, initial: RoutingSolution | None) -> EngineResult:
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
    # plan breaking a hard rule can win on jobs served (``_versus_start``).
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


def _versus_start(start: EngineResult, result: EngineResult) -> EngineResult:
    """Keep the search's plan only if it is no worse; say whether it improved."""
    if (_served(result), -result.objective) < (_served(start), -start.objective):
        return start
    status = result.status
    if result.objective < start.objective:
        status = "optimal" if status == "optimal" else "feasible"
    return replace(result, status=status, warm_started=start.warm_started)


def _improve_by_parts(
    run: _Run, result: EngineResult, pool: Executor | None = None, width: int = 1
) -> EngineResult:
    """Re-plan groups of neighbouring routes for the rest of the time (``width``
    groups at a time with a ``pool``: ``improve_by_parts``).

    Groups only re-plan jobs already served: if the whole-problem search left any
    job out (a short limit, a loaded machine), it goes on instead, warm-started.
    """
    reserve_s = _READ_BACK_S_PER_NODE * len(run.layout.nodes)
    if _served(result) < len(run.problem.jobs):  # one node per job: see decomposable
        request = EngineRequest(
            time_limit_s=max(0.05, run.remaining_s() - reserve_s),
            initial=[list(s) for s in result.sequences],
        )
        try:
            return _versus_start(result, run.engine(request))
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
    return _with_routes(run, result, parts)


def _with_routes(run: _Run, result: EngineResult, parts: PartsResult) -> EngineResult:
    objective = result.objective + parts.cost_change
    return EngineResult.of_routes(
        run.problem,
        run.layout,
        parts.routes,
        objective,
        "feasible",
        result.warm_started,
    )


def _build_estimate_s(problem: RoutingProblem, layout: Layout) -> float:
    """Seconds to build the engine model (measured: ~0.03 us per matrix entry)."""
    matrices = len({v.profile for v in problem.vehicles}) + 1
    return 3e-8 * len(layout.nodes) ** 2 * matrices


def _served(result: EngineResult) -> int:
    return sum(len(s) for s in result.sequences)


def _eliminate_routes(run: _Run, best: EngineResult) -> tuple[EngineResult, int]:
    """Try emptying the smallest routes one by one; keep a try if nothing drops.

    Where routes are independent, groups of neighbouring routes are tried first
    (``eliminate_by_parts``), then the whole problem for the rest of the time.
    """
    eliminated = 0
    if independent_routes(run.problem):
        deadline = time.monotonic() + run.remaining_s() * _ELIMINATION_BY_PARTS_SHARE
        parts = eliminate_by_parts(
            run.problem, run.layout, run.params, best.sequences, deadline
        )
        if parts.accepted:
            best, eliminated = _with_routes(run, best, parts), parts.routes_removed
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
