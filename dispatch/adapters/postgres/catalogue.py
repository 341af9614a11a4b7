"""Catalogue and fleet repositories: profiles, pharmacies, products, lots, riders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.domain import (
    ColdBox,
    GeoPoint,
    OpeningInterval,
    Pharmacy,
    PharmacyId,
    Product,
    Rider,
    RiderId,
    RiderStatus,
    Sku,
    StockLot,
    StorageClass,
    TemperatureProfile,
    VehicleType,
)
from dispatch.errors import (
    ColdBoxNotFound,
    DispatchError,
    DuplicateEntity,
    PharmacyNotFound,
    ProductNotFound,
    RiderNotFound,
)

SELECT_PROFILES = """
SELECT code, min_c, max_c, max_single_excursion_s, cumulative_excursion_budget_s,
    max_transit_s
FROM dispatch.temperature_profile
"""
UPSERT_PROFILE = """
INSERT INTO dispatch.temperature_profile VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (code) DO UPDATE SET min_c = EXCLUDED.min_c, max_c = EXCLUDED.max_c,
    max_single_excursion_s = EXCLUDED.max_single_excursion_s,
    cumulative_excursion_budget_s = EXCLUDED.cumulative_excursion_budget_s,
    max_transit_s = EXCLUDED.max_transit_s
"""
INSERT_PHARMACY = (
    "INSERT INTO dispatch.pharmacy VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
SELECT_PHARMACIES = """
SELECT id, name, lat, lon, licence_number, opening_hours, timezone, active
FROM dispatch.pharmacy"""
UPDATE_PHARMACY = """
UPDATE dispatch.pharmacy SET name = %s, lat = %s, lon = %s, opening_hours = %s,
    timezone = %s, active = %s
WHERE id = %s"""
INSERT_PRODUCT = "INSERT INTO dispatch.product VALUES (%s, %s, %s, %s, %s, %s)"
SELECT_PRODUCTS = """
SELECT sku, name, storage_class, prescription_only, controlled_schedule,
    min_shelf_life_days
FROM dispatch.product WHERE sku = ANY(%s)
"""
INSERT_LOT = """
INSERT INTO dispatch.stock_lot
    (pharmacy_id, sku, lot_number, expiry_date, quantity_on_hand)
VALUES (%s, %s, %s, %s, %s) RETURNING id
"""
LOT_COLUMNS = (
    "id, pharmacy_id, sku, lot_number, expiry_date, quantity_on_hand, quantity_reserved"
)
INSERT_RIDER = """
INSERT INTO dispatch.rider (id, name, vehicle_type, cold_box_slots, skills,
    shift_start_at, shift_end_at, lat, lon, position_at, status)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
RIDER_COLUMNS = (
    "id, name, vehicle_type, cold_box_slots, skills, shift_start_at, shift_end_at,"
    " lat, lon, position_at, status, version"
)
UPDATE_RIDER_POSITION = (
    "UPDATE dispatch.rider SET lat = %s, lon = %s, position_at = %s WHERE id = %s"
)
UPDATE_RIDER_SHIFT = """
UPDATE dispatch.rider SET status = %s, shift_start_at = %s, shift_end_at = %s,
    version = version + 1 WHERE id = %s
"""
INSERT_BOX = (
    "INSERT INTO dispatch.cold_box (id, profile_code, rider_id) VALUES (%s, %s, %s)"
)
SELECT_BOX = (
    "SELECT id, profile_code, rider_id, quarantined_at, quarantine_reason,"
    " quarantine_ref FROM dispatch.cold_box WHERE id = %s"
)


def _hours_to_json(hours: Sequence[OpeningInterval]) -> list[dict[str, Any]]:
    return [
        {
            "weekday": h.weekday,
            "opens": h.opens.isoformat(),
            "closes": h.closes.isoformat(),
        }
        for h in hours
    ]


def _hours_from_json(raw: Any) -> tuple[OpeningInterval, ...]:
    data = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return tuple(
        OpeningInterval(
            d["weekday"],
            time.fromisoformat(d["opens"]),
            time.fromisoformat(d["closes"]),
        )
        for d in data
    )


def list_temperature_profiles(tx: Tx) -> dict[str, TemperatureProfile]:
    """Every temperature profile by code."""
    rows = tx.conn.execute(SELECT_PROFILES).fetchall()
    return {r[0]: TemperatureProfile(*r) for r in rows}


