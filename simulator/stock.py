"""Seeded stock per pharmacy: which SKUs each carries, in lots with expiries.

Every product is carried somewhere, so any order the demand model writes can be
sourced; controlled substances are carried by fewer pharmacies.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from simulator.scenario import Product, StockParams

__all__ = ["StockLot", "draw_stock"]


@dataclass(frozen=True, slots=True)
class StockLot:
    """Units of one SKU from one manufacturing lot at one pharmacy."""

    pharmacy_ref: str
    sku: str
    lot_code: str
    units: int
    expires_on: date


def draw_stock(
    pharmacy_refs: list[str],
    products: tuple[Product, ...],
    params: StockParams,
    *,
    day: date,
    rng: random.Random,
) -> list[StockLot]:
    """Lots per pharmacy and product, drawn from ``rng`` (same seed, same stock)."""
    lots: list[StockLot] = []
    for product in products:
        share = (
            params.controlled_carry_share if product.controlled else params.carry_share
        )
        carriers = [ref for ref in pharmacy_refs if rng.random() < share]
        if not carriers and pharmacy_refs:
            carriers = [rng.choice(pharmacy_refs)]
        for ref in carriers:
            lots.extend(_lots(ref, product, params, day, rng))
    return lots


def _lots(
    pharmacy_ref: str,
    product: Product,
    params: StockParams,
    day: date,
    rng: random.Random,
) -> list[StockLot]:
    count = rng.randint(*params.lots_per_product)
    expiries = sorted(rng.randint(*params.expiry_days) for _ in range(count))
    return [
        StockLot(
            pharmacy_ref=pharmacy_ref,
            sku=product.sku,
            lot_code=f"L{rng.randrange(16**6):06X}",
            units=rng.randint(*params.units_per_lot),
            expires_on=day + timedelta(days=days),
        )
        for days in expiries
    ]
