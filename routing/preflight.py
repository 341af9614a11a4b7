"""Checks of a problem before the search: what the vehicles' starting state rules out.

A vehicle that starts above capacity is planned its on-board deliveries only (a
warning says so); a locked next stop whose job its vehicle cannot serve even alone
is released (``ReleasedLock``), and the job is planned like any other.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from routing.diagnosis import why_not_alone
from routing.model import ReleasedLock, RoutingProblem

logger = logging.getLogger(__name__)


def warn_over_capacity(problem: RoutingProblem) -> None:
    """Log each vehicle that starts above capacity (it takes no new job)."""
    for vehicle in problem.vehicles:
        if not problem.takes_new_jobs(vehicle):
            logger.warning(
                "vehicle %s starts above capacity (carries %s of %s): "
                "only its on-board deliveries are planned",
                vehicle.id,
                list(problem.start_load(vehicle)),
                list(vehicle.capacity),
            )


def release_impossible_locks(
    problem: RoutingProblem,
) -> tuple[RoutingProblem, tuple[ReleasedLock, ...]]:
    """``problem`` without the locks whose job its vehicle cannot serve even
    alone, and those locks.

    The engine can only fail on such a lock and the construction would break a hard
    rule (a cold item held past its limit); released, the job is planned like any
    other (another vehicle, or unassigned with its reason for a person to decide).
    """
    jobs = {job.id: job for job in problem.jobs}
    vehicles = list(problem.vehicles)
    released: list[ReleasedLock] = []
    for v, vehicle in enumerate(vehicles):
        if vehicle.locked_next is None:
            continue
        job_id, kind = vehicle.locked_next
        job = jobs[job_id]
        pickups = job.candidate_pickups
        pickup = pickups[0] if kind == "pickup" and pickups else None
        why = why_not_alone(problem, vehicle, job, pickup)
        if why is not None:
            logger.warning(
                "lock of vehicle %s released: job %s cannot be served (%s)",
                vehicle.id,
                job_id,
                why.detail,
            )
            vehicles[v] = replace(vehicle, locked_next=None)
            released.append(ReleasedLock(vehicle.id, job_id, why.detail, why))
    if released:
        problem = replace(problem, vehicles=tuple(vehicles))
    return problem, tuple(released)
