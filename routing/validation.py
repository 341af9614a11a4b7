"""Whole-problem validation of a :class:`~routing.model.RoutingProblem`.

Element-level checks (negative times, inverted windows) live in the dataclasses;
this module checks what needs the whole problem: matrix shapes and values, indices,
profiles, vehicle references, capacity dimensions and duplicate ids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from routing.errors import InvalidProblem

if TYPE_CHECKING:
    from routing.model import IntMatrix, Job, RoutingProblem, Site

_MAX_MATRIX_VALUE = 2**40
"""Keeps sums of arcs far from int64 overflow inside the engine."""


def normalise_matrix(matrix: object, name: str) -> IntMatrix:
    """Return ``matrix`` as a read-only square int64 array, or raise InvalidProblem."""
    try:
        array = np.asarray(matrix)
    except (TypeError, ValueError) as exc:
        raise InvalidProblem(name, f"is not an array ({exc})") from exc
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] == 0:
        raise InvalidProblem(
            name, f"must be a non-empty square matrix, got {array.shape}"
        )
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise InvalidProblem(name, "contains NaN or infinite values")
        if not np.all(np.equal(np.floor(array), array)):
            raise InvalidProblem(name, "must hold integers (seconds or metres)")
    elif array.dtype.kind not in "iu":
        raise InvalidProblem(name, f"must be numeric, got dtype {array.dtype}")
    result = array.astype(np.int64, copy=True)
    if result.size and int(result.min()) < 0:
        raise InvalidProblem(name, "contains negative values")
    if result.size and int(result.max()) > _MAX_MATRIX_VALUE:
        raise InvalidProblem(name, f"values exceed {_MAX_MATRIX_VALUE}")
    result.flags.writeable = False
    return result


def validate_problem(problem: RoutingProblem) -> None:
    """Raise InvalidProblem naming the first inconsistent field of ``problem``."""
    if not problem.durations:
        raise InvalidProblem("durations", "needs at least one profile")
    size = problem.num_locations
    for name, matrix in problem.durations.items():
        if matrix.shape != (size, size):
            raise InvalidProblem(f"durations[{name!r}]", "all profiles need one shape")
    if problem.distances is not None and problem.distances.shape != (size, size):
        raise InvalidProblem("distances", f"shape must be {(size, size)}")
    if not problem.vehicles:
        raise InvalidProblem("vehicles", "needs at least one vehicle")
    _check_unique([v.id for v in problem.vehicles], "vehicles")
    _check_unique([j.id for j in problem.jobs], "jobs")
    dims = len(problem.vehicles[0].capacity)
    vehicle_ids = {v.id for v in problem.vehicles}
    for vehicle in problem.vehicles:
        name = f"vehicle {vehicle.id!r}"
        if vehicle.profile not in problem.durations:
            raise InvalidProblem(
                f"{name}.profile", f"unknown profile {vehicle.profile!r}"
            )
        _check_location(vehicle.start, size, f"{name}.start")
        if vehicle.end is not None:
            _check_location(vehicle.end, size, f"{name}.end")
        if len(vehicle.capacity) != dims:
            raise InvalidProblem(
                f"{name}.capacity",
                f"has {len(vehicle.capacity)} dimensions, not {dims}",
            )
    jobs = {job.id: job for job in problem.jobs}
    for job in problem.jobs:
        _validate_job(job, size, dims, vehicle_ids)
    for vehicle in problem.vehicles:
        if vehicle.locked_next is not None:
            _validate_lock(vehicle.id, vehicle.locked_next, jobs)


def _validate_job(job: Job, size: int, dims: int, vehicle_ids: set[str]) -> None:
    name = f"job {job.id!r}"
    _check_site(job.delivery, size, f"{name}.delivery")
    for i, site in enumerate(job.pickups):
        _check_site(site, size, f"{name}.pickups[{i}]")
    if job.demand and len(job.demand) != dims:
        raise InvalidProblem(
            f"{name}.demand", f"has {len(job.demand)} values, vehicles have {dims}"
        )
    if job.on_board is not None and job.on_board not in vehicle_ids:
        raise InvalidProblem(f"{name}.on_board", f"unknown vehicle {job.on_board!r}")


def _validate_lock(
    vehicle_id: str, lock: tuple[str, str], jobs: dict[str, Job]
) -> None:
    name = f"vehicle {vehicle_id!r}.locked_next"
    job_id, kind = lock
    job = jobs.get(job_id)
    if job is None:
        raise InvalidProblem(name, f"unknown job {job_id!r}")
    if job.on_board is not None and job.on_board != vehicle_id:
        raise InvalidProblem(name, f"job {job_id!r} is on board another vehicle")
    if kind == "pickup":
        if len(job.candidate_pickups) != 1:
            raise InvalidProblem(
                name,
                f"a locked pickup needs exactly one candidate site (job {job_id!r})",
            )
    elif job.candidate_pickups:
        raise InvalidProblem(name, f"job {job_id!r} must be picked up before delivery")


def _check_site(site: Site, size: int, name: str) -> None:
    _check_location(site.location, size, f"{name}.location")


def _check_location(location: int, size: int, name: str) -> None:
    if not 0 <= location < size:
        raise InvalidProblem(
            name, f"index {location} outside the matrices (size {size})"
        )


def _check_unique(ids: list[str], name: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise InvalidProblem(name, f"duplicate id {item!r}")
        seen.add(item)
