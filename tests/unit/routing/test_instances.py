"""Instance parsers (DIMACS / Li & Lim conventions), broken files, solution text."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from routing import InvalidInstance, Route, RoutingSolution, Visit
from routing.instances import parse_instance, parse_li_lim, parse_solomon
from routing.solution_files import format_solution, read_routes

DATA = Path(__file__).parents[2] / "data" / "routing"
BROKEN = DATA / "broken"


def test_solomon_uses_the_dimacs_truncated_scaled_arcs() -> None:
    """C101: 25 vehicles of 200, 100 customers, arcs floor(10 * euclid)."""
    instance = parse_solomon((DATA / "C101.txt").read_text(), "C101.txt")
    problem = instance.problem
    assert (len(problem.vehicles), problem.vehicles[0].capacity) == (25, (200,))
    assert len(problem.jobs) == 100
    # depot (40, 50) -> customer 1 (45, 68): sqrt(349) = 18.68... -> 186
    assert problem.durations["default"][0, 1] == math.floor(10 * math.hypot(5, 18))
    first = problem.jobs[0]
    assert (first.id, first.delivery.service_s, first.delivery.window) == (
        "1",
        900,
        first.delivery.window,
    )
    assert first.delivery.window is not None
    assert (first.delivery.window.start_s, first.delivery.window.end_s) == (9120, 9670)
    assert problem.vehicles[0].end_s == 12360


def test_li_lim_pairs_pickups_with_deliveries() -> None:
    """lc101: every pickup row becomes one job delivered at its partner row."""
    instance = parse_li_lim((DATA / "lc101.txt").read_text(), "lc101.txt")
    assert instance.name == "lc101"
    assert instance.objective == "vehicles_then_distance"
    jobs = {job.id: job for job in instance.problem.jobs}
    assert len(jobs) == 53
    # row 1 is a delivery naming pickup 11
    assert jobs["11"].pickups[0].location == 11
    assert jobs["11"].delivery.location == 1
    distances = instance.problem.distances
    assert distances is not None
    # travel times are rounded up, lengths to nearest: never shorter than the length
    assert instance.problem.durations["default"][0, 1] >= distances[0, 1]


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("EmptyFile.txt", "empty file"),
        ("solomon_TimeWindowOpenLargerThanClose.txt", ":15: time window closes"),
        ("solomon_RowMissingColumn.txt", ":13: expected 7 numbers"),
        ("solomon_NonNumericCoordinate.txt", ":14: non-numeric"),
        ("solomon_NaNCoordinate.txt", ":14: NaN"),
        ("solomon_MissingFleetSection.txt", "missing 'VEHICLE"),
        ("solomon_NodeIdsNotContiguous.txt", ":12: node id 7"),
        ("solomon_NegativeReadyTime.txt", ":16: negative time"),
        ("lilim_PairNotReciprocal.txt", ":3: delivery 1 names pickup 12"),
        ("lilim_HeaderMissingCapacity.txt", ":1: expected 3 numbers"),
        ("lilim_TimeWindowOpenLargerThanClose.txt", ":4: time window closes"),
    ],
)
def test_broken_files_name_the_file_and_line(name: str, where: str) -> None:
    """Each defect gives InvalidInstance with the file (and line) in the message."""
    path = BROKEN / name
    with pytest.raises(InvalidInstance) as info:
        parse_instance(path.read_text(), str(path))
    assert str(info.value).startswith(str(path))
    assert where in str(info.value)


def test_solution_text_lists_node_ids_and_cost() -> None:
    """VRPLIB lines: ``Route #k: ids`` then ``Cost X``; read back identically."""
    instance = parse_solomon((DATA / "C101.txt").read_text(), "C101.txt")
    visits = tuple(Visit(str(n), "service", n, "", 0, 0, 0) for n in (5, 3))
    route = Route("v0", visits, 0, 123)
    text = format_solution(instance, RoutingSolution(routes=(route,)))
    assert text == "Route #1: 5 3\nCost 12.3\n"
    assert read_routes(text) == [[5, 3]]
    assert read_routes("Route 2 : 7 8\n") == [[7, 8]]
