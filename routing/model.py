"""Plain data of the routing engine: the problem in, the solution out.

Frozen dataclasses holding integers only (seconds, metres, capacity units); matrices
are numpy integer arrays, directed (row = from, column = to). Everything pickles, so a
problem can be solved in a worker process. ``RoutingProblem`` validates itself on
construction and raises :class:`~routing.errors.InvalidProblem` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt

from routing.errors import InvalidProblem

IntMatrix = npt.NDArray[np.int64]
VisitKind = Literal["pickup", "delivery", "service"]
LockKind = Literal["pickup", "delivery"]
SolutionStatus = Literal["optimal", "feasible", "degraded"]
MAX_TIME_S = 2**31 - 1
"""Largest time value accepted (also the default shift end)."""


def _require_int(value: object, name: str, *, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float) and math.isnan(value):
            raise InvalidProblem(name, "is NaN")
        raise InvalidProblem(name, f"must be an integer, got {value!r}")
    if value < minimum:
        raise InvalidProblem(name, f"must be >= {minimum}, got {value}")
    if value > MAX_TIME_S * 2**16:
        raise InvalidProblem(name, f"is too large ({value})")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Service starts within ``[start_s, end_s]``; soft: lateness costs."""

    start_s: int
    end_s: int
    hard: bool = True

    def __post_init__(self) -> None:
        _require_int(self.start_s, "window.start_s")
        _require_int(self.end_s, "window.end_s")
        if self.end_s < self.start_s:
            raise InvalidProblem(
                "window", f"closes ({self.end_s}) before it opens ({self.start_s})"
            )


@dataclass(frozen=True, slots=True)
class Site:
    """Where a job is served: a matrix index, a service time and an optional window."""

    location: int
    service_s: int = 0
    window: TimeWindow | None = None
    ref: str = ""
    """Caller's id of the place (e.g. a pharmacy id), echoed in visits."""

    def __post_init__(self) -> None:
        _require_int(self.location, "site.location")
        _require_int(self.service_s, "site.service_s")


