"""Reading the catalogue and stock: pharmacies, products and lots."""

from __future__ import annotations

from collections.abc import Iterable

from dispatch.adapters.postgres import catalogue as catalogue_repo
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.domain import Pharmacy, PharmacyId, Product, Sku, StockLot, StorageClass

__all__ = [
    "get_pharmacy",
    "get_products",
    "list_lots",
    "list_pharmacies",
    "list_products",
]


def list_pharmacies(
    tx: Tx, ids: Iterable[str] | None = None
) -> dict[PharmacyId, Pharmacy]:
    """Pharmacies by id (all, or those of ``ids`` that exist)."""
    return catalogue_repo.list_pharmacies(tx, ids)


def get_pharmacy(tx: Tx, pharmacy_id: str) -> Pharmacy:
    """One pharmacy (``PharmacyNotFound`` for an unknown id)."""
    return catalogue_repo.get_pharmacy(tx, pharmacy_id)


def get_products(tx: Tx, skus: Iterable[str]) -> dict[Sku, Product]:
    """Products by SKU (``ProductNotFound`` if any is unknown)."""
    return catalogue_repo.get_products(tx, skus)


def list_products(
    tx: Tx,
    *,
    storage_class: StorageClass | None = None,
    limit: int = 500,
    offset: int = 0,
) -> tuple[list[Product], int]:
    """A page of the catalogue by SKU (optionally one storage class) and its size."""
    return catalogue_repo.list_products(
        tx, storage_class=storage_class, limit=limit, offset=offset
    )


def list_lots(
    tx: Tx, *, pharmacy_id: str | None = None, sku: str | None = None
) -> list[StockLot]:
    """Stock lots, optionally of one pharmacy and/or SKU."""
    return catalogue_repo.list_lots(tx, pharmacy_id=pharmacy_id, sku=sku)
