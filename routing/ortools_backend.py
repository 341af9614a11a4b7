"""The OR-Tools engine (the only module importing ortools).

Builds a ``pywrapcp.RoutingModel`` over the node layout: integer transit matrices
per vehicle profile, a time dimension with hard and soft windows and shift ends,
capacity dimensions with on-board initial loads, pickup-and-delivery sets whose
pickup is one of several candidate sites, hold-time limits, skills, locks, fixed
costs and drop penalties; optionally warm-started from node sequences.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.construction import earliest_starts
from routing.errors import NoSolutionFound
from routing.layout import Layout
from routing.model import Job, RoutingProblem, Site
from routing.params import FirstSolution, Metaheuristic, SolverParams
from routing.penalties import base_drop_penalty, drop_penalty, lateness_cost_per_s

logger = logging.getLogger(__name__)

_FIRST = routing_enums_pb2.FirstSolutionStrategy
_META = routing_enums_pb2.LocalSearchMetaheuristic
_FIRST_SOLUTION = {
    FirstSolution.AUTOMATIC: _FIRST.AUTOMATIC,
    FirstSolution.PATH_CHEAPEST_ARC: _FIRST.PATH_CHEAPEST_ARC,
    FirstSolution.PARALLEL_CHEAPEST_INSERTION: _FIRST.PARALLEL_CHEAPEST_INSERTION,
    FirstSolution.LOCAL_CHEAPEST_INSERTION: _FIRST.LOCAL_CHEAPEST_INSERTION,
    FirstSolution.SAVINGS: _FIRST.SAVINGS,
    FirstSolution.SWEEP: _FIRST.SWEEP,
    FirstSolution.CHRISTOFIDES: _FIRST.CHRISTOFIDES,
}
_METAHEURISTIC = {
    Metaheuristic.AUTOMATIC: _META.AUTOMATIC,
    Metaheuristic.GREEDY_DESCENT: _META.GREEDY_DESCENT,
    Metaheuristic.GUIDED_LOCAL_SEARCH: _META.GUIDED_LOCAL_SEARCH,
    Metaheuristic.SIMULATED_ANNEALING: _META.SIMULATED_ANNEALING,
    Metaheuristic.TABU_SEARCH: _META.TABU_SEARCH,
    # Inside iterated local search the improvement step must be a plain descent.
    Metaheuristic.ITERATED_LOCAL_SEARCH: _META.GREEDY_DESCENT,
}
_ILS_MIN_VISITS_PER_VEHICLE = 4
"""Iterated local search only with at least this many visits per vehicle (see
``run_engine``; every benchmark family has 4 or more, dispatch warm-starts)."""
_SISR_MAX_STRING = 10
_SISR_BYPASS = 0.01
_STATUS_ENUM = routing_enums_pb2.RoutingSearchStatus
_STATUS = {
    _STATUS_ENUM.ROUTING_OPTIMAL: "optimal",
    _STATUS_ENUM.ROUTING_SUCCESS: "feasible",
    _STATUS_ENUM.ROUTING_PARTIAL_SUCCESS_LOCAL_OPTIMUM_NOT_REACHED: "degraded",
}


@dataclass(frozen=True)
class EngineResult:
    """Raw engine output: node sequences and service start times per node."""

    sequences: tuple[tuple[int, ...], ...]
    """Visited job nodes per vehicle (starts and ends excluded)."""
    start_s: dict[int, int]
    """Service start (time cumul) per visited node."""
    route_start_s: tuple[int, ...]
    route_end_s: tuple[int, ...]
    objective: int
    status: str
    warm_started: bool

    @classmethod
    def of_routes(
        cls,
        problem: RoutingProblem,
        layout: Layout,
        routes: list[list[int]],
        objective: int,
        status: str,
        warm_started: bool,
    ) -> EngineResult:
        """A result for ``routes`` with their earliest service starts."""
        start_s, route_end = earliest_starts(problem, layout, routes)
        return cls(
            sequences=tuple(tuple(nodes) for nodes in routes),
            start_s=start_s,
            route_start_s=tuple(v.start_s for v in problem.vehicles),
            route_end_s=route_end,
            objective=objective,
            status=status,
            warm_started=warm_started,
        )


@dataclass(frozen=True)
class EngineRequest:
    """One engine run: what to forbid, how to start and how long to search."""

    time_limit_s: float
    """Wall time for this run, model building included."""
    initial: list[list[int]] | None = None
    excluded_jobs: frozenset[int] = frozenset()
    """Jobs known to be unservable: their nodes are forced inactive."""
    unused_vehicles: frozenset[int] = frozenset()
    """Vehicles that must stay empty (route elimination)."""


def run_engine(
    problem: RoutingProblem,
    layout: Layout,
    params: SolverParams,
    request: EngineRequest,
) -> EngineResult:
    """Build the model, solve it within the time limit and read the routes back."""
    started = monotonic()
    manager = pywrapcp.RoutingIndexManager(
        len(layout.nodes), len(problem.vehicles), list(layout.starts), list(layout.ends)
    )
    model = pywrapcp.RoutingModel(manager)
    builder = _ModelBuilder(problem, layout, params, manager, model)
    builder.build(request)
    remaining_s = request.time_limit_s - (monotonic() - started)
    search = _search_parameters(params, max(0.01, remaining_s))
    if search.use_iterated_local_search and _few_visits_per_vehicle(problem, request):
        # ortools 9.15's iterated local search (SISR ruin) can run forever, past
        # its time limit, on few visits per vehicle (measured: 2 vehicles and 1
        # stop; 10 riders and 3 orders; 10 riders and one order with 5 or 6
        # candidate pharmacies; 6 riders and 7 visits): guided local search.
        _use_guided_local_search(search)
    model.CloseModelWithParameters(search)
    assignment = None
    warm = False
    if request.initial is None and search.use_iterated_local_search:
        assignment = model.SolveWithIteratedLocalSearch(search)
    elif request.initial is not None:
        routes = [[manager.NodeToIndex(n) for n in r] for r in request.initial]
        start = model.ReadAssignmentFromRoutes(routes, True)
        if start is not None:
            if search.use_iterated_local_search:
                # Iterated local search cannot start from an assignment: use GLS.
                # (Locks can seed it, but measured no better: benchmarks/README.md.)
                _use_guided_local_search(search)
            assignment = model.SolveFromAssignmentWithParameters(start, search)
            warm = True
        else:
            logger.info("warm start rejected by the model; solving from scratch")
    if assignment is None:
        assignment = model.SolveWithParameters(search)
    if assignment is None:
        raise NoSolutionFound(
            "the engine found no assignment (check locked stops and on-board jobs)"
        )
    result = builder.read(assignment, _STATUS.get(model.status(), "degraded"), warm)
    del builder  # the model (and its callbacks) must outlive the search
    return result


def _few_visits_per_vehicle(problem: RoutingProblem, request: EngineRequest) -> bool:
    """True when a plan serving every job not excluded makes fewer visits (a
    pickup and a delivery, or one stop) than ``_ILS_MIN_VISITS_PER_VEHICLE`` per
    vehicle."""
    visits = sum(
        2 if job.candidate_pickups else 1
        for j, job in enumerate(problem.jobs)
        if j not in request.excluded_jobs
    )
    return visits < _ILS_MIN_VISITS_PER_VEHICLE * len(problem.vehicles)


def _use_guided_local_search(search: Any) -> None:
    search.use_iterated_local_search = False
    search.local_search_metaheuristic = _META.GUIDED_LOCAL_SEARCH


def _search_parameters(params: SolverParams, time_limit_s: float) -> Any:
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    if params.plain:
        search.first_solution_strategy = _FIRST.PATH_CHEAPEST_ARC
        search.local_search_metaheuristic = _META.GUIDED_LOCAL_SEARCH
    else:
        search.first_solution_strategy = _FIRST_SOLUTION[params.first_solution]
        search.local_search_metaheuristic = _METAHEURISTIC[params.metaheuristic]
        search.guided_local_search_lambda_coefficient = params.gls_lambda
        if params.metaheuristic is Metaheuristic.ITERATED_LOCAL_SEARCH:
            _iterated_local_search(search, params)
    if params.solution_limit is not None:
        search.solution_limit = params.solution_limit
    return search


def _iterated_local_search(search: Any, params: SolverParams) -> None:
    """Ruin with SISR string removals, recreate by local cheapest insertion."""
    search.use_iterated_local_search = True
    ils = search.iterated_local_search_parameters
    ruin_recreate = ils.ruin_recreate_parameters
    del ruin_recreate.ruin_strategies[:]
    sisr = ruin_recreate.ruin_strategies.add().sisr
    sisr.max_removed_sequence_size = _SISR_MAX_STRING
    sisr.avg_num_removed_visits = params.ruin_visits
    sisr.bypass_factor = _SISR_BYPASS
    ruin_recreate.recreate_strategy.heuristic = _FIRST.LOCAL_CHEAPEST_INSERTION
    ils.improve_perturbed_solution = True
    acceptance = ils.reference_solution_acceptance_strategy
    acceptance.simulated_annealing.automatic_temperatures = True


def _order_impossible(pickup: Site, job: Job) -> bool:
    """True when the pickup opens after the delivery's hard window has closed."""
    window = job.delivery.window
    if pickup.window is None or window is None or not window.hard:
        return False
    return pickup.window.start_s > window.end_s


