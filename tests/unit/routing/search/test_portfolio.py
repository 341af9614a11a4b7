"""The portfolio: diversified workers, and plans read across their layouts."""

from __future__ import annotations

from routing import FirstSolution, SolverParams
from routing.construction import greedy_routes
from routing.layout import build_layout
from routing.ortools_backend import EngineResult
from routing.search.portfolio import from_solution, worker_params
from routing.search.run import Run, to_solution

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
