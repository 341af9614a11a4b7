"""The benchmark instances the search tests run on, and the cost of a route."""

from __future__ import annotations

import itertools
from pathlib import Path

from routing.instances import Instance, parse_instance

DATA = Path(__file__).parents[3] / "data" / "routing"


def c101() -> Instance:
    """C101: 100 clustered customers, depot-based VRPTW (decomposable)."""
    return parse_instance((DATA / "C101.txt").read_text(), "C101.txt")


def homberger() -> Instance:
    """R1_2_1: 200 customers, depot-based VRPTW (decomposable)."""
    return parse_instance((DATA / "R1_2_1.txt").read_text(), "R1_2_1.txt")


def li_lim() -> Instance:
    """lr104: 100 pickup-and-delivery pairs, one depot (routes independent)."""
    return parse_instance((DATA / "lr104.txt").read_text(), "lr104.txt")


def route_cost(instance: Instance, stops: list[int]) -> int:
    """Cost of the route depot, ``stops`` (locations), depot."""
    # DIMACS instances carry no distances: travel time is the cost.
    matrix = instance.problem.durations["default"]
    path = [0, *stops, 0]
    return sum(int(matrix[a, b]) for a, b in itertools.pairwise(path))
