"""Independent feasibility checker: ``check(problem, solution) -> list[Violation]``.

Written apart from the engine (it shares no code path with ``ortools_backend``,
``layout`` or ``extract``): it replays every route against the matrices and the
rules of the problem, so a bug in model building shows up as a violation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from routing.model import (
    Job,
    Route,
    RoutingProblem,
    RoutingSolution,
    Site,
    Vehicle,
    Visit,
)


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: a stable ``code``, a message and what it concerns."""

    code: str
    message: str
    job_id: str | None = None
    vehicle_id: str | None = None


def check(problem: RoutingProblem, solution: RoutingSolution) -> list[Violation]:
    """Every rule ``solution`` breaks for ``problem`` (empty when feasible)."""
    jobs = {job.id: job for job in problem.jobs}
    vehicles = {vehicle.id: vehicle for vehicle in problem.vehicles}
    out: list[Violation] = []
    route_count = Counter(route.vehicle_id for route in solution.routes)
    for vehicle_id, count in route_count.items():
        if count > 1:
            out.append(
                Violation("duplicate_route", f"{count} routes", None, vehicle_id)
            )
    served: Counter[str] = Counter()
    for route in solution.routes:
        vehicle = vehicles.get(route.vehicle_id)
        if vehicle is None:
            out.append(
                Violation(
                    "unknown_vehicle", "not in the problem", None, route.vehicle_id
                )
            )
            continue
        for visit in route.visits:
            if visit.job_id not in jobs:
                out.append(
                    Violation("unknown_job", "visit of an unknown job", visit.job_id)
                )
        known = [v for v in route.visits if v.job_id in jobs]
        out += _check_route(problem, vehicle, route, known, jobs)
        served.update(v.job_id for v in known if v.kind != "pickup")
    unassigned = Counter(u.job_id for u in solution.unassigned)
    released = {(r.vehicle_id, r.job_id) for r in solution.released_locks}
    for vehicle in problem.vehicles:
        # A lock is kept unless the plan says it released it (the vehicle cannot
        # serve the job even alone) or reports the locked job unassigned.
        locked = vehicle.locked_next
        if (
            locked is not None
            and not unassigned[locked[0]]
            and (vehicle.id, locked[0]) not in released
        ):
            out += _check_lock(vehicle, solution.route_of(vehicle.id))
    for job in problem.jobs:
        total = served[job.id] + unassigned[job.id]
        if total != 1:
            out.append(
                Violation(
                    "served_once",
                    f"served {served[job.id]}x, unassigned {unassigned[job.id]}x",
                    job.id,
                )
            )
    return out


def _check_lock(vehicle: Vehicle, route: Route | None) -> list[Violation]:
    if vehicle.locked_next is None:
        return []
    job_id, kind = vehicle.locked_next
    first = route.visits[0] if route is not None and route.visits else None
    if first is None or first.job_id != job_id or first.kind != kind:
        return [
            Violation(
                "locked_next",
                f"first stop must be {kind} of {job_id}",
                job_id,
                vehicle.id,
            )
        ]
    return []


def _check_route(
    problem: RoutingProblem,
    vehicle: Vehicle,
    route: Route,
    visits: list[Visit],
    jobs: dict[str, Job],
) -> list[Violation]:
    out: list[Violation] = []

    def fail(code: str, message: str, job_id: str | None = None) -> None:
        out.append(Violation(code, message, job_id, vehicle.id))

    durations = problem.durations[vehicle.profile]
    load = [0] * len(vehicle.capacity)
    for job in jobs.values():
        if job.on_board == vehicle.id:
            load = [
                a + b for a, b in zip(load, job.demand or [0] * len(load), strict=True)
            ]
    if route.start_s < vehicle.start_s:
        fail("shift_start", f"departs at {route.start_s} before {vehicle.start_s}")
    location, departure = vehicle.start, route.start_s
    picked: dict[str, int] = {}
    for visit in visits:
        job = jobs[visit.job_id]
        expected_arrival = departure + int(durations[location, visit.location])
        if visit.arrival_s != expected_arrival:
            fail(
                "travel_time",
                f"arrival {visit.arrival_s} != {expected_arrival}",
                job.id,
            )
        site = _site_of(job, visit)
        if site is None:
            fail(
                "wrong_site",
                f"{visit.kind} at location {visit.location} is not a site of the job",
                job.id,
            )
        else:
            window = site.window
            if visit.start_s < max(visit.arrival_s, window.start_s if window else 0):
                fail(
                    "window_early",
                    f"service starts at {visit.start_s} too early",
                    job.id,
                )
            if window is not None and visit.start_s > window.end_s:
                if window.hard:
                    fail(
                        "window",
                        f"starts {visit.start_s} after window end {window.end_s}",
                        job.id,
                    )
                elif visit.late_s != visit.start_s - window.end_s:
                    fail("lateness", f"late_s {visit.late_s} misreported", job.id)
            if visit.departure_s != visit.start_s + site.service_s:
                fail(
                    "service_time",
                    f"departure {visit.departure_s} != start + service",
                    job.id,
                )
        if job.on_board is not None and job.on_board != vehicle.id:
            fail(
                "on_board", f"on board {job.on_board}, planned on {vehicle.id}", job.id
            )
        if not job.skills <= vehicle.skills and job.on_board is None:
            fail("skills", f"needs {sorted(job.skills - vehicle.skills)}", job.id)
        sign = 1
        if visit.kind == "pickup":
            if job.id in picked:
                fail("pickup_twice", "picked up twice", job.id)
            picked[job.id] = visit.start_s
        elif visit.kind == "delivery":
            sign = -1
            began = job.picked_up_s
            if job.candidate_pickups:
                if job.id not in picked:
                    fail(
                        "pickup_order",
                        "delivered before (or without) its pickup",
                        job.id,
                    )
                began = picked.pop(job.id, None)
            if job.max_transit_s is not None and began is not None:
                held = visit.start_s - began
                if held > job.max_transit_s:
                    fail("hold_time", f"held {held} s > {job.max_transit_s} s", job.id)
        amounts = job.demand or (0,) * len(load)
        load = [a + sign * d for a, d in zip(load, amounts, strict=True)]
        for dim, (amount, cap) in enumerate(zip(load, vehicle.capacity, strict=True)):
            # A vehicle may start above capacity (on-board items are facts), so
            # only loading past the limit, or unloading below zero, is a fault.
            if amount < 0 or (sign > 0 and amounts[dim] > 0 and amount > cap):
                fail(
                    "capacity", f"load {amount} outside [0, {cap}] (dim {dim})", job.id
                )
        location, departure = visit.location, visit.departure_s
    finish = departure
    if vehicle.end is not None:
        finish += int(durations[location, vehicle.end])
    if finish > vehicle.end_s:
        fail("shift_end", f"finishes at {finish} after shift end {vehicle.end_s}")
    for job_id in picked:
        fail(
            "pickup_without_delivery",
            "picked up but not delivered on this route",
            job_id,
        )
    return out


def _site_of(job: Job, visit: Visit) -> Site | None:
    if visit.kind == "pickup":
        # Two candidate pharmacies may share a location (one road node): the
        # visit's site reference tells them apart.
        here = [s for s in job.candidate_pickups if s.location == visit.location]
        named = [s for s in here if s.ref == visit.site_ref]
        matches = named or here
        return matches[0] if matches else None
    expected = (
        "delivery" if job.candidate_pickups or job.on_board is not None else "service"
    )
    if visit.kind != expected or visit.location != job.delivery.location:
        return None
    return job.delivery
