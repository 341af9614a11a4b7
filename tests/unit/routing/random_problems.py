"""Seeded random dispatch problems for the robustness test (and for fuzzing by hand).

Each mixes what the fuzzing of sessions 7 and 8 found faults with: car and bike
profiles, one or two capacity dimensions (some riders above capacity), candidate
pharmacies (two may share a location), hard and soft windows, hold times, skills,
fixed costs, on-board items and locked next stops.
"""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np

from routing import Job, RoutingProblem, Site, TimeWindow, Vehicle
from routing.model import MAX_TIME_S, LockKind

SKILLS = ("cold", "cs")


def random_problem(seed: int, jobs: int = 10, vehicles: int = 8) -> RoutingProblem:
    """A valid problem of up to ``jobs`` jobs and ``vehicles`` vehicles."""
    rng = random.Random(seed)
    locations = rng.randint(4, 25)
    points = np.array(
        [(rng.uniform(0, 5000), rng.uniform(0, 5000)) for _ in range(locations)]
    )
    metres = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))
    durations = {
        "car": (metres / 8).astype(np.int64),
        "bike": (metres / 4).astype(np.int64),
    }
    dims = rng.choice([1, 2])
    fleet = [_vehicle(rng, k, locations, dims) for k in range(rng.randint(1, vehicles))]
    work = [_job(rng, j, locations, dims, fleet) for j in range(rng.randint(0, jobs))]
    fleet, work = _locks(rng, fleet, work)
    return RoutingProblem(durations, tuple(fleet), tuple(work))


def _vehicle(rng: random.Random, k: int, locations: int, dims: int) -> Vehicle:
    start_s = rng.randint(0, 600)
    return Vehicle(
        f"v{k}",
        rng.randrange(locations),
        rng.choice([None, rng.randrange(locations)]),
        start_s,
        start_s + rng.choice([3000, 8000, MAX_TIME_S - start_s]),
        capacity=tuple(rng.randint(0, 4) for _ in range(dims)),
        profile=rng.choice(["car", "bike"]),
        skills=frozenset(s for s in SKILLS if rng.random() < 0.6),
        fixed_cost=rng.choice([0, 0, 500]),
    )


def _window(rng: random.Random) -> TimeWindow | None:
    if rng.random() < 0.5:
        return None
    opens = rng.randint(0, 3000)
    return TimeWindow(opens, opens + rng.randint(0, 3000), hard=rng.random() < 0.6)


def _job(
    rng: random.Random, j: int, locations: int, dims: int, fleet: list[Vehicle]
) -> Job:
    delivery = Site(rng.randrange(locations), rng.choice([0, 60]), _window(rng))
    pickups = tuple(
        Site(
            rng.randrange(locations),
            rng.choice([0, 30]),
            TimeWindow(0, rng.randint(500, 6000)) if rng.random() < 0.3 else None,
            ref=f"p{i}",
        )
        for i in range(rng.choice([0, 1, 1, 2, 3]))
    )
    on_board = rng.choice(fleet).id if rng.random() < 0.25 else None
    if on_board is not None and not pickups:
        pickups = (Site(rng.randrange(locations)),)
    return Job(
        f"j{j}",
        delivery,
        pickups,
        demand=tuple(rng.randint(0, 2) for _ in range(dims)),
        priority=rng.choice([0, 0, 5]),
        max_transit_s=rng.choice([None, None, 600, 1500]),
        skills=frozenset(s for s in SKILLS if rng.random() < 0.2),
        on_board=on_board,
        picked_up_s=rng.randint(0, 300) if on_board and rng.random() < 0.5 else None,
    )


def _locks(
    rng: random.Random, fleet: list[Vehicle], work: list[Job]
) -> tuple[list[Vehicle], list[Job]]:
    """Lock some riders' next stop: an item they carry, or a pickup (one site)."""
    locked: set[str] = set()
    for k, vehicle in enumerate(fleet):
        if not work or rng.random() >= 0.25:
            continue
        j = rng.randrange(len(work))
        job = work[j]
        kind: LockKind
        if job.on_board == vehicle.id:
            kind = "delivery"
        elif job.on_board is None and job.pickups and job.id not in locked:
            kind = "pickup"
            work[j] = replace(job, pickups=job.pickups[:1])
        else:
            continue
        locked.add(job.id)
        fleet[k] = replace(vehicle, locked_next=(job.id, kind))
    return fleet, work