def upsert_temperature_profile(tx: Tx, profile: TemperatureProfile) -> None:
    """Create or replace a temperature profile."""
    p = profile
    tx.conn.execute(
        UPSERT_PROFILE,
        (
            p.code,
            p.min_c,
            p.max_c,
            p.max_single_excursion_s,
            p.cumulative_excursion_budget_s,
            p.max_transit_s,
        ),
    )


def insert_pharmacy(tx: Tx, pharmacy: Pharmacy) -> None:
    """Add a pharmacy."""
    p = pharmacy
    try:
        with tx.conn.transaction():
            tx.conn.execute(
                INSERT_PHARMACY,
                (
                    p.id,
                    p.name,
                    p.location.lat,
                    p.location.lon,
                    p.licence_number,
                    Jsonb(_hours_to_json(p.opening_hours)),
                    p.timezone,
                    p.active,
                ),
            )
    except psycopg.errors.UniqueViolation as exc:
        raise DuplicateEntity(
            f"pharmacy {p.id!r} or its licence already exists"
        ) from exc


def _pharmacy(row: Any) -> Pharmacy:
    return Pharmacy(
        id=PharmacyId(row[0]),
        name=row[1],
        location=GeoPoint(row[2], row[3]),
        licence_number=row[4],
        opening_hours=_hours_from_json(row[5]),
        timezone=row[6],
        active=row[7],
    )


def lock_pharmacy_fields(tx: Tx, pharmacy_id: str) -> dict[str, Any]:
    """A pharmacy's stored fields, row-locked, as :class:`Pharmacy` keyword
    arguments (not checked: lets an edit repair a row the type would refuse);
    :class:`PharmacyNotFound` if there is none."""
    row = tx.conn.execute(
        SELECT_PHARMACIES + " WHERE id = %s FOR UPDATE", (pharmacy_id,)
    ).fetchone()
    if row is None:
        raise PharmacyNotFound(pharmacy_id)
    return {
        "id": PharmacyId(row[0]),
        "name": row[1],
        "location": GeoPoint(row[2], row[3]),
        "licence_number": row[4],
        "opening_hours": _hours_from_json(row[5]),
        "timezone": row[6],
        "active": row[7],
    }


def update_pharmacy(tx: Tx, pharmacy: Pharmacy) -> None:
    """Store a pharmacy's editable fields (all but its id and licence)."""
    p = pharmacy
    tx.conn.execute(
        UPDATE_PHARMACY,
        (
            p.name,
            p.location.lat,
            p.location.lon,
            Jsonb(_hours_to_json(p.opening_hours)),
            p.timezone,
            p.active,
            p.id,
        ),
    )


def list_pharmacies(
    tx: Tx,
    ids: Iterable[str] | None = None,
    *,
    unreadable: dict[str, str] | None = None,
) -> dict[PharmacyId, Pharmacy]:
    """Pharmacies by id (all, or those in ``ids``). With ``unreadable``, a row the
    domain type refuses (e.g. a time zone this host no longer knows) is left out
    and recorded there (id -> the refusal) instead of failing the whole read."""
    if ids is None:
        rows = tx.conn.execute(SELECT_PHARMACIES).fetchall()
    else:
        rows = tx.conn.execute(
            SELECT_PHARMACIES + " WHERE id = ANY(%s)", (list(ids),)
        ).fetchall()
    if unreadable is None:
        return {PharmacyId(r[0]): _pharmacy(r) for r in rows}
    found: dict[PharmacyId, Pharmacy] = {}
    for r in rows:
        try:
            found[PharmacyId(r[0])] = _pharmacy(r)
        except Exception as exc:  # a refused row must not hide the others
            refusal = str(exc) if isinstance(exc, DispatchError) else ""
            unreadable[r[0]] = refusal or type(exc).__name__
    return found


def get_pharmacy(tx: Tx, pharmacy_id: str) -> Pharmacy:
    """One pharmacy or :class:`PharmacyNotFound`."""
    found = list_pharmacies(tx, [pharmacy_id])
    if pharmacy_id not in found:
        raise PharmacyNotFound(pharmacy_id)
    return found[PharmacyId(pharmacy_id)]


def insert_product(tx: Tx, product: Product) -> None:
    """Add a product to the catalogue."""
    p = product
    try:
        with tx.conn.transaction():
            tx.conn.execute(
                INSERT_PRODUCT,
                (
                    p.sku,
                    p.name,
                    p.storage_class.value,
                    p.prescription_only,
                    p.controlled_schedule,
                    p.min_shelf_life_days,
                ),
            )
    except psycopg.errors.UniqueViolation as exc:
        raise DuplicateEntity(f"product {p.sku!r} already exists") from exc


