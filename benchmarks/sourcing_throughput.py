"""Sourcing throughput: orders/s with FEFO reservation under concurrency.

``python -m benchmarks.sourcing_throughput [--quick] [--json FILE]``

Each client is a thread with its own pooled connection calling
``dispatch.orders.intake.submit_order`` (validate, candidates, lock lots, FEFO reserve,
audit) in its own transaction. Two phases, each run with 1 client (the baseline,
same process) and 8 clients:

- ``plenty``: 20 pharmacies x 6 SKUs with ample stock (throughput);
- ``scarce``: every order races for one SKU whose total stock is smaller than
  the demand (contention: most orders are refused).

After each run the books are checked: no lot has more reserved than on hand, each
lot's reserved count equals its held reservations, and accepted orders' units
equal the units reserved. Uses ``DATABASE_URL`` (or an embedded PostgreSQL) and a
throw-away database.
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

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
from dispatch.context import DispatchContext
from dispatch.crypto import PatientDataCipher
from dispatch.domain import GeoPoint, Pharmacy, PharmacyId, Product, Sku
from dispatch.errors import NoPharmacyHasStock
from dispatch.orders.intake import submit_order
from dispatch.orders.order import OrderLine, OrderRequest, PatientContact

SKUS = [Sku(f"SKU{i}") for i in range(6)]
CONTACT = PatientContact("Bench Patient", "+356 0000 0000", "1 Bench Street")


@dataclass
class Run:
    """One measured run."""

    phase: str
    clients: int
    submitted: int
    accepted: int
    refused: int
    seconds: float
    over_allocated_lots: int
    books_balanced: bool

    @property
    def orders_per_s(self) -> float:
        """Submissions handled per second (accepted or refused)."""
        return self.submitted / self.seconds if self.seconds else 0.0


def _setup(url: str, phase: str) -> None:
    pool = open_pool(url, max_size=2)
    db = Database(pool, _ctx())
    rng = random.Random(7)
    expiry = date.today() + timedelta(days=400)
    with db.transaction() as tx:
        for sku in SKUS:
            catalogue.insert_product(tx, Product(sku, str(sku)))
        for i in range(20):
            catalogue.insert_pharmacy(
                tx,
                Pharmacy(
                    PharmacyId(f"ph{i:02d}"),
                    f"Pharmacy {i}",
                    GeoPoint(35.85 + rng.random() * 0.08, 14.42 + rng.random() * 0.12),
                    f"LIC{i:03d}",
                ),
            )
            for sku in SKUS:
                quantity = 5 if phase == "scarce" and sku == SKUS[0] else 10_000
                if phase == "scarce" and sku == SKUS[0] and i >= 4:
                    continue
                for lot in range(2):
                    catalogue.insert_lot(
                        tx,
                        pharmacy_id=f"ph{i:02d}",
                        sku=sku,
                        lot_number=f"L{i}-{sku}-{lot}",
                        expiry_date=expiry + timedelta(days=lot * 30),
                        quantity=quantity,
                    )
    pool.close()


def _ctx() -> DispatchContext:
    return DispatchContext(
        cipher=PatientDataCipher("benchmark-data-key-0123456789"),
        otp_pepper=b"benchmark-pepper",
        audit_key=b"benchmark-audit-key",
    )


def _request(rng: random.Random, phase: str) -> OrderRequest:
    now = datetime.now(UTC)
    skus = [SKUS[0]] if phase == "scarce" else rng.sample(SKUS, rng.randint(1, 3))
    return OrderRequest(
        patient_ref=f"pt-{rng.randrange(10**6)}",
        contact=CONTACT,
        delivery_location=GeoPoint(
            35.85 + rng.random() * 0.08, 14.42 + rng.random() * 0.12
        ),
        lines=tuple(OrderLine(s, rng.randint(1, 3)) for s in skus),
        window_start_at=now + timedelta(hours=1),
        window_end_at=now + timedelta(hours=3),
        idempotency_key=uuid.uuid4().hex,
    )


def _run(url: str, phase: str, clients: int, per_client: int) -> Run:
    pool = open_pool(url, min_size=clients, max_size=clients + 1)
    db = Database(pool, _ctx())
    accepted = refused = 0
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client(seed: int) -> None:
        nonlocal accepted, refused
        rng = random.Random(seed)
        requests = [_request(rng, phase) for _ in range(per_client)]
        barrier.wait()
        for request in requests:
            try:
                with db.transaction() as tx:
                    submit_order(tx, request, actor="bench")
                ok = True
            except NoPharmacyHasStock:
                ok = False
            with lock:
                accepted, refused = accepted + ok, refused + (not ok)

    threads = [threading.Thread(target=client, args=(s,)) for s in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    over, balanced = _check_books(db)
    pool.close()
    return Run(
        phase, clients, clients * per_client, accepted, refused, seconds, over, balanced
    )


def _check_books(db: Database) -> tuple[int, bool]:
    with db.transaction() as tx:
        over = tx.conn.execute(
            "SELECT count(*) FROM dispatch.stock_lot"
            " WHERE quantity_reserved > quantity_on_hand"
        ).fetchone()
        mismatched = tx.conn.execute(
            "SELECT count(*) FROM dispatch.stock_lot l WHERE l.quantity_reserved <>"
            " (SELECT coalesce(sum(quantity), 0) FROM dispatch.reservation r"
            "  WHERE r.lot_id = l.id AND r.status = 'held')"
        ).fetchone()
        units = tx.conn.execute(
            "SELECT (SELECT coalesce(sum(quantity), 0) FROM dispatch.order_line),"
            " (SELECT coalesce(sum(quantity_reserved), 0) FROM dispatch.stock_lot)"
        ).fetchone()
    if over is None or mismatched is None or units is None:
        raise RuntimeError("aggregate queries returned no row")
    return int(over[0]), int(mismatched[0]) == 0 and units[0] == units[1]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run both phases with 1 and 8 clients; print a table; optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer orders (smoke)")
    parser.add_argument("--json", type=Path, help="write results to this file")
    args = parser.parse_args(argv)
    per_client = 10 if args.quick else 60
    admin = resolve_database_url(
        os.environ.get("DATABASE_URL"),
        Path(os.environ.get("RXDISPATCH_DATA_DIR", "var")),
    )
    runs: list[Run] = []
    for phase in ("plenty", "scarce"):
        for clients in (1, 8):
            name = f"rxd_bench_{uuid.uuid4().hex[:10]}"
            url = create_database(admin, name)
            try:
                migrate(url)
                _setup(url, phase)
                total = per_client * 8  # same number of orders for both client counts
                runs.append(_run(url, phase, clients, total // clients))
            finally:
                drop_database(admin, name)
    rows = [
        [
            r.phase,
            r.clients,
            r.submitted,
            r.accepted,
            r.refused,
            r.seconds,
            r.orders_per_s,
            r.over_allocated_lots,
            r.books_balanced,
        ]
        for r in runs
    ]
    print_table(
        rows,
        [
            "phase",
            "clients",
            "orders",
            "accepted",
            "refused",
            "s",
            "orders/s",
            "over-allocated lots",
            "books balanced",
        ],
    )
    by = {(r.phase, r.clients): r for r in runs}
    speedup = {
        p: by[(p, 8)].orders_per_s / by[(p, 1)].orders_per_s
        for p in ("plenty", "scarce")
    }
    result: dict[str, Any] = {
        "benchmark": "sourcing_throughput",
        "runs": [dict(vars(r), orders_per_s=r.orders_per_s) for r in runs],
        "speedup_8_vs_1": {
            p: by[(p, 8)].orders_per_s / by[(p, 1)].orders_per_s
            for p in ("plenty", "scarce")
        },
        "zero_over_allocation": all(
            r.over_allocated_lots == 0 and r.books_balanced for r in runs
        ),
    }
    print(
        f"\n8 clients vs 1: plenty x{speedup['plenty']:.2f}, "
        f"scarce x{speedup['scarce']:.2f}; "
        f"zero over-allocation: {result['zero_over_allocation']}"
    )
    if args.json:
        write_json(
            args.json,
            result,
            baseline="runs with clients=1 (one client, same process, same orders)",
        )
    if not result["zero_over_allocation"]:
        raise SystemExit("over-allocation detected")
    return result


if __name__ == "__main__":
    main()
