"""Nearest-stocked-pharmacy sourcing vs joint sourcing-and-routing, same day.

``python -m benchmarks.joint_vs_nearest [--quick] [--json FILE] [--haversine]``

One generated day on Malta: 80 pharmacies each stocking a random 3-5 of 6 SKUs,
100 riders, 500 orders of 1-2 lines. For every order the candidate pharmacies are
those stocking every line (``dispatch.stock.fefo``), nearest first. The *nearest*
policy (baseline) sends only the nearest candidate to the router; the *joint*
policy sends the 3 nearest and lets the router choose with the routes. Both are
translated by ``dispatch.planning.problem`` and solved with the same budget and seeds.
Reported: orders served, rider travel time per served order (driving legs only,
no service or waiting time), and the joint/nearest ratio (below 1 is better).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._report import print_table, write_json
from benchmarks.replan_latency import PRODUCTS, VEHICLES, home, provider_for
from dispatch.city.loader import City, load_city
from dispatch.domain import GeoPoint as Point
from dispatch.domain import (
    Pharmacy,
    PharmacyId,
    Rider,
    RiderId,
    RiderStatus,
    StockLot,
)
from dispatch.geo import haversine_m
from dispatch.orders.order import (
    Order,
    OrderId,
    OrderLine,
    OrderStatus,
    Priority,
    ProofLevel,
)
from dispatch.planning.problem import (
    PlanningSnapshot,
    Translation,
    build_problem,
    to_plan,
)
from dispatch.stock.fefo import candidate_pharmacies
from routing import RoutingSolution, SolverParams, check, solve
from routing.matrix import MatrixProvider

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CANDIDATES = 3
PROFILES_DB = {
    "ambient": ("ambient", 15.0, 25.0, 3600, 7200, None),
    "refrigerated": ("refrigerated", 2.0, 8.0, 900, 3600, 7200),
}


def generate_day(city: City, *, orders: int, riders: int, pharmacies: int, seed: int):
    """Pharmacies with stock, riders on shift and sourced orders with candidates."""
    from dispatch.domain import TemperatureProfile

    rng = random.Random(seed)
    shops = {}
    lots: list[StockLot] = []
    for i, p in enumerate(city.served_pharmacies[:pharmacies]):
        pid = PharmacyId(f"ph-{i:03d}")
        shops[pid] = Pharmacy(pid, p.name or pid, Point(p.lat, p.lon), pid)
        for product in rng.sample(PRODUCTS, rng.randint(3, 5)):
            lots.append(
                StockLot(
                    len(lots) + 1, pid, product.sku, "L", date(2027, 12, 31), 10_000
                )
            )
    kinds = [v for v, _ in VEHICLES]
    weights = [w for _, w in VEHICLES]
    fleet = tuple(
        Rider(
            RiderId(f"rider-{i:03d}"),
            f"R{i}",
            rng.choices(kinds, weights)[0],
            rng.choice([0, 2, 4]),
            frozenset(),
            NOW - timedelta(hours=1),
            NOW + timedelta(hours=8),
            home(city, rng),
            NOW,
            RiderStatus.AVAILABLE,
        )
        for i in range(riders)
    )
    products = {p.sku: p for p in PRODUCTS}
    day: list[tuple[Order, list[PharmacyId]]] = []
    while len(day) < orders:
        lines = tuple(
            OrderLine(p.sku, 1) for p in rng.sample(PRODUCTS, rng.randint(1, 2))
        )
        where = home(city, rng)
        found = candidate_pharmacies(lines, products, lots, NOW.date())
        if not found:
            continue
        ranked = sorted(found, key=lambda pid: haversine_m(shops[pid].location, where))
        start = NOW + timedelta(minutes=rng.randint(0, 120))
        urgent = rng.random() < 0.2
        order = Order(
            OrderId(f"o{len(day):04d}"),
            "pt",
            where,
            lines,
            start,
            start + timedelta(minutes=60 if urgent else 120),
            Priority.URGENT if urgent else Priority.STANDARD,
            ProofLevel.OTP,
            f"k{len(day)}",
            OrderStatus.SOURCED,
            NOW,
            pharmacy_id=ranked[0],
            candidate_pharmacy_ids=tuple(ranked[:CANDIDATES]),
        )
        day.append((order, ranked))
    profiles = {k: TemperatureProfile(*v) for k, v in PROFILES_DB.items()}
    return shops, fleet, tuple(o for o, _ in day), products, profiles


def travel(translation: Translation, solution: RoutingSolution) -> tuple[int, int, int]:
    """(served orders, driving seconds, metres) of a solution."""
    problem = translation.problem
    vehicles = {v.id: v for v in problem.vehicles}
    seconds = metres = 0
    served = 0
    for route in solution.routes:
        vehicle = vehicles[route.vehicle_id]
        here = vehicle.start
        for visit in route.visits:
            seconds += problem.travel_s(vehicle, here, visit.location)
            if problem.distances is not None:
                metres += int(problem.distances[here, visit.location])
            here = visit.location
            served += visit.kind == "delivery"
    return served, seconds, metres


def run_policy(
    policy: str, day: tuple[Any, ...], provider: MatrixProvider, params: SolverParams
) -> dict[str, Any]:
    """Translate and solve the day under one sourcing policy.

    ``joint`` is solved as the replanner does for a first plan: half the budget on
    the nearest-pharmacy problem, whose plan then warm-starts the joint problem for
    the other half (same total budget as the baseline).
    """
    shops, fleet, orders, products, profiles = day
    snapshot = PlanningSnapshot(
        NOW, fleet, orders, shops, products, profiles, None, policy
    )
    started = time.perf_counter()
    if policy == "joint":
        half = replace(params, time_limit_s=params.time_limit_s / 2)
        seed_t = build_problem(replace(snapshot, sourcing_policy="nearest"), provider)
        seed = to_plan(seed_t, solve(seed_t.problem, half), version=0, created_at=NOW)
        translation = build_problem(replace(snapshot, previous=seed), provider)
        solution = solve(translation.problem, half, translation.initial)
    else:
        translation = build_problem(snapshot, provider)
        solution = solve(translation.problem, params)
    wall_s = time.perf_counter() - started
    violations = check(translation.problem, solution)
    served, seconds, metres = travel(translation, solution)
    return {
        "policy": policy,
        "seed": params.seed,
        "served": served,
        "unassigned": len(solution.unassigned),
        "travel_s": seconds,
        "travel_s_per_order": seconds / served if served else float("nan"),
        "metres_per_order": metres / served if served else float("nan"),
        "feasible": not violations,
        "wall_s": wall_s,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Solve the same day under both policies for several seeds; print and save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small day (smoke)")
    parser.add_argument("--json", type=Path, help="write results to this file")
    parser.add_argument("--haversine", action="store_true", help="straight-line times")
    parser.add_argument(
        "--time-limit", type=float, default=10.0, help="seconds per solve"
    )
    parser.add_argument("--orders", type=int, help="override the number of orders")
    parser.add_argument("--riders", type=int, help="override the number of riders")
    args = parser.parse_args(argv)
    city = load_city(data_dir=Path(os.environ.get("RXDISPATCH_DATA_DIR", "var")))
    size = (
        {"orders": 60, "riders": 15, "pharmacies": 30}
        if args.quick
        else {"orders": 500, "riders": 100, "pharmacies": 80}
    )
    if args.orders:
        size["orders"] = args.orders
    if args.riders:
        size["riders"] = args.riders
    seeds = [0] if args.quick else [0, 1, 2]
    limit = 2.0 if args.quick else args.time_limit
    provider = provider_for(city, args.haversine)
    runs = []
    for seed in seeds:
        day = generate_day(city, **size, seed=seed)
        for policy in ("nearest", "joint"):
            runs.append(
                run_policy(
                    policy, day, provider, SolverParams(time_limit_s=limit, seed=seed)
                )
            )
    rows = [
        [
            r["policy"],
            r["seed"],
            r["served"],
            r["unassigned"],
            r["travel_s_per_order"],
            r["metres_per_order"],
            r["feasible"],
        ]
        for r in runs
    ]
    print_table(
        rows,
        [
            "policy",
            "seed",
            "served",
            "unassigned",
            "travel s/order",
            "m/order",
            "feasible",
        ],
    )
    per_seed = [
        next(r for r in runs if r["seed"] == s and r["policy"] == "joint")[
            "travel_s_per_order"
        ]
        / next(r for r in runs if r["seed"] == s and r["policy"] == "nearest")[
            "travel_s_per_order"
        ]
        for s in seeds
    ]
    result = {
        "benchmark": "joint_vs_nearest",
        "size": size,
        "time_limit_s": limit,
        "travel_times": "haversine" if args.haversine else "road_network",
        "runs": runs,
        "ratio_travel_per_order_joint_vs_nearest": per_seed,
        "mean_ratio": statistics.fmean(per_seed),
    }
    print(
        f"\njoint / nearest travel time per order: mean ratio "
        f"{result['mean_ratio']:.3f} (per seed {[round(x, 3) for x in per_seed]})"
    )
    if args.json:
        write_json(
            args.json,
            result,
            baseline="runs with policy 'nearest' (nearest stocked pharmacy only),"
            " same days, seeds and time budget",
        )
    return result


if __name__ == "__main__":
    main()
