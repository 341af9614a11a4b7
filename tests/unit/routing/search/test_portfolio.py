"""The portfolio: diversified workers, and plans read across their layouts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from routing import FirstSolution, NoSolutionFound, SolverParams
from routing.construction import greedy_routes
from routing.layout import build_layout
from routing.model import Vehicle
from routing.ortools_backend import EngineResult
from routing.search.portfolio import best_of, from_solution, worker_params
from routing.search.run import Run, to_solution
from tests.unit.routing.builders import line_problem, service, solve_quick

from .instance_files import homberger, route_cost


def test_extra_workers_search_differently_from_the_first() -> None:
    """Worker i gets seed + i and a first solution that builds routes on every
    standard family (SAVINGS built none on pickup-and-delivery pairs)."""
    params = SolverParams(seed=3, num_workers=4)
    configs = [worker_params(params, i) for i in range(4)]
    assert [c.seed for c in configs] == [3, 4, 5, 6]
    assert all(c.num_workers == 1 for c in configs)
    assert configs[0].first_solution == params.first_solution
    assert configs[1].first_solution != configs[0].first_solution
    assert FirstSolution.SAVINGS not in {c.first_solution for c in configs}


def test_a_plan_moves_between_workers_layouts_unchanged() -> None:
    """Workers shuffle their layouts by seed; a plan read across keeps its cost."""
    instance = homberger()
    problem = instance.problem
    theirs = Run(problem, SolverParams(seed=1), build_layout(problem, seed=1), 0.0)
    routes = greedy_routes(problem, theirs.layout)
    stops = [[theirs.layout.nodes[n].location for n in route] for route in routes]
    cost = sum(route_cost(instance, route) for route in stops)
    result = EngineResult.of_routes(
        problem, theirs.layout, routes, cost, "feasible", warm_started=False
    )
    ours = Run(problem, SolverParams(), build_layout(problem), 0.0)
    moved = from_solution(ours, to_solution(theirs, result, 0))
    assert moved.objective == cost
    assert [[ours.layout.nodes[n].location for n in s] for s in moved.sequences] == (
        stops
    )


def test_a_worker_without_a_plan_does_not_sink_the_others() -> None:
    """A second worker that starts after the deadline finds no plan; the first
    worker's plan is still the answer (it used to fail the whole solve), and only
    when no worker finds one is NoSolutionFound raised."""
    problem = line_problem([Vehicle("v", 0, 0)], [service("a", 1), service("b", 3)])
    plan = solve_quick(problem)
    params = SolverParams(num_workers=2)
    configs = [worker_params(params, i) for i in range(2)]

    def first_only(_p, config, _i, _s):
        if config.seed != configs[0].seed:
            raise NoSolutionFound("started after the deadline")
        return plan

    def none(*_args):
        raise NoSolutionFound("no time")

    with ThreadPoolExecutor(1) as pool:
        assert best_of(first_only, problem, params, configs, None, 0.0, pool) is plan
        with pytest.raises(NoSolutionFound):
            best_of(none, problem, params, configs, None, 0.0, pool)
