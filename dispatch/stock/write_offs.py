"""Writing off the stock an order holds or carries (goods that will not be sold)."""

from __future__ import annotations

from dispatch.adapters.postgres import stock
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.events import StockWrittenOff
from dispatch.orders.order import Order

__all__ = ["write_off_order_stock"]


def write_off_order_stock(tx: Tx, order: Order, *, reason: str) -> None:
    """Write off everything the order holds or carries (held units leave the shelf)."""
    for from_status in ("held", "picked"):
        for res in stock.close_reservations(tx, order.id, from_status, "written_off"):
            tx.emit(StockWrittenOff(order.id, res.lot_id, res.quantity, reason))
            tx.audit(
                actor="system",
                action="stock.written_off",
                subject_type="lot",
                subject_id=str(res.lot_id),
                details={
                    "order_id": order.id,
                    "quantity": res.quantity,
                    "reason": reason,
                },
            )
