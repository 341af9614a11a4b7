"""Moving an order through its lifecycle: check, update, record, audit, emit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres.orders import UNSET, Unset
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
    pharmacy_id: str | Unset | None = UNSET,
    rider_id: str | Unset | None = UNSET,
    candidate_pharmacy_ids: Sequence[str] | Unset = UNSET,
    picked_up_at: datetime | Unset | None = UNSET,
) -> None:
    """Move ``order`` to ``target`` and record who, when and where.

    Raises ``IllegalTransition`` if the state machine forbids it.

    ``pharmacy_id`` ... ``picked_up_at`` are further order columns to set in the
    same update (see :func:`~dispatch.adapters.postgres_orders.update_order`).
    """
    check_transition(order.id, order.status, target, held_from=order.held_from)
    held_from: OrderStatus | Unset | None = UNSET
    if target is OrderStatus.ON_HOLD:
        held_from = order.status
    elif order.status is OrderStatus.ON_HOLD:
        held_from = None
    orders_repo.update_order(
        tx,
        order.id,
        status=target,
        held_from=held_from,
        pharmacy_id=pharmacy_id,
        rider_id=rider_id,
        candidate_pharmacy_ids=candidate_pharmacy_ids,
        picked_up_at=picked_up_at,
    )
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
