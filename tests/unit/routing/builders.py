"""Tiny problems on a line: location i sits at ``POSITIONS[i]``, 10 s per unit."""

from __future__ import annotations

import numpy as np

from routing import (
    Job,
    Metaheuristic,
    RoutingProblem,
    RoutingSolution,
    Site,
    SolverParams,
    TimeWindow,
    Vehicle,
    Visit,
)

QUICK = SolverParams(time_limit_s=1.0, metaheuristic=Metaheuristic.GREEDY_DESCENT)
"""Stops at the first local optimum: fast and repeatable on tiny cases."""


def line_matrix(positions: list[float], seconds_per_unit: int = 10) -> np.ndarray:
    """Symmetric travel times between points on a line."""
    pos = np.array(positions, dtype=float)
    matrix: np.ndarray = (
        np.abs(pos[:, None] - pos[None, :]) * seconds_per_unit
    ).astype(np.int64)
    return matrix


def line_problem(
    vehicles: list[Vehicle],
    jobs: list[Job],
    positions: list[float] | None = None,
    profiles: dict[str, int] | None = None,
) -> RoutingProblem:
    """A problem whose locations are ``positions`` (default 0..10) on a line."""
    positions = positions if positions is not None else [float(i) for i in range(11)]
    profiles = profiles or {"default": 10}
    durations = {
        name: line_matrix(positions, speed) for name, speed in profiles.items()
    }
    return RoutingProblem(durations, tuple(vehicles), tuple(jobs))


def service(
    job_id: str, location: int, window: tuple[int, int] | None = None, **kw: object
) -> Job:
    """A single-visit job."""
    tw = TimeWindow(*window) if window else None
    return Job(job_id, Site(location, window=tw), **kw)  # type: ignore[arg-type]


def visits_of(solution: RoutingSolution, vehicle_id: str) -> list[Visit]:
    """Visits of one vehicle ([] if it has no route)."""
    route = solution.route_of(vehicle_id)
    return list(route.visits) if route is not None else []


def order(solution: RoutingSolution, vehicle_id: str) -> list[tuple[str, str]]:
    """(job_id, kind) of each visit of one vehicle."""
    return [(v.job_id, v.kind) for v in visits_of(solution, vehicle_id)]


def solve_quick(problem: RoutingProblem, **overrides: object) -> RoutingSolution:
    """Solve with the QUICK parameters, asserting the checker accepts the result."""
    from dataclasses import replace

    from routing import check, solve

    params = replace(QUICK, **overrides)  # type: ignore[arg-type]
    solution = solve(problem, params)
    assert check(problem, solution) == []
    return solution
