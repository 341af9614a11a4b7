"""Re-planning latency at city scale: trigger -> applied plan, p50/p95.

``python -m benchmarks.replan_latency [--quick] [--json FILE] [--haversine]``

Malta (bundled OSM extract): 80 pharmacies, 100 riders, 500 open orders submitted
through ``dispatch.orders.intake`` into a throw-away PostgreSQL database. The
``dispatch.planning.replanner.Replanner`` (debounced, worker process, 2 s solver budget,
road-network travel times unless ``--haversine``) makes a first plan, then each
round commits one change (new order, cancellation, rider position update, rider
shift end) and measures the time from that trigger to the applied plan. The
baseline, in the same run, repeats the rounds without warm starts.
Target: p95 <= 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._report import print_table, write_json
from dispatch.adapters.postgres import catalogue
from dispatch.adapters.postgres.database import (
    create_database,
    drop_database,
    migrate,
    open_pool,
)
from dispatch.adapters.postgres.embedded import resolve_database_url
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.adapters.solver_pool import SolverPool
from dispatch.city.loader import City, load_city
from dispatch.context import DispatchContext
from dispatch.crypto import PatientDataCipher
from dispatch.domain import (
    GeoPoint,
    Pharmacy,
    PharmacyId,
    Product,
    Rider,
    RiderId,
    RiderStatus,
    Sku,
    StorageClass,
    VehicleType,
)
from dispatch.errors import NoPharmacyHasStock
from dispatch.fleet import end_shift, update_position
from dispatch.orders.fulfilment import cancel_order
from dispatch.orders.intake import submit_order
from dispatch.orders.order import (
    OrderLine,
    OrderRequest,
    OrderStatus,
    PatientContact,
    Priority,
)
from dispatch.planning.plan import Plan
from dispatch.planning.replanner import Replanner
from routing import SolverParams
from routing.matrix import HaversineProvider, MatrixProvider, RoadNetworkProvider

PRODUCTS = [
    Product(Sku("PARA500"), "Paracetamol 500 mg"),
    Product(Sku("AMOX500"), "Amoxicillin 500 mg", prescription_only=True),
    Product(Sku("IBU400"), "Ibuprofen 400 mg"),
    Product(Sku("ATOR20"), "Atorvastatin 20 mg", prescription_only=True),
    Product(Sku("INS100"), "Insulin 100 IU/ml", StorageClass.REFRIGERATED, True),
    Product(Sku("VAX01"), "Vaccine", StorageClass.REFRIGERATED, True),
]
CONTACT = PatientContact("Bench Patient", "+356 0000 0000", "1 Bench Street")
VEHICLES = [(VehicleType.SCOOTER, 0.6), (VehicleType.BIKE, 0.3), (VehicleType.CAR, 0.1)]


def make_ctx(policy: str = "joint") -> DispatchContext:
    """Benchmark secrets; ``policy`` is ``joint`` or ``nearest``."""
    return DispatchContext(
        cipher=PatientDataCipher("benchmark-data-key-0123456789"),
        otp_pepper=b"benchmark-pepper",
        audit_key=b"benchmark-audit-key",
        sourcing_policy=policy,  # type: ignore[arg-type]
    )


@contextmanager
def scratch_database() -> Iterator[str]:
    """URL of a migrated throw-away database (dropped afterwards)."""
    admin = resolve_database_url(
        os.environ.get("DATABASE_URL"),
        Path(os.environ.get("RXDISPATCH_DATA_DIR", "var")),
    )
    name = f"rxd_bench_{uuid.uuid4().hex[:10]}"
    url = create_database(admin, name)
    try:
        migrate(url)
        yield url
    finally:
        drop_database(admin, name)


def home(city: City, rng: random.Random) -> GeoPoint:
    """A random residential address of the city."""
    i = rng.randrange(len(city.home_lat))
    return GeoPoint(float(city.home_lat[i]), float(city.home_lon[i]))


def seed_world(
    db: Database, city: City, rng: random.Random, *, pharmacies: int, riders: int
) -> None:
    """Pharmacies (each stocking a random 4-6 of the SKUs) and riders on shift."""
    now = datetime.now(UTC)
    expiry = date.today() + timedelta(days=365)
    with db.transaction() as tx:
        for product in PRODUCTS:
            catalogue.insert_product(tx, product)
        for i, p in enumerate(city.served_pharmacies[:pharmacies]):
            pid = f"ph-{i:03d}"
            catalogue.insert_pharmacy(
                tx,
                Pharmacy(PharmacyId(pid), p.name or pid, GeoPoint(p.lat, p.lon), pid),
            )
            for product in rng.sample(PRODUCTS, rng.randint(4, 6)):
                catalogue.insert_lot(
                    tx,
                    pharmacy_id=pid,
                    sku=product.sku,
                    lot_number=f"{pid}-{product.sku}",
                    expiry_date=expiry,
                    quantity=1000,
                )
        kinds = [v for v, _ in VEHICLES]
        weights = [w for _, w in VEHICLES]
        for i in range(riders):
            vehicle = rng.choices(kinds, weights)[0]
            catalogue.insert_rider(
                tx,
                Rider(
                    RiderId(f"rider-{i:03d}"),
                    f"Rider {i}",
                    vehicle,
                    cold_box_slots=rng.choice([0, 2, 4]),
                    shift_start_at=now - timedelta(hours=1),
                    shift_end_at=now + timedelta(hours=8),
                    position=home(city, rng),
                    position_at=now,
                    status=RiderStatus.AVAILABLE,
                ),
            )


def order_request(city: City, rng: random.Random) -> OrderRequest:
    """A random order: 1-2 lines, 20 % urgent, window within the next 4 hours."""
    now = datetime.now(UTC)
    start = now + timedelta(minutes=rng.randint(0, 120))
    urgent = rng.random() < 0.2
    return OrderRequest(
        patient_ref=f"pt-{rng.randrange(10**6)}",
        contact=CONTACT,
        delivery_location=home(city, rng),
        lines=tuple(
            OrderLine(p.sku, rng.randint(1, 2))
            for p in rng.sample(PRODUCTS, rng.randint(1, 2))
        ),
        window_start_at=start,
        window_end_at=start + timedelta(minutes=60 if urgent else 120),
        idempotency_key=uuid.uuid4().hex,
        priority=Priority.URGENT if urgent else Priority.STANDARD,
    )


def submit_orders(
    db: Database, city: City, rng: random.Random, count: int
) -> list[str]:
    """Submit ``count`` orders (skipping the rare unstocked combination)."""
    ids: list[str] = []
    while len(ids) < count:
        try:
            with db.transaction() as tx:
                ids.append(submit_order(tx, order_request(city, rng), actor="bench").id)
        except NoPharmacyHasStock:
            continue
    return ids


def provider_for(city: City, haversine: bool) -> MatrixProvider:
    """Road-network travel times (default) or great-circle ones."""
    if haversine:
        return HaversineProvider()
    return RoadNetworkProvider(city.roads, cache_rows=2048)


async def _rounds(
    db: Database,
    replanner: Replanner,
    city: City,
    rng: random.Random,
    rounds: int,
    order_ids: list[str],
    riders: int,
) -> list[float]:
    task = asyncio.create_task(replanner.run())
    try:
        await _until_applied(replanner, 1)
        first = list(replanner.stats.latencies_s)
        for k in range(rounds):
            kind = k % 4
            await asyncio.to_thread(_change, db, city, rng, kind, order_ids, k, riders)
            await _until_applied(replanner, 2 + k)
        return replanner.stats.latencies_s[len(first) :]
    finally:
        task.cancel()


async def _until_applied(replanner: Replanner, count: int) -> None:
    deadline = time.monotonic() + 120
    while replanner.stats.applied + replanner.stats.failed < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no plan applied (stats: {replanner.stats})")
        await asyncio.sleep(0.02)


def _change(
    db: Database,
    city: City,
    rng: random.Random,
    kind: int,
    order_ids: list[str],
    k: int,
    riders: int,
) -> None:
    with db.transaction() as tx:
        if kind == 0:
            order_ids.append(
                submit_order(tx, order_request(city, rng), actor="bench").id
            )
        elif kind == 1:
            update_position(tx, f"rider-{rng.randrange(riders):03d}", home(city, rng))
        elif kind == 2:
            for oid in order_ids[-50:]:
                status = tx.conn.execute(
                    "SELECT status FROM dispatch.customer_order WHERE id = %s", (oid,)
                ).fetchone()
                if status and status[0] in (OrderStatus.SOURCED, OrderStatus.ASSIGNED):
                    cancel_order(tx, oid, actor="bench")
                    break
        else:
            end_shift(tx, f"rider-{riders - 1 - k:03d}", actor="bench")


def measure(
    city: City,
    *,
    orders: int,
    riders: int,
    pharmacies: int,
    rounds: int,
    warm_start: bool,
    haversine: bool,
    seed: int,
    policy: str = "joint",
) -> dict[str, Any]:
    """Seed a database, plan once, then time ``rounds`` trigger -> applied plans."""
    rng = random.Random(seed)
    with scratch_database() as url:
        pool = open_pool(url, max_size=6)
        solver = SolverPool()
        try:
            plans_seen: list[Plan] = []
            db = Database(pool, make_ctx(policy))
            seed_world(db, city, rng, pharmacies=pharmacies, riders=riders)
            order_ids = submit_orders(db, city, rng, orders)
            replanner = Replanner(
                db,
                solver,
                provider=provider_for(city, haversine),
                solver_params=SolverParams(time_limit_s=2.0),
                debounce_s=0.2,
                timer_s=3600,
                warm_start=warm_start,
                on_plan=plans_seen.append,
            )
            db.publisher = replanner
            started = time.perf_counter()

            async def go() -> list[float]:
                await solver.warm_up()
                replanner.trigger("initial")
                return await _rounds(
                    db, replanner, city, rng, rounds, order_ids, riders
                )

            latencies = asyncio.run(go())
            first_s = time.perf_counter() - started
        finally:
            solver.close()
            pool.close()
    arr = np.array(latencies) if latencies else np.array([np.nan])
    return {
        "warm_start": warm_start,
        "degraded_or_failed_rounds": replanner.stats.failed,
        "rounds": len(latencies),
        "p50_s": float(np.percentile(arr, 50)),
        "p95_s": float(np.percentile(arr, 95)),
        "max_s": float(np.max(arr)),
        "mean_s": statistics.fmean(latencies) if latencies else float("nan"),
        "unpinned_rounds": replanner.stats.unlocked,
        "plans": [
            {
                "version": p.version,
                "status": p.status,
                "solve_s": round(p.solve_time_s, 2),
                "assigned": len(p.assignments()),
                "unassigned": len(p.unassigned),
            }
            for p in plans_seen
        ],
        "mean_assigned": statistics.fmean(len(p.assignments()) for p in plans_seen)
        if plans_seen
        else 0.0,
        "stale_plans": replanner.stats.stale,
        "failed_rounds": replanner.stats.failed,
        "total_s": first_s,
        "latencies_s": latencies,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run warm-started and cold re-planning; print a table; optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small city slice (smoke)")
    parser.add_argument("--json", type=Path, help="write results to this file")
    parser.add_argument("--haversine", action="store_true", help="straight-line times")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--policy",
        choices=["joint", "nearest"],
        default="joint",
        help="sourcing policy of the planned orders",
    )
    parser.add_argument("--orders", type=int, help="override the number of orders")
    parser.add_argument("--riders", type=int, help="override the number of riders")
    args = parser.parse_args(argv)
    city = load_city(data_dir=Path(os.environ.get("RXDISPATCH_DATA_DIR", "var")))
    size = (
        {"orders": 60, "riders": 15, "pharmacies": 20, "rounds": 4}
        if args.quick
        else {"orders": 500, "riders": 100, "pharmacies": 80, "rounds": 12}
    )
    if args.orders:
        size["orders"] = args.orders
    if args.riders:
        size["riders"] = args.riders
    runs = [
        measure(
            city,
            **size,
            warm_start=warm,
            haversine=args.haversine,
            seed=args.seed,
            policy=args.policy,
        )
        for warm in (True, False)
    ]
    rows = [
        [
            ("warm" if r["warm_start"] else "cold (baseline)"),
            r["rounds"],
            r["p50_s"],
            r["p95_s"],
            r["max_s"],
            r["stale_plans"],
            r["failed_rounds"],
            r["mean_assigned"],
        ]
        for r in runs
    ]
    print_table(
        rows,
        ["re-plan", "rounds", "p50 s", "p95 s", "max s", "stale", "failed", "assigned"],
    )
    warm, cold = runs
    result = {
        "benchmark": "replan_latency",
        "size": size,
        "travel_times": "haversine" if args.haversine else "road_network",
        "policy": args.policy,
        "solver_budget_s": 2.0,
        "debounce_s": 0.2,
        "runs": runs,
        "p95_ratio_warm_vs_cold": warm["p95_s"] / cold["p95_s"],
        "target_p95_s": 3.0,
        "meets_target": warm["p95_s"] <= 3.0,
    }
    print(
        f"\np95 warm {warm['p95_s']:.2f} s vs cold {cold['p95_s']:.2f} s "
        f"(ratio {result['p95_ratio_warm_vs_cold']:.2f}); target p95 <= 3 s: "
        f"{result['meets_target']}"
    )
    if args.json:
        write_json(
            args.json,
            result,
            baseline="the run with warm_start=false (cold re-plans, same rounds)",
        )
    return result


if __name__ == "__main__":
    main()
