"""Plans against PostgreSQL: snapshot, apply with optimistic checks, reservation
moves chosen by the router, and the debounced replanner with a worker process."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from dispatch.adapters.postgres import catalogue, stock
from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.solver_pool import SolverPool
from dispatch.domain import GeoPoint
from dispatch.errors import PlanVersionConflict
from dispatch.events import PlanUpdated, RiderStopReleased
from dispatch.holds.commands import place_hold
from dispatch.orders.intake import submit_order
from dispatch.orders.order import OrderStatus
from dispatch.planning.apply import apply_plan, current_plan, take_snapshot
from dispatch.planning.plan import ReleasedStop
from dispatch.planning.problem import (
    Plan,
    PlannedStop,
    RiderRoute,
    build_problem,
    to_plan,
)
from dispatch.planning.replanner import Replanner
from routing import SolverParams, solve
from routing.matrix import HaversineProvider
from tests.integration.dispatch.conftest import (
    AMOX,
    NOW,
    SLIEMA,
    TODAY,
    VALLETTA,
    add_lot,
    add_rider,
    make_request,
    seed_catalogue,
)

#: The solution limit ends the search (the same plan on any host); the time limit
#: is only a backstop, generous so that a slow host does not cut the search short.
PARAMS = SolverParams(time_limit_s=60.0, solution_limit=100)


def _world(db, orders=3):
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 50, TODAY + timedelta(days=365))
    add_lot(db, SLIEMA, AMOX, 50, TODAY + timedelta(days=365))
    add_rider(db, "rider-1")
    add_rider(db, "rider-2", position=GeoPoint(35.91, 14.49))
    ids = []
    with db.transaction() as tx:
        for _ in range(orders):
            ids.append(submit_order(tx, make_request([(AMOX, 1)]), actor="api").id)
    return ids


def _plan(db):
    with db.transaction() as tx:
        snap = take_snapshot(tx)
    t = build_problem(snap, HaversineProvider())
    solution = solve(t.problem, PARAMS, t.initial)
    return snap, to_plan(t, solution, version=0, created_at=NOW)


def test_applied_plan_assigns_orders_and_is_versioned(db, publisher):
    """Applying a fresh plan assigns every order to a rider and stores version 1."""
    ids = _world(db)
    _, plan = _plan(db)
    with db.transaction() as tx:
        stored = apply_plan(tx, plan, based_on_version=None)
    assert stored.version == 1
    with db.transaction() as tx:
        orders = orders_repo.list_orders(tx, ids=ids)
        assert current_plan(tx).version == 1
    assert all(o.status is OrderStatus.ASSIGNED for o in orders)
    assert {o.rider_id for o in orders} <= {"rider-1", "rider-2"}
    assert publisher.of_type(PlanUpdated)


def test_each_route_keeps_where_its_rider_started(db):
    """A stored route remembers the rider's position it was planned from (its
    first leg starts there), read back as it was written."""
    _world(db)
    snap, plan = _plan(db)
    positions = {r.id: r.position for r in snap.riders}
    assert plan.routes
    assert all(r.start == positions[r.rider_id] for r in plan.routes)
    with db.transaction() as tx:
        apply_plan(tx, plan, based_on_version=None)
    with db.transaction() as tx:
        stored = current_plan(tx)
    assert {r.rider_id: r.start for r in stored.routes} == {
        r.rider_id: positions[r.rider_id] for r in plan.routes
    }


def test_plan_on_stale_state_is_not_applied(db):
    """An order put on hold while the plan was computed makes the plan stale."""
    ids = _world(db)
    _, plan = _plan(db)
    with db.transaction() as tx:
        place_hold(tx, reason="damaged", actor="pharmacist", order_ids=[ids[0]])
    with pytest.raises(PlanVersionConflict), db.transaction() as tx:
        apply_plan(tx, plan, based_on_version=None)
    with db.transaction() as tx:
        assert orders_repo.get_order(tx, ids[1]).status is OrderStatus.SOURCED


def test_plan_based_on_an_old_version_is_not_applied(db):
    """Two plans computed on the same base: the second is refused."""
    _world(db)
    _, plan = _plan(db)
    with db.transaction() as tx:
        apply_plan(tx, plan, based_on_version=None)
    with pytest.raises(PlanVersionConflict), db.transaction() as tx:
        apply_plan(tx, plan, based_on_version=None)


def test_router_choice_of_pharmacy_moves_the_reservation(db):
    """If the plan collects at another candidate, the stock moves there atomically."""
    (order_id,) = _world(db, orders=1)
    with db.transaction() as tx:
        order = orders_repo.get_order(tx, order_id)
    assert order.pharmacy_id == VALLETTA.id
    plan = Plan(
        0,
        NOW,
        "feasible",
        0,
        0.0,
        (
            RiderRoute(
                "rider-1",
                (
                    PlannedStop(order_id, "pickup", SLIEMA.id, NOW),
                    PlannedStop(order_id, "delivery", None, NOW),
                ),
                0,
                0,
            ),
        ),
        (),
        basis_orders={order_id: order.version},
        basis_riders={"rider-1": 0, "rider-2": 0},
    )
    with db.transaction() as tx:
        apply_plan(tx, plan, based_on_version=None)
        moved = orders_repo.get_order(tx, order_id)
        held = stock.reservations(tx, order_id, ["held"])
    assert moved.pharmacy_id == SLIEMA.id
    assert moved.status is OrderStatus.ASSIGNED
    assert {r.pharmacy_id for r in held} == {SLIEMA.id}
    with db.transaction() as tx:
        reserved = {
            lot.pharmacy_id: lot.quantity_reserved for lot in catalogue.list_lots(tx)
        }
    assert reserved == {VALLETTA.id: 0, SLIEMA.id: 1}


def test_a_dropped_next_stop_alerts_the_dispatcher_and_is_audited(db, publisher):
    """A plan that released a rider's next stop emits one event per released
    stop (rider, order, why) and writes it to the audit trail."""
    (order_id,) = _world(db, orders=1)
    with db.transaction() as tx:
        order = orders_repo.get_order(tx, order_id)
    why = "'rider-1' lacks skills ['controlled']"
    plan = Plan(
        0,
        NOW,
        "feasible",
        0,
        0.0,
        (
            RiderRoute(
                "rider-2",
                (
                    PlannedStop(order_id, "pickup", VALLETTA.id, NOW),
                    PlannedStop(order_id, "delivery", None, NOW),
                ),
                0,
                0,
            ),
        ),
        (),
        basis_orders={order_id: order.version},
        basis_riders={"rider-1": 0, "rider-2": 0},
        released_stops=(ReleasedStop("rider-1", order_id, why),),
    )
    with db.transaction() as tx:
        stored = apply_plan(tx, plan, based_on_version=None)
    released = publisher.of_type(RiderStopReleased)
    assert [(e.rider_id, e.order_id, e.detail) for e in released] == [
        ("rider-1", order_id, why)
    ]
    with db.transaction() as tx:
        audited = tx.conn.execute(
            "SELECT subject_id, details FROM dispatch.audit_entry"
            " WHERE action = 'plan.stop_released'"
        ).fetchall()
    assert audited == [
        (
            order_id,
            {"rider_id": "rider-1", "plan_version": stored.version, "detail": why},
        )
    ]


def test_replanner_debounces_triggers_into_one_solve(db, publisher):
    """Five quick triggers produce one round and one applied plan, in a worker."""
    _world(db)

    async def scenario() -> Replanner:
        pool = SolverPool()
        replanner = Replanner(
            db, pool, solver_params=PARAMS, debounce_s=0.3, timer_s=3600
        )
        task = asyncio.create_task(replanner.run())
        try:
            await pool.warm_up()
            for i in range(5):
                replanner.trigger(f"test-{i}")
            async with asyncio.timeout(120):
                while not replanner.stats.applied:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # time for a second round, if one were due
        finally:
            task.cancel()
            pool.close()
        return replanner

    replanner = asyncio.run(scenario())
    assert replanner.stats.rounds == 1
    assert replanner.stats.applied == 1
    with db.transaction() as tx:
        plan = current_plan(tx)
    assert plan.trigger_reasons == tuple(f"test-{i}" for i in range(5))
