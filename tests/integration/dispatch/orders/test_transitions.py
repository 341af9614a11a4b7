"""Order lifecycle against PostgreSQL: transitions, who/when/where, stock effects."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres import stock
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.errors import IllegalTransition, InvalidInput
from dispatch.orders.fulfilment import (
    assign_order,
    cancel_order,
    fail_delivery,
    mark_picked_up,
    unassign_order,
)
from dispatch.orders.intake import submit_order
from dispatch.orders.order import Order, OrderStatus
from dispatch.orders.patient_data import read_patient_messages
from tests.integration.dispatch.conftest import (
    AMOX,
    INSULIN,
    NEAR_VALLETTA,
    TODAY,
    VALLETTA,
    add_lot,
    add_rider,
    make_request,
    seed_catalogue,
)


def _order(db: Database, lines=None) -> tuple[Order, int]:
    seed_catalogue(db)
    lot = add_lot(db, VALLETTA, AMOX, 10, TODAY + timedelta(days=365))
    add_lot(db, VALLETTA, INSULIN, 10, TODAY + timedelta(days=365))
    with db.transaction() as tx:
        order = submit_order(tx, make_request(lines or [(AMOX, 4)]), actor="api:alice")
    return order, lot


def test_full_lifecycle_records_who_when_where(db, clock):
    """Each move is recorded with actor, time and position; pickup takes units off."""
    order, lot = _order(db)
    rider = add_rider(db)
    with db.transaction() as tx:
        assign_order(tx, order.id, rider, actor="dispatcher:bob")
    clock.advance(600)
    with db.transaction() as tx:
        picked = mark_picked_up(
            tx, order.id, rider_id=rider, position=NEAR_VALLETTA, actor=f"rider:{rider}"
        )
        assert stock.lot_totals(tx, lot) == (6, 0)
        transitions = orders_repo.list_transitions(tx, order.id)
    assert picked.status is OrderStatus.PICKED_UP
    assert [t.to_status for t in transitions] == [
        OrderStatus.CREATED,
        OrderStatus.SOURCED,
        OrderStatus.ASSIGNED,
        OrderStatus.PICKED_UP,
    ]
    last = transitions[-1]
    assert last.actor == f"rider:{rider}"
    assert last.at == clock.now()
    assert last.position == NEAR_VALLETTA


def test_pickup_sends_an_otp_to_the_patient_outbox(db):
    """Pickup issues an OTP; the patient's outbox holds it, the database only a hash."""
    order, _ = _order(db)
    rider = add_rider(db)
    with db.transaction() as tx:
        assign_order(tx, order.id, rider, actor="d")
        mark_picked_up(tx, order.id, rider_id=rider, position=None, actor="r")
    with db.transaction() as tx:
        messages = read_patient_messages(tx, order.id, actor="patient-link")
        stored = tx.conn.execute("SELECT code_hash FROM dispatch.otp").fetchone()[0]
    assert len(messages) == 1
    code = messages[0].body.rsplit(" ", 1)[1]
    assert code.isdigit()
    assert len(code) == 6
    assert code not in stored


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], OrderStatus.PICKED_UP),
        ([], OrderStatus.FAILED),
        (["assign", "pickup"], OrderStatus.CANCELLED),
        (["cancel"], OrderStatus.ASSIGNED),
    ],
    ids=[
        "sourced->picked_up",
        "sourced->failed",
        "picked_up->cancelled",
        "cancelled->assigned",
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(db, path, target):
    """The state machine refuses illegal moves with a typed error."""
    order, _ = _order(db)
    rider = add_rider(db)
    with db.transaction() as tx:
        for step in path:
            if step == "assign":
                assign_order(tx, order.id, rider, actor="d")
            elif step == "pickup":
                mark_picked_up(tx, order.id, rider_id=rider, position=None, actor="r")
            elif step == "cancel":
                cancel_order(tx, order.id, actor="d")
        before = orders_repo.get_order(tx, order.id)
    commands = {
        OrderStatus.PICKED_UP: lambda tx: mark_picked_up(
            tx, order.id, rider_id=rider, position=None, actor="r"
        ),
        OrderStatus.CANCELLED: lambda tx: cancel_order(tx, order.id, actor="d"),
        OrderStatus.ASSIGNED: lambda tx: assign_order(tx, order.id, rider, actor="d"),
        OrderStatus.FAILED: lambda tx: fail_delivery(
            tx, order.id, actor="d", reason="x"
        ),
    }
    with pytest.raises(IllegalTransition), db.transaction() as tx:
        commands[target](tx)
    with db.transaction() as tx:
        after = orders_repo.get_order(tx, order.id)
    assert after.status is before.status
    assert after.version == before.version


def test_cancel_before_pickup_releases_reserved_units(db):
    """Cancelling frees the units for other orders."""
    order, lot = _order(db)
    with db.transaction() as tx:
        cancel_order(tx, order.id, actor="api:alice", reason="patient request")
        assert stock.lot_totals(tx, lot) == (10, 0)
        assert orders_repo.get_order(tx, order.id).status is OrderStatus.CANCELLED


def test_unassign_keeps_the_reservation(db):
    """A re-plan taking an order back from its rider keeps its stock held."""
    order, lot = _order(db)
    rider = add_rider(db)
    with db.transaction() as tx:
        assign_order(tx, order.id, rider, actor="d")
        unassign_order(tx, order.id, actor="planner")
        current = orders_repo.get_order(tx, order.id)
        assert stock.lot_totals(tx, lot) == (10, 4)
    assert current.status is OrderStatus.SOURCED
    assert current.rider_id is None


def test_failed_delivery_restocks_intact_ambient_goods(db):
    """Ambient goods returned intact go back on the shelf."""
    order, lot = _order(db)
    rider = add_rider(db)
    with db.transaction() as tx:
        assign_order(tx, order.id, rider, actor="d")
        mark_picked_up(tx, order.id, rider_id=rider, position=None, actor="r")
        fail_delivery(
            tx, order.id, actor="r", reason="nobody home", goods_returned_intact=True
        )
        assert stock.lot_totals(tx, lot) == (10, 0)


def test_failed_cold_chain_delivery_is_written_off_even_if_returned(db, publisher):
    """Refrigerated goods that left the pharmacy are never restocked."""
    seed_catalogue(db)
    lot = add_lot(db, VALLETTA, INSULIN, 5, TODAY + timedelta(days=365))
    rider = add_rider(db)
    with db.transaction() as tx:
        order = submit_order(tx, make_request([(INSULIN, 2)]), actor="a")
        assign_order(tx, order.id, rider, actor="d")
        mark_picked_up(tx, order.id, rider_id=rider, position=None, actor="r")
        fail_delivery(
            tx, order.id, actor="r", reason="nobody home", goods_returned_intact=True
        )
        assert stock.lot_totals(tx, lot) == (3, 0)
        written = stock.reservations(tx, order.id, ["written_off"])
    assert [(r.lot_id, r.quantity) for r in written] == [(lot, 2)]
    assert any(e.type == "stock.written_off" for e in publisher.events)


def test_failed_delivery_needs_a_reason(db):
    """A failure without a reason is refused."""
    order, _ = _order(db)
    with pytest.raises(InvalidInput), db.transaction() as tx:
        fail_delivery(tx, order.id, actor="r", reason=" ")