def get_products(tx: Tx, skus: Iterable[str]) -> dict[Sku, Product]:
    """Products by SKU; raises :class:`ProductNotFound` naming the first unknown SKU."""
    wanted = list(dict.fromkeys(skus))
    rows = tx.conn.execute(SELECT_PRODUCTS, (wanted,)).fetchall()
    found = {
        Sku(r[0]): Product(Sku(r[0]), r[1], StorageClass(r[2]), r[3], r[4], r[5])
        for r in rows
    }
    for sku in wanted:
        if sku not in found:
            raise ProductNotFound(sku)
    return found


def list_products(
    tx: Tx,
    *,
    storage_class: StorageClass | None = None,
    limit: int = 500,
    offset: int = 0,
) -> tuple[list[Product], int]:
    """A page of the catalogue by SKU (optionally one storage class) and its size."""
    params = {
        "storage": storage_class.value if storage_class else None,
        "limit": limit,
        "offset": offset,
    }
    where = " WHERE (%(storage)s::text IS NULL OR storage_class = %(storage)s::text)"
    total = tx.conn.execute(
        "SELECT count(*) FROM dispatch.product" + where, params
    ).fetchone()
    rows = tx.conn.execute(
        "SELECT sku, name, storage_class, prescription_only, controlled_schedule,"
        " min_shelf_life_days FROM dispatch.product"
        + where
        + " ORDER BY sku LIMIT %(limit)s OFFSET %(offset)s",
        params,
    ).fetchall()
    products = [
        Product(Sku(r[0]), r[1], StorageClass(r[2]), r[3], r[4], r[5]) for r in rows
    ]
    return products, int(total[0]) if total else 0


