"""Pick-list reads: the lots held for an order or awaiting pickup at a pharmacy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from psycopg.rows import kwargs_row

from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.orders.order import OrderStatus

__all__ = ["PickLine", "list_lines", "pharmacy_exists"]

_SELECT = """
SELECT r.order_id::text AS order_id, o.status AS order_status, l.pharmacy_id, l.sku,
    r.lot_id, l.lot_number, l.scan_code, l.expiry_date, r.quantity
FROM dispatch.reservation r
JOIN dispatch.stock_lot l ON l.id = r.lot_id
JOIN dispatch.customer_order o ON o.id = r.order_id
WHERE r.status = 'held' AND {where}
ORDER BY o.created_at, r.order_id, l.sku, r.lot_id
"""


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
    scan_code: str = ""


def _pick_line(
    *,
    order_id: str,
    order_status: str,
    pharmacy_id: str,
    sku: str,
    lot_id: int,
    lot_number: str,
    scan_code: str,
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
        scan_code=str(scan_code),
    )


def list_lines(tx: Tx, where: str, params: tuple[object, ...]) -> list[PickLine]:
    """Held lines matching ``where`` (a fixed SQL condition of this package)."""
    return tx.fetch_all(kwargs_row(_pick_line), _SELECT.format(where=where), params)


def pharmacy_exists(tx: Tx, pharmacy_id: str) -> bool:
    """Whether ``pharmacy_id`` is a registered pharmacy."""
    row = tx.conn.execute(
        "SELECT 1 FROM dispatch.pharmacy WHERE id = %s", (pharmacy_id,)
    ).fetchone()
    return row is not None
