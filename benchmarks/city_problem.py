"""Seeded dispatch-shaped routing problems on the bundled city (benchmark and demo).

Riders start where they are (random street nodes), each order is picked up at one
of ``candidates`` nearby pharmacies (all of them stock it) and delivered to a
residential address inside a window. A share is urgent (priority 1, soft window of
an hour), a share is cold (needs a cold-box slot, a ``cold_box`` rider and a
maximum time in transit). Matrix index layout: pharmacies, rider starts, addresses
(new orders are appended, so an earlier plan stays valid for a warm start).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from dispatch.city.loader import City, Pharmacy
from routing.matrix import MatrixProvider, TravelMatrices
from routing.model import (
    Job,
    RoutingProblem,
    RoutingSolution,
    Site,
    TimeWindow,
    Vehicle,
)
from routing.road_network import haversine_m

MIN = 60
COLD, BAG = 0, 1  # capacity dimensions: cold-box slots, bag volume units
PROFILE_MIX = (("scooter", 0.6), ("bike", 0.3), ("car", 0.1))


@dataclass(frozen=True)
class ScenarioParams:
    """Shape of a generated dispatch problem (times in seconds from "now")."""

    orders: int = 300
    riders: int = 60
    pharmacies: int = 40
    candidates: int = 3
    urgent_share: float = 0.2
    cold_share: float = 0.3
    cold_rider_share: float = 0.5
    shift_s: int = 4 * 60 * MIN
    window_s: int = 120 * MIN
    latest_window_start_s: int = 120 * MIN
    urgent_within_s: int = 60 * MIN
    max_transit_cold_s: int = 45 * MIN
    pickup_service_s: int = 2 * MIN
    delivery_service_s: int = 3 * MIN
    cold_slots: int = 4
    bag_units: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.orders, self.riders, self.pharmacies, self.candidates) < 1:
            raise ValueError("orders, riders, pharmacies and candidates must be >= 1")
        if self.candidates > self.pharmacies:
            raise ValueError("candidates cannot exceed pharmacies")


@dataclass(frozen=True)
class CityScenario:
    """A problem plus what is needed to explain it and to grow it."""

    problem: RoutingProblem
    points: np.ndarray
    """[n, 2] (lat, lon) of every matrix index."""
    pharmacies: tuple[Pharmacy, ...]
    params: ScenarioParams
    matrices: TravelMatrices


def generate(
    city: City, provider: MatrixProvider, params: ScenarioParams
) -> CityScenario:
    """A seeded problem with ``params.orders`` orders and ``params.riders`` riders."""
    rng = np.random.default_rng(params.seed)
    served = city.served_pharmacies
    if params.pharmacies > len(served):
        raise ValueError(f"the city has only {len(served)} served pharmacies")
    chosen = tuple(
        served[i]
        for i in sorted(rng.choice(len(served), params.pharmacies, replace=False))
    )
    pharmacy_points = np.array([(p.lat, p.lon) for p in chosen])
    rider_points = _homes(city, rng, params.riders)
    address_points = _homes(city, rng, params.orders)
    points = np.vstack([pharmacy_points, rider_points, address_points])
    vehicles = tuple(
        _rider(i, len(chosen) + i, rng, params) for i in range(params.riders)
    )
    first_address = len(chosen) + params.riders
    jobs = tuple(
        _order(
            f"o{k:04d}",
            first_address + k,
            address_points[k],
            pharmacy_points,
            chosen,
            rng,
            params,
        )
        for k in range(params.orders)
    )
    matrices = provider.matrices(points)
    problem = RoutingProblem(
        durations=matrices.durations,
        distances=matrices.distances,
        vehicles=vehicles,
        jobs=jobs,
    )
    return CityScenario(problem, points, chosen, params, matrices)


def add_orders(
    scenario: CityScenario,
    city: City,
    provider: MatrixProvider,
    count: int,
    *,
    seed: int,
) -> CityScenario:
    """The same scenario with ``count`` new orders appended (new matrix indices)."""
    rng = np.random.default_rng(seed)
    params = scenario.params
    first = scenario.points.shape[0]
    new_points = _homes(city, rng, count)
    points = np.vstack([scenario.points, new_points])
    pharmacy_points = scenario.points[: len(scenario.pharmacies)]
    existing = len(scenario.problem.jobs)
    jobs = scenario.problem.jobs + tuple(
        _order(
            f"o{existing + k:04d}",
            first + k,
            new_points[k],
            pharmacy_points,
            scenario.pharmacies,
            rng,
            params,
        )
        for k in range(count)
    )
    matrices = provider.extend(scenario.matrices, scenario.points, new_points)
    problem = RoutingProblem(
        durations=matrices.durations,
        distances=matrices.distances,
        vehicles=scenario.problem.vehicles,
        jobs=jobs,
    )
    return replace(scenario, problem=problem, points=points, matrices=matrices)


def _homes(city: City, rng: np.random.Generator, count: int) -> np.ndarray:
    pick = rng.choice(len(city.home_lat), count, replace=count > len(city.home_lat))
    return np.column_stack([city.home_lat[pick], city.home_lon[pick]])


def _rider(i: int, start: int, rng: np.random.Generator, p: ScenarioParams) -> Vehicle:
    names = [name for name, _ in PROFILE_MIX]
    profile = names[int(rng.choice(len(names), p=[share for _, share in PROFILE_MIX]))]
    cold = bool(rng.random() < p.cold_rider_share) and profile != "bike"
    return Vehicle(
        id=f"r{i:03d}",
        start=start,
        start_s=0,
        end_s=p.shift_s,
        capacity=(p.cold_slots if cold else 0, p.bag_units),
        profile=profile,
        skills=frozenset({"cold_box"}) if cold else frozenset(),
    )


def _order(
    job_id: str,
    location: int,
    point: np.ndarray,
    pharmacy_points: np.ndarray,
    pharmacies: Sequence[Pharmacy],
    rng: np.random.Generator,
    p: ScenarioParams,
) -> Job:
    # Candidates: p.candidates pharmacies drawn among the 2x nearest (they hold stock).
    d = haversine_m(point[0], point[1], pharmacy_points[:, 0], pharmacy_points[:, 1])
    near = np.argsort(d)[: min(len(pharmacies), 2 * p.candidates)]
    picked = sorted(rng.choice(near, p.candidates, replace=False).tolist())
    pickups = tuple(
        Site(
            location=i,
            service_s=p.pickup_service_s,
            window=TimeWindow(0, p.shift_s),
            ref=pharmacies[i].osm_id,
        )
        for i in picked
    )
    urgent = bool(rng.random() < p.urgent_share)
    cold = bool(rng.random() < p.cold_share)
    if urgent:
        window = TimeWindow(0, p.urgent_within_s, hard=False)
    else:
        start = (
            int(rng.integers(0, p.latest_window_start_s // (15 * MIN) + 1)) * 15 * MIN
        )
        window = TimeWindow(start, start + p.window_s)
    return Job(
        id=job_id,
        delivery=Site(
            location=location,
            service_s=p.delivery_service_s,
            window=window,
            ref=f"addr-{job_id}",
        ),
        pickups=pickups,
        demand=(1 if cold else 0, 1),
        priority=1 if urgent else 0,
        max_transit_s=p.max_transit_cold_s if cold else None,
        skills=frozenset({"cold_box"}) if cold else frozenset(),
    )


@dataclass(frozen=True)
class PlanSummary:
    """Headline figures of a plan, for tables and the demo."""

    orders: int
    served: int
    unassigned_by_reason: dict[str, int]
    riders_used: int
    riders: int
    travel_s: int
    """Sum of driving time over all routes (service and waiting excluded)."""
    on_time_share: float
    """Served orders delivered inside their window (soft windows may be late)."""
    urgent_served: int
    urgent: int
    cold_served: int
    cold: int


def summarise(problem: RoutingProblem, solution: RoutingSolution) -> PlanSummary:
    """Count what ``solution`` serves, drives and delivers on time."""
    jobs = {job.id: job for job in problem.jobs}
    vehicles = {v.id: v for v in problem.vehicles}
    delivered = [
        visit
        for route in solution.routes
        for visit in route.visits
        if visit.kind in ("delivery", "service")
    ]
    served_ids = {visit.job_id for visit in delivered}
    travel_s = 0
    for route in solution.routes:
        vehicle = vehicles[route.vehicle_id]
        here = vehicle.start
        for visit in route.visits:
            travel_s += problem.travel_s(vehicle, here, visit.location)
            here = visit.location
    reasons: dict[str, int] = {}
    for item in solution.unassigned:
        reasons[str(item.reason)] = reasons.get(str(item.reason), 0) + 1
    on_time = sum(1 for visit in delivered if visit.late_s == 0)
    return PlanSummary(
        orders=len(jobs),
        served=len(served_ids),
        unassigned_by_reason=reasons,
        riders_used=solution.vehicles_used,
        riders=len(vehicles),
        travel_s=travel_s,
        on_time_share=on_time / len(delivered) if delivered else 0.0,
        urgent_served=sum(1 for j in served_ids if jobs[j].priority > 0),
        urgent=sum(1 for j in jobs.values() if j.priority > 0),
        cold_served=sum(1 for j in served_ids if jobs[j].max_transit_s is not None),
        cold=sum(1 for j in jobs.values() if j.max_transit_s is not None),
    )
