"""Parsers of standard benchmark instances (pure: they take the file's text).

* Solomon / Homberger VRPTW with the DIMACS convention: every arc is the Euclidean
  distance truncated to one decimal and its travel time equals that length; times
  and lengths are scaled by 10 to integers, the objective is distance only and the
  fleet is the file's.
* Li & Lim PDPTW: double-precision Euclidean distances, scaled by 1000 (travel
  times rounded up so an integer-feasible plan is feasible in real numbers, lengths
  rounded to nearest); the true float cost is recomputed from the routes.

Matrix indices equal the file's node ids (node 0 is the depot).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from routing.errors import InvalidInstance, InvalidProblem
from routing.model import (
    Job,
    RoutingProblem,
    RoutingSolution,
    Site,
    TimeWindow,
    Vehicle,
)

Family = Literal["vrptw", "pdptw"]
Objective = Literal["distance", "vehicles_then_distance"]
VRPTW_SCALE = 10
PDPTW_SCALE = 1000


@dataclass(frozen=True, eq=False)
class Instance:
    """A parsed instance: the problem plus what is needed to report in file terms."""

    name: str
    family: Family
    objective: Objective
    problem: RoutingProblem
    coords: npt.NDArray[np.float64]
    scale: int

    def true_cost(self, solution: RoutingSolution) -> float:
        """Total distance in the instance's own units (DIMACS-truncated for VRPTW)."""
        if self.family == "vrptw":
            return sum(route.distance_m for route in solution.routes) / self.scale
        total = 0.0
        for route in solution.routes:
            path = [0, *(visit.location for visit in route.visits), 0]
            for a, b in itertools.pairwise(path):
                total += math.dist(self.coords[a], self.coords[b])
        return total


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    values: tuple[float, ...]


def _numeric_rows(
    lines: list[str], source: str, width: int, start: int, stop: int | None = None
) -> list[_Row]:
    """Rows of ``width`` numbers in ``lines[start:stop]`` (blank lines skipped)."""
    rows: list[_Row] = []
    for index in range(start, len(lines) if stop is None else stop):
        raw, number = lines[index], index + 1
        if not raw.strip():
            continue
        tokens = raw.split()
        try:
            values = tuple(float(token) for token in tokens)
        except ValueError:
            raise InvalidInstance(
                source, number, f"non-numeric value in {raw.strip()!r}"
            ) from None
        if len(values) != width:
            raise InvalidInstance(
                source, number, f"expected {width} numbers, got {len(values)}"
            )
        if not all(math.isfinite(v) for v in values):
            raise InvalidInstance(source, number, "NaN or infinite value")
        rows.append(_Row(number, values))
    return rows


def _check_ids(rows: list[_Row], source: str) -> None:
    for expected, row in enumerate(rows):
        if row.values[0] != expected:
            raise InvalidInstance(
                source, row.line, f"node id {row.values[0]:g}, expected {expected}"
            )


def _window(row: _Row, ready: float, due: float, scale: int, source: str) -> TimeWindow:
    if ready < 0 or due < 0:
        raise InvalidInstance(source, row.line, "negative time")
    if due < ready:
        raise InvalidInstance(
            source,
            row.line,
            f"time window closes ({due:g}) before it opens ({ready:g})",
        )
    return TimeWindow(round(ready * scale), round(due * scale))


def parse_solomon(text: str, source: str = "<text>") -> Instance:
    """Parse a Solomon or Homberger VRPTW instance (DIMACS convention)."""
    lines = text.splitlines()
    name = next((line.strip() for line in lines if line.strip()), "")
    if not name:
        raise InvalidInstance(source, None, "empty file")
    header = next(
        (i for i, line in enumerate(lines) if line.split()[:1] == ["NUMBER"]), None
    )
    if header is None:
        raise InvalidInstance(
            source, None, "missing 'VEHICLE / NUMBER CAPACITY' section"
        )
    fleet_line = next(
        (i for i in range(header + 1, len(lines)) if lines[i].strip()), None
    )
    customer = next(
        (
            i
            for i, line in enumerate(lines)
            if line.strip().upper().startswith("CUST NO")
        ),
        None,
    )
    if fleet_line is None or customer is None:
        raise InvalidInstance(source, None, "missing fleet line or CUSTOMER table")
    fleet = _numeric_rows(lines, source, 2, fleet_line, fleet_line + 1)
    if len(fleet) != 1 or fleet[0].values[0] < 1 or fleet[0].values[1] < 0:
        raise InvalidInstance(
            source, fleet_line + 1, "fleet line needs a vehicle count and a capacity"
        )
    count, capacity = (int(v) for v in fleet[0].values)
    rows = _numeric_rows(lines, source, 7, customer + 1)
    if len(rows) < 2:
        raise InvalidInstance(source, None, "needs a depot and at least one customer")
    _check_ids(rows, source)
    coords = np.array([row.values[1:3] for row in rows], dtype=np.float64)
    windows = [_window(r, r.values[4], r.values[5], VRPTW_SCALE, source) for r in rows]
    jobs = []
    for row, window in zip(rows[1:], windows[1:], strict=True):
        demand, service = row.values[3], row.values[6]
        if demand < 0 or service < 0:
            raise InvalidInstance(source, row.line, "negative demand or service time")
        site = Site(int(row.values[0]), round(service * VRPTW_SCALE), window)
        jobs.append(Job(str(int(row.values[0])), site, demand=(round(demand),)))
    depot = windows[0]
    vehicles = tuple(
        Vehicle(f"v{k}", 0, 0, depot.start_s, depot.end_s, capacity=(capacity,))
        for k in range(count)
    )
    matrix = _truncated_matrix(coords)
    problem = _problem(source, {"default": matrix}, vehicles, tuple(jobs), None)
    return Instance(name, "vrptw", "distance", problem, coords, VRPTW_SCALE)


