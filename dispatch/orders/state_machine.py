"""The order state machine (pure): which moves are legal, and what a move records.

::

    created -> sourced -> assigned -> picked_up -> delivered | failed
       |          |  ^        |            |
       |          |  '--------'  (re-plan unassigns)
       '----------+-----------+---> cancelled (before pickup only)
    sourced | assigned | picked_up -> on_hold -> back to where it was (release)
                                             \\-> failed (pharmacist rejects goods)

A picked-up order can no longer be cancelled: the goods are outside the pharmacy,
so it ends as delivered or failed (and its stock is restocked or written off).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatch.domain import GeoPoint
from dispatch.errors import IllegalTransition
from dispatch.orders.order import OrderStatus

__all__ = ["TERMINAL", "TRANSITIONS", "Transition", "check_transition"]

S = OrderStatus

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.CREATED: frozenset({S.SOURCED, S.CANCELLED}),
    S.SOURCED: frozenset({S.ASSIGNED, S.CANCELLED, S.ON_HOLD}),
    S.ASSIGNED: frozenset({S.SOURCED, S.PICKED_UP, S.CANCELLED, S.ON_HOLD}),
    S.PICKED_UP: frozenset({S.DELIVERED, S.FAILED, S.ON_HOLD}),
    S.ON_HOLD: frozenset({S.SOURCED, S.ASSIGNED, S.PICKED_UP, S.FAILED, S.CANCELLED}),
    S.DELIVERED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}
"""Legal moves from each state."""

TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


@dataclass(frozen=True, slots=True)
class Transition:
    """One recorded move: who made it, when, and where they were."""

    order_id: str
    from_status: OrderStatus | None
    to_status: OrderStatus
    actor: str
    at: datetime
    position: GeoPoint | None = None
    reason: str = ""


def check_transition(
    order_id: str,
    current: OrderStatus,
    target: OrderStatus,
    *,
    held_from: OrderStatus | None = None,
) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> target`` is legal.

    Leaving ``on_hold`` other than by rejecting or cancelling must return to the
    state the order was held from; cancelling a held order is only possible if it
    was held before pickup.
    """
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(order_id, current, target)
    if current is S.ON_HOLD:
        if target in (S.SOURCED, S.ASSIGNED, S.PICKED_UP) and target != held_from:
            raise IllegalTransition(order_id, current, target)
        if target is S.CANCELLED and held_from is S.PICKED_UP:
            raise IllegalTransition(order_id, current, target)
