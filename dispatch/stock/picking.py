"""Pick lists: which lots the pharmacist hands over for an order, and the scan check.

The rider confirms a pickup by scanning the lots in the bag; the scan must be
exactly the set of lots held for the order (:func:`check_scan`). Pick lists are
staff data (SKUs, lot numbers, quantities) and never reach a rider's view.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from psycopg.rows import kwargs_row

from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.errors import LotMismatch, PharmacyNotFound
from dispatch.orders.order import OrderStatus

__all__ = ["PickLine", "check_scan", "order_pick_list", "pharmacy_pick_list"]

_SELECT = """
SELECT r.order_id::text AS order_id, o.status AS order_status, l.pharmacy_id, l.sku,
    r.lot_id, l.lot_number, l.expiry_date, r.quantity
FROM dispatch.reservation r
JOIN dispatch.stock_lot l ON l.id = r.lot_id
JOIN dispatch.customer_order o ON o.id = r.order_id
WHERE r.status = 'held' AND {where}
ORDER BY o.created_at, r.order_id, l.sku, r.lot_id
"""
# orders whose goods are still on the pharmacy's shelf, waiting for a rider
_AWAITING_PICKUP = (OrderStatus.SOURCED.value, OrderStatus.ASSIGNED.value)


@dataclass(frozen=True, slots=True)
class PickLine:
    """Units of one lot to hand over for one order."""

    order_id: str
    order_status: OrderStatus
    pharmacy_id: str
    sku: str
    lot_id: int
    lot_number: str
    expiry_date: date
    quantity: int


def _pick_line(
    *,
    order_id: str,
    order_status: str,
    pharmacy_id: str,
    sku: str,
    lot_id: int,
    lot_number: str,
    expiry_date: date,
    quantity: int,
) -> PickLine:
    """A :class:`PickLine` from a row of ``_SELECT`` (``kwargs_row``)."""
    return PickLine(
        order_id=str(order_id),
        order_status=OrderStatus(order_status),
        pharmacy_id=str(pharmacy_id),
        sku=str(sku),
        lot_id=int(lot_id),
        lot_number=str(lot_number),
        expiry_date=expiry_date,
        quantity=int(quantity),
    )


def _lines(tx: Tx, where: str, params: tuple[object, ...]) -> list[PickLine]:
    return tx.fetch_all(kwargs_row(_pick_line), _SELECT.format(where=where), params)


def order_pick_list(tx: Tx, order_id: str) -> list[PickLine]:
    """The lots held for ``order_id`` (empty once picked up, or if it holds none)."""
    from dispatch.adapters.postgres.orders import get_order

    get_order(tx, order_id)  # unknown order -> OrderNotFound
    return _lines(tx, "r.order_id = %s", (order_id,))


def pharmacy_pick_list(tx: Tx, pharmacy_id: str) -> list[PickLine]:
    """Lots to prepare at ``pharmacy_id``: every sourced or assigned order's holds."""
    row = tx.conn.execute(
        "SELECT 1 FROM dispatch.pharmacy WHERE id = %s", (pharmacy_id,)
    ).fetchone()
    if row is None:
        raise PharmacyNotFound(pharmacy_id)
    return _lines(
        tx,
        "l.pharmacy_id = %s AND o.status = ANY(%s::text[])",
        (pharmacy_id, list(_AWAITING_PICKUP)),
    )


def check_scan(
    order_id: str, held_lot_ids: Iterable[int], scanned: Iterable[int]
) -> None:
    """Raise :class:`LotMismatch` unless ``scanned`` is exactly the held lots."""
    held, seen = set(held_lot_ids), set(scanned)
    if held != seen:
        raise LotMismatch(
            order_id, missing=len(held - seen), unexpected=len(seen - held)
        )