@dataclass(frozen=True, slots=True)
class Job:
    """An order: one delivery, preceded by a pickup at one of ``pickups`` if any.

    With no pickups the job is a single visit (a VRPTW customer) whose demand is
    loaded at the depot. ``on_board`` names the vehicle already carrying it: only the
    delivery is planned (``pickups`` are ignored) and it stays on that vehicle;
    ``picked_up_s`` then tells when it was collected, for the hold-time limit.
    """

    id: str
    delivery: Site
    pickups: tuple[Site, ...] = ()
    demand: tuple[int, ...] = ()
    priority: int = 0
    max_transit_s: int | None = None
    skills: frozenset[str] = frozenset()
    on_board: str | None = None
    drop_penalty: int | None = None
    picked_up_s: int | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidProblem("job.id", "must not be empty")
        for i, amount in enumerate(self.demand):
            _require_int(amount, f"job {self.id!r}.demand[{i}]")
        _require_int(self.priority, f"job {self.id!r}.priority")
        if self.max_transit_s is not None:
            _require_int(self.max_transit_s, f"job {self.id!r}.max_transit_s")
        if self.drop_penalty is not None:
            _require_int(self.drop_penalty, f"job {self.id!r}.drop_penalty")
        if self.picked_up_s is not None:
            _require_int(self.picked_up_s, f"job {self.id!r}.picked_up_s")
            if self.on_board is None:
                raise InvalidProblem(
                    f"job {self.id!r}.picked_up_s", "is only meaningful with on_board"
                )

    @property
    def candidate_pickups(self) -> tuple[Site, ...]:
        """Pickup sites the solver may choose from (none for on-board jobs)."""
        return () if self.on_board is not None else self.pickups


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A rider: where and when it starts, where it must end, what it can carry."""

    id: str
    start: int
    end: int | None = None
    """End location; ``None`` is an open route ending at the last stop."""
    start_s: int = 0
    end_s: int = MAX_TIME_S
    """Shift end: latest arrival at ``end`` (or at the last stop of an open route)."""
    capacity: tuple[int, ...] = ()
    profile: str = "default"
    skills: frozenset[str] = frozenset()
    fixed_cost: int = 0
    locked_next: tuple[str, LockKind] | None = None
    """``(job_id, kind)`` that must be the first stop of this vehicle."""

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidProblem("vehicle.id", "must not be empty")
        name = f"vehicle {self.id!r}"
        _require_int(self.start, f"{name}.start")
        if self.end is not None:
            _require_int(self.end, f"{name}.end")
        _require_int(self.start_s, f"{name}.start_s")
        _require_int(self.end_s, f"{name}.end_s")
        if self.end_s < self.start_s:
            raise InvalidProblem(f"{name}.end_s", "shift ends before it starts")
        for i, amount in enumerate(self.capacity):
            _require_int(amount, f"{name}.capacity[{i}]")
        _require_int(self.fixed_cost, f"{name}.fixed_cost")
        if self.locked_next is not None and self.locked_next[1] not in (
            "pickup",
            "delivery",
        ):
            raise InvalidProblem(
                f"{name}.locked_next", "kind must be 'pickup' or 'delivery'"
            )


@dataclass(frozen=True, eq=False)
class RoutingProblem:
    """Matrices, vehicles and jobs. ``distances=None`` makes travel time the cost.

    Matrices are normalised to read-only ``int64`` arrays; any inconsistency
    (shape, NaN, negative entries, unknown profile or vehicle, out-of-range index,
    demand/capacity size mismatch, duplicate ids) raises ``InvalidProblem``.
    """

    durations: Mapping[str, IntMatrix]
    vehicles: tuple[Vehicle, ...]
    jobs: tuple[Job, ...]
    distances: IntMatrix | None = None

    def __post_init__(self) -> None:
        from routing.validation import normalise_matrix, validate_problem

        durations = {
            str(name): normalise_matrix(matrix, f"durations[{name!r}]")
            for name, matrix in self.durations.items()
        }
        object.__setattr__(self, "durations", durations)
        object.__setattr__(self, "vehicles", tuple(self.vehicles))
        object.__setattr__(self, "jobs", tuple(self.jobs))
        if self.distances is not None:
            object.__setattr__(
                self, "distances", normalise_matrix(self.distances, "distances")
            )
        validate_problem(self)

    @property
    def num_locations(self) -> int:
        """Size of the (square) matrices."""
        return int(next(iter(self.durations.values())).shape[0])

    def travel_s(self, vehicle: Vehicle, origin: int, destination: int) -> int:
        """Travel time of ``vehicle`` between two locations."""
        return int(self.durations[vehicle.profile][origin, destination])

    def cost_of_arc(self, vehicle: Vehicle, origin: int, destination: int) -> int:
        """Arc cost: distance if distances are given, else the vehicle's travel time."""
        if self.distances is not None:
            return int(self.distances[origin, destination])
        return self.travel_s(vehicle, origin, destination)

    def start_load(self, vehicle: Vehicle) -> tuple[int, ...]:
        """What ``vehicle`` carries at its start: the demand of its on-board jobs."""
        return self._start_loads[vehicle.id]

    def takes_new_jobs(self, vehicle: Vehicle) -> bool:
        """False for a vehicle that starts above its capacity in some dimension
        (a box loaded by hand, a capacity lowered since): it delivers what it
        carries and is given nothing new until a later plan finds it within
        capacity, so no pickup ever loads it further past its limit."""
        return vehicle.id not in self._over_capacity

    def may_serve(self, vehicle: Vehicle, job: Job) -> bool:
        """Whether ``job`` may be planned on ``vehicle`` at all: an on-board job
        only on the vehicle carrying it; any other on a vehicle with its skills
        that takes new jobs."""
        if job.on_board is not None:
            return job.on_board == vehicle.id
        return job.skills <= vehicle.skills and self.takes_new_jobs(vehicle)

    @cached_property
    def _start_loads(self) -> dict[str, tuple[int, ...]]:
        loads = {v.id: [0] * len(v.capacity) for v in self.vehicles}
        for job in self.jobs:
            if job.on_board is not None and job.demand:
                load = loads[job.on_board]
                loads[job.on_board] = [
                    a + b for a, b in zip(load, job.demand, strict=True)
                ]
        return {vehicle_id: tuple(load) for vehicle_id, load in loads.items()}

    @cached_property
    def _over_capacity(self) -> frozenset[str]:
        return frozenset(
            v.id
            for v in self.vehicles
            if any(
                a > cap
                for a, cap in zip(self._start_loads[v.id], v.capacity, strict=True)
            )
        )