class _ConstantLimit:
    """Pickup-to-delivery limit callback (kept alive by the builder)."""

    def __init__(self, limit_s: int) -> None:
        self.limit_s = limit_s

    def __call__(self, pickup_alternative: int, delivery_alternative: int) -> int:
        return self.limit_s


class _ModelBuilder:
    """Adds variables and constraints for one problem to one RoutingModel."""

    def __init__(
        self,
        problem: RoutingProblem,
        layout: Layout,
        params: SolverParams,
        manager: pywrapcp.RoutingIndexManager,
        model: pywrapcp.RoutingModel,
    ) -> None:
        self.problem = problem
        self.layout = layout
        self.params = params
        self.manager = manager
        self.model = model
        self.time: pywrapcp.RoutingDimension | None = None
        self.pairs = 0
        self.callbacks: list[Callable[[int, int], int]] = []

    def index(self, node: int) -> int:
        return int(self.manager.NodeToIndex(node))

    @property
    def order(self) -> list[int]:
        """Node of each engine index (ends included)."""
        count = self.model.Size() + self.model.vehicles()
        return [int(self.manager.IndexToNode(i)) for i in range(count)]

    def _register(self, rows: list[list[int]]) -> int:
        # A Python callback over index-ordered rows, not RegisterTransitMatrix:
        # in ortools 9.15 the matrix evaluator copies memory on every call (its
        # search at 2,000 nodes managed a few moves per second; this one hundreds).
        def transit(i: int, j: int) -> int:
            return rows[i][j]

        self.callbacks.append(transit)
        return int(self.model.RegisterTransitCallback(transit))

    def build(self, request: EngineRequest) -> None:
        self._costs()
        self._time()
        self._capacities()
        self._jobs(request.excluded_jobs)
        self._locks()
        for v in request.unused_vehicles:
            self.model.NextVar(self.model.Start(v)).SetValue(self.model.End(v))

    def _profiles(self) -> list[str]:
        return sorted({vehicle.profile for vehicle in self.problem.vehicles})

    def _costs(self) -> None:
        problem, model = self.problem, self.model
        evaluators: dict[str, int] = {}
        for profile in self._profiles():
            rows = self.layout.cost_rows(problem, profile, self.order)
            evaluators[profile] = self._register(rows)
            if problem.distances is not None:
                break
        for v, vehicle in enumerate(problem.vehicles):
            key = (
                vehicle.profile
                if vehicle.profile in evaluators
                else next(iter(evaluators))
            )
            model.SetArcCostEvaluatorOfVehicle(evaluators[key], v)
            if vehicle.fixed_cost:
                model.SetFixedCostOfVehicle(vehicle.fixed_cost, v)

    def _time(self) -> None:
        problem, model = self.problem, self.model
        evaluators = {
            profile: self._register(self.layout.time_rows(problem, profile, self.order))
            for profile in self._profiles()
        }
        horizon = max(v.end_s for v in problem.vehicles)
        per_vehicle = [evaluators[v.profile] for v in problem.vehicles]
        model.AddDimensionWithVehicleTransits(
            per_vehicle, horizon, horizon, False, "time"
        )
        time = model.GetDimensionOrDie("time")
        self.time = time
        for v, vehicle in enumerate(problem.vehicles):
            time.CumulVar(model.Start(v)).SetRange(vehicle.start_s, vehicle.end_s)
            time.CumulVar(model.End(v)).SetRange(vehicle.start_s, vehicle.end_s)
        for v in range(len(problem.vehicles)):
            model.AddVariableMinimizedByFinalizer(time.CumulVar(model.End(v)))
        for v in range(len(problem.vehicles)):
            model.AddVariableMaximizedByFinalizer(time.CumulVar(model.Start(v)))
        for j, group in self.layout.jobs.items():
            job = problem.jobs[j]
            for node in group.all_nodes():
                site = self.layout.nodes[node].site
                if site is None:
                    continue
                cumul = time.CumulVar(self.index(node))
                upper = horizon
                if site.window is not None:
                    cumul.SetMin(min(site.window.start_s, horizon))
                    if site.window.hard:
                        upper = min(upper, site.window.end_s)
                    else:
                        cost = lateness_cost_per_s(job, self.params)
                        time.SetCumulVarSoftUpperBound(
                            self.index(node), site.window.end_s, cost
                        )
                if (
                    node in group.deliveries
                    and job.picked_up_s is not None
                    and job.max_transit_s is not None
                ):
                    upper = min(upper, job.picked_up_s + job.max_transit_s)
                upper = max(upper, 0)
                if cumul.Min() > upper:
                    # Out of reach whatever the route (an on-board item whose hold
                    # time runs out before the window opens): setting the bound
                    # would fail the model, so the visit is left out and diagnosed.
                    model.ActiveVar(self.index(node)).SetValue(0)
                else:
                    cumul.SetMax(upper)

    def _capacities(self) -> None:
        problem, model = self.problem, self.model
        dims = len(problem.vehicles[0].capacity)
        for d in range(dims):
            evaluator = model.RegisterUnaryTransitVector(
                self.layout.demand_vector(problem, d)
            )
            starts = [problem.start_load(v)[d] for v in problem.vehicles]
            # A vehicle above capacity only unloads (``takes_new_jobs``): its
            # bound is what it carries, so its on-board deliveries stay planned.
            capacities = [
                max(v.capacity[d], load)
                for v, load in zip(problem.vehicles, starts, strict=True)
            ]
            model.AddDimensionWithVehicleCapacity(
                evaluator, 0, capacities, False, f"load{d}"
            )
            dimension = model.GetDimensionOrDie(f"load{d}")
            for v, load in enumerate(starts):
                dimension.CumulVar(model.Start(v)).SetValue(load)

    def _jobs(self, excluded: frozenset[int]) -> None:
        problem, model = self.problem, self.model
        solver = model.solver()
        base = base_drop_penalty(problem, self.params)
        for j, group in self.layout.jobs.items():
            job = problem.jobs[j]
            penalty = drop_penalty(job, base, self.params)
            nodes = [self.index(n) for n in group.all_nodes()]
            allowed = [
                v
                for v, vehicle in enumerate(problem.vehicles)
                if problem.may_serve(vehicle, job)
            ]
            if not allowed or j in excluded:
                for index in nodes:
                    model.ActiveVar(index).SetValue(0)
            elif len(allowed) < len(problem.vehicles):
                for index in nodes:
                    self._allow(index, allowed)
            if not group.pickups:
                model.AddDisjunction([self.index(group.delivery)], penalty)
                continue
            pickups = [self.index(p) for p in group.pickups]
            deliveries = [self.index(d) for d in group.deliveries]
            model.AddDisjunction(pickups, penalty, 1)
            model.AddDisjunction(deliveries, 0, 1)
            for site, pickup, delivery in zip(
                job.pickups, pickups, deliveries, strict=True
            ):
                if _order_impossible(site, job):
                    model.ActiveVar(pickup).SetValue(0)
                    model.ActiveVar(delivery).SetValue(0)
                self._pair(solver, pickup, delivery, job.max_transit_s)

    def _allow(self, index: int, vehicles: list[int]) -> None:
        # SetAllowedVehiclesForIndex's absl::Span binding is unusable from Python
        # in ortools 9.15, so restrict the vehicle variable's domain (-1: dropped).
        self.model.VehicleVar(index).SetValues([-1, *vehicles])

    def _pair(
        self,
        solver: pywrapcp.Solver,
        pickup: int,
        delivery: int,
        max_transit_s: int | None,
    ) -> None:
        """A plain pair: same vehicle, both or neither performed, pickup first."""
        model, time = self.model, self.time
        assert time is not None  # noqa: S101 - set by _time()
        model.AddPickupAndDelivery(pickup, delivery)
        solver.Add(model.ActiveVar(pickup) == model.ActiveVar(delivery))
        solver.Add(model.VehicleVar(pickup) == model.VehicleVar(delivery))
        if model.ActiveVar(pickup).Max() != 0:
            solver.Add(time.CumulVar(pickup) <= time.CumulVar(delivery))
        if max_transit_s is not None:
            # Native pickup-to-delivery limit: checked by the search filters.
            limit = _ConstantLimit(max_transit_s)
            self.callbacks.append(limit)
            time.SetPickupToDeliveryLimitFunctionForPair(limit, self.pairs)
        self.pairs += 1

    def _locks(self) -> None:
        problem, model = self.problem, self.model
        job_index = {job.id: j for j, job in enumerate(problem.jobs)}
        for v, vehicle in enumerate(problem.vehicles):
            if vehicle.locked_next is None:
                continue
            job_id, kind = vehicle.locked_next
            group = self.layout.jobs[job_index[job_id]]
            node = group.pickups[0] if kind == "pickup" else group.delivery
            for other in group.all_nodes():
                self._allow(self.index(other), [v])
            model.NextVar(model.Start(v)).SetValue(self.index(node))

    def read(
        self, assignment: pywrapcp.Assignment, status: str, warm: bool
    ) -> EngineResult:
        """Routes of ``assignment``; visit times are recomputed by ``earliest_starts``.

        The engine leaves cumuls as ranges (their minima need not meet the hold-time
        limits together), so the least consistent schedule is derived instead.
        """
        model = self.model
        sequences: list[list[int]] = []
        for v in range(len(self.problem.vehicles)):
            index = assignment.Value(model.NextVar(model.Start(v)))
            nodes: list[int] = []
            while not model.IsEnd(index):
                nodes.append(int(self.manager.IndexToNode(index)))
                index = assignment.Value(model.NextVar(index))
            sequences.append(nodes)
        return EngineResult.of_routes(
            self.problem,
            self.layout,
            sequences,
            int(assignment.ObjectiveValue()),
            status,
            warm,
        )
