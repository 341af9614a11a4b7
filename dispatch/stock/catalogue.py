"""Catalogue commands: pharmacies, products and received stock lots (audited)."""

from __future__ import annotations

from datetime import date

from dispatch.adapters.postgres import catalogue as repo
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.domain import Pharmacy, Product, StockLot, TemperatureProfile
from dispatch.errors import InvalidInput, InvalidQuantity

__all__ = [
    "get_products",
    "list_lots",
    "list_pharmacies",
    "list_temperature_profiles",
    "receive_lot",
    "register_pharmacy",
    "register_product",
    "set_temperature_profile",
]

list_lots = repo.list_lots
list_pharmacies = repo.list_pharmacies
list_temperature_profiles = repo.list_temperature_profiles
get_products = repo.get_products


def register_pharmacy(tx: Tx, pharmacy: Pharmacy, *, actor: str) -> None:
    """Add a pharmacy (the service area is not enforced for pharmacies)."""
    repo.insert_pharmacy(tx, pharmacy)
    tx.audit(
        actor=actor,
        action="pharmacy.registered",
        subject_type="pharmacy",
        subject_id=pharmacy.id,
        details={"licence": pharmacy.licence_number},
    )


def register_product(tx: Tx, product: Product, *, actor: str) -> None:
    """Add a product to the catalogue."""
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
    """Put a received lot on the shelf; returns it."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidQuantity("a received lot needs a positive integer quantity")
    if not lot_number.strip():
        raise InvalidInput("lot_number is required")
    repo.get_pharmacy(tx, pharmacy_id)
    repo.get_products(tx, [sku])
    lot_id = repo.insert_lot(
        tx,
        pharmacy_id=pharmacy_id,
        sku=sku,
        lot_number=lot_number,
        expiry_date=expiry_date,
        quantity=quantity,
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
