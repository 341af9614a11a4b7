"""Order intake against PostgreSQL: sourcing, FEFO reservation, bad input."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from dispatch.adapters.postgres import catalogue, stock
from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.domain import GeoPoint, Sku
from dispatch.errors import (
    IdempotencyKeyReused,
    InvalidQuantity,
    InvalidTimeWindow,
    NoPharmacyHasStock,
    OutsideServiceArea,
    ProductNotFound,
)
from dispatch.events import OrderPlaced
from dispatch.orders.intake import submit_order
from dispatch.orders.order import OrderLine, OrderStatus, ProofLevel
from tests.integration.dispatch.conftest import (
    AMOX,
    INSULIN,
    MDINA,
    MORPHINE,
    NOW,
    SLIEMA,
    TODAY,
    VALLETTA,
    add_lot,
    make_request,
    seed_catalogue,
)


def _count_orders(db: Database) -> int:
    with db.transaction() as tx:
        return len(orders_repo.list_orders(tx))


def test_order_is_sourced_at_nearest_stocked_pharmacy_with_fefo_lot(db, publisher):
    """The nearest stocked pharmacy wins; its earliest usable lot goes first."""
    seed_catalogue(db)
    add_lot(db, SLIEMA, AMOX, 50, TODAY + timedelta(days=300))
    late = add_lot(db, VALLETTA, AMOX, 50, TODAY + timedelta(days=400))
    early = add_lot(db, VALLETTA, AMOX, 3, TODAY + timedelta(days=100))
    with db.transaction() as tx:
        order = submit_order(tx, make_request([(AMOX, 5)]), actor="test")
    assert order.status is OrderStatus.SOURCED
    assert order.pharmacy_id == VALLETTA.id
    assert set(order.candidate_pharmacy_ids) == {VALLETTA.id, SLIEMA.id}
    with db.transaction() as tx:
        held = stock.reservations(tx, order.id, ["held"])
        assert sorted((r.lot_id, r.quantity) for r in held) == sorted(
            [(early, 3), (late, 2)]
        )
        assert stock.lot_totals(tx, early) == (3, 3)
        transitions = orders_repo.list_transitions(tx, order.id)
    assert [t.to_status for t in transitions] == [
        OrderStatus.CREATED,
        OrderStatus.SOURCED,
    ]
    assert isinstance(publisher.events[-1], OrderPlaced)


def test_lots_expiring_within_min_shelf_life_are_not_used(db):
    """A lot expiring before delivery + 30 days makes its pharmacy no candidate."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 50, TODAY + timedelta(days=20))
    add_lot(db, MDINA, AMOX, 50, TODAY + timedelta(days=60))
    with db.transaction() as tx:
        order = submit_order(tx, make_request([(AMOX, 5)]), actor="test")
    assert order.pharmacy_id == MDINA.id
    assert order.candidate_pharmacy_ids == (MDINA.id,)


def test_pharmacy_must_hold_every_line(db):
    """A pharmacy missing one line is not a candidate even if it is nearest."""
    seed_catalogue(db)
    far_expiry = TODAY + timedelta(days=365)
    add_lot(db, VALLETTA, AMOX, 50, far_expiry)
    add_lot(db, MDINA, AMOX, 50, far_expiry)
    add_lot(db, MDINA, INSULIN, 5, far_expiry)
    with db.transaction() as tx:
        order = submit_order(tx, make_request([(AMOX, 2), (INSULIN, 1)]), actor="t")
    assert order.pharmacy_id == MDINA.id
    assert order.candidate_pharmacy_ids == (MDINA.id,)


def test_controlled_substance_requires_id_and_signature_proof(db):
    """A CII line raises the order's proof level."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, MORPHINE, 10, TODAY + timedelta(days=365))
    with db.transaction() as tx:
        order = submit_order(tx, make_request([(MORPHINE, 1)]), actor="t")
    assert order.proof_level is ProofLevel.OTP_ID_SIGNATURE


def test_no_stock_anywhere_is_a_typed_error_and_writes_nothing(db):
    """Without stock the order is refused and nothing is stored."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 2, TODAY + timedelta(days=365))
    with pytest.raises(NoPharmacyHasStock), db.transaction() as tx:
        submit_order(tx, make_request([(AMOX, 3)]), actor="t")
    assert _count_orders(db) == 0


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda r: replace(r, lines=(OrderLine(Sku("NOPE"), 1),)), ProductNotFound),
        (
            lambda r: replace(
                r,
                window_end_at=NOW - timedelta(minutes=5),
                window_start_at=NOW - timedelta(hours=1),
            ),
            InvalidTimeWindow,
        ),
        (
            lambda r: replace(
                r, window_end_at=r.window_start_at - timedelta(minutes=1)
            ),
            InvalidTimeWindow,
        ),
        (
            lambda r: replace(r, delivery_location=GeoPoint(51.5, -0.12)),
            OutsideServiceArea,
        ),
        (lambda r: replace(r, lines=()), InvalidQuantity),
    ],
    ids=[
        "unknown_sku",
        "window_in_past",
        "window_inverted",
        "outside_area",
        "no_lines",
    ],
)
def test_bad_input_is_refused_with_typed_error_and_nothing_written(db, mutate, error):
    """Each kind of bad input raises its error and leaves no order behind."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 50, TODAY + timedelta(days=365))
    request = mutate(make_request([(AMOX, 1)]))
    with pytest.raises(error), db.transaction() as tx:
        submit_order(tx, request, actor="t")
    assert _count_orders(db) == 0
    with db.transaction() as tx:
        assert catalogue.list_lots(tx)[0].quantity_reserved == 0


def test_negative_quantity_is_refused_before_anything_else():
    """A negative quantity cannot even be expressed as an order line."""
    with pytest.raises(InvalidQuantity):
        OrderLine(AMOX.sku, -2)


def test_duplicate_submission_returns_the_original_order(db):
    """The same idempotency key and body returns the first order, reserving once."""
    seed_catalogue(db)
    lot = add_lot(db, VALLETTA, AMOX, 50, TODAY + timedelta(days=365))
    request = make_request([(AMOX, 4)], key="idem-1")
    with db.transaction() as tx:
        first = submit_order(tx, request, actor="t")
    with db.transaction() as tx:
        second = submit_order(tx, request, actor="t")
        assert stock.lot_totals(tx, lot) == (50, 4)
    assert second.id == first.id
    assert _count_orders(db) == 1


def test_reused_idempotency_key_with_other_body_is_a_conflict(db):
    """A key reused for a different order is refused."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 50, TODAY + timedelta(days=365))
    with db.transaction() as tx:
        submit_order(tx, make_request([(AMOX, 4)], key="idem-2"), actor="t")
    with pytest.raises(IdempotencyKeyReused), db.transaction() as tx:
        submit_order(tx, make_request([(AMOX, 5)], key="idem-2"), actor="t")
