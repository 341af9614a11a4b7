"""Catalogue and fleet repositories: profiles, pharmacies, products, lots, riders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

import orjson
import psycopg
from psycopg.rows import class_row, dict_row, kwargs_row
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
from dispatch.stock.scan_codes import new_scan_code

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
PRODUCT_COLUMNS = (
    "sku, name, storage_class, prescription_only, controlled_schedule,"
    " min_shelf_life_days"
)
SELECT_PRODUCTS = f"SELECT {PRODUCT_COLUMNS} FROM dispatch.product WHERE sku = ANY(%s)"
INSERT_LOT = """
INSERT INTO dispatch.stock_lot
    (pharmacy_id, sku, lot_number, expiry_date, quantity_on_hand, scan_code)
VALUES (%s, %s, %s, %s, %s, %s) RETURNING id
"""
# the fields of StockLot: read with class_row(StockLot)
LOT_COLUMNS = (
    "id, pharmacy_id, sku, lot_number, expiry_date, quantity_on_hand,"
    " quantity_reserved, scan_code"
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
    profiles = tx.fetch_all(class_row(TemperatureProfile), SELECT_PROFILES)
    return {p.code: p for p in profiles}


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


def _pharmacy_fields(
    *,
    id: str,
    name: str,
    lat: float,
    lon: float,
    licence_number: str,
    opening_hours: Any,
    timezone: str,
    active: bool,
) -> dict[str, Any]:
    """A row of ``SELECT_PHARMACIES`` (``kwargs_row``) as :class:`Pharmacy`
    keyword arguments, not yet checked by the type."""
    return {
        "id": PharmacyId(id),
        "name": name,
        "location": GeoPoint(lat, lon),
        "licence_number": licence_number,
        "opening_hours": _hours_from_json(opening_hours),
        "timezone": timezone,
        "active": active,
    }


def lock_pharmacy_fields(tx: Tx, pharmacy_id: str) -> dict[str, Any]:
    """A pharmacy's stored fields, row-locked, as :class:`Pharmacy` keyword
    arguments (not checked: lets an edit repair a row the type would refuse);
    :class:`PharmacyNotFound` if there is none."""
    fields = tx.fetch_one(
        kwargs_row(_pharmacy_fields),
        SELECT_PHARMACIES + " WHERE id = %s FOR UPDATE",
        (pharmacy_id,),
    )
    if fields is None:
        raise PharmacyNotFound(pharmacy_id)
    return fields


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
        rows = tx.fetch_all(kwargs_row(_pharmacy_fields), SELECT_PHARMACIES)
    else:
        rows = tx.fetch_all(
            kwargs_row(_pharmacy_fields),
            SELECT_PHARMACIES + " WHERE id = ANY(%s)",
            (list(ids),),
        )
    found: dict[PharmacyId, Pharmacy] = {}
    for fields in rows:
        try:
            found[fields["id"]] = Pharmacy(**fields)
        except Exception as exc:  # a refused row must not hide the others
            if unreadable is None:
                raise
            refusal = str(exc) if isinstance(exc, DispatchError) else ""
            unreadable[fields["id"]] = refusal or type(exc).__name__
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


def _product(
    *,
    sku: str,
    name: str,
    storage_class: str,
    prescription_only: bool,
    controlled_schedule: str | None,
    min_shelf_life_days: int,
) -> Product:
    """A :class:`Product` from a row of ``PRODUCT_COLUMNS`` (``kwargs_row``)."""
    return Product(
        sku=Sku(sku),
        name=name,
        storage_class=StorageClass(storage_class),
        prescription_only=prescription_only,
        controlled_schedule=controlled_schedule,
        min_shelf_life_days=min_shelf_life_days,
    )


def get_products(tx: Tx, skus: Iterable[str]) -> dict[Sku, Product]:
    """Products by SKU; raises :class:`ProductNotFound` naming the first unknown SKU."""
    wanted = list(dict.fromkeys(skus))
    products = tx.fetch_all(kwargs_row(_product), SELECT_PRODUCTS, (wanted,))
    found = {p.sku: p for p in products}
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
    total = tx.fetch_one(
        dict_row, "SELECT count(*) AS total FROM dispatch.product" + where, params
    )
    products = tx.fetch_all(
        kwargs_row(_product),
        f"SELECT {PRODUCT_COLUMNS} FROM dispatch.product"
        + where
        + " ORDER BY sku LIMIT %(limit)s OFFSET %(offset)s",
        params,
    )
    return products, int(total["total"]) if total else 0


def insert_lot(
    tx: Tx,
    *,
    pharmacy_id: str,
    sku: str,
    lot_number: str,
    expiry_date: date,
    quantity: int,
    scan_code: str | None = None,
) -> int:
    """Receive a lot into stock; returns its id. ``scan_code``: the label's code
    (a fresh random one when None)."""
    code = scan_code if scan_code is not None else new_scan_code()
    try:
        with tx.conn.transaction():
            row = tx.fetch_one(
                dict_row,
                INSERT_LOT,
                (pharmacy_id, sku, lot_number, expiry_date, quantity, code),
            )
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
    return int(row["id"])


def list_lots(
    tx: Tx, *, pharmacy_id: str | None = None, sku: str | None = None
) -> list[StockLot]:
    """Lots, optionally filtered, in id order."""
    return tx.fetch_all(
        class_row(StockLot),
        f"SELECT {LOT_COLUMNS} FROM dispatch.stock_lot"
        " WHERE (%s::text IS NULL OR pharmacy_id = %s)"
        " AND (%s::text IS NULL OR sku = %s)"
        " ORDER BY id",
        (pharmacy_id, pharmacy_id, sku, sku),
    )


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


def _rider(
    *,
    id: str,
    name: str,
    vehicle_type: str,
    cold_box_slots: int,
    skills: list[str],
    shift_start_at: datetime | None,
    shift_end_at: datetime | None,
    lat: float | None,
    lon: float | None,
    position_at: datetime | None,
    status: str,
    version: int,
) -> Rider:
    """A :class:`Rider` from a row of ``RIDER_COLUMNS`` (``kwargs_row``)."""
    pos = GeoPoint(lat, lon) if lat is not None and lon is not None else None
    return Rider(
        id=RiderId(id),
        name=name,
        vehicle_type=VehicleType(vehicle_type),
        cold_box_slots=cold_box_slots,
        skills=frozenset(skills),
        shift_start_at=shift_start_at,
        shift_end_at=shift_end_at,
        position=pos,
        position_at=position_at,
        status=RiderStatus(status),
        version=version,
    )


def list_riders(tx: Tx) -> list[Rider]:
    """Every rider, by id."""
    return tx.fetch_all(
        kwargs_row(_rider), f"SELECT {RIDER_COLUMNS} FROM dispatch.rider ORDER BY id"
    )


def get_rider(tx: Tx, rider_id: str, *, for_update: bool = False) -> Rider:
    """One rider or :class:`RiderNotFound`."""
    lock = " FOR UPDATE" if for_update else ""
    rider = tx.fetch_one(
        kwargs_row(_rider),
        f"SELECT {RIDER_COLUMNS} FROM dispatch.rider WHERE id = %s{lock}",
        (rider_id,),
    )
    if rider is None:
        raise RiderNotFound(rider_id)
    return rider


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
    box = tx.fetch_one(
        class_row(ColdBox),
        SELECT_BOX + (" FOR UPDATE" if for_update else ""),
        (box_id,),
    )
    if box is None:
        raise ColdBoxNotFound(box_id)
    return box


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
    rows = tx.fetch_all(
        dict_row,
        "SELECT rider_id FROM dispatch.cold_box"
        " WHERE quarantined_at IS NOT NULL AND rider_id IS NOT NULL",
    )
    return frozenset(RiderId(r["rider_id"]) for r in rows)


def list_quarantined_boxes(tx: Tx) -> list[ColdBox]:
    """Every quarantined cold box, by id."""
    rows = tx.fetch_all(
        dict_row,
        "SELECT id FROM dispatch.cold_box WHERE quarantined_at IS NOT NULL ORDER BY id",
    )
    return [get_cold_box(tx, r["id"]) for r in rows]


def riders_cold_boxes(tx: Tx) -> list[ColdBox]:
    """Every cold box handed to a rider, by id."""
    rows = tx.fetch_all(
        dict_row,
        "SELECT id FROM dispatch.cold_box WHERE rider_id IS NOT NULL ORDER BY id",
    )
    return [get_cold_box(tx, r["id"]) for r in rows]


def cold_box_of_rider(tx: Tx, rider_id: str) -> ColdBox | None:
    """The box the rider carries (a quarantined one first), or None."""
    row = tx.fetch_one(
        dict_row,
        "SELECT id FROM dispatch.cold_box WHERE rider_id = %s"
        " ORDER BY quarantined_at IS NULL, id LIMIT 1",
        (rider_id,),
    )
    return get_cold_box(tx, row["id"]) if row is not None else None


def lot_scan_codes(tx: Tx, lot_ids: Sequence[int]) -> dict[int, str]:
    """The scan code of each of ``lot_ids`` (absent ids are left out)."""
    rows = tx.fetch_all(
        dict_row,
        "SELECT id, scan_code FROM dispatch.stock_lot WHERE id = ANY(%s)",
        (list(lot_ids),),
    )
    return {int(r["id"]): str(r["scan_code"]) for r in rows}
