"""Reading orders: one, a page, a rider's, and an order's history.

None of these return patient contact data (use :mod:`dispatch.orders.patient_data`).
"""

from __future__ import annotations

from collections.abc import Iterable

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres.orders import OrderFilter
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.errors import InvalidInput
from dispatch.orders.order import Order, OrderStatus
from dispatch.orders.state_machine import Transition

__all__ = [
    "OrderFilter",
    "get_order",
    "list_orders",
    "list_rider_orders",
    "order_history",
    "search_orders",
]


def get_order(tx: Tx, order_id: str) -> Order:
    """One order (``OrderNotFound`` for unknown or malformed ids)."""
    return orders_repo.get_order(tx, order_id)


def list_orders(
    tx: Tx,
    *,
    statuses: Iterable[OrderStatus] | None = None,
    ids: Iterable[str] | None = None,
) -> list[Order]:
    """Orders, optionally only those in ``statuses`` and/or of ``ids``, oldest first."""
    return orders_repo.list_orders(tx, statuses=statuses, ids=ids)


def search_orders(
    tx: Tx, criteria: OrderFilter, *, limit: int = 100, offset: int = 0
) -> tuple[list[Order], int]:
    """A page of orders matching ``criteria`` (oldest first) and the match count."""
    if limit < 1 or offset < 0:
        raise InvalidInput("limit must be >= 1 and offset >= 0")
    return orders_repo.search_orders(tx, criteria, limit=limit, offset=offset)


def order_history(tx: Tx, order_id: str) -> list[Transition]:
    """Every recorded move of an order (who, when, where), oldest first."""
    orders_repo.get_order(tx, order_id)
    return orders_repo.list_transitions(tx, order_id)


def list_rider_orders(
    tx: Tx, rider_id: str, statuses: Iterable[OrderStatus]
) -> list[Order]:
    """A rider's orders in ``statuses``."""
    return orders_repo.list_rider_orders(tx, rider_id, statuses)
