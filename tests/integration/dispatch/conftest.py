"""Fixtures of the dispatch integration tests: a real database per test, a fixed
clock, a recording publisher, and a small Maltese catalogue."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config

from dispatch.adapters.memory import FixedClock, RecordingPublisher
from dispatch.adapters.postgres import catalogue
from dispatch.adapters.postgres.database import (
    create_database,
    drop_database,
    open_pool,
    package_dir,
)
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.context import DispatchContext
from dispatch.crypto import PatientDataCipher
from dispatch.domain import (
    ColdBox,
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
from dispatch.geo import ServiceArea
from dispatch.orders.order import OrderLine, OrderRequest, PatientContact, Priority

AUDIT_KEY = b"integration-test-audit-key-0123456789"
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
MALTA_BBOX = ServiceArea.from_bbox(35.78, 14.17, 36.09, 14.59)

VALLETTA = Pharmacy(
    PharmacyId("ph-valletta"), "Valletta", GeoPoint(35.8989, 14.5146), "LIC-1"
)
SLIEMA = Pharmacy(
    PharmacyId("ph-sliema"), "Sliema", GeoPoint(35.9122, 14.5042), "LIC-2"
)
MDINA = Pharmacy(PharmacyId("ph-mdina"), "Mdina", GeoPoint(35.8859, 14.4035), "LIC-3")
NEAR_VALLETTA = GeoPoint(35.8975, 14.5120)

AMOX = Product(Sku("AMOX500"), "Amoxicillin 500 mg", prescription_only=True)
INSULIN = Product(Sku("INS100"), "Insulin", StorageClass.REFRIGERATED, True)
MORPHINE = Product(
    Sku("MORPH10"), "Morphine 10 mg", prescription_only=True, controlled_schedule="CII"
)


@pytest.fixture
def clock() -> FixedClock:
    """A clock fixed at ``NOW``."""
    return FixedClock(NOW)


@pytest.fixture
def publisher() -> RecordingPublisher:
    """Records the events each committed command published."""
    return RecordingPublisher()


def make_ctx(**overrides: object) -> DispatchContext:
    """A context with test secrets and the Malta bounding box."""
    values: dict[str, object] = {
        "cipher": PatientDataCipher("integration-test-data-key-0123456789"),
        "otp_pepper": b"integration-test-pepper",
        "audit_key": AUDIT_KEY,
        "service_area": MALTA_BBOX,
    }
    values.update(overrides)
    return DispatchContext(**values)  # type: ignore[arg-type]


@pytest.fixture
def db(
    fresh_db: str, clock: FixedClock, publisher: RecordingPublisher
) -> Iterator[Database]:
    """A :class:`Database` on a fresh migrated database."""
    pool = open_pool(fresh_db, min_size=1, max_size=24)
    try:
        yield Database(pool, make_ctx(), publisher=publisher, clock=clock)
    finally:
        pool.close()


def seed_catalogue(db: Database) -> None:
    """Three pharmacies, three products, no stock."""
    with db.transaction() as tx:
        for pharmacy in (VALLETTA, SLIEMA, MDINA):
            catalogue.insert_pharmacy(tx, pharmacy)
        for product in (AMOX, INSULIN, MORPHINE):
            catalogue.insert_product(tx, product)


def add_lot(
    db: Database,
    pharmacy: Pharmacy,
    product: Product,
    qty: int,
    expiry: date,
    lot_number: str | None = None,
) -> int:
    """Receive a lot; returns its id."""
    with db.transaction() as tx:
        return catalogue.insert_lot(
            tx,
            pharmacy_id=pharmacy.id,
            sku=product.sku,
            lot_number=lot_number or f"L-{uuid.uuid4().hex[:8]}",
            expiry_date=expiry,
            quantity=qty,
        )


def add_rider(
    db: Database,
    rider_id: str = "rider-1",
    *,
    slots: int = 2,
    skills: frozenset[str] = frozenset(),
    position: GeoPoint = NEAR_VALLETTA,
    vehicle: VehicleType = VehicleType.SCOOTER,
) -> RiderId:
    """An available rider on shift for the next 8 hours, with a cold box."""
    with db.transaction() as tx:
        catalogue.insert_rider(
            tx,
            Rider(
                RiderId(rider_id),
                rider_id.title(),
                vehicle,
                slots,
                skills,
                NOW - timedelta(hours=1),
                NOW + timedelta(hours=8),
                position,
                NOW,
                RiderStatus.AVAILABLE,
            ),
        )
        catalogue.insert_cold_box(
            tx, ColdBox(f"box-{rider_id}", "refrigerated", RiderId(rider_id))
        )
    return RiderId(rider_id)


def make_request(
    lines: list[tuple[Product, int]],
    *,
    key: str | None = None,
    location: GeoPoint = NEAR_VALLETTA,
    start_h: float = 1.0,
    end_h: float = 3.0,
    priority: Priority = Priority.STANDARD,
) -> OrderRequest:
    """An order request for ``lines`` delivered near Valletta."""
    return OrderRequest(
        patient_ref=f"pt-{uuid.uuid4().hex[:6]}",
        contact=PatientContact(
            "Maria Borg", "+356 7900 0000", "12 Triq il-Merkanti, Valletta"
        ),
        delivery_location=location,
        lines=tuple(OrderLine(p.sku, q) for p, q in lines),
        window_start_at=NOW + timedelta(hours=start_h),
        window_end_at=NOW + timedelta(hours=end_h),
        idempotency_key=key or uuid.uuid4().hex,
        priority=priority,
    )


@pytest.fixture
def blank_db(pg_admin_url: str) -> Iterator[str]:
    """An empty database, migrated by the test itself (migration tests)."""
    name = f"rxd_test_{uuid.uuid4().hex[:12]}"
    url = create_database(pg_admin_url, name)
    yield url
    drop_database(pg_admin_url, name)


def upgrade_dispatch(url: str, revision: str) -> None:
    """Bring the database at ``url`` to one revision of dispatch's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(package_dir("dispatch") / "migrations"))
    cfg.set_main_option(
        "sqlalchemy.url", url.replace("postgresql://", "postgresql+psycopg://", 1)
    )
    cfg.attributes["version_table"] = "alembic_version_dispatch"
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, revision)
