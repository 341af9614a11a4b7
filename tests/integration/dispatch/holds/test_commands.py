"""Holds from cold-chain excursions: place, release, reject with replacement."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres import stock
from dispatch.errors import HoldAlreadyDecided, IllegalTransition, InvalidInput
from dispatch.fleet import orders_in_box
from dispatch.holds.commands import (
    HoldReason,
    list_open_holds,
    place_hold,
    reject_hold,
    release_hold,
)
from dispatch.orders.fulfilment import assign_order, cancel_order, mark_picked_up
from dispatch.orders.intake import submit_order
from dispatch.orders.order import OrderStatus
from dispatch.orders.patient_data import PatientData, copy_patient_data, reveal_contact
from dispatch.orders.transitions import move
from tests.integration.dispatch.conftest import (
    INSULIN,
    SLIEMA,
    TODAY,
    VALLETTA,
    add_lot,
    add_rider,
    make_request,
    seed_catalogue,
)


@pytest.fixture
def carried(db):
    """An insulin order picked up by rider-1 (whose box is box-rider-1)."""
    seed_catalogue(db)
    lot = add_lot(db, VALLETTA, INSULIN, 5, TODAY + timedelta(days=200), "LOT-OLD")
    add_lot(db, SLIEMA, INSULIN, 5, TODAY + timedelta(days=90), "LOT-SLIEMA")
    rider = add_rider(db)
    with db.transaction() as tx:
        order = submit_order(tx, make_request([(INSULIN, 2)]), actor="a")
        assign_order(tx, order.id, rider, actor="d")
        mark_picked_up(tx, order.id, rider_id=rider, position=None, actor="r")
    return order, lot


def test_excursion_hold_is_placed_on_the_boxs_orders_once(db, carried):
    """A hold by box id catches the carried orders; the same excursion holds once."""
    order, _ = carried
    with db.transaction() as tx:
        assert orders_in_box(tx, "box-rider-1") == [order.id]
        hold = place_hold(
            tx,
            reason=HoldReason.TEMPERATURE_EXCURSION,
            note="9.5C for 20 min",
            actor="telemetry",
            box_id="box-rider-1",
            excursion_ref="exc-1",
        )
    with db.transaction() as tx:
        again = place_hold(
            tx,
            reason=HoldReason.TEMPERATURE_EXCURSION,
            note="9.5C for 20 min",
            actor="telemetry",
            box_id="box-rider-1",
            excursion_ref="exc-1",
        )
        held = orders_repo.get_order(tx, order.id)
    assert hold.order_ids == (order.id,)
    assert again.id == hold.id
    assert held.status is OrderStatus.ON_HOLD
    assert held.held_from is OrderStatus.PICKED_UP


def test_release_resumes_where_the_order_was(db, carried):
    """Releasing returns the order to picked_up."""
    order, _ = carried
    with db.transaction() as tx:
        hold = place_hold(
            tx,
            reason=HoldReason.PHARMACIST_REQUEST,
            actor="telemetry",
            order_ids=[order.id],
        )
        release_hold(tx, hold.id, actor="pharmacist:eve", note="within budget")
        assert orders_repo.get_order(tx, order.id).status is OrderStatus.PICKED_UP
    with pytest.raises(HoldAlreadyDecided), db.transaction() as tx:
        reject_hold(tx, hold.id, actor="pharmacist:eve")


def test_reject_writes_off_and_creates_a_linked_fefo_replacement(db, carried):
    """Rejected goods are written off; a replacement is sourced FEFO and linked."""
    order, lot = carried
    with db.transaction() as tx:
        hold = place_hold(
            tx, reason="temperature_excursion", actor="telemetry", order_ids=[order.id]
        )
        (replacement_id,) = reject_hold(tx, hold.id, actor="pharmacist:eve")
        original = orders_repo.get_order(tx, order.id)
        replacement = orders_repo.get_order(tx, replacement_id)
        # 2 carried units written off; the replacement holds 2 of the 3 left
        assert stock.lot_totals(tx, lot) == (3, 2)
        assert stock.reservations(tx, order.id, ["written_off"])
        contact = reveal_contact(
            tx,
            replacement_id,
            actor="pharmacist:eve",
            purpose="call patient about replacement",
        )
    assert original.status is OrderStatus.FAILED
    assert replacement.replacement_of == order.id
    assert replacement.status is OrderStatus.SOURCED
    assert replacement.lines == original.lines
    # nearest with stock is Valletta again (3 left); its lot is the FEFO choice there
    assert replacement.pharmacy_id == VALLETTA.id
    assert contact.name == "Maria Borg"


def test_replacement_without_stock_stays_created_and_visible(db, carried):
    """If nobody has stock the replacement exists, unsourced, for a person to act."""
    order, _ = carried
    with db.transaction() as tx:
        for lot in stock.usable_lots(tx, {INSULIN.sku: TODAY}):
            tx.conn.execute(
                "UPDATE dispatch.stock_lot SET quantity_on_hand = quantity_reserved"
                " WHERE id = %s",
                (lot.id,),
            )
        hold = place_hold(
            tx, reason="temperature_excursion", actor="telemetry", order_ids=[order.id]
        )
        (replacement_id,) = reject_hold(tx, hold.id, actor="pharmacist:eve")
        assert orders_repo.get_order(tx, replacement_id).status is OrderStatus.CREATED


def test_cancelled_orders_are_not_held_and_held_sourced_order_cannot_skip(db):
    """Terminal orders are skipped; a held order may only resume its old state."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, INSULIN, 5, TODAY + timedelta(days=200))
    with db.transaction() as tx:
        done = submit_order(tx, make_request([(INSULIN, 1)]), actor="a")
        cancel_order(tx, done.id, actor="a")
        live = submit_order(tx, make_request([(INSULIN, 1)]), actor="a")
        hold = place_hold(
            tx,
            reason=HoldReason.DAMAGED,
            actor="pharmacist",
            order_ids=[done.id, live.id],
        )
    assert hold.order_ids == (live.id,)
    with db.transaction() as tx:
        held = orders_repo.get_order(tx, live.id)
    with pytest.raises(IllegalTransition), db.transaction() as tx:
        move(tx, held, OrderStatus.ASSIGNED, actor="x")