def _truncated_matrix(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    if np.all(np.equal(np.floor(coords), coords)):
        ints = coords.astype(np.int64)
        squared = ((ints[:, None, :] - ints[None, :, :]) ** 2).sum(axis=2) * 100
        # Exact integer square root: floor(10 * d) without floating-point error.
        root = np.floor(np.sqrt(squared.astype(np.float64))).astype(np.int64)
        root -= (root * root > squared).astype(np.int64)
        root += ((root + 1) * (root + 1) <= squared).astype(np.int64)
        exact: npt.NDArray[np.int64] = root
        return exact
    diff = coords[:, None, :] - coords[None, :, :]
    truncated: npt.NDArray[np.int64] = np.floor(
        10 * np.hypot(diff[..., 0], diff[..., 1])
    ).astype(np.int64)
    return truncated


def parse_li_lim(text: str, source: str = "<text>") -> Instance:
    """Parse a Li & Lim PDPTW instance (vehicles first, then float distance)."""
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise InvalidInstance(source, None, "empty file")
    header = _numeric_rows(lines, source, 3, first, first + 1)[0].values
    count, capacity = int(header[0]), int(header[1])
    # Many published files carry S = 0; the literature uses travel time = distance.
    speed = header[2] if header[2] > 0 else 1.0
    if count < 1 or capacity < 0:
        raise InvalidInstance(source, first + 1, "header 'K Q S' needs K >= 1, Q >= 0")
    rows = _numeric_rows(lines, source, 9, first + 1)
    if len(rows) < 3:
        raise InvalidInstance(source, None, "needs a depot and at least one pair")
    _check_ids(rows, source)
    coords = np.array([row.values[1:3] for row in rows], dtype=np.float64)
    windows = [_window(r, r.values[4], r.values[5], PDPTW_SCALE, source) for r in rows]
    jobs = []
    for row in rows[1:]:
        node, demand, pickup_of, delivery_of = (
            int(row.values[i]) for i in (0, 3, 7, 8)
        )
        if pickup_of != 0:
            if not 0 < pickup_of < len(rows) or int(rows[pickup_of].values[8]) != node:
                raise InvalidInstance(
                    source,
                    row.line,
                    f"delivery {node} names pickup {pickup_of}, which does not name it",
                )
            continue
        if not 0 < delivery_of < len(rows) or int(rows[delivery_of].values[7]) != node:
            raise InvalidInstance(
                source,
                row.line,
                f"pickup {node} names delivery {delivery_of}, which does not name it",
            )
        if demand < 0:
            raise InvalidInstance(source, row.line, "pickup demand must be positive")
        other = rows[delivery_of]
        pickup = Site(node, round(row.values[6] * PDPTW_SCALE), windows[node])
        delivery = Site(
            delivery_of, round(other.values[6] * PDPTW_SCALE), windows[delivery_of]
        )
        jobs.append(Job(str(node), delivery, pickups=(pickup,), demand=(demand,)))
    diff = coords[:, None, :] - coords[None, :, :]
    euclid = np.hypot(diff[..., 0], diff[..., 1]) * PDPTW_SCALE
    durations = np.ceil(euclid / speed - 1e-6).astype(np.int64)
    distances = np.rint(euclid).astype(np.int64)
    depot = windows[0]
    vehicles = tuple(
        Vehicle(f"v{k}", 0, 0, depot.start_s, depot.end_s, capacity=(capacity,))
        for k in range(count)
    )
    problem = _problem(source, {"default": durations}, vehicles, tuple(jobs), distances)
    name = lines[first].strip() if not source.startswith("<") else source
    return Instance(
        _stem(source) or name,
        "pdptw",
        "vehicles_then_distance",
        problem,
        coords,
        PDPTW_SCALE,
    )


def _problem(
    source: str,
    durations: dict[str, npt.NDArray[np.int64]],
    vehicles: tuple[Vehicle, ...],
    jobs: tuple[Job, ...],
    distances: npt.NDArray[np.int64] | None,
) -> RoutingProblem:
    try:
        return RoutingProblem(durations, vehicles, jobs, distances)
    except InvalidProblem as exc:
        raise InvalidInstance(source, None, str(exc)) from exc


def _stem(source: str) -> str:
    base = source.rsplit("/", 1)[-1]
    return base.split(".", 1)[0] if not base.startswith("<") else ""


def detect_family(text: str) -> Family:
    """``vrptw`` for Solomon/Homberger layouts, ``pdptw`` for Li & Lim."""
    return "vrptw" if "CUST" in text.upper() and "VEHICLE" in text.upper() else "pdptw"


def parse_instance(text: str, source: str = "<text>") -> Instance:
    """Parse either family, detected from the text."""
    if detect_family(text) == "vrptw":
        return parse_solomon(text, source)
    return parse_li_lim(text, source)
