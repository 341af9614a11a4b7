"""Applying a plan whose orders moved on while it was computed, against PostgreSQL:
progress along the plan (ended, picked up by its rider, assigned to its rider) is
accepted; any other change is still a :class:`PlanVersionConflict`."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.delivery.handoff import complete_delivery
from dispatch.domain import GeoPoint
from dispatch.errors import PlanVersionConflict
from dispatch.events import OrderUnassignable
from dispatch.holds.commands import place_hold, release_hold
from dispatch.orders.fulfilment import (
    assign_order,
    cancel_order,
    fail_delivery,
    mark_picked_up,
)
from dispatch.orders.intake import submit_order
from dispatch.orders.order import Order, OrderStatus
from dispatch.orders.patient_data import read_patient_messages
from dispatch.planning.apply import apply_plan, current_plan, current_version
from dispatch.planning.problem import Plan, PlannedStop, RiderRoute, UnservableOrder
from tests.integration.dispatch.conftest import (
    AMOX,
    NEAR_VALLETTA,
    NOW,
    SLIEMA,
    TODAY,
    VALLETTA,
    add_lot,
    add_rider,
    make_request,
    seed_catalogue,
)
from tests.integration.dispatch.planning.test_apply import _plan, _world

AT_DOOR = GeoPoint(NEAR_VALLETTA.lat + 0.0003, NEAR_VALLETTA.lon)


def _setup(db: Database, orders: int = 2) -> list[str]:
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 50, TODAY + timedelta(days=365))
    add_lot(db, SLIEMA, AMOX, 50, TODAY + timedelta(days=365))
    add_rider(db, "rider-1")
    add_rider(db, "rider-2", position=GeoPoint(35.91, 14.49))
    with db.transaction() as tx:
        return [
            submit_order(tx, make_request([(AMOX, 1)]), actor="api").id
            for _ in range(orders)
        ]


def _orders(db: Database, ids: list[str]) -> dict[str, Order]:
    with db.transaction() as tx:
        return {o.id: o for o in orders_repo.list_orders(tx, ids=ids)}


def _route(rider: str, *legs: tuple[str, str | None]) -> RiderRoute:
    """``legs``: (order id, pickup pharmacy or None for an order on board)."""
    stops = []
    for order_id, pharmacy in legs:
        if pharmacy is not None:
            stops.append(PlannedStop(order_id, "pickup", pharmacy, NOW))
    for order_id, _ in legs:
        stops.append(PlannedStop(order_id, "delivery", None, NOW))
    return RiderRoute(rider, tuple(stops), 0, 0)


def _make_plan(
    basis: dict[str, Order],
    routes: tuple[RiderRoute, ...],
    unassigned: tuple[UnservableOrder, ...] = (),
    *,
    with_states: bool = True,
) -> Plan:
    """A plan computed on ``basis`` (the orders as the planner read them)."""
    return Plan(
        0,
        NOW,
        "feasible",
        0,
        0.0,
        routes,
        unassigned,
        basis_orders={i: o.version for i, o in basis.items()},
        basis_riders={"rider-1": 0, "rider-2": 0},
        basis_order_states=dict(basis) if with_states else {},
    )


def _pick_up(db: Database, order_id: str, rider: str) -> None:
    with db.transaction() as tx:
        order = orders_repo.get_order(tx, order_id)
        if order.status is OrderStatus.SOURCED:
            assign_order(tx, order_id, rider, actor="dispatcher")
        mark_picked_up(tx, order_id, rider_id=rider, position=None, actor=rider)


def _deliver(db: Database, order_id: str, rider: str) -> None:
    _pick_up(db, order_id, rider)
    with db.transaction() as tx:
        body = read_patient_messages(tx, order_id, actor="patient")[-1].body
    with db.transaction() as tx:
        complete_delivery(
            tx,
            order_id,
            otp=body.rsplit(" ", 1)[1],
            rider_id=rider,
            position=AT_DOOR,
            actor=rider,
        )


def _apply(db: Database, plan: Plan) -> Plan:
    with db.transaction() as tx:
        return apply_plan(tx, plan, based_on_version=None)


def _refused(db: Database, plan: Plan) -> None:
    with pytest.raises(PlanVersionConflict), db.transaction() as tx:
        apply_plan(tx, plan, based_on_version=None)
    with db.transaction() as tx:
        assert current_version(tx) is None


# -- progress along the plan: applied ------------------------------------------


@pytest.mark.parametrize("ending", ["cancelled", "failed", "delivered"])
def test_an_order_that_ended_while_planning_is_skipped(db, publisher, ending):
    """Cancelled, failed or delivered meanwhile: the plan applies to the others,
    the ended order is left alone and its stops are not stored."""
    a, b = _setup(db)
    basis = _orders(db, [a, b])
    plan = _make_plan(basis, (_route("rider-1", (a, VALLETTA.id), (b, VALLETTA.id)),))
    if ending == "cancelled":
        with db.transaction() as tx:
            cancel_order(tx, a, actor="api")
    elif ending == "failed":
        _pick_up(db, a, "rider-1")
        with db.transaction() as tx:
            fail_delivery(tx, a, actor="rider-1", reason="nobody home")
    else:
        _deliver(db, a, "rider-1")
    stored = _apply(db, plan)
    after = _orders(db, [a, b])
    assert after[a].status is OrderStatus(ending)
    assert after[a].unassigned_reason is None
    assert after[b].status is OrderStatus.ASSIGNED
    assert after[b].rider_id == "rider-1"
    assert {s.order_id for r in stored.routes for s in r.stops} == {b}
    assert not [e for e in publisher.of_type(OrderUnassignable) if e.order_id == a]


def test_an_unplanned_order_that_ended_is_not_marked_unservable(db, publisher):
    """An order the plan leaves unassigned and that was delivered meanwhile is
    neither moved back to sourced nor recorded unassignable."""
    a, b = _setup(db)
    with db.transaction() as tx:
        assign_order(tx, a, "rider-1", actor="dispatcher")
    basis = _orders(db, [a, b])
    plan = _make_plan(
        basis,
        (_route("rider-2", (b, VALLETTA.id)),),
        (UnservableOrder(a, "no_vehicle"),),
    )
    _deliver(db, a, "rider-1")
    stored = _apply(db, plan)
    after = _orders(db, [a, b])
    assert after[a].status is OrderStatus.DELIVERED
    assert after[a].unassigned_reason is None
    assert stored.unassigned == ()
    assert not [e for e in publisher.of_type(OrderUnassignable) if e.order_id == a]


@pytest.mark.parametrize("assigned_before", [True, False])
def test_an_order_picked_up_by_its_planned_rider_is_accepted(db, assigned_before):
    """Picked up by the rider the plan routes it with, at the plan's pharmacy
    (whether it was assigned or only sourced when planned): applied, still on
    board, and the stored route no longer has its pickup."""
    a, b = _setup(db)
    if assigned_before:
        with db.transaction() as tx:
            assign_order(tx, a, "rider-1", actor="dispatcher")
    basis = _orders(db, [a, b])
    plan = _make_plan(
        basis,
        (
            _route("rider-1", (a, VALLETTA.id)),
            _route("rider-2", (b, SLIEMA.id)),
        ),
    )
    _pick_up(db, a, "rider-1")
    stored = _apply(db, plan)
    after = _orders(db, [a, b])
    assert after[a].status is OrderStatus.PICKED_UP
    assert after[a].rider_id == "rider-1"
    assert after[b].status is OrderStatus.ASSIGNED
    assert after[b].pharmacy_id == SLIEMA.id
    (route_1,) = [r for r in stored.routes if r.rider_id == "rider-1"]
    assert [(s.order_id, s.kind) for s in route_1.stops] == [(a, "delivery")]
    with db.transaction() as tx:
        assert current_plan(tx).version == 1


def test_an_on_board_order_still_carried_by_its_rider_is_accepted(db):
    """Planned on board (delivery only), held and released meanwhile: same rider,
    so the plan still applies."""
    a, b = _setup(db)
    _pick_up(db, a, "rider-1")
    basis = _orders(db, [a, b])
    plan = _make_plan(basis, (_route("rider-1", (a, None), (b, VALLETTA.id)),))
    with db.transaction() as tx:
        hold = place_hold(tx, reason="damaged", actor="pharmacist", order_ids=[a])
    with db.transaction() as tx:
        release_hold(tx, hold.id, actor="pharmacist")
    _apply(db, plan)
    after = _orders(db, [a, b])
    assert after[a].status is OrderStatus.PICKED_UP
    assert after[b].rider_id == "rider-1"


def test_an_order_assigned_meanwhile_to_its_planned_rider_is_accepted(db):
    """A dispatcher gave the order to exactly the rider the plan gives it, and
    nothing else changed: applied, with no second assignment."""
    a, b = _setup(db)
    basis = _orders(db, [a, b])
    plan = _make_plan(
        basis,
        (_route("rider-1", (a, VALLETTA.id)), _route("rider-2", (b, VALLETTA.id))),
    )
    with db.transaction() as tx:
        assign_order(tx, a, "rider-1", actor="dispatcher")
    before = _orders(db, [a])[a]
    _apply(db, plan)
    after = _orders(db, [a, b])
    assert after[a].status is OrderStatus.ASSIGNED
    assert after[a].rider_id == "rider-1"
    assert after[a].version == before.version  # nothing left to do for it
    assert after[b].rider_id == "rider-2"


def test_a_solved_plan_survives_an_assignment_along_it(db):
    """End to end through the snapshot, solver and ``to_plan``: the plan carries
    what each order looked like, so an assignment to its rider is accepted."""
    ids = _world(db, orders=2)
    _, plan = _plan(db)
    rider, _ = plan.assignments()[ids[0]]
    with db.transaction() as tx:
        assign_order(tx, ids[0], rider, actor="dispatcher")
    _apply(db, plan)
    after = _orders(db, ids)
    assert after[ids[0]].rider_id == rider
    assert all(o.status is OrderStatus.ASSIGNED for o in after.values())


# -- anything else: still a conflict -------------------------------------------


def test_an_order_put_on_hold_conflicts(db):
    a, b = _setup(db)
    plan = _make_plan(_orders(db, [a, b]), (_route("rider-1", (a, VALLETTA.id)),))
    with db.transaction() as tx:
        place_hold(tx, reason="damaged", actor="pharmacist", order_ids=[a])
    _refused(db, plan)
    assert _orders(db, [b])[b].status is OrderStatus.SOURCED


def test_an_order_given_to_another_rider_conflicts(db):
    a, b = _setup(db)
    plan = _make_plan(_orders(db, [a, b]), (_route("rider-1", (a, VALLETTA.id)),))
    with db.transaction() as tx:
        assign_order(tx, a, "rider-2", actor="dispatcher")
    _refused(db, plan)
    assert _orders(db, [a])[a].rider_id == "rider-2"


def test_an_order_picked_up_by_another_rider_conflicts(db):
    a, b = _setup(db)
    plan = _make_plan(_orders(db, [a, b]), (_route("rider-1", (a, VALLETTA.id)),))
    _pick_up(db, a, "rider-2")
    _refused(db, plan)


def test_an_order_picked_up_at_another_pharmacy_conflicts(db):
    """The plan collects at Sliema, the rider collected at Valletta."""
    a, b = _setup(db)
    plan = _make_plan(_orders(db, [a, b]), (_route("rider-1", (a, SLIEMA.id)),))
    _pick_up(db, a, "rider-1")
    _refused(db, plan)


def test_an_assignment_with_another_change_conflicts(db):
    """Assigned to the planned rider, but its pharmacy changed too."""
    a, b = _setup(db)
    plan = _make_plan(_orders(db, [a, b]), (_route("rider-1", (a, VALLETTA.id)),))
    with db.transaction() as tx:
        orders_repo.update_order(tx, a, pharmacy_id=SLIEMA.id)
        assign_order(tx, a, "rider-1", actor="dispatcher")
    _refused(db, plan)


def test_an_assignment_without_the_planned_state_conflicts(db):
    """A plan that does not carry the orders it saw cannot tell what changed."""
    a, b = _setup(db)
    plan = _make_plan(
        _orders(db, [a, b]),
        (_route("rider-1", (a, VALLETTA.id)),),
        with_states=False,
    )
    with db.transaction() as tx:
        assign_order(tx, a, "rider-1", actor="dispatcher")
    _refused(db, plan)


def test_an_unplanned_order_picked_up_meanwhile_conflicts_and_stays_on_board(db):
    """The plan leaves the order unassigned but its rider collected it: refused,
    and it is not moved back to sourced."""
    a, b = _setup(db)
    with db.transaction() as tx:
        assign_order(tx, a, "rider-1", actor="dispatcher")
    plan = _make_plan(
        _orders(db, [a, b]),
        (_route("rider-2", (b, VALLETTA.id)),),
        (UnservableOrder(a, "no_vehicle"),),
    )
    _pick_up(db, a, "rider-1")
    _refused(db, plan)
    after = _orders(db, [a])[a]
    assert after.status is OrderStatus.PICKED_UP
    assert after.unassigned_reason is None


def test_an_order_missing_from_the_basis_conflicts(db):
    a, b = _setup(db)
    basis = _orders(db, [a, b])
    plan = _make_plan(basis, (_route("rider-1", (a, VALLETTA.id)),))
    plan = replace(plan, basis_orders={**plan.basis_orders, str(uuid.uuid4()): 3})
    _refused(db, plan)
