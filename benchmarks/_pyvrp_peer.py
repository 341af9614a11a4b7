"""PyVRP as the state-of-the-art peer: the same integer instance, solved by PyVRP."""

from __future__ import annotations

import time
from dataclasses import dataclass

from routing.instances import Instance


@dataclass(frozen=True)
class PeerResult:
    """What the benchmark needs from a peer run."""

    cost: float
    vehicles: int
    feasible: bool
    time_s: float


def available() -> bool:
    """True when the optional ``bench`` extra (pyvrp) is installed."""
    try:
        import pyvrp  # noqa: F401
    except ImportError:
        return False
    return True


def solve_with_pyvrp(instance: Instance, time_limit_s: float, seed: int) -> PeerResult:
    """Build the instance's integer data in PyVRP and solve it for ``time_limit_s``."""
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    problem = instance.problem
    durations = problem.durations["default"]
    distances = problem.distances if problem.distances is not None else durations
    vehicle = problem.vehicles[0]
    model = Model()
    locations = [model.add_location(float(x), float(y)) for x, y in instance.coords]
    depot = model.add_depot(
        locations[0], tw_early=vehicle.start_s, tw_late=vehicle.end_s
    )
    # Li & Lim ranks vehicles first: a fixed cost above any total distance.
    fixed = (
        int(distances.sum()) if instance.objective == "vehicles_then_distance" else 0
    )
    model.add_vehicle_type(
        num_available=len(problem.vehicles),
        capacity=list(vehicle.capacity),
        start_depot=depot,
        end_depot=depot,
        fixed_cost=fixed,
        tw_early=vehicle.start_s,
        tw_late=vehicle.end_s,
    )
    for job in problem.jobs:
        site = job.delivery
        window = site.window
        early, late = (window.start_s, window.end_s) if window else (0, vehicle.end_s)
        if job.pickups:
            pickup = job.pickups[0]
            p_window = pickup.window
            p_early, p_late = (
                (p_window.start_s, p_window.end_s) if p_window else (0, vehicle.end_s)
            )
            model.add_shipment(
                locations[pickup.location],
                locations[site.location],
                pickup_tw_early=p_early,
                pickup_tw_late=p_late,
                pickup_service_duration=pickup.service_s,
                delivery_tw_early=early,
                delivery_tw_late=late,
                delivery_service_duration=site.service_s,
                amount=list(job.demand),
            )
        else:
            model.add_client(
                locations[site.location],
                delivery=list(job.demand),
                service_duration=site.service_s,
                tw_early=early,
                tw_late=late,
            )
    for i, frm in enumerate(locations):
        for j, to in enumerate(locations):
            model.add_edge(
                frm, to, distance=int(distances[i, j]), duration=int(durations[i, j])
            )
    started = time.perf_counter()
    result = model.solve(stop=MaxRuntime(time_limit_s), seed=seed, display=False)
    elapsed = time.perf_counter() - started
    best = result.best
    # Integer lengths / scale: exact for DIMACS; within 0.0005 per arc for Li & Lim.
    cost = best.distance() / instance.scale
    return PeerResult(cost, best.num_routes(), bool(best.is_feasible()), elapsed)
