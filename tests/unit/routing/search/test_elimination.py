"""Route elimination (fewest vehicles first): routes emptied, no job lost."""

from __future__ import annotations

from collections.abc import Callable

from routing import Metaheuristic, SolverParams, check, solve
from routing.construction import greedy_routes
from routing.layout import build_layout
from routing.search.elimination import eliminate_by_parts

from .instance_files import li_lim


def test_elimination_by_groups_empties_routes_and_keeps_every_job(
    group_deadline: Callable[[float], float],
) -> None:
    """lr104 from the greedy construction: fewer routes, same stops, pairs intact.

    Each group is searched to its local optimum (greedy descent, ``group_deadline``),
    so the first one empties a route on any host.
    """
    problem = li_lim().problem
    layout = build_layout(problem)
    greedy = greedy_routes(problem, layout)
    descent = SolverParams(metaheuristic=Metaheuristic.GREEDY_DESCENT)
    parts = eliminate_by_parts(problem, layout, descent, greedy, group_deadline(3.0))
    used = sum(1 for route in parts.routes if route)
    assert parts.accepted >= 1
    assert parts.routes_removed >= parts.accepted
    assert used == sum(1 for route in greedy if route) - parts.routes_removed
    assert sorted(n for r in parts.routes for n in r) == sorted(
        n for r in greedy for n in r
    )
    for route in parts.routes:
        for position, node in enumerate(route):
            group = layout.jobs[layout.nodes[node].job]
            if node in group.deliveries:
                assert group.pickups[0] in route[:position]


def test_vehicle_minimising_solve_with_groups_is_feasible() -> None:
    """lr104, 3 s, fewest vehicles first: the checker finds nothing."""
    problem = li_lim().problem
    solution = solve(problem, SolverParams(time_limit_s=3.0, minimise_vehicles=True))
    assert check(problem, solution) == []
    assert not solution.unassigned
