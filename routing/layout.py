"""Node layout of a problem for an arc-based engine (pure numpy, no solver).

Nodes are, in order: one start per vehicle, one end per vehicle (a dummy for open
routes), then for each job its candidate pickups followed by its delivery. A job with
several candidate pickups gets one delivery copy per candidate, so that each
(pickup, delivery copy) is a plain pickup-and-delivery pair; at most one pair is
performed. (Pickup-and-delivery *sets* scale badly in OR-Tools.) Matrices
over nodes fold the service time of the origin into the travel time, and arcs into
an open route's dummy end are free.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from routing.model import IntMatrix, Job, RoutingProblem, Site

NodeKind = Literal["start", "end", "pickup", "delivery", "service"]
OPEN_END = -1
"""Location of the dummy end of an open route."""


@dataclass(frozen=True, slots=True)
class Node:
    """One engine node: what it stands for and where it is."""

    kind: NodeKind
    location: int
    job: int = -1
    """Index into ``problem.jobs`` (-1 for starts and ends)."""
    vehicle: int = -1
    """Index into ``problem.vehicles`` for starts and ends."""
    site: Site | None = None


@dataclass(frozen=True)
class JobNodes:
    """Nodes of one job: candidate pickups (maybe none) and delivery copies.

    ``deliveries[i]`` pairs with ``pickups[i]``; without pickups there is one.
    """

    pickups: tuple[int, ...]
    deliveries: tuple[int, ...]

    @property
    def delivery(self) -> int:
        """The first delivery node (the only one without candidate pickups)."""
        return self.deliveries[0]

    def all_nodes(self) -> tuple[int, ...]:
        """Every node of the job."""
        return (*self.pickups, *self.deliveries)


@dataclass(frozen=True)
class Layout:
    """Nodes of a problem with per-job node groups and node-indexed matrices."""

    nodes: tuple[Node, ...]
    jobs: dict[int, JobNodes]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def time_matrix(self, problem: RoutingProblem, profile: str) -> IntMatrix:
        """Service time at the origin plus travel time, node to node."""
        service = np.array(
            [n.site.service_s if n.site is not None else 0 for n in self.nodes],
            dtype=np.int64,
        )
        return self._over_nodes(problem.durations[profile]) + self._mask(service)

    def cost_matrix(self, problem: RoutingProblem, profile: str) -> IntMatrix:
        """Arc cost node to node: distance, or travel time without distances."""
        base = problem.distances if problem.distances is not None else None
        matrix = base if base is not None else problem.durations[profile]
        return self._over_nodes(matrix)

    def time_rows(
        self, problem: RoutingProblem, profile: str, order: Sequence[int]
    ) -> list[list[int]]:
        """``time_matrix`` rows and columns in ``order`` (engine index -> node)."""
        service = np.array(
            [
                n.site.service_s if n.site is not None and n.kind != "end" else 0
                for n in self.nodes
            ],
            dtype=np.int64,
        )
        return self._shared_rows(problem.durations[profile], service, order)

    def cost_rows(
        self, problem: RoutingProblem, profile: str, order: Sequence[int]
    ) -> list[list[int]]:
        """``cost_matrix`` rows and columns in ``order`` (engine index -> node)."""
        base = problem.distances
        matrix = base if base is not None else problem.durations[profile]
        zero = np.zeros(len(self.nodes), dtype=np.int64)
        return self._shared_rows(matrix, zero, order)

    def _shared_rows(
        self, matrix: IntMatrix, service: np.ndarray, order: Sequence[int]
    ) -> list[list[int]]:
        # Converting to Python lists dominates the engine's model build; many nodes
        # share a location (delivery copies, pharmacies), so convert each row once
        # and let equal rows share one list.
        index = np.asarray(order, dtype=np.int64)
        raw = np.array([n.location for n in self.nodes], dtype=np.int64)[index]
        service = service[index]
        keys, inverse = np.unique(
            np.column_stack([raw, service]), axis=0, return_inverse=True
        )
        locs = np.maximum(raw, 0)
        rows = matrix[np.ix_(np.maximum(keys[:, 0], 0), locs)].astype(np.int64)
        rows[:, raw == OPEN_END] = 0
        rows[keys[:, 0] == OPEN_END, :] = 0
        rows += keys[:, 1:2]
        lists: list[list[int]] = rows.tolist()
        return [lists[k] for k in inverse.reshape(-1)]

    def demand_vector(self, problem: RoutingProblem, dim: int) -> list[int]:
        """Load change at each node for capacity dimension ``dim``."""
        values = [0] * len(self.nodes)
        for j, group in self.jobs.items():
            job = problem.jobs[j]
            amount = job.demand[dim] if job.demand else 0
            for p in group.pickups:
                values[p] = amount
            is_pd = bool(group.pickups) or job.on_board is not None
            for d in group.deliveries:
                values[d] = -amount if is_pd else amount
        return values

    def _locations(self) -> np.ndarray:
        return np.array([max(n.location, 0) for n in self.nodes], dtype=np.int64)

    def _over_nodes(self, matrix: IntMatrix) -> IntMatrix:
        locs = self._locations()
        out: IntMatrix = matrix[np.ix_(locs, locs)].astype(np.int64)
        is_open_end = np.array([n.location == OPEN_END for n in self.nodes])
        out[:, is_open_end] = 0
        out[is_open_end, :] = 0
        return out

    def _mask(self, service: np.ndarray) -> IntMatrix:
        column = service[:, None].repeat(len(self.nodes), axis=1)
        is_end = np.array([n.kind == "end" for n in self.nodes])
        column[is_end, :] = 0
        result: IntMatrix = column
        return result


def build_layout(problem: RoutingProblem, seed: int = 0) -> Layout:
    """Lay out nodes; a non-zero ``seed`` shuffles job order (diversifies ties)."""
    nodes: list[Node] = []
    for v, vehicle in enumerate(problem.vehicles):
        nodes.append(Node("start", vehicle.start, vehicle=v))
    for v, vehicle in enumerate(problem.vehicles):
        end = vehicle.end if vehicle.end is not None else OPEN_END
        nodes.append(Node("end", end, vehicle=v))
    order = list(range(len(problem.jobs)))
    if seed:
        random.Random(seed).shuffle(order)
    jobs: dict[int, JobNodes] = {}
    for j in order:
        jobs[j] = _add_job(nodes, j, problem.jobs[j])
    count = len(problem.vehicles)
    return Layout(
        nodes=tuple(nodes),
        jobs=dict(sorted(jobs.items())),
        starts=tuple(range(count)),
        ends=tuple(range(count, 2 * count)),
    )


def _add_job(nodes: list[Node], j: int, job: Job) -> JobNodes:
    pickups: list[int] = []
    for site in job.candidate_pickups:
        pickups.append(len(nodes))
        nodes.append(Node("pickup", site.location, job=j, site=site))
    kind: NodeKind = "delivery" if pickups or job.on_board is not None else "service"
    deliveries: list[int] = []
    for _ in range(max(1, len(pickups))):
        deliveries.append(len(nodes))
        nodes.append(Node(kind, job.delivery.location, job=j, site=job.delivery))
    return JobNodes(pickups=tuple(pickups), deliveries=tuple(deliveries))
