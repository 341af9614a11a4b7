"""Angular sectors: a first plan by parts for large depot-based VRPTW."""

from __future__ import annotations

import math
import multiprocessing
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np

from routing import (
    Job,
    Metaheuristic,
    RoutingProblem,
    Site,
    SolverParams,
    Vehicle,
    check,
    solve,
)
from routing.layout import build_layout
from routing.search.run import Run
from routing.search.sectors import SLACK, by_sectors, first_plan_by_sectors, sectors

from .instance_files import homberger


def _euclidean(
    points: list[tuple[float, float]], vehicles: int = 10, capacity: int = 1000
) -> RoutingProblem:
    """Depot at the origin (location 0), one job per point, arc = floor(10 x euclid)."""
    places = np.array([(0.0, 0.0), *points])
    gaps = places[:, None, :] - places[None, :, :]
    matrix = np.floor(10 * np.hypot(gaps[..., 0], gaps[..., 1])).astype(np.int64)
    return RoutingProblem(
        {"default": matrix},
        tuple(
            Vehicle(f"v{k}", 0, end=0, capacity=(capacity,)) for k in range(vehicles)
        ),
        tuple(
            Job(f"j{i}", Site(i + 1, service_s=10), demand=(1,))
            for i in range(len(points))
        ),
    )


def _ring(count: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [
        (r * math.cos(a), r * math.sin(a))
        for a, r in (
            (rng.uniform(0, 2 * math.pi), rng.uniform(5, 50)) for _ in range(count)
        )
    ]


def _runs(labels: list[int]) -> int:
    """Contiguous runs of equal labels, read cyclically."""
    changes = sum(a != b for a, b in zip(labels, labels[1:] + labels[:1], strict=True))
    return max(1, changes)


def test_two_clusters_either_side_of_the_depot_are_the_two_sectors() -> None:
    """A cut never goes through a cluster when a wide gap is within reach."""
    rng = random.Random(3)
    east = [(40 + rng.uniform(-5, 5), rng.uniform(-5, 5)) for _ in range(21)]
    west = [(-40 + rng.uniform(-5, 5), rng.uniform(-5, 5)) for _ in range(19)]
    parts = sectors(_euclidean(east + west), 2)
    assert sorted(map(sorted, parts)) == [list(range(21)), list(range(21, 40))]


def test_sectors_are_contiguous_in_angle_and_about_equal() -> None:
    """Uniform customers: each job once, sectors are angular runs of ~n/parts."""
    points = _ring(200, seed=5)
    angles = [math.atan2(y, x) for x, y in points]
    for parts in (2, 3, 4):
        split = sectors(_euclidean(points), parts)
        assert sorted(j for part in split for j in part) == list(range(200))
        nominal = 200 / parts
        for part in split:
            assert abs(len(part) - nominal) <= 2 * max(1, int(nominal * SLACK)) + 1
        label = {j: k for k, part in enumerate(split) for j in part}
        by_angle = [label[j] for j in sorted(range(200), key=angles.__getitem__)]
        assert _runs(by_angle) == parts


def test_too_few_jobs_make_one_sector() -> None:
    """Fewer than two jobs per part: no split."""
    assert sectors(_euclidean(_ring(5, seed=1)), 3) == [[0, 1, 2, 3, 4]]


def test_sectors_need_interchangeable_vehicles_and_enough_jobs() -> None:
    """Large problems of identical vehicles only: a rider's own box or shift is
    not a fleet to share out."""
    problem = _euclidean(_ring(200, seed=2))
    assert by_sectors(problem, 2)
    assert not by_sectors(replace(problem, jobs=problem.jobs[:149]), 2)
    small_box = replace(problem.vehicles[3], capacity=(5,))
    vehicles = (*problem.vehicles[:3], small_box, *problem.vehicles[4:])
    assert not by_sectors(replace(problem, vehicles=vehicles), 2)
    assert not by_sectors(replace(problem, vehicles=problem.vehicles[:3]), 2)


def test_a_first_plan_by_sectors_serves_every_job_on_disjoint_fleets() -> None:
    """Two workers, one sector each (one in a pool process): every job served
    once, sector k on the k-th half of the fleet, the objective the plan's cost.

    Each sector is searched to its local optimum (greedy descent: about 1 s of CPU
    here), which a host ten times slower still reaches well before the deadline;
    a sector stopped by the deadline first could be left without a plan, its jobs
    then inserted anywhere, on the other sector's vehicles too.
    """
    problem = homberger().problem
    layout = build_layout(problem)
    params = SolverParams(metaheuristic=Metaheuristic.GREEDY_DESCENT)
    deadline = time.monotonic() + 60.0
    run = Run(problem, params, layout, deadline)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        result, searched = first_plan_by_sectors(run, 2, deadline, pool)
    assert searched
    served = sorted(layout.nodes[n].job for route in result.sequences for n in route)
    assert served == list(range(len(problem.jobs)))
    half = len(problem.vehicles) // 2
    east, west = sectors(problem, 2)
    for v, route in enumerate(result.sequences):
        jobs = {layout.nodes[n].job for n in route}
        assert jobs <= set(east if v < half else west)
    cost = sum(
        int(problem.durations["default"][a, b])
        for route in result.sequences
        for a, b in zip(
            [0, *(layout.nodes[n].location for n in route)],
            [*(layout.nodes[n].location for n in route), 0],
            strict=True,
        )
    )
    assert result.objective == cost


def test_a_sector_without_a_plan_loses_no_job() -> None:
    """Seven vehicles of 25 for 160 customers: a sector gets three (75 units) and
    one sector holds at least 80 jobs, so its plan fails; every job is served."""
    problem = _euclidean(_ring(160, seed=7), vehicles=7, capacity=25)
    assert by_sectors(problem, 2)
    solution = solve(problem, SolverParams(time_limit_s=4.0, num_workers=2))
    assert check(problem, solution) == []
    assert not solution.unassigned