def apply_load(
    load: list[int], sign: int, demand: tuple[int, ...], capacity: tuple[int, ...]
) -> bool:
    """Add ``sign`` x ``demand`` to ``load`` in place; False when that breaks the
    capacity rule: a load never goes negative, and loading never leaves it above
    capacity (a vehicle that starts above capacity may still unload)."""
    ok = True
    for d, amount in enumerate(demand):
        load[d] += sign * amount
        if load[d] < 0 or (sign > 0 and amount > 0 and load[d] > capacity[d]):
            ok = False
    return ok


@dataclass(frozen=True, slots=True)
class Visit:
    """One stop of a route, with its times (service starts at ``start_s``)."""

    job_id: str
    kind: VisitKind
    location: int
    site_ref: str
    arrival_s: int
    start_s: int
    departure_s: int
    late_s: int = 0


@dataclass(frozen=True, slots=True)
class Route:
    """The ordered visits of one vehicle; empty routes are not listed."""

    vehicle_id: str
    visits: tuple[Visit, ...]
    duration_s: int
    """From departure at the start to arrival at the end (or the last departure)."""
    distance_m: int
    """Sum of arc costs (metres, or seconds when the problem has no distances)."""
    start_s: int = 0
    end_s: int = 0


class UnassignedReason(StrEnum):
    """Why a job is not in any route."""

    NO_REACHABLE_PICKUP = "no_reachable_pickup"
    CAPACITY = "capacity"
    SKILLS = "skills"
    WINDOW_IMPOSSIBLE = "window_impossible"
    HOLD_TIME = "hold_time"
    SHIFT = "shift"
    NOT_PROFITABLE = "not_profitable"


@dataclass(frozen=True, slots=True)
class Unassigned:
    """A job left out of the plan, with a machine reason and a human detail.

    ``limit_s`` and ``needed_s`` are the two numbers the reason compares, for a
    caller to word in its own units: for ``window_impossible``,
    ``no_reachable_pickup`` and ``shift`` the deadline missed (a window's close,
    a shift's end) and the earliest the vehicle can be there (or finish), in
    seconds since the problem's origin; for ``hold_time`` the hold allowed and
    the shortest hold possible, in seconds; None for the other reasons."""

    job_id: str
    reason: UnassignedReason
    detail: str
    limit_s: int | None = None
    needed_s: int | None = None


@dataclass(frozen=True, slots=True)
class ReleasedLock:
    """A vehicle's locked next stop the plan does not keep (``detail`` says why):
    ``solve`` releases a lock whose job the vehicle cannot serve even alone, and a
    caller that re-plans without locks may report the ones it dropped the same
    way. The job is planned like any other, on another vehicle or unassigned."""

    vehicle_id: str
    job_id: str
    detail: str
    why: Unassigned | None = None
    """The reason in the engine's terms (with the two numbers it compares) when
    the vehicle cannot serve the job even alone; None for a caller's own release."""


@dataclass(frozen=True)
class RoutingSolution:
    """Routes, unassigned jobs and the engine's integer objective."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...] = ()
    cost: int = 0
    solve_time_s: float = 0.0
    status: SolutionStatus = "feasible"
    stats: Mapping[str, float] = field(default_factory=dict)
    released_locks: tuple[ReleasedLock, ...] = ()

    @property
    def vehicles_used(self) -> int:
        """Number of non-empty routes."""
        return sum(1 for route in self.routes if route.visits)

    def route_of(self, vehicle_id: str) -> Route | None:
        """The route of a vehicle, if it has one."""
        return next((r for r in self.routes if r.vehicle_id == vehicle_id), None)
