"""Explain why a job is unassigned, by checking it alone on every vehicle (pure).

A job that fails even on an otherwise empty route gets the reason of the furthest
stage it reached (pickup, delivery window, hold time, shift end); a job that fits
alone was left out because the plan had no room for it: ``not_profitable``.
"""

from __future__ import annotations

from dataclasses import dataclass

from routing.model import (
    Job,
    RoutingProblem,
    Site,
    Unassigned,
    UnassignedReason,
    Vehicle,
    apply_load,
)

_STAGES = (
    UnassignedReason.NO_REACHABLE_PICKUP,
    UnassignedReason.WINDOW_IMPOSSIBLE,
    UnassignedReason.HOLD_TIME,
    UnassignedReason.SHIFT,
)


@dataclass(frozen=True, slots=True)
class _Attempt:
    stage: int
    """Index into ``_STAGES`` of the failure, or ``len(_STAGES)`` when it fits."""
    detail: str
    limit_s: int | None = None
    """The deadline (or allowed hold) missed; see :class:`Unassigned`."""
    needed_s: int | None = None
    """The earliest possible arrival or finish (or shortest hold)."""


def diagnose(problem: RoutingProblem, job: Job) -> Unassigned:
    """Why ``job`` cannot be (or was not) served: the reason, a short detail and
    the two numbers it compares (:class:`Unassigned`)."""
    if job.on_board is not None:
        vehicles = [v for v in problem.vehicles if v.id == job.on_board]
    else:
        vehicles = [v for v in problem.vehicles if job.skills <= v.skills]
        if not vehicles:
            skills = ", ".join(sorted(job.skills))
            return Unassigned(
                job.id, UnassignedReason.SKILLS, f"no vehicle has the skills [{skills}]"
            )
        vehicles = [v for v in vehicles if problem.takes_new_jobs(v)]
        if not vehicles:
            return Unassigned(
                job.id,
                UnassignedReason.CAPACITY,
                "every eligible vehicle carries more than its capacity",
            )
        if job.demand:
            vehicles = [v for v in vehicles if _fits(job.demand, v.capacity)]
            if not vehicles:
                return Unassigned(
                    job.id,
                    UnassignedReason.CAPACITY,
                    f"demand {list(job.demand)} exceeds every eligible vehicle",
                )
    best = _Attempt(-1, "no eligible vehicle")
    for vehicle in vehicles:
        pickups: tuple[Site | None, ...] = job.candidate_pickups or (None,)
        for pickup in pickups:
            attempt = _alone(problem, vehicle, job, pickup)
            if attempt.stage > best.stage:
                best = attempt
    if best.stage >= len(_STAGES):
        return Unassigned(
            job.id,
            UnassignedReason.NOT_PROFITABLE,
            "feasible alone, but the plan had no room for it (fleet, time or "
            "capacity taken by other jobs, or not found within the time limit)",
        )
    if best.stage < 0:
        return Unassigned(job.id, UnassignedReason.SHIFT, best.detail)
    return Unassigned(
        job.id, _STAGES[best.stage], best.detail, best.limit_s, best.needed_s
    )


def why_not_alone(
    problem: RoutingProblem, vehicle: Vehicle, job: Job, pickup: Site | None
) -> Unassigned | None:
    """Why ``vehicle`` cannot serve ``job`` (from ``pickup``) as its first stop on
    an otherwise empty route (the reason and the two numbers it compares, as
    :func:`diagnose` gives them), or None when it can."""
    if job.on_board is None:
        if not job.skills <= vehicle.skills:
            missing = sorted(job.skills - vehicle.skills)
            return Unassigned(
                job.id,
                UnassignedReason.SKILLS,
                f"{vehicle.id!r} lacks skills {missing}",
            )
        if not problem.takes_new_jobs(vehicle):
            return Unassigned(
                job.id,
                UnassignedReason.CAPACITY,
                f"{vehicle.id!r} carries more than its capacity",
            )
        load = list(problem.start_load(vehicle))
        if job.demand and not apply_load(load, 1, job.demand, vehicle.capacity):
            return Unassigned(
                job.id,
                UnassignedReason.CAPACITY,
                f"demand {list(job.demand)} does not fit {vehicle.id!r}",
            )
    attempt = _alone(problem, vehicle, job, pickup)
    if attempt.stage >= len(_STAGES):
        return None
    if attempt.stage < 0:
        return Unassigned(job.id, UnassignedReason.SHIFT, attempt.detail)
    return Unassigned(
        job.id,
        _STAGES[attempt.stage],
        attempt.detail,
        attempt.limit_s,
        attempt.needed_s,
    )


def _fits(demand: tuple[int, ...], capacity: tuple[int, ...]) -> bool:
    return all(amount <= cap for amount, cap in zip(demand, capacity, strict=True))


def _latest(site: Site) -> int | None:
    if site.window is None or not site.window.hard:
        return None
    return site.window.end_s


def _earliest(site: Site) -> int:
    return site.window.start_s if site.window is not None else 0


def _alone(
    problem: RoutingProblem, vehicle: Vehicle, job: Job, pickup: Site | None
) -> _Attempt:
    here, now = vehicle.start, vehicle.start_s
    picked_at: int | None = job.picked_up_s
    if pickup is not None:
        begin = max(
            now + problem.travel_s(vehicle, here, pickup.location), _earliest(pickup)
        )
        latest = _latest(pickup)
        if latest is not None and begin > latest:
            return _Attempt(
                0,
                f"pickup {pickup.ref or pickup.location} closes at "
                f"{latest} s, earliest arrival {begin} s",
                latest,
                begin,
            )
        picked_at, here, now = begin, pickup.location, begin + pickup.service_s
    delivery = job.delivery
    begin = max(
        now + problem.travel_s(vehicle, here, delivery.location), _earliest(delivery)
    )
    latest = _latest(delivery)
    if latest is not None and begin > latest:
        return _Attempt(
            1,
            f"delivery window closes at {latest} s, earliest arrival {begin} s",
            latest,
            begin,
        )
    if job.max_transit_s is not None and picked_at is not None:
        hold = begin - picked_at
        if pickup is not None:
            # Starting the pickup later (up to its close) shortens the hold.
            direct = pickup.service_s + problem.travel_s(
                vehicle, pickup.location, delivery.location
            )
            latest_pickup = _latest(pickup)
            later = max(picked_at, _earliest(delivery) - direct)
            if latest_pickup is not None:
                later = min(later, latest_pickup)
            hold = max(later + direct, _earliest(delivery)) - later
        if hold > job.max_transit_s:
            return _Attempt(
                2,
                f"hold time {hold} s exceeds {job.max_transit_s} s",
                job.max_transit_s,
                hold,
            )
    finish = begin + delivery.service_s
    if vehicle.end is not None:
        finish += problem.travel_s(vehicle, delivery.location, vehicle.end)
    if finish > vehicle.end_s:
        return _Attempt(
            3,
            f"shift of {vehicle.id!r} ends at {vehicle.end_s} s, "
            f"job would finish at {finish} s",
            vehicle.end_s,
            finish,
        )
    return _Attempt(len(_STAGES), "fits alone")
