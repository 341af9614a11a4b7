"""Catalogue commands: pharmacies, products and received stock lots (audited)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import UTC, date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatch.adapters.postgres import catalogue as repo
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.domain import (
    GeoPoint,
    OpeningInterval,
    Pharmacy,
    Product,
    StockLot,
    TemperatureProfile,
)
from dispatch.errors import InvalidInput, InvalidQuantity
from dispatch.events import PharmacyChanged
from dispatch.stock.scan_codes import new_scan_code

__all__ = [
    "get_products",
    "list_lots",
    "list_pharmacies",
    "list_temperature_profiles",
    "receive_lot",
    "register_pharmacy",
    "register_product",
    "set_temperature_profile",
    "update_pharmacy",
]

list_lots = repo.list_lots
list_pharmacies = repo.list_pharmacies
list_temperature_profiles = repo.list_temperature_profiles
get_products = repo.get_products


def register_pharmacy(tx: Tx, pharmacy: Pharmacy, *, actor: str) -> None:
    """Add a pharmacy; its location must lie in the service area."""
    if tx.ctx.service_area is not None:
        tx.ctx.service_area.require(pharmacy.location, "location")
    repo.insert_pharmacy(tx, pharmacy)
    tx.audit(
        actor=actor,
        action="pharmacy.registered",
        subject_type="pharmacy",
        subject_id=pharmacy.id,
        details={"licence": pharmacy.licence_number},
    )


def update_pharmacy(
    tx: Tx,
    pharmacy_id: str,
    *,
    actor: str,
    name: str | None = None,
    location: GeoPoint | None = None,
    opening_hours: Sequence[OpeningInterval] | None = None,
    timezone: str | None = None,
    active: bool | None = None,
) -> Pharmacy:
    """Edit a pharmacy (fields left None are kept) and/or (de)activate it.

    The result is checked as a whole by :class:`Pharmacy` (so an edit can repair
    a stored zone the type refuses, and cannot store a new bad one); a new
    location must lie in the service area. Deactivated: no new order is sourced
    there; orders already reserved there keep it and are planned as before.
    Audited (``pharmacy.updated`` with the changed fields, ``pharmacy.deactivated``
    or ``pharmacy.reactivated``); the re-planner hears ``pharmacy.changed``.
    """
    stored = repo.lock_pharmacy_fields(tx, pharmacy_id)
    changes = {
        key: value
        for key, value in (
            ("name", name),
            ("location", location),
            (
                "opening_hours",
                tuple(opening_hours) if opening_hours is not None else None,
            ),
            ("timezone", timezone),
            ("active", active),
        )
        if value is not None
    }
    if name is not None and not name.strip():
        raise InvalidInput("name must not be empty")
    if location is not None and tx.ctx.service_area is not None:
        tx.ctx.service_area.require(location, "location")
    pharmacy = Pharmacy(**{**stored, **changes})
    changed = [
        f.name
        for f in fields(Pharmacy)
        if f.name in changes and getattr(pharmacy, f.name) != stored[f.name]
    ]
    if not changed:
        return pharmacy
    repo.update_pharmacy(tx, pharmacy)
    edited = [c for c in changed if c != "active"]
    if edited:
        tx.audit(
            actor=actor,
            action="pharmacy.updated",
            subject_type="pharmacy",
            subject_id=pharmacy.id,
            details={"fields": edited},
        )
    if "active" in changed:
        tx.audit(
            actor=actor,
            action="pharmacy.reactivated"
            if pharmacy.active
            else "pharmacy.deactivated",
            subject_type="pharmacy",
            subject_id=pharmacy.id,
            details={},
        )
    tx.emit(PharmacyChanged(pharmacy.id, tuple(changed), pharmacy.active))
    return pharmacy


def register_product(tx: Tx, product: Product, *, actor: str) -> Product:
    """Add a product to the catalogue; its controlled schedule must be one of the
    jurisdiction's (stored in canonical form). Returns the product as stored."""
    schedule = tx.ctx.proof_policy.schedule_of(product.controlled_schedule)
    if schedule != product.controlled_schedule:
        product = replace(product, controlled_schedule=schedule)
    repo.insert_product(tx, product)
    tx.audit(
        actor=actor,
        action="product.registered",
        subject_type="product",
        subject_id=product.sku,
        details={
            "storage": product.storage_class.value,
            "schedule": product.controlled_schedule,
        },
    )
    return product


def receive_lot(
    tx: Tx,
    *,
    pharmacy_id: str,
    sku: str,
    lot_number: str,
    expiry_date: date,
    quantity: int,
    actor: str,
) -> StockLot:
    """Put a received lot on the shelf; returns it. A lot already past its
    expiry date (the pharmacy's local date) is refused."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidQuantity("a received lot needs a positive integer quantity")
    if not lot_number.strip():
        raise InvalidInput("lot_number is required")
    pharmacy = repo.get_pharmacy(tx, pharmacy_id)
    try:
        today = tx.now.astimezone(ZoneInfo(pharmacy.timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        today = tx.now.astimezone(UTC).date()
    if expiry_date < today:
        raise InvalidInput(
            "expiry_date is past: an expired lot cannot be received",
            field="expiry_date",
        )
    repo.get_products(tx, [sku])
    lot_id = repo.insert_lot(
        tx,
        pharmacy_id=pharmacy_id,
        sku=sku,
        lot_number=lot_number,
        expiry_date=expiry_date,
        quantity=quantity,
        scan_code=new_scan_code(),
    )
    tx.audit(
        actor=actor,
        action="stock.received",
        subject_type="lot",
        subject_id=str(lot_id),
        details={
            "pharmacy_id": pharmacy_id,
            "sku": sku,
            "quantity": quantity,
            "expiry_date": expiry_date.isoformat(),
        },
    )
    return next(
        lot
        for lot in repo.list_lots(tx, pharmacy_id=pharmacy_id, sku=sku)
        if lot.id == lot_id
    )


def set_temperature_profile(tx: Tx, profile: TemperatureProfile, *, actor: str) -> None:
    """Create or change a temperature profile (data, not configuration)."""
    if profile.min_c >= profile.max_c:
        raise InvalidInput("min_c must be below max_c")
    repo.upsert_temperature_profile(tx, profile)
    tx.audit(
        actor=actor,
        action="temperature_profile.set",
        subject_type="profile",
        subject_id=profile.code,
        details={"min_c": profile.min_c, "max_c": profile.max_c},
    )
