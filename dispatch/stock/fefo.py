"""Sourcing rules (pure): usable lots, first-expiry-first-out, candidate pharmacies.

A lot is usable for an order if it will not expire before the delivery date plus
the product's minimum remaining shelf life. Lots are taken in expiry order (then
lot id, so the choice is deterministic). A pharmacy is a candidate only if it holds
*every* line in usable lots, so an order is always collected at one pharmacy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta

from dispatch.domain import GeoPoint, Pharmacy, PharmacyId, Product, Sku, StockLot
from dispatch.geo import haversine_m
from dispatch.orders.order import OrderLine

__all__ = [
    "allocate_fefo",
    "candidate_pharmacies",
    "earliest_usable_expiry",
    "nearest_pharmacy",
    "usable_lots",
]


def earliest_usable_expiry(product: Product, delivery_date: date) -> date:
    """First expiry date a lot may have to be delivered on ``delivery_date``."""
    return delivery_date + timedelta(days=product.min_shelf_life_days)


def usable_lots(
    lots: Iterable[StockLot], product: Product, delivery_date: date
) -> list[StockLot]:
    """Lots of ``product`` with free units and enough shelf life, FEFO-ordered."""
    cutoff = earliest_usable_expiry(product, delivery_date)
    usable = [
        lot
        for lot in lots
        if lot.sku == product.sku and lot.available > 0 and lot.expiry_date >= cutoff
    ]
    return sorted(usable, key=lambda lot: (lot.expiry_date, lot.id))


def allocate_fefo(lots: Sequence[StockLot], quantity: int) -> list[tuple[int, int]]:
    """``(lot_id, units)`` taking ``quantity`` from FEFO-ordered lots ([]: short)."""
    picks: list[tuple[int, int]] = []
    remaining = quantity
    for lot in lots:
        if remaining == 0:
            break
        take = min(lot.available, remaining)
        if take > 0:
            picks.append((lot.id, take))
            remaining -= take
    return picks if remaining == 0 else []


def candidate_pharmacies(
    lines: Sequence[OrderLine],
    products: Mapping[Sku, Product],
    lots: Iterable[StockLot],
    delivery_date: date,
) -> list[PharmacyId]:
    """Pharmacies able to fill every line from usable lots (sorted by id)."""
    by_pharmacy: dict[PharmacyId, list[StockLot]] = {}
    for lot in lots:
        by_pharmacy.setdefault(lot.pharmacy_id, []).append(lot)
    result = []
    for pharmacy_id, held in by_pharmacy.items():
        if all(
            allocate_fefo(
                usable_lots(held, products[line.sku], delivery_date), line.quantity
            )
            for line in lines
        ):
            result.append(pharmacy_id)
    return sorted(result)


def nearest_pharmacy(
    candidates: Iterable[PharmacyId],
    pharmacies: Mapping[PharmacyId, Pharmacy],
    point: GeoPoint,
) -> PharmacyId | None:
    """The candidate closest (great-circle) to ``point``; ties broken by id."""
    ranked = sorted(
        candidates,
        key=lambda pid: (haversine_m(pharmacies[pid].location, point), pid),
    )
    return ranked[0] if ranked else None
