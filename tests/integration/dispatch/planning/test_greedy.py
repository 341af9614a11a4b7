"""The greedy baseline against PostgreSQL: assigns once, never re-planned."""

from __future__ import annotations

from datetime import timedelta

from dispatch.adapters.memory import FixedClock
from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.domain import GeoPoint
from dispatch.orders.intake import submit_order
from dispatch.orders.order import OrderStatus
from dispatch.planning.apply import apply_plan, take_snapshot
from dispatch.planning.greedy import dispatch_greedy
from dispatch.planning.problem import build_problem, to_plan
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


def _greedy_round(db: Database) -> list[tuple[str, str]]:
    with db.transaction() as tx:
        snapshot = take_snapshot(tx, include_greedy=True)
        done = dispatch_greedy(tx, snapshot)
    return [(a.order_id, a.rider_id) for a in done]


def test_greedy_assigns_one_order_per_idle_rider_oldest_first(
    db: Database, clock: FixedClock
) -> None:
    """Two riders, three orders: the two oldest go out, the third waits for a
    rider to come free, then goes to that rider."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 50, TODAY + timedelta(days=365))
    near = add_rider(db, "rider-near")
    far = add_rider(db, "rider-far", position=GeoPoint(35.93, 14.42))
    ids = []
    for _ in range(3):
        with db.transaction() as tx:
            ids.append(submit_order(tx, make_request([(AMOX, 1)]), actor="api").id)
        clock.advance(60)
    assert _greedy_round(db) == [(ids[0], near), (ids[1], far)]
    assert _greedy_round(db) == []  # nobody idle: nothing queued onto busy riders
    with db.transaction() as tx:
        first = orders_repo.get_order(tx, ids[0])
        assert (first.status, first.dispatched_by) == (OrderStatus.ASSIGNED, "greedy")
        assert orders_repo.get_order(tx, ids[2]).status is OrderStatus.SOURCED
        tx.conn.execute(
            "UPDATE dispatch.customer_order SET status = 'delivered' WHERE id = %s",
            (ids[0],),
        )
    assert _greedy_round(db) == [(ids[2], near)]


def test_the_optimiser_leaves_greedy_orders_and_their_riders_alone(
    db: Database,
) -> None:
    """A greedy-assigned order and its rider are not in the planner's snapshot,
    and applying the planner's plan keeps the order with its greedy rider."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 50, TODAY + timedelta(days=365))
    add_lot(db, SLIEMA, AMOX, 50, TODAY + timedelta(days=365))
    greedy_rider = add_rider(db, "rider-g")
    add_rider(db, "rider-p", position=GeoPoint(35.91, 14.49))
    with db.transaction() as tx:
        kept = submit_order(tx, make_request([(AMOX, 1)]), actor="api").id
        snapshot = take_snapshot(tx, include_greedy=True)
        snapshot = type(snapshot)(
            now=snapshot.now,
            riders=tuple(r for r in snapshot.riders if r.id == greedy_rider),
            orders=snapshot.orders,
            pharmacies=snapshot.pharmacies,
            products=snapshot.products,
            profiles=snapshot.profiles,
        )
        dispatch_greedy(tx, snapshot)
        other = submit_order(tx, make_request([(AMOX, 2)]), actor="api").id
    with db.transaction() as tx:
        planner_view = take_snapshot(tx)
    assert [o.id for o in planner_view.orders] == [other]
    assert [r.id for r in planner_view.riders] == ["rider-p"]
    translation = build_problem(planner_view, HaversineProvider())
    # bounded by solutions, not wall time: the same plan on a slow host
    params = SolverParams(time_limit_s=60.0, solution_limit=50)
    solution = solve(translation.problem, params)
    plan = to_plan(translation, solution, version=0, created_at=NOW)
    with db.transaction() as tx:
        apply_plan(tx, plan, based_on_version=None)
        kept_order = orders_repo.get_order(tx, kept)
        other_order = orders_repo.get_order(tx, other)
    assert (kept_order.status, kept_order.rider_id) == (
        OrderStatus.ASSIGNED,
        greedy_rider,
    )
    assert other_order.rider_id == "rider-p"