def insert_lot(
    tx: Tx,
    *,
    pharmacy_id: str,
    sku: str,
    lot_number: str,
    expiry_date: date,
    quantity: int,
) -> int:
    """Receive a lot into stock; returns its id."""
    try:
        with tx.conn.transaction():
            row = tx.conn.execute(
                INSERT_LOT, (pharmacy_id, sku, lot_number, expiry_date, quantity)
            ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise DuplicateEntity(f"lot {lot_number!r} already exists there") from exc
    except psycopg.errors.ForeignKeyViolation as exc:
        raise (
            PharmacyNotFound(pharmacy_id)
            if "pharmacy" in str(exc)
            else ProductNotFound(sku)
        ) from exc
    if row is None:  # pragma: no cover - RETURNING always yields a row
        raise RuntimeError("INSERT ... RETURNING returned nothing")
    return int(row[0])


def lot_from_row(row: Any) -> StockLot:
    """A :class:`StockLot` from a row of ``LOT_COLUMNS``."""
    return StockLot(
        int(row[0]), PharmacyId(row[1]), Sku(row[2]), row[3], row[4], row[5], row[6]
    )


def list_lots(
    tx: Tx, *, pharmacy_id: str | None = None, sku: str | None = None
) -> list[StockLot]:
    """Lots, optionally filtered, in id order."""
    rows = tx.conn.execute(
        f"SELECT {LOT_COLUMNS} FROM dispatch.stock_lot"
        " WHERE (%s::text IS NULL OR pharmacy_id = %s)"
        " AND (%s::text IS NULL OR sku = %s)"
        " ORDER BY id",
        (pharmacy_id, pharmacy_id, sku, sku),
    ).fetchall()
    return [lot_from_row(r) for r in rows]


def insert_rider(tx: Tx, rider: Rider) -> None:
    """Add a rider."""
    r = rider
    pos = r.position
    try:
        with tx.conn.transaction():
            tx.conn.execute(
                INSERT_RIDER,
                (
                    r.id,
                    r.name,
                    r.vehicle_type.value,
                    r.cold_box_slots,
                    sorted(r.skills),
                    r.shift_start_at,
                    r.shift_end_at,
                    pos.lat if pos else None,
                    pos.lon if pos else None,
                    r.position_at,
                    r.status.value,
                ),
            )
    except psycopg.errors.UniqueViolation as exc:
        raise DuplicateEntity(f"rider {r.id!r} already exists") from exc


def _rider(row: Any) -> Rider:
    pos = GeoPoint(row[7], row[8]) if row[7] is not None else None
    return Rider(
        id=RiderId(row[0]),
        name=row[1],
        vehicle_type=VehicleType(row[2]),
        cold_box_slots=row[3],
        skills=frozenset(row[4]),
        shift_start_at=row[5],
        shift_end_at=row[6],
        position=pos,
        position_at=row[9],
        status=RiderStatus(row[10]),
        version=row[11],
    )


def list_riders(tx: Tx) -> list[Rider]:
    """Every rider, by id."""
    rows = tx.conn.execute(
        f"SELECT {RIDER_COLUMNS} FROM dispatch.rider ORDER BY id"
    ).fetchall()
    return [_rider(r) for r in rows]


def get_rider(tx: Tx, rider_id: str, *, for_update: bool = False) -> Rider:
    """One rider or :class:`RiderNotFound`."""
    lock = " FOR UPDATE" if for_update else ""
    row = tx.conn.execute(
        f"SELECT {RIDER_COLUMNS} FROM dispatch.rider WHERE id = %s{lock}", (rider_id,)
    ).fetchone()
    if row is None:
        raise RiderNotFound(rider_id)
    return _rider(row)


def update_rider_position(
    tx: Tx, rider_id: str, position: GeoPoint, at: datetime
) -> None:
    """Store a rider's latest position (does not bump the rider's plan version)."""
    cur = tx.conn.execute(
        UPDATE_RIDER_POSITION, (position.lat, position.lon, at, rider_id)
    )
    if cur.rowcount == 0:
        raise RiderNotFound(rider_id)


def update_rider_shift(
    tx: Tx,
    rider_id: str,
    status: RiderStatus,
    shift_start_at: datetime | None,
    shift_end_at: datetime | None,
) -> None:
    """Change a rider's status and shift (bumps the rider's version)."""
    cur = tx.conn.execute(
        UPDATE_RIDER_SHIFT, (status.value, shift_start_at, shift_end_at, rider_id)
    )
    if cur.rowcount == 0:
        raise RiderNotFound(rider_id)


def insert_cold_box(tx: Tx, box: ColdBox) -> None:
    """Register a cold box."""
    try:
        with tx.conn.transaction():
            tx.conn.execute(INSERT_BOX, (box.id, box.profile_code, box.rider_id))
    except psycopg.errors.UniqueViolation as exc:
        raise DuplicateEntity(f"cold box {box.id!r} already exists") from exc


def get_cold_box(tx: Tx, box_id: str, *, for_update: bool = False) -> ColdBox:
    """One cold box or :class:`ColdBoxNotFound`."""
    row = tx.conn.execute(
        SELECT_BOX + (" FOR UPDATE" if for_update else ""), (box_id,)
    ).fetchone()
    if row is None:
        raise ColdBoxNotFound(box_id)
    return ColdBox(
        id=row[0],
        profile_code=row[1],
        rider_id=RiderId(row[2]) if row[2] else None,
        quarantined_at=row[3],
        quarantine_reason=row[4],
        quarantine_ref=row[5],
    )


def set_cold_box_quarantine(
    tx: Tx,
    box_id: str,
    *,
    at: datetime | None,
    reason: str | None,
    ref: str | None,
) -> None:
    """Quarantine the box (``at`` set) or clear it (all None)."""
    cur = tx.conn.execute(
        "UPDATE dispatch.cold_box SET quarantined_at = %s, quarantine_reason = %s,"
        " quarantine_ref = %s WHERE id = %s",
        (at, reason, ref, box_id),
    )
    if cur.rowcount == 0:
        raise ColdBoxNotFound(box_id)


def bump_rider_version(tx: Tx, rider_id: str) -> None:
    """Make plans computed before now stale for this rider."""
    tx.conn.execute(
        "UPDATE dispatch.rider SET version = version + 1 WHERE id = %s", (rider_id,)
    )


def quarantined_box_riders(tx: Tx) -> frozenset[RiderId]:
    """Riders carrying a quarantined cold box."""
    rows = tx.conn.execute(
        "SELECT rider_id FROM dispatch.cold_box"
        " WHERE quarantined_at IS NOT NULL AND rider_id IS NOT NULL"
    ).fetchall()
    return frozenset(RiderId(r[0]) for r in rows)


def list_quarantined_boxes(tx: Tx) -> list[ColdBox]:
    """Every quarantined cold box, by id."""
    rows = tx.conn.execute(
        "SELECT id FROM dispatch.cold_box WHERE quarantined_at IS NOT NULL ORDER BY id"
    ).fetchall()
    return [get_cold_box(tx, r[0]) for r in rows]


def cold_box_of_rider(tx: Tx, rider_id: str) -> ColdBox | None:
    """The box the rider carries (a quarantined one first), or None."""
    row = tx.conn.execute(
        "SELECT id FROM dispatch.cold_box WHERE rider_id = %s"
        " ORDER BY quarantined_at IS NULL, id LIMIT 1",
        (rider_id,),
    ).fetchone()
    return get_cold_box(tx, row[0]) if row is not None else None
