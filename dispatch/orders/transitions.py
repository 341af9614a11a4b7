"""Moving an order through its lifecycle: check, update, record, audit, emit."""

from __future__ import annotations

from typing import Any

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.domain import GeoPoint
from dispatch.events import OrderStatusChanged
from dispatch.orders.order import Order, OrderStatus
from dispatch.orders.state_machine import Transition, check_transition

__all__ = ["move", "record_creation"]


def move(
    tx: Tx,
    order: Order,
    target: OrderStatus,
    *,
    actor: str,
    position: GeoPoint | None = None,
    reason: str = "",
    **fields: Any,
) -> None:
    """Move ``order`` to ``target`` and record who, when and where.

    Raises ``IllegalTransition`` if the state machine forbids it.

    ``fields`` are further order columns to set in the same update.
    """
    check_transition(order.id, order.status, target, held_from=order.held_from)
    if target is OrderStatus.ON_HOLD:
        fields.setdefault("held_from", order.status)
    elif order.status is OrderStatus.ON_HOLD:
        fields.setdefault("held_from", None)
    orders_repo.update_order(tx, order.id, status=target, **fields)
    transition = Transition(
        order.id, order.status, target, actor, tx.now, position, reason
    )
    orders_repo.insert_transition(tx, transition)
    details: dict[str, Any] = {"from": order.status.value, "to": target.value}
    if reason:
        details["reason"] = reason
    if position is not None:
        details["lat"], details["lon"] = position.lat, position.lon
    tx.audit(
        actor=actor,
        action="order.transition",
        subject_type="order",
        subject_id=order.id,
        details=details,
    )
    tx.emit(
        OrderStatusChanged(order.id, order.status.value, target.value, actor, tx.now)
    )


def record_creation(tx: Tx, order: Order, *, actor: str) -> None:
    """Record the birth of an order (``None -> created``)."""
    orders_repo.insert_transition(
        tx, Transition(order.id, None, OrderStatus.CREATED, actor, tx.now)
    )
    tx.audit(
        actor=actor,
        action="order.created",
        subject_type="order",
        subject_id=order.id,
        details={
            "lines": [[ln.sku, ln.quantity] for ln in order.lines],
            "priority": order.priority.value,
            "proof_level": order.proof_level.value,
            "replacement_of": order.replacement_of,
        },
    )
