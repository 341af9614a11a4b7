"""Taking the planner's snapshot and applying a computed plan (optimistically).

A plan is applied only if nothing it relied on changed while it was computed,
except progress along the plan itself: no other plan was applied meanwhile, every
rider it uses still has the same shift/status version (position updates do not
count), and every order it covers either still has the version it was planned
with or changed only by moving along the plan:

- it ended (delivered, failed, cancelled): it is skipped (not assigned, not
  unassigned, not recorded unservable) and its stops are left out of the stored
  plan;
- it was picked up by the rider the plan routes it with (from the pharmacy the
  plan collects it at, if the plan has a pickup): kept as it is, its pickup stop
  is left out of the stored plan;
- it is now assigned to the rider the plan gives it and nothing else about it
  changed (compared with the order the plan was computed on): applied as planned.

Anything else (put on hold, given or picked up by another rider, another
pharmacy, gone, or any change to an order the plan leaves unassigned other than
ending) raises :class:`PlanVersionConflict`: nothing is written and the caller
re-plans on fresh state.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import date

from dispatch.adapters.postgres import catalogue
from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres import plans as plans_repo
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.domain import Rider
from dispatch.errors import PlanNotFound, PlanVersionConflict
from dispatch.events import OrderUnassignable, PlanUpdated, RiderStopReleased
from dispatch.orders.order import Order, OrderStatus
from dispatch.orders.transitions import move
from dispatch.planning.problem import PLANNABLE, Plan, PlanningSnapshot, RiderRoute
from dispatch.stock import reservations as sourcing

__all__ = ["apply_plan", "current_plan", "current_version", "take_snapshot"]

PLANNER = "planner"


def take_snapshot(tx: Tx, *, include_greedy: bool = False) -> PlanningSnapshot:
    """Everything the planner needs, read in one transaction.

    Orders the greedy dispatcher assigned, and the riders carrying them, are left
    out (never re-planned) unless ``include_greedy`` (the greedy dispatcher's own
    view, which needs to know who is busy). A pharmacy row the domain type
    refuses is left out and named in ``invalid_pharmacies``: one bad row must not
    stop every plan.
    """
    orders = orders_repo.list_orders(tx, statuses=PLANNABLE)
    riders = catalogue.list_riders(tx)
    if not include_greedy:
        greedy = [o for o in orders if o.dispatched_by == "greedy"]
        busy = {o.rider_id for o in greedy if o.status is not OrderStatus.SOURCED}
        orders = [o for o in orders if o.dispatched_by != "greedy"]
        riders = [r for r in riders if r.id not in busy]
    skus = {line.sku for o in orders for line in o.lines}
    unreadable: dict[str, str] = {}
    pharmacies = catalogue.list_pharmacies(tx, unreadable=unreadable)
    return PlanningSnapshot(
        now=tx.now,
        riders=tuple(riders),
        orders=tuple(orders),
        pharmacies=pharmacies,
        invalid_pharmacies=unreadable,
        products=catalogue.get_products(tx, skus) if skus else {},
        profiles=catalogue.list_temperature_profiles(tx),
        previous=plans_repo.latest_plan(tx),
        sourcing_policy=tx.ctx.sourcing_policy,
        cold_unfit_riders=catalogue.quarantined_box_riders(tx),
    )


def current_plan(tx: Tx) -> Plan:
    """The latest applied plan (``PlanNotFound`` before the first)."""
    plan = plans_repo.latest_plan(tx)
    if plan is None:
        raise PlanNotFound("latest")
    return plan


def current_version(tx: Tx) -> int | None:
    """The latest applied plan's version (None before the first); a cheap check
    of whether a cached plan is still current."""
    return plans_repo.latest_version(tx)


def apply_plan(tx: Tx, plan: Plan, *, based_on_version: int | None) -> Plan:
    """Apply ``plan`` as the next version if its basis is still current.

    Assigns, re-assigns and un-assigns orders, moves reservations to the pharmacy
    the plan collects from, records unservable orders, and returns the stored plan.
    """
    plans_repo.lock_plans(tx)
    latest = plans_repo.latest_plan(tx)
    latest_version = latest.version if latest else None
    if latest_version != based_on_version:
        raise PlanVersionConflict(
            f"plan {latest_version} was applied after this one was started"
        )
    orders: dict[str, Order] = {
        o.id: o
        for o in orders_repo.list_orders(
            tx, ids=list(plan.basis_orders), for_update=True
        )
    }
    finished = _check_basis(tx, plan, orders)
    for order_id in finished:
        del orders[order_id]
    assignments = {k: v for k, v in plan.assignments().items() if k not in finished}
    for order_id, (rider_id, pharmacy_id) in assignments.items():
        _assign(tx, orders[order_id], rider_id, pharmacy_id)
    unservable = {u.order_id: u for u in plan.unassigned}
    for order in orders.values():
        if order.id in assignments:
            if order.unassigned_reason is not None:
                orders_repo.update_order(tx, order.id, unassigned_reason=None)
            continue
        if order.status is OrderStatus.ASSIGNED:
            move(
                tx,
                order,
                OrderStatus.SOURCED,
                actor=PLANNER,
                reason="not in plan",
                rider_id=None,
            )
        reason = (
            unservable[order.id].reason if order.id in unservable else "not_planned"
        )
        if order.unassigned_reason != reason:
            orders_repo.update_order(tx, order.id, unassigned_reason=reason)
            detail = unservable[order.id].detail if order.id in unservable else ""
            tx.emit(OrderUnassignable(order.id, reason, detail))
    version = (latest_version or 0) + 1
    picked = {o.id for o in orders.values() if o.status is OrderStatus.PICKED_UP}
    stored = replace(
        plan,
        version=version,
        created_at=tx.now,
        routes=_remaining(plan.routes, finished, picked),
        unassigned=tuple(u for u in plan.unassigned if u.order_id not in finished),
        basis_order_states={},  # what is stored, not the orders it was solved on
    )
    plans_repo.insert_plan(tx, stored)
    released_stops = [r for r in plan.released_stops if r.order_id not in finished]
    for released in released_stops:
        tx.audit(
            actor=PLANNER,
            action="plan.stop_released",
            subject_type="order",
            subject_id=released.order_id,
            details={
                "rider_id": released.rider_id,
                "plan_version": version,
                "detail": released.detail,
            },
        )
        tx.emit(
            RiderStopReleased(released.rider_id, released.order_id, released.detail)
        )
    tx.audit(
        actor=PLANNER,
        action="plan.applied",
        subject_type="plan",
        subject_id=str(version),
        details={
            "routes": len(stored.routes),
            "assigned": len(assignments),
            "unassigned": len(stored.unassigned),
            "skipped_finished": len(finished),
            "released_stops": len(released_stops),
            "status": plan.status,
        },
    )
    tx.emit(
        PlanUpdated(
            version,
            len(stored.routes),
            len(assignments),
            len(stored.unassigned),
            plan.status,
        )
    )
    return stored


def _check_basis(tx: Tx, plan: Plan, orders: dict[str, Order]) -> set[str]:
    """Raise :class:`PlanVersionConflict` unless the plan's basis is current or
    changed only by progress along it; return the orders that ended meanwhile."""
    assignments = plan.assignments()
    finished: set[str] = set()
    for order_id, version in plan.basis_orders.items():
        current = orders.get(order_id)
        if current is not None and current.version == version:
            continue
        if current is not None and not current.is_open:
            finished.add(order_id)
            continue
        basis = plan.basis_order_states.get(order_id)
        target = assignments.get(order_id)
        if current is None or not _along(current, basis, target):
            raise PlanVersionConflict(f"order {order_id!r} changed while planning")
    riders: dict[str, Rider] = {r.id: r for r in catalogue.list_riders(tx)}
    for route in plan.routes:
        rider = riders.get(route.rider_id)
        if rider is None or rider.version != plan.basis_riders.get(route.rider_id):
            raise PlanVersionConflict(
                f"rider {route.rider_id!r} changed while planning"
            )
    return finished


def _along(
    current: Order, basis: Order | None, target: tuple[str, str | None] | None
) -> bool:
    """Whether an open order's change since planning is progress along the plan
    (``target``: the rider and pickup pharmacy the plan gives it, if any)."""
    if target is None:
        return False  # the plan leaves it unassigned: it must not have moved
    rider_id, pharmacy_id = target
    if current.rider_id != rider_id:
        return False
    if current.status is OrderStatus.PICKED_UP:
        return pharmacy_id is None or pharmacy_id == current.pharmacy_id
    if current.status is not OrderStatus.ASSIGNED or basis is None:
        return False
    if basis.status not in (OrderStatus.SOURCED, OrderStatus.ASSIGNED):
        return False
    # only the assignment may differ; any other change (pharmacy, hold) is not ours
    unchanged = replace(
        current, status=basis.status, rider_id=basis.rider_id, version=basis.version
    )
    return unchanged == basis


def _remaining(
    routes: tuple[RiderRoute, ...], finished: Collection[str], picked: Collection[str]
) -> tuple[RiderRoute, ...]:
    """The routes without the stops already done: every stop of a finished order
    and the pickup of an order on board."""
    result = []
    for route in routes:
        stops = tuple(
            s
            for s in route.stops
            if s.order_id not in finished
            and not (s.kind == "pickup" and s.order_id in picked)
        )
        if stops:
            result.append(replace(route, stops=stops))
    return tuple(result)


def _assign(tx: Tx, order: Order, rider_id: str, pharmacy_id: str | None) -> None:
    if order.status is OrderStatus.PICKED_UP:
        return
    if pharmacy_id and pharmacy_id != order.pharmacy_id:
        products = catalogue.get_products(tx, (ln.sku for ln in order.lines))
        delivery_date: date = order.window_end_at.date()
        if sourcing.move_reservation(
            tx, order.id, pharmacy_id, order.lines, products, delivery_date
        ):
            orders_repo.update_order(tx, order.id, pharmacy_id=pharmacy_id)
            tx.audit(
                actor=PLANNER,
                action="order.pharmacy_changed",
                subject_type="order",
                subject_id=order.id,
                details={"from": order.pharmacy_id, "to": pharmacy_id},
            )
        else:
            # sold out meanwhile: keep the held stock; only that pharmacy next time
            orders_repo.update_order(
                tx,
                order.id,
                candidate_pharmacy_ids=[order.pharmacy_id] if order.pharmacy_id else [],
            )
    if order.status is OrderStatus.SOURCED:
        move(tx, order, OrderStatus.ASSIGNED, actor=PLANNER, rider_id=rider_id)
    elif order.rider_id != rider_id:
        orders_repo.update_order(tx, order.id, rider_id=rider_id)
        tx.audit(
            actor=PLANNER,
            action="order.reassigned",
            subject_type="order",
            subject_id=order.id,
            details={"from": order.rider_id, "to": rider_id},
        )