def test_replacement_copies_patient_data_with_one_audit_entry(db):
    """The replacement carries contact and access notes; the copy is the only
    patient-data read of the rejection, audited once with actor and reason."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, INSULIN, 5, TODAY + timedelta(days=200))
    request = dataclasses.replace(
        make_request([(INSULIN, 1)]), access_notes="Buzzer 3B"
    )
    with db.transaction() as tx:
        order = submit_order(tx, request, actor="a")
        hold = place_hold(
            tx, reason="temperature_excursion", actor="telemetry", order_ids=[order.id]
        )
        seq = tx.conn.execute("SELECT last_seq FROM dispatch.audit_head").fetchone()
    with db.transaction() as tx:
        (replacement_id,) = reject_hold(tx, hold.id, actor="pharmacist:eve")
    with db.transaction() as tx:
        rows = tx.conn.execute(
            "SELECT actor, subject_id, details FROM dispatch.audit_entry"
            " WHERE action LIKE 'patient.%%' AND seq > %s",
            (seq[0],),
        ).fetchall()
        copied = copy_patient_data(
            tx, replacement_id, actor="test", reason="check the copy"
        )
    assert [tuple(r) for r in rows] == [
        (
            "pharmacist:eve",
            order.id,
            {
                "reason": f"replacement order (hold {hold.id} rejected)",
                "fields": ["name", "phone", "address", "access_notes"],
            },
        )
    ]
    assert copied == PatientData(request.contact, "Buzzer 3B")
    assert "Maria" not in repr(copied)
    with pytest.raises(InvalidInput), db.transaction() as tx:
        copy_patient_data(tx, order.id, actor="test", reason=" ")


def test_a_hold_with_nothing_left_to_hold_is_refused_not_stored_empty(db):
    """Issue 20: a hold naming only a cancelled order was stored empty."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, INSULIN, 5, TODAY + timedelta(days=200))
    with db.transaction() as tx:
        done = submit_order(tx, make_request([(INSULIN, 1)]), actor="a")
        cancel_order(tx, done.id, actor="a")
    with pytest.raises(IllegalTransition), db.transaction() as tx:
        place_hold(
            tx, reason=HoldReason.DAMAGED, actor="pharmacist", order_ids=[done.id]
        )
    with db.transaction() as tx:
        assert list_open_holds(tx) == []
