"""The greedy baseline dispatcher, as many delivery platforms run it.

Each order, oldest first, goes to the nearest *idle* rider (on shift, available,
carrying nothing) who can take its goods (cold-box slot, controlled or frozen
skill); the rider then has that one order until it is delivered. Stock comes from
the nearest stocked pharmacy (intake's ``nearest`` sourcing). Nothing is ever
re-planned: greedy assignments are marked ``dispatched_by = 'greedy'`` and the
optimising planner leaves them and their riders alone
(:func:`dispatch.planning.apply.take_snapshot`).

:func:`choose_assignments` is the pure choice; :func:`dispatch_greedy` is the
command that applies it in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.domain import Rider
from dispatch.errors import IllegalTransition
from dispatch.geo import haversine_m
from dispatch.orders.fulfilment import assign_order
from dispatch.orders.order import Order, OrderStatus
from dispatch.planning.problem import (
    PlanningParams,
    PlanningSnapshot,
    cargo_needs,
    cold_slots,
    usable_riders,
)
from dispatch.worker_health import describe_error

log = logging.getLogger(__name__)

__all__ = ["GREEDY", "GreedyAssignment", "choose_assignments", "dispatch_greedy"]

GREEDY = "greedy"
"""Actor of greedy assignments (and the ``dispatched_by`` mark)."""

# orders that keep a rider busy (the rider is not idle while carrying one)
_BUSY = (OrderStatus.ASSIGNED, OrderStatus.PICKED_UP, OrderStatus.ON_HOLD)


@dataclass(frozen=True, slots=True)
class GreedyAssignment:
    """One order for one idle rider, and how far the rider is from the pickup."""

    order_id: str
    rider_id: str
    distance_m: float


def _idle(snapshot: PlanningSnapshot) -> list[Rider]:
    busy = {o.rider_id for o in snapshot.orders if o.status in _BUSY and o.rider_id}
    return [r for r in usable_riders(snapshot) if r.id not in busy]


def _can_carry(
    rider: Rider, cold: bool, skills: frozenset[str], snapshot: PlanningSnapshot
) -> bool:
    return (not cold or cold_slots(rider, snapshot) > 0) and skills <= rider.skills


def choose_assignments(
    snapshot: PlanningSnapshot, params: PlanningParams | None = None
) -> list[GreedyAssignment]:
    """Orders waiting for a rider, oldest first, each to the nearest idle rider
    able to carry it (great-circle distance to the pickup pharmacy; ties by id).
    An order whose data cannot be read (e.g. an unknown product) is skipped."""
    params = params or PlanningParams()
    idle = _idle(snapshot)
    waiting = sorted(
        (
            o
            for o in snapshot.orders
            if o.status is OrderStatus.SOURCED and o.rider_id is None
        ),
        key=lambda o: (o.created_at, o.id),
    )
    chosen: list[GreedyAssignment] = []
    for order in waiting:
        if not idle:
            break
        if order.pharmacy_id is None:
            continue
        pharmacy = snapshot.pharmacies.get(order.pharmacy_id)
        if pharmacy is None:
            continue
        try:
            cold, skills = cargo_needs(order, snapshot.products, params)
        except Exception as exc:  # this order's data broke: the others go on
            log.warning(
                "greedy dispatch set order %s aside: %s",
                order.id,
                describe_error(exc),
                extra={"order_id": order.id},
            )
            continue
        able = [r for r in idle if _can_carry(r, cold, skills, snapshot)]
        if not able:
            continue
        best = min(
            able,
            key=lambda r: (haversine_m(r.position, pharmacy.location), r.id),  # type: ignore[arg-type]
        )
        distance = haversine_m(best.position, pharmacy.location)  # type: ignore[arg-type]
        chosen.append(GreedyAssignment(order.id, best.id, distance))
        idle.remove(best)
    return chosen


def dispatch_greedy(
    tx: Tx, snapshot: PlanningSnapshot, params: PlanningParams | None = None
) -> list[GreedyAssignment]:
    """Assign what :func:`choose_assignments` picks on ``snapshot`` (taken in
    ``tx``); an order that moved on meanwhile is skipped. Returns what was done."""
    done: list[GreedyAssignment] = []
    for choice in choose_assignments(snapshot, params):
        current: Order = orders_repo.get_order(tx, choice.order_id, for_update=True)
        if current.status is not OrderStatus.SOURCED or current.rider_id is not None:
            continue
        try:
            assign_order(tx, choice.order_id, choice.rider_id, actor=GREEDY)
        except IllegalTransition:
            continue
        orders_repo.update_order(tx, choice.order_id, dispatched_by=GREEDY)
        done.append(choice)
    return done
