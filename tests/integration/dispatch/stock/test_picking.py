"""Pick lists and the lot scan at pickup, against PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.adapters.postgres import stock
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.errors import LotMismatch, OrderNotFound, PharmacyNotFound
from dispatch.orders.fulfilment import assign_order, mark_picked_up
from dispatch.orders.intake import submit_order
from dispatch.orders.order import OrderStatus
from dispatch.stock.picking import order_pick_list, pharmacy_pick_list
from tests.integration.dispatch.conftest import (
    AMOX,
    INSULIN,
    TODAY,
    VALLETTA,
    add_lot,
    add_rider,
    make_request,
    seed_catalogue,
)


def test_pick_list_names_the_fefo_lots_of_each_order(db: Database) -> None:
    """Two lots of one SKU split FEFO: the pick list shows both, earliest first."""
    seed_catalogue(db)
    early = add_lot(db, VALLETTA, AMOX, 3, TODAY + timedelta(days=200), "LOT-EARLY")
    late = add_lot(db, VALLETTA, AMOX, 10, TODAY + timedelta(days=300), "LOT-LATE")
    ins = add_lot(db, VALLETTA, INSULIN, 5, TODAY + timedelta(days=300), "LOT-INS")
    with db.transaction() as tx:
        order = submit_order(tx, make_request([(AMOX, 5), (INSULIN, 1)]), actor="a")
        lines = order_pick_list(tx, order.id)
        at_pharmacy = pharmacy_pick_list(tx, VALLETTA.id)
    got = [(x.sku, x.lot_id, x.lot_number, x.quantity) for x in lines]
    assert got == [
        (AMOX.sku, early, "LOT-EARLY", 3),
        (AMOX.sku, late, "LOT-LATE", 2),
        (INSULIN.sku, ins, "LOT-INS", 1),
    ]
    assert {x.order_status for x in lines} == {OrderStatus.SOURCED}
    assert at_pharmacy == lines


def test_pickup_refuses_a_scan_that_is_not_the_pick_list(db: Database) -> None:
    """Missing or foreign lots are refused with LotMismatch and change nothing;
    the exact scan picks the units off the shelf."""
    seed_catalogue(db)
    lot = add_lot(db, VALLETTA, AMOX, 10, TODAY + timedelta(days=300))
    other = add_lot(db, VALLETTA, INSULIN, 10, TODAY + timedelta(days=300))
    rider = add_rider(db)
    with db.transaction() as tx:
        order = submit_order(tx, make_request([(AMOX, 4)]), actor="a")
        assign_order(tx, order.id, rider, actor="d")
    for scan in ([], [other], [lot, other]):
        with pytest.raises(LotMismatch), db.transaction() as tx:
            mark_picked_up(
                tx,
                order.id,
                rider_id=rider,
                position=None,
                actor="r",
                scanned_lot_ids=scan,
            )
    with db.transaction() as tx:
        assert stock.lot_totals(tx, lot) == (10, 4)
        picked = mark_picked_up(
            tx,
            order.id,
            rider_id=rider,
            position=None,
            actor="r",
            scanned_lot_ids=[lot],
        )
        assert picked.status is OrderStatus.PICKED_UP
        assert stock.lot_totals(tx, lot) == (6, 0)
        assert order_pick_list(tx, order.id) == []
        assert pharmacy_pick_list(tx, VALLETTA.id) == []


def test_unknown_order_or_pharmacy_is_not_found(db: Database) -> None:
    """Typed not-found errors, not empty lists, for ids that do not exist."""
    seed_catalogue(db)
    with db.transaction() as tx:
        with pytest.raises(OrderNotFound):
            order_pick_list(tx, "00000000-0000-0000-0000-000000000000")
        with pytest.raises(PharmacyNotFound):
            pharmacy_pick_list(tx, "ph-nowhere")
