"""Stock reservations in PostgreSQL: lock lots, reserve FEFO, release, pick, write off.

Lots are locked with ``SELECT ... FOR UPDATE`` in *id* order (not expiry order):
concurrent orders for overlapping SKUs then always lock in the same order and
cannot deadlock; the FEFO choice is made in Python on the locked, fresh rows. The
reserving ``UPDATE`` is also conditional (``available >= units``) and the table
has a ``quantity_reserved <= quantity_on_hand`` check, so even a bug above could
not over-allocate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from psycopg.rows import class_row, dict_row

from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.domain import StockLot
from dispatch.errors import InsufficientStock

# the fields of StockLot: read with class_row(StockLot)
SELECT_USABLE = """
SELECT l.id, l.pharmacy_id, l.sku, l.lot_number, l.expiry_date, l.quantity_on_hand,
    l.quantity_reserved
FROM dispatch.stock_lot l
JOIN unnest(%s::text[], %s::date[]) AS want(sku, min_expiry) ON want.sku = l.sku
WHERE l.expiry_date >= want.min_expiry
  AND l.quantity_on_hand > l.quantity_reserved
  AND (%s::text[] IS NULL OR l.pharmacy_id = ANY(%s::text[]))
ORDER BY l.id
"""
RESERVE_LOT = """
UPDATE dispatch.stock_lot SET quantity_reserved = quantity_reserved + %s
WHERE id = %s AND quantity_on_hand - quantity_reserved >= %s
"""
INSERT_RESERVATION = """
INSERT INTO dispatch.reservation (order_id, lot_id, quantity, status, created_at)
VALUES (%s, %s, %s, 'held', %s)
"""
SELECT_RESERVATIONS = """
SELECT r.id, r.lot_id, r.quantity, r.status, l.pharmacy_id, l.sku
FROM dispatch.reservation r JOIN dispatch.stock_lot l ON l.id = r.lot_id
WHERE r.order_id = %s AND r.status = ANY(%s::text[]) ORDER BY r.lot_id
"""
# lot effects of closing a reservation, by (from, to) status
_LOT_EFFECT: dict[tuple[str, str], str] = {
    ("held", "released"): "quantity_reserved = quantity_reserved - %(q)s",
    ("held", "picked"): (
        "quantity_reserved = quantity_reserved - %(q)s,"
        " quantity_on_hand = quantity_on_hand - %(q)s"
    ),
    ("held", "written_off"): (
        "quantity_reserved = quantity_reserved - %(q)s,"
        " quantity_on_hand = quantity_on_hand - %(q)s"
    ),
    ("picked", "restocked"): "quantity_on_hand = quantity_on_hand + %(q)s",
}


@dataclass(frozen=True, slots=True)
class Reservation:
    """Units of one lot promised to (or carried for) an order."""

    id: int
    lot_id: int
    quantity: int
    status: str
    pharmacy_id: str
    sku: str


def usable_lots(
    tx: Tx,
    min_expiry_by_sku: dict[str, date],
    *,
    pharmacy_ids: Iterable[str] | None = None,
    lock: bool = False,
) -> list[StockLot]:
    """Lots with free units that live long enough, in id order (locked if asked)."""
    skus = list(min_expiry_by_sku)
    expiries = [min_expiry_by_sku[s] for s in skus]
    pharmacies = list(pharmacy_ids) if pharmacy_ids is not None else None
    sql = SELECT_USABLE + (" FOR UPDATE OF l" if lock else "")
    return tx.fetch_all(
        class_row(StockLot), sql, (skus, expiries, pharmacies, pharmacies)
    )


def reserve(tx: Tx, order_id: str, picks: Iterable[tuple[int, int]]) -> None:
    """Reserve ``(lot_id, units)`` for ``order_id``; all or nothing."""
    for lot_id, units in picks:
        cur = tx.conn.execute(RESERVE_LOT, (units, lot_id, units))
        if cur.rowcount != 1:
            raise InsufficientStock(f"lot {lot_id} no longer has {units} free unit(s)")
        tx.conn.execute(INSERT_RESERVATION, (order_id, lot_id, units, tx.now))


def reservations(tx: Tx, order_id: str, statuses: Iterable[str]) -> list[Reservation]:
    """Reservations of an order in the given statuses."""
    return tx.fetch_all(
        class_row(Reservation), SELECT_RESERVATIONS, (order_id, list(statuses))
    )


def close_reservations(
    tx: Tx, order_id: str, from_status: str, to_status: str
) -> list[Reservation]:
    """Move an order's reservations ``from_status -> to_status`` with lot effects."""
    effect = _LOT_EFFECT.get((from_status, to_status))
    moved = reservations(tx, order_id, [from_status])
    for res in moved:
        if effect is not None:
            tx.conn.execute(
                f"UPDATE dispatch.stock_lot SET {effect} WHERE id = %(lot)s",
                {"q": res.quantity, "lot": res.lot_id},
            )
        closed = to_status in ("released", "consumed", "restocked", "written_off")
        tx.conn.execute(
            "UPDATE dispatch.reservation SET status = %s, closed_at = %s WHERE id = %s",
            (to_status, tx.now if closed else None, res.id),
        )
    return moved


def lot_totals(tx: Tx, lot_id: int) -> tuple[int, int]:
    """``(quantity_on_hand, quantity_reserved)`` of a lot."""
    row = tx.fetch_one(
        dict_row,
        "SELECT quantity_on_hand, quantity_reserved FROM dispatch.stock_lot"
        " WHERE id = %s",
        (lot_id,),
    )
    if row is None:
        raise InsufficientStock(f"lot {lot_id} does not exist")
    return int(row["quantity_on_hand"]), int(row["quantity_reserved"])


def release(tx: Tx, held: Iterable[Reservation]) -> None:
    """Release specific held reservations (their units become free again)."""
    for res in held:
        tx.conn.execute(
            "UPDATE dispatch.stock_lot SET quantity_reserved = quantity_reserved - %s"
            " WHERE id = %s",
            (res.quantity, res.lot_id),
        )
        tx.conn.execute(
            "UPDATE dispatch.reservation SET status = 'released', closed_at = %s"
            " WHERE id = %s AND status = 'held'",
            (tx.now, res.id),
        )
