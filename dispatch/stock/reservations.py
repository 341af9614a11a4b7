"""Sourcing: which pharmacies can fill an order, and holding its stock (FEFO).

Reservation policy: **reserve at intake, move on plan.** An accepted order always
holds a real reservation at exactly one pharmacy (the nearest that can fill it),
taken atomically while the order is created; so an order is never accepted without
stock and no unit is ever promised twice. The other pharmacies that could also
fill it (its *candidates*) go to the router, which picks one jointly with the
routes. When an applied plan collects at a different candidate, the reservation is
moved in one transaction: reserve at the new pharmacy first, then release the old;
if the new pharmacy sold out meanwhile, the order keeps its old reservation and is
pinned there for the next plan. Reserving provisionally at *every* candidate was
rejected: it would lock several times the stock each order needs and make orders
fail for stock that is physically on the shelf.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date

from dispatch.adapters.postgres import stock
from dispatch.adapters.postgres.catalogue import list_pharmacies
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.domain import GeoPoint, PharmacyId, Product, Sku
from dispatch.geo import haversine_m
from dispatch.orders.order import OrderLine
from dispatch.stock.fefo import (
    allocate_fefo,
    candidate_pharmacies,
    earliest_usable_expiry,
)
from dispatch.stock.fefo import usable_lots as fefo_usable

log = logging.getLogger(__name__)

__all__ = [
    "find_candidates",
    "move_reservation",
    "rank_by_distance",
    "reserve_at",
    "reserve_at_first",
]


def _min_expiry(
    lines: Sequence[OrderLine], products: Mapping[Sku, Product], delivery_date: date
) -> dict[str, date]:
    return {
        line.sku: earliest_usable_expiry(products[line.sku], delivery_date)
        for line in lines
    }


def find_candidates(
    tx: Tx,
    lines: Sequence[OrderLine],
    products: Mapping[Sku, Product],
    delivery_date: date,
) -> list[PharmacyId]:
    """Pharmacies whose free, long-enough-lived stock covers every line (no locks)."""
    lots = stock.usable_lots(tx, _min_expiry(lines, products, delivery_date))
    return candidate_pharmacies(lines, products, lots, delivery_date)


def rank_by_distance(
    tx: Tx, candidates: Sequence[str], point: GeoPoint
) -> list[PharmacyId]:
    """Active candidates nearest-first (great circle; ties by id): a deactivated
    pharmacy sources no new order, and one whose row the domain type refuses is
    not offered (logged); the others still are."""
    unreadable: dict[str, str] = {}
    pharmacies = list_pharmacies(tx, candidates, unreadable=unreadable)
    for pharmacy_id, why in unreadable.items():
        log.warning(
            "not sourcing at pharmacy %s: its row cannot be read (%s)",
            pharmacy_id,
            why,
            extra={"pharmacy_id": pharmacy_id},
        )
    active = {pid: p for pid, p in pharmacies.items() if p.active}
    return sorted(
        active, key=lambda pid: (haversine_m(active[pid].location, point), pid)
    )


def reserve_at(
    tx: Tx,
    order_id: str,
    pharmacy_id: str,
    lines: Sequence[OrderLine],
    products: Mapping[Sku, Product],
    delivery_date: date,
) -> bool:
    """Reserve every line at one pharmacy, FEFO, atomically; False if it is short.

    The pharmacy's usable lots are row-locked first, so the FEFO choice is made on
    quantities no one else can change until this transaction ends. The locks are
    taken in a savepoint that is rolled back when the pharmacy is short, which
    releases them: a command only ever keeps the locks of the one pharmacy it
    reserved at, so two orders spilling over in opposite directions cannot
    deadlock.
    """
    try:
        with tx.savepoint():
            locked = stock.usable_lots(
                tx,
                _min_expiry(lines, products, delivery_date),
                pharmacy_ids=[pharmacy_id],
                lock=True,
            )
            picks: list[tuple[int, int]] = []
            for line in lines:
                chosen = allocate_fefo(
                    fefo_usable(locked, products[line.sku], delivery_date),
                    line.quantity,
                )
                if not chosen:
                    raise _Short
                picks.extend(chosen)
            stock.reserve(tx, order_id, picks)
    except _Short:
        return False
    return True


class _Short(Exception):  # noqa: N818 - internal control flow, never escapes
    """The pharmacy cannot fill the order (rolls the savepoint back)."""


def reserve_at_first(
    tx: Tx,
    order_id: str,
    ranked: Sequence[str],
    lines: Sequence[OrderLine],
    products: Mapping[Sku, Product],
    delivery_date: date,
) -> PharmacyId | None:
    """Reserve at the first pharmacy of ``ranked`` that can still fill the order."""
    for pharmacy_id in ranked:
        if reserve_at(tx, order_id, pharmacy_id, lines, products, delivery_date):
            return PharmacyId(pharmacy_id)
    return None


def move_reservation(
    tx: Tx,
    order_id: str,
    new_pharmacy_id: str,
    lines: Sequence[OrderLine],
    products: Mapping[Sku, Product],
    delivery_date: date,
) -> bool:
    """Move an order's held stock to ``new_pharmacy_id``; False (unchanged) if short."""
    held = stock.reservations(tx, order_id, ["held"])
    ok = False
    with tx.savepoint():  # a partial reserve never survives
        ok = reserve_at(tx, order_id, new_pharmacy_id, lines, products, delivery_date)
        if ok:
            stock.release(tx, held)
    return ok
