"""Rider route rebuilds and device-token authentication: time and audit rows.

``python -m benchmarks.rider_route_view [--quick] [--json FILE]``

On a throw-away database (``DATABASE_URL``, else embedded PostgreSQL) it seeds
``--orders`` active orders over riders of ``--stops`` delivery stops each (every
order picked up, so every stop shows a first name and access notes) and a stored
plan routing them all, then measures through :class:`api.live.rider_stops.RiderRoutes`:

- ``rebuild``: ``refresh(rider)`` of one rider, repeated (what each order or
  hold event on that rider costs), with the audit rows it wrote;
- ``plan_updated``: ``on_event(PlanUpdated)``, which rebuilds every rider;
- ``token_auth``: ``Authenticator.from_bearer`` of a rider device token (each
  rider request) with the default check cache, ``token_auth_uncached`` without;
- ``empty_tx``: an empty transaction, the in-run baseline of one round trip.

The audit counts are exact; times are wall-clock medians (noisy under load).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from api.auth.access import Authenticator
from api.auth.store import AuthStore
from api.live.geofence import GeofenceTracker
from api.live.hub import Hub
from api.live.rider_stops import RiderRoutes
from api.live.tracker import LiveTracker
from api.settings import ApiSettings
from benchmarks._report import print_table, write_json
from dispatch.adapters.memory import RecordingPublisher
from dispatch.adapters.postgres import catalogue
from dispatch.adapters.postgres import plans as plans_repo
from dispatch.adapters.postgres.database import (
    create_database,
    drop_database,
    migrate,
    open_pool,
)
from dispatch.adapters.postgres.embedded import start_embedded_postgres
from dispatch.adapters.postgres.unit_of_work import Database
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
    VehicleType,
)
from dispatch.events import PlanUpdated
from dispatch.orders import fulfilment
from dispatch.orders.intake import submit_order
from dispatch.orders.order import OrderLine, OrderRequest, PatientContact
from dispatch.planning.plan import Plan, PlannedStop, RiderRoute

PHARMACY = Pharmacy(PharmacyId("ph-bench"), "Bench", GeoPoint(35.8989, 14.5146), "L1")
PRODUCT = Product(Sku("BENCH-AMB"), "Bench product")


@contextmanager
def _database() -> Iterator[str]:
    admin = os.environ.get("DATABASE_URL")
    data_dir = Path(f"/tmp/rxd-bench-{uuid.uuid4().hex[:8]}")
    if not admin:
        admin = start_embedded_postgres(data_dir)
    name = f"rxd_bench_{uuid.uuid4().hex[:10]}"
    url = create_database(admin, name)
    try:
        migrate(url)
        yield url
    finally:
        drop_database(admin, name)
        shutil.rmtree(data_dir, ignore_errors=True)


def _seed(db: Database, *, orders: int, stops: int) -> list[str]:
    """Riders of ``stops`` picked-up orders each, and a plan routing them."""
    now = datetime.now(UTC)
    riders = [f"rider-{i:03d}" for i in range(orders // stops)]
    with db.transaction() as tx:
        catalogue.insert_pharmacy(tx, PHARMACY)
        catalogue.insert_product(tx, PRODUCT)
        catalogue.insert_lot(
            tx,
            pharmacy_id=PHARMACY.id,
            sku=PRODUCT.sku,
            lot_number="BENCH-LOT",
            expiry_date=(now + timedelta(days=400)).date(),
            quantity=orders * 2,
        )
        for rider_id in riders:
            catalogue.insert_rider(
                tx,
                Rider(
                    RiderId(rider_id),
                    rider_id,
                    VehicleType.SCOOTER,
                    2,
                    frozenset(),
                    now - timedelta(hours=1),
                    now + timedelta(hours=8),
                    PHARMACY.location,
                    now,
                    RiderStatus.AVAILABLE,
                ),
            )
    routes = []
    for r, rider_id in enumerate(riders):
        planned = []
        for k in range(stops):
            request = OrderRequest(
                patient_ref=f"pt-{r}-{k}",
                contact=PatientContact(
                    f"Maria{r}x{k} Borg", "+356 7900 0000", "12 Triq il-Merkanti"
                ),
                delivery_location=GeoPoint(35.90 + k * 0.001, 14.51 + r * 0.0001),
                lines=(OrderLine(PRODUCT.sku, 1),),
                window_start_at=now + timedelta(minutes=30),
                window_end_at=now + timedelta(hours=3),
                idempotency_key=f"bench-{r}-{k}",
                access_notes=f"Gate {r}{k}, second floor",
            )
            with db.transaction() as tx:
                order = submit_order(tx, request, actor="bench")
                fulfilment.assign_order(tx, order.id, rider_id, actor="bench")
                fulfilment.mark_picked_up(
                    tx, order.id, rider_id=rider_id, position=None, actor="bench"
                )
            arrival = now + timedelta(minutes=40 + 10 * (stops - k))
            planned.append(PlannedStop(order.id, "delivery", None, arrival))
        routes.append(RiderRoute(rider_id, tuple(planned), 3600, 10_000))
    with db.transaction() as tx:
        plans_repo.insert_plan(
            tx, Plan(1, now, "ok", 0, 0.1, tuple(routes), (), trigger_reasons=())
        )
    return riders


def _audit_rows(db: Database) -> int:
    with db.transaction() as tx:
        row = tx.conn.execute("SELECT count(*) FROM dispatch.audit_entry").fetchone()
    return int(row[0]) if row else 0


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _row(name: str, times: list[float], audit: int, calls: int) -> dict[str, Any]:
    return {
        "case": name,
        "calls": calls,
        "first_ms": times[0],
        "median_ms": statistics.median(times[1:] or times),
        "max_ms": max(times),
        "audit_rows": audit,
        "audit_rows_per_call": audit / calls,
    }


def run(*, orders: int, stops: int, repeat: int) -> list[dict[str, Any]]:
    """Measure each case on a freshly seeded database."""
    with _database() as url:
        pool = open_pool(url, min_size=1, max_size=4)
        try:
            ctx = DispatchContext(
                cipher=PatientDataCipher("benchmark-data-key-0123456789abcdef"),
                otp_pepper=b"bench-pepper",
                audit_key=b"benchmark-audit-key",
            )
            db = Database(pool, ctx, publisher=RecordingPublisher())
            riders = _seed(db, orders=orders, stops=stops)
            hub = Hub(queue_size=64)
            live = LiveTracker(
                hub,
                GeofenceTracker(dwell_s=20, exit_margin_m=15),
                radius_m=50,
                material_change_s=60,
            )
            routes = RiderRoutes(db, live, hub)
            rows = []

            def empty_tx() -> None:
                with db.transaction():
                    pass

            rows.append(_row("empty_tx", _timed(empty_tx, repeat), 0, repeat))

            before = _audit_rows(db)
            times = _timed(lambda: routes.refresh(riders[0]), repeat)
            rows.append(_row("rebuild", times, _audit_rows(db) - before, repeat))
            assert len(routes.view(riders[0]).stops) == stops

            event = PlanUpdated(1, len(riders), orders, 0, "ok")
            before = _audit_rows(db)
            plan_repeat = max(2, repeat // 10)
            times = _timed(lambda: routes.on_event(event), plan_repeat)
            audit = _audit_rows(db) - before
            rows.append(_row("plan_updated", times, audit, plan_repeat))

            ttl = ApiSettings().device_token_cache_s
            for name, store in (
                ("token_auth_uncached", AuthStore(pool)),
                ("token_auth", AuthStore(pool, device_cache_ttl_s=ttl)),
            ):
                token = store.issue_device_token(rider_id=riders[0])
                auth = Authenticator(store, jwt_secret="x" * 32, tracking_grace_s=60)
                times = _timed(partial(auth.from_bearer, token), repeat * 10)
                rows.append(_row(name, times, 0, repeat * 10))
            return rows
        finally:
            pool.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 orders, 10 calls")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--stops", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--json", default="", help="also write the figures here")
    args = parser.parse_args(argv)
    orders, repeat = (50, 10) if args.quick else (args.orders, args.repeat)
    rows = run(orders=orders, stops=args.stops, repeat=repeat)
    load = os.getloadavg()
    print(f"{orders} active orders, {args.stops} stops per rider; load {load}")
    headers = ["case", "calls", "first_ms", "median_ms", "max_ms", "audit_rows"]
    print_table([[r[h] for h in headers] for r in rows], headers)
    if args.json:
        report = {
            "orders": orders,
            "stops": args.stops,
            "rows": rows,
        }
        write_json(
            args.json,
            report,
            baseline="case 'empty_tx' (one empty transaction: a round trip);"
            " 'token_auth_uncached' for 'token_auth'",
        )


if __name__ == "__main__":
    main()
