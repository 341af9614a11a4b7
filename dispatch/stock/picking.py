"""Pick lists: which lots the pharmacist hands over for an order, and the scan check.

The rider confirms a pickup by scanning the lots in the bag; the scan must be
exactly the set of lots held for the order (:func:`check_scan`). Pick lists are
staff data (SKUs, lot numbers, quantities) and never reach a rider's view.
"""

from __future__ import annotations

from collections.abc import Iterable

from dispatch.adapters.postgres import picking as picking_repo
from dispatch.adapters.postgres.picking import PickLine
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.errors import LotMismatch, PharmacyNotFound
from dispatch.orders.order import OrderStatus

__all__ = ["PickLine", "check_scan", "order_pick_list", "pharmacy_pick_list"]

# orders whose goods are still on the pharmacy's shelf, waiting for a rider
_AWAITING_PICKUP = (OrderStatus.SOURCED.value, OrderStatus.ASSIGNED.value)


def order_pick_list(tx: Tx, order_id: str) -> list[PickLine]:
    """The lots held for ``order_id`` (empty once picked up, or if it holds none)."""
    from dispatch.adapters.postgres.orders import get_order

    get_order(tx, order_id)  # unknown order -> OrderNotFound
    return picking_repo.list_lines(tx, "r.order_id = %s", (order_id,))


def pharmacy_pick_list(tx: Tx, pharmacy_id: str) -> list[PickLine]:
    """Lots to prepare at ``pharmacy_id``: every sourced or assigned order's holds."""
    if not picking_repo.pharmacy_exists(tx, pharmacy_id):
        raise PharmacyNotFound(pharmacy_id)
    return picking_repo.list_lines(
        tx,
        "l.pharmacy_id = %s AND o.status = ANY(%s::text[])",
        (pharmacy_id, list(_AWAITING_PICKUP)),
    )


def check_scan(
    order_id: str, held: Iterable[int | str], scanned: Iterable[int | str]
) -> None:
    """Raise :class:`LotMismatch` unless ``scanned`` is exactly the held lots (as
    scan codes, or internal lot ids from older clients). The error says nothing
    about how many were missing or unexpected."""
    if set(held) != set(scanned):
        raise LotMismatch(order_id)
